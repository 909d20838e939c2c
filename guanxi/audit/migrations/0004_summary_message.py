"""Audit summaries that are sentences keep their untranslated message and parameters, so each
reader sees them in their own language.

Both columns have a constant default, so on PostgreSQL 11 and later adding them rewrites none
of the (large) table's rows. On SQLite Django adds a column with a default by copying the table
into a new one (it could not drop the default afterwards), which loses the trigger refusing
updates (0002), so it is made again. Going back drops the two columns in place, trigger kept.
"""

from django.db import migrations, models

SQLITE_TRIGGER = """
CREATE TRIGGER IF NOT EXISTS audit_auditevent_no_update BEFORE UPDATE ON audit_auditevent
BEGIN
    SELECT RAISE(ABORT, 'audit events cannot be changed');
END;
"""


def restore_sqlite_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE_TRIGGER)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_merge_and_import_actions")]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="summary_message",
            field=models.CharField(blank=True, max_length=300, verbose_name="summary message"),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="summary_params",
            field=models.JSONField(blank=True, default=dict, verbose_name="summary parameters"),
        ),
        migrations.RunPython(restore_sqlite_trigger, migrations.RunPython.noop),
    ]
