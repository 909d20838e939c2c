"""A larger statistics sample for the search index's tokens, now that a search asks each of its
words also as an organisation mark (``0016``).

The planner estimates a token its statistics do not know at half the frequency of the least
common one they do. With the sample of 300 (``0002``) that is 0.24% of the customers a token,
and a search asking each word twice, plainly and as a mark, was taken to match twice that
many: enough, for some rare names, that the planner read the newest customers one by one
until a page was full rather than fetch the few matches and sort them. On a million customers
an administrator's search for a full pinyin name (luxiaoming, renyuhang) took 0.5 to 1.3 s
that way, where fetching takes a few ms. A sample of 1,000 knows tokens five times rarer
(least frequency 0.088% instead of 0.48%), and none of 60 searches of each kind as a rep, a
manager or an administrator went that way. 3,000 knew them rarer still but made planning
each search take 2 to 5 ms, reading 30,000 tokens' statistics; 1,000 takes about 1 ms.
``ANALYZE`` of a million customers takes 26 s with it instead of a few. The next migration
rewrites people's search text and then analyses the table, so this one only sets the sample.
"""

from django.db import migrations

FORWARDS = ["ALTER INDEX customer_search_tokens ALTER COLUMN 1 SET STATISTICS 1000"]
BACKWARDS = [
    "ALTER INDEX customer_search_tokens ALTER COLUMN 1 SET STATISTICS 300",
    "ANALYZE customers_customer",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("customers", "0014_organisation_owner_of_people")]

    operations = [migrations.RunPython(_run(FORWARDS), _run(BACKWARDS), elidable=True)]
