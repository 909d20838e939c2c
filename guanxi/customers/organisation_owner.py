"""Each person's row carries their organisation's account manager
(``Customer.organization_owner``), kept by the database itself.

The search decides from it whether whoever searches may see a person's organisation
(``visibility.organisation_scope``). Keeping it is the database's job rather than the services':
an organisation changes hands through the customer form, the API, a reassignment, a hand-over
when someone leaves, a department's or team's release, an import, a merge and its undo, each
writing ``owner_id`` its own way (one row, a bulk ``UPDATE``, ``COPY``). Triggers see every one
of them, and a path added later cannot forget.

* A person's row takes its organisation's owner whenever it is written with its
  ``organization_id`` or ``organization_owner_id`` (an insert, a move, any save through the ORM,
  which writes every column): always read again from the organisation, so a value an
  application object held since before the organisation changed hands is never written back.
* An organisation whose ``owner_id`` changes writes it to its people.

Reading the organisation takes no lock: every path that changes an organisation's owner locks
it ``FOR UPDATE`` first, and every path that puts a person in one locks it first too (the
services ``FOR UPDATE``; the import ``FOR KEY SHARE``, which conflicts with that, or
``FOR UPDATE`` where it changes the organisation too), so the organisation's owner cannot change
between being read for a person and that person's commit.
Where a person's own save meets a hand-over of their organisation, the hand-over waits for the
save to lock the person and then writes the new owner over whatever it wrote.

Writing an organisation's new owner to its people does lock them, after the organisation. So
every writer locks several customers in one order: organisations first, then people, each in
ascending id order (``services.CUSTOMER_LOCK_ORDER``), as a person's save locks their
organisation and then them and a merge of organisations both organisations and then their
people. A hand-over (a reassignment, a deactivation's, an import giving an organisation another
owner) locks the organisations it moves and then, with the people it moves, every person of
those organisations, in the recycle bin too (``services.customers_lock_for_hand_over``; the
import in the same order, in one pass over every organisation of its batch, those it only links
people to included), before it writes the new owner: the trigger then finds them all held. An
import row naming the owner an organisation has already moves nothing, and locks none of its
people. Two hand-overs at the same moment, where each rep owns an organisation with a person of
the other's, once deadlocked (each held its own customers in one ascending pass while the
trigger waited for the other's person); now one waits for the other. Nobody joins an
organisation between the read of its people and their lock: whoever puts a person in one locks
it first.

PostgreSQL reads the organisation in a ``BEFORE`` trigger that sets the value being written.
SQLite's triggers cannot change the row being written, so an ``AFTER`` trigger updates it when
it differs; SQLite runs one writer at a time, so nothing comes between. The migration that made
them (``0014_organisation_owner_of_people``) has its own copy, as migrations must; this one puts
them back after a later migration makes SQLite copy the table (see
:func:`restore_sqlite_organisation_owner_triggers`).
"""

from django.db import DEFAULT_DB_ALIAS, connections

from .search import create_missing_sqlite_triggers

SQLITE_TRIGGERS = {
    "customers_customer_organisation_owner_insert": (
        "CREATE TRIGGER customers_customer_organisation_owner_insert"
        " AFTER INSERT ON customers_customer"
        " WHEN NEW.organization_owner_id IS NOT (SELECT organisation.owner_id"
        " FROM customers_customer AS organisation WHERE organisation.id = NEW.organization_id)"
        " BEGIN UPDATE customers_customer SET organization_owner_id = (SELECT organisation.owner_id"
        " FROM customers_customer AS organisation WHERE organisation.id = NEW.organization_id)"
        " WHERE id = NEW.id; END"
    ),
    "customers_customer_organisation_owner_update": (
        "CREATE TRIGGER customers_customer_organisation_owner_update"
        " AFTER UPDATE OF organization_id, organization_owner_id ON customers_customer"
        " WHEN NEW.organization_owner_id IS NOT (SELECT organisation.owner_id"
        " FROM customers_customer AS organisation WHERE organisation.id = NEW.organization_id)"
        " BEGIN UPDATE customers_customer SET organization_owner_id = (SELECT organisation.owner_id"
        " FROM customers_customer AS organisation WHERE organisation.id = NEW.organization_id)"
        " WHERE id = NEW.id; END"
    ),
    "customers_customer_organisation_owner_people": (
        "CREATE TRIGGER customers_customer_organisation_owner_people"
        " AFTER UPDATE OF owner_id ON customers_customer"
        " WHEN OLD.owner_id IS NOT NEW.owner_id"
        " BEGIN UPDATE customers_customer SET organization_owner_id = NEW.owner_id"
        " WHERE organization_id = NEW.id; END"
    ),
}

# The people whose row disagrees with their organisation, set right (after the triggers were
# missing for a while).
SQLITE_RESYNC = (
    "UPDATE customers_customer SET organization_owner_id = ("
    "SELECT organisation.owner_id FROM customers_customer AS organisation"
    " WHERE organisation.id = customers_customer.organization_id)"
    " WHERE organization_owner_id IS NOT ("
    "SELECT organisation.owner_id FROM customers_customer AS organisation"
    " WHERE organisation.id = customers_customer.organization_id)"
)


def restore_sqlite_organisation_owner_triggers(*, using: str = DEFAULT_DB_ALIAS, **kwargs) -> None:
    """Put the triggers back if something dropped them, and set right what was written without
    them. Run after every ``migrate`` (``post_migrate``): to change a column, Django's SQLite
    backend copies customers_customer into a new table and drops the old one, and the triggers
    go with it, after which people would keep an organisation's former owner."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s ESCAPE %s",
            [r"customers\_customer\_organisation\_owner\_%", "\\"],
        )
        present = {row[0] for row in cursor.fetchall()}
        if not present:  # migration 0014 is not (or no longer) applied, or a copy dropped them
            cursor.execute("PRAGMA table_info(customers_customer)")
            if "organization_owner_id" not in {row[1] for row in cursor.fetchall()}:
                return
        if create_missing_sqlite_triggers(cursor, SQLITE_TRIGGERS, present):
            cursor.execute(SQLITE_RESYNC)
