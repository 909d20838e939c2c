"""Customers stored before get the first four digits of each of their tokens that starts with
four digits and is longer (an email 61501234@qq.com: 6150), as a customer saved from now on has
them (``customers.search.SearchTokens.add_number_heads``), since four digits typed in the search
are now looked up as a whole token.

The new tokens are made from the stored tokens alone, so nothing else is read. Rows are read by
primary key in batches and each batch is written in its own transaction, so the migration holds
the locks of one batch at a time, can be stopped and run again (a row that has its tokens gets
nothing more), and never overwrites a customer changed while it runs: a row is only written if
its search text is still the one read. Only rows that gain a token are written: a phone's own
tokens already hold each of its four digits, so mostly customers with a number-like email
address or external id.

Measured on the million-customer bench database, on a machine busy with other work: 6 minutes,
275,744 rows written (mostly the demo's QQ addresses); a ``VACUUM (ANALYZE)`` of the table after
it took another 72 s. Servers still running the code before this migration may save a customer
without the new tokens meanwhile; such a customer gets them at its next save, and until then
four digits miss only its email address or external id, not its phones.

The rule is copied here as it was when this migration was written, so that it gives the same
result whatever the application code later becomes.
"""

from django.db import migrations, transaction

BATCH = 5000
HEAD = 4


def _is_head(text):
    return len(text) == HEAD and text.isascii() and text.isdigit()


def with_heads(search_text):
    """``search_text`` with the heads it lacks added at its end, or None if it lacks none."""
    tokens = dict.fromkeys(search_text.split())
    heads = [t[:HEAD] for t in tokens if len(t) > HEAD and _is_head(t[:HEAD])]
    added = [head for head in dict.fromkeys(heads) if head not in tokens]
    if not added:
        return None
    return " ".join([*tokens, *added])


def add_heads(apps, schema_editor):
    Customer = apps.get_model("customers", "Customer")
    connection = schema_editor.connection
    db = connection.alias
    last = 0
    while True:
        batch = list(
            Customer.objects.using(db)
            .filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "search_text")[:BATCH]
        )
        if not batch:
            return
        last = batch[-1][0]
        updates = []
        for pk, text in batch:
            new_text = with_heads(text or "")
            if new_text is not None:
                updates.append((new_text, pk, text))
        if updates:
            with transaction.atomic(using=db), connection.cursor() as cursor:
                cursor.executemany(
                    "UPDATE customers_customer SET search_text = %s"
                    " WHERE id = %s AND search_text = %s",
                    updates,
                )


class Migration(migrations.Migration):
    # Each batch is committed on its own (see the module's docstring).
    atomic = False

    dependencies = [("customers", "0011_customer_export_job_layout")]

    operations = [migrations.RunPython(add_heads, migrations.RunPython.noop, elidable=True)]
