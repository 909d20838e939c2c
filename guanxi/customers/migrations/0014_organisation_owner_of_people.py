"""Each person's row carries their organisation's account manager (``organization_owner``),
kept by triggers, so that the search can ask whether whoever searches may see a person's
organisation from the person's own row (see ``customers.organisation_owner``).

The column is filled for existing people by ``0016_organisation_name_marks``, which rewrites
the same rows' search text anyway: filling it here would write every such person's row twice,
and on PostgreSQL each write of a row enters every index of the table again (a third of a
million customers of a million belong to an organisation). The triggers come first, so that
whatever is written from here on is right.

The trigger definitions are copied here as they were when this migration was written.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

POSTGRES_UP = """
CREATE FUNCTION customers_person_organisation_owner() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.organization_id IS NULL THEN
        NEW.organization_owner_id := NULL;
    ELSE
        SELECT owner_id INTO NEW.organization_owner_id
          FROM customers_customer WHERE id = NEW.organization_id;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER customers_customer_organisation_owner
    BEFORE INSERT OR UPDATE OF organization_id, organization_owner_id ON customers_customer
    FOR EACH ROW EXECUTE FUNCTION customers_person_organisation_owner();

CREATE FUNCTION customers_organisation_owner_to_people() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE customers_customer SET organization_owner_id = NEW.owner_id
     WHERE organization_id = NEW.id AND organization_owner_id IS DISTINCT FROM NEW.owner_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER customers_customer_organisation_owner_people
    AFTER UPDATE OF owner_id ON customers_customer
    FOR EACH ROW WHEN (OLD.owner_id IS DISTINCT FROM NEW.owner_id)
    EXECUTE FUNCTION customers_organisation_owner_to_people();
"""

POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS customers_customer_organisation_owner_people ON customers_customer;
DROP FUNCTION IF EXISTS customers_organisation_owner_to_people();
DROP TRIGGER IF EXISTS customers_customer_organisation_owner ON customers_customer;
DROP FUNCTION IF EXISTS customers_person_organisation_owner();
"""


SQLITE_UP = [
    "CREATE TRIGGER customers_customer_organisation_owner_insert"
    " AFTER INSERT ON customers_customer"
    " WHEN NEW.organization_owner_id IS NOT (SELECT organisation.owner_id"
    " FROM customers_customer AS organisation WHERE organisation.id = NEW.organization_id)"
    " BEGIN UPDATE customers_customer SET organization_owner_id = (SELECT organisation.owner_id"
    " FROM customers_customer AS organisation WHERE organisation.id = NEW.organization_id)"
    " WHERE id = NEW.id; END",
    "CREATE TRIGGER customers_customer_organisation_owner_update"
    " AFTER UPDATE OF organization_id, organization_owner_id ON customers_customer"
    " WHEN NEW.organization_owner_id IS NOT (SELECT organisation.owner_id"
    " FROM customers_customer AS organisation WHERE organisation.id = NEW.organization_id)"
    " BEGIN UPDATE customers_customer SET organization_owner_id = (SELECT organisation.owner_id"
    " FROM customers_customer AS organisation WHERE organisation.id = NEW.organization_id)"
    " WHERE id = NEW.id; END",
    "CREATE TRIGGER customers_customer_organisation_owner_people"
    " AFTER UPDATE OF owner_id ON customers_customer"
    " WHEN OLD.owner_id IS NOT NEW.owner_id"
    " BEGIN UPDATE customers_customer SET organization_owner_id = NEW.owner_id"
    " WHERE organization_id = NEW.id; END",
]

SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS customers_customer_organisation_owner_insert",
    "DROP TRIGGER IF EXISTS customers_customer_organisation_owner_update",
    "DROP TRIGGER IF EXISTS customers_customer_organisation_owner_people",
]


def create_triggers(apps, schema_editor):
    _execute(schema_editor, POSTGRES_UP, SQLITE_UP)


def drop_triggers(apps, schema_editor):
    _execute(schema_editor, POSTGRES_DOWN, SQLITE_DOWN)


def _execute(schema_editor, postgres, sqlite):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(postgres)
    elif vendor == "sqlite":
        for statement in sqlite:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0013_marks_for_masked_search"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="organization_owner",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
