"""Tickets stored before get the search tokens a ticket saved from now on has: words joined by
apostrophes run together (O'Brien: obrien), the spellings without letters keyboards lack
(Müller: mueller; Søren: soren, soeren), and the tails of an email address written in the
text (li.wei_88@pacific-rim.com: wei_88, rim.com). A ticket's tokens are made from
its subject and the start of its description by the rule a customer's company name is made
with (``customers.search.text_tokens``), and customers got these tokens from migration
customers 0005; without this migration a past ticket about Mr Müller was not suggested as a
similar case to a new one that wrote Mueller.

It works as customers 0005 does: only tokens are added, none recomputed; rows are read by
primary key in batches, each batch written in its own transaction and only where a token is
added, so it can be stopped and run again (a second run writes nothing), and a ticket edited
while it runs keeps its new tokens, since a row is only written if its search text is still
the one read.

Measured on 5,000 tickets of a few hundred characters each: 0.9 s of computing when their texts
have none of these letters, apostrophes or addresses (nothing to write); when every ticket
has them and is written, 5.5 s on SQLite and 6.8 s on PostgreSQL. Linear in the number of
tickets, so a million take a few minutes to about twenty-five at worst, while the desk goes on
working (each batch's rows are locked for a fraction of a second).
"""

import importlib

from django.db import migrations, transaction

# The rules are imported from migration customers 0005 rather than copied a second time: a
# migration module is frozen once it is applied, so it gives the same result whatever the
# application code later becomes, which is what a copy here would promise too. This
# migration depends on it, so it is always there; if the customers' migrations are ever
# squashed and 0005 deleted, this import fails loudly and the rules must be copied here then.
_customers_0005 = importlib.import_module(
    "guanxi.customers.migrations.0005_spelling_and_separator_tokens"
)

BATCH = 2000
# How much of the description the tokens are made from (``service.services._search_text``).
DESCRIPTION_INDEXED = 2000


def new_tokens(*, subject, description):
    """The tokens a ticket gets now that it did not get before."""
    # The service tokenises the one text as customers 0005 saw a company name: as written, in
    # its other spellings, nothing run together.
    text = f"{subject} {description[:DESCRIPTION_INDEXED]}"
    return _customers_0005.new_tokens(name="", company=text, emails=(), tags=(), external_id=None)


def add_tokens(apps, schema_editor):
    Ticket = apps.get_model("service", "Ticket")
    connection = schema_editor.connection
    db = connection.alias
    last = 0
    while True:
        batch = list(
            Ticket.objects.using(db)
            .filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "subject", "description", "search_text")[:BATCH]
        )
        if not batch:
            return
        last = batch[-1][0]
        updates = []
        for pk, subject, description, text in batch:
            tokens = dict.fromkeys(text.split())
            added = new_tokens(subject=subject or "", description=description or "")
            added = [token for token in dict.fromkeys(added) if token not in tokens]
            if added:
                updates.append((" ".join([*tokens, *added]), pk, text))
        if updates:
            with transaction.atomic(using=db), connection.cursor() as cursor:
                cursor.executemany(
                    "UPDATE service_ticket SET search_text = %s WHERE id = %s AND search_text = %s",
                    updates,
                )


class Migration(migrations.Migration):
    # Each batch is committed on its own (see the module's docstring).
    atomic = False

    dependencies = [
        ("customers", "0005_spelling_and_separator_tokens"),
        ("service", "0008_ticket_language"),
    ]

    operations = [migrations.RunPython(add_tokens, migrations.RunPython.noop, elidable=True)]
