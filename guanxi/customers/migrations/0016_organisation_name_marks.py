"""People who belong to an organisation hold its name's tokens as marks (``~o`` and the token)
instead of as tokens of their own, as a person saved from now on does
(``customers.search.SearchTokens.add_organisation``). The search then finds a person by their
organisation's name only for whoever may see the organisation (``customers.selectors.
search_matches``); before, a search for the name of an organisation out of sight listed its
people in sight, which told who belongs to it.

Only people with an organisation are read, by primary key in batches, and each batch is written
in its own transaction, so the migration holds the locks of one batch at a time and can be
stopped and run again (a person already rewritten is not written twice). A search text is only
written if it is still the one read, so a person changed while it runs keeps what their save
wrote.

Unlike the migrations before it, this one makes the search text with the application's
``build_search_text`` instead of a copy of the rules. What moves is every token an
organisation's name gives (the suffixes and pairs of its Han characters, their pinyin, other
spellings, the digits' heads), less those the person's own fields also give, which stay
tokens: knowing which are which takes the whole tokenizer, several hundred lines a copy would
have to keep in agreement with it token for token. The builder is a function of plain values
and reads no model, so no later version of a model is involved; and a search text is derived
data, which, made by the builder installed with the code that reads it, is what that code
expects. (Run on a database created after it, the migration finds no one to rewrite.)

The same write fills each such person's ``organization_owner`` (see ``0014``), read from their
organisation in the statement itself, so that one write of the row does both.
"""

from collections import defaultdict

from django.db import migrations, transaction

BATCH = 2000


def _rows_of(model, db, ids, *fields, order):
    rows = defaultdict(list)
    for customer_id, *values in (
        model.objects.using(db)
        .filter(customer_id__in=ids)
        .order_by("customer_id", *order)
        .values_list("customer_id", *fields)
    ):
        rows[customer_id].append(values[0] if len(values) == 1 else tuple(values))
    return rows


def _rewrite(apps, schema_editor, *, as_marks):
    """Every person with an organisation's search text made again, the organisation's name as
    marks (``as_marks``) or, going back, as the person's company."""
    from guanxi.customers.search import build_search_text

    Customer = apps.get_model("customers", "Customer")
    connection = schema_editor.connection
    db = connection.alias
    last = 0
    while True:
        batch = list(
            Customer.objects.using(db)
            .filter(pk__gt=last, organization__isnull=False)
            .order_by("pk")
            .values_list(
                "pk",
                "name",
                "company",
                "organization__name",
                "external_id",
                "search_text",
                "party_type",
                "organization__owner_id",
                "organization_owner_id",
            )[:BATCH]
        )
        if not batch:
            break
        ids = [row[0] for row in batch]
        last = ids[-1]
        phones = _rows_of(
            apps.get_model("customers", "Phone"),
            db,
            ids,
            "number",
            "display",
            order=("-is_primary", "id"),
        )
        emails = _rows_of(
            apps.get_model("customers", "Email"), db, ids, "address", order=("-is_primary", "id")
        )
        tags = _rows_of(Customer.tags.through, db, ids, "tag__name", order=("tag__name",))
        updates = []
        for row in batch:
            pk, name, company, organisation, external_id, text, party_type, owner, carried = row
            new_text = build_search_text(
                name=name,
                company=(company or "") if as_marks else organisation,
                organisation=organisation if as_marks else "",
                phones=phones[pk],
                emails=emails[pk],
                tags=tags[pk],
                external_id=external_id,
                person=party_type == "person",
            )
            if new_text != text or (as_marks and carried != owner):
                updates.append((text, new_text, pk))
        if updates:
            with transaction.atomic(using=db), connection.cursor() as cursor:
                # A person whose search text changed meanwhile keeps it. Their organisation's
                # owner is filled all the same: a save writing the whole row had the triggers
                # of 0014 fill it too, but an organisation's rename, a tag's or a new phone
                # writes the search text alone, for which they do not fire.
                cursor.executemany(
                    "UPDATE customers_customer SET search_text = CASE WHEN search_text = %s"
                    " THEN %s ELSE search_text END,"
                    " organization_owner_id = (SELECT organisation.owner_id"
                    " FROM customers_customer AS organisation"
                    " WHERE organisation.id = customers_customer.organization_id)"
                    " WHERE id = %s",
                    updates,
                )
    if connection.vendor == "postgresql":
        # The planner estimates a search from the tokens' statistics, which know no mark yet
        # (and, after 0015, are to be read with a larger sample).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE customers_customer")


def organisation_names_as_marks(apps, schema_editor):
    _rewrite(apps, schema_editor, as_marks=True)


def organisation_names_as_companies(apps, schema_editor):
    _rewrite(apps, schema_editor, as_marks=False)


class Migration(migrations.Migration):
    # Each batch is committed on its own (see the module's docstring).
    atomic = False

    dependencies = [("customers", "0015_search_statistics_for_organisation_marks")]

    operations = [
        migrations.RunPython(
            organisation_names_as_marks, organisation_names_as_companies, elidable=True
        ),
    ]
