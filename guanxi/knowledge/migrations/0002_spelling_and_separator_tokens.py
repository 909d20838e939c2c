"""Articles stored before get the search tokens an article saved from now on has: words joined
by apostrophes run together (O'Brien: obrien), the spellings without letters keyboards lack
(Müller: mueller; Søren: soren, soeren), and the tails of an email address written in the
text (li.wei_88@example.com: wei_88). An article's tokens are made from its title, problem,
cause and solution, each by the rule a customer's company name is made with
(``customers.search.text_tokens``), and customers got these tokens from migration customers
0005; without this migration the knowledge base's search for mueller or obrien missed the
articles written before.

It works as customers 0005 and service 0009 do: only tokens are added, none recomputed; rows
are read by primary key in batches, each batch written in its own transaction and only where a
token is added, so it can be stopped and run again (a second run writes nothing), and an
article edited while it runs keeps its new tokens, since a row is only written if its search
text is still the one read.

Measured on 5,000 articles whose every field has these letters, apostrophes or addresses (all
written): 7 s on SQLite, 11.5 s on PostgreSQL; a knowledge base of thousands of articles takes
seconds.
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
# How much of each field the tokens are made from (``knowledge.search.MAX_INDEXED_CHARS``).
MAX_INDEXED_CHARS = 4000


def new_tokens(*texts):
    """The tokens an article of these texts gets now that it did not get before."""
    # Each text is tokenised as customers 0005 saw a company name: as written, in its other
    # spellings, nothing run together.
    tokens = []
    for text in texts:
        tokens += _customers_0005.new_tokens(
            name="",
            company=(text or "")[:MAX_INDEXED_CHARS],
            emails=(),
            tags=(),
            external_id=None,
        )
    return tokens


def add_tokens(apps, schema_editor):
    Article = apps.get_model("knowledge", "Article")
    connection = schema_editor.connection
    db = connection.alias
    last = 0
    while True:
        batch = list(
            Article.objects.using(db)
            .filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "title", "problem", "cause", "solution", "search_text")[:BATCH]
        )
        if not batch:
            return
        last = batch[-1][0]
        updates = []
        for pk, title, problem, cause, solution, text in batch:
            tokens = dict.fromkeys(text.split())
            added = new_tokens(title, problem, cause, solution)
            added = [token for token in dict.fromkeys(added) if token not in tokens]
            if added:
                updates.append((" ".join([*tokens, *added]), pk, text))
        if updates:
            with transaction.atomic(using=db), connection.cursor() as cursor:
                cursor.executemany(
                    "UPDATE knowledge_article SET search_text = %s"
                    " WHERE id = %s AND search_text = %s",
                    updates,
                )


class Migration(migrations.Migration):
    # Each batch is committed on its own (see the module's docstring).
    atomic = False

    dependencies = [
        ("customers", "0005_spelling_and_separator_tokens"),
        ("knowledge", "0001_initial"),
    ]

    operations = [migrations.RunPython(add_tokens, migrations.RunPython.noop, elidable=True)]
