"""The cost to serve charges the handling of service desk tickets (``ticket_handled``).

The settings row of an installation that still holds the old default unit costs, as they came,
gets the new default for a ticket: whoever took the defaults takes the new one, and the tickets
are charged from the next refresh. Unit costs someone set are left as they are, since the new
figure is in CNY and a business that priced its own activities (perhaps in another currency)
should price this one too: until then the refresh lists ``ticket_handled`` among the activities
without a unit cost, and the tickets are not charged. The change is recorded in the audit log
with the settings' other changes, and the row's version moves on, so that a settings page
opened before refuses to save over it."""

from django.db import migrations, models

import guanxi.analytics.models

# ``default_unit_costs`` before tickets were charged, and the new entry, copied as a migration
# must (the function's later defaults are not these).
OLD_DEFAULT_UNIT_COSTS = {
    "visit": 300.0,
    "phone": 15.0,
    "chat": 8.0,
    "email": 5.0,
    "fax": 5.0,
    "web_form": 3.0,
    "sms": 0.5,
    "other": 10.0,
    "order_handled": 20.0,
}
TICKET_HANDLED = "ticket_handled"
TICKET_HANDLED_DEFAULT = 25.0


def price_tickets_where_the_defaults_are_kept(apps, schema_editor) -> None:
    alias = schema_editor.connection.alias
    ValueSettings = apps.get_model("analytics", "ValueSettings")
    AuditEvent = apps.get_model("audit", "AuditEvent")
    for row in ValueSettings.objects.using(alias).select_for_update():
        if row.unit_costs != OLD_DEFAULT_UNIT_COSTS:
            continue
        before = dict(row.unit_costs)
        row.unit_costs = {**before, TICKET_HANDLED: TICKET_HANDLED_DEFAULT}
        row.version += 1
        row.save(update_fields=["unit_costs", "version"])
        AuditEvent.objects.using(alias).create(
            action="update",
            object_type="value_settings",
            object_id=row.pk,
            summary="Value analytics settings",
            summary_message="Value analytics settings",
            changes={"unit_costs": {"before": before, "after": row.unit_costs}},
        )


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0007_mark_partial_values_at_risk_stored_before"),
        ("audit", "0005_lookup_limit_action"),
    ]

    operations = [
        migrations.AlterField(
            model_name="valuesettings",
            name="unit_costs",
            field=models.JSONField(
                default=guanxi.analytics.models.default_unit_costs,
                help_text=(
                    "Cost of one unit of each activity: one interaction per channel (visit, "
                    "phone, …), one order handled (order_handled) and one service desk ticket "
                    "handled (ticket_handled)"
                ),
                verbose_name="unit costs",
            ),
        ),
        migrations.RunPython(price_tickets_where_the_defaults_are_kept, migrations.RunPython.noop),
    ]
