"""The service desk's defaults (see ``guanxi.service.defaults``), so a new desk works before
anyone configures it."""

from django.db import migrations

from guanxi.service import defaults


def seed(apps, schema_editor):
    defaults.install(
        apps.get_model("service", "TicketCategory"),
        apps.get_model("service", "ServiceCalendar"),
        apps.get_model("service", "SlaPolicy"),
    )


class Migration(migrations.Migration):
    dependencies = [("service", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
