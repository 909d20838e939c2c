"""Marks partial the values at risk stored before they could be marked: the open churn
follow-ups' and the current run's. A refresh never touches an open follow-up again (it opens
a new one only once the last is done), so without this one opened earlier for a customer who
bought in other currencies too would show the settings-currency part as the whole for as long
as it stays open; the current run's figures would until the next refresh.

A value is partial when the warned customer had completed orders both in the settings
currency and in others by the day it was figured for, as ``refresh`` marks it: the run's day
and currency, or, for a follow-up whose run has been pruned since, the day it was opened and
the settings' currency. An unknown value (null) stays unmarked, as the refresh leaves it."""

from django.db import migrations
from django.db.models import DateField, Exists, OuterRef
from django.db.models.functions import Cast

# ``Order.NOT_PURCHASES``, copied as a migration must.
NOT_PURCHASES = ("refunded", "cancelled")


def _bought_in_both(Order, alias: str, currency: str, as_of) -> tuple[Exists, Exists]:
    completed = (
        Order.objects.using(alias)
        .filter(customer_id=OuterRef("customer_id"), ordered_on__lte=as_of)
        .exclude(status__in=NOT_PURCHASES)
    )
    return Exists(completed.filter(currency=currency)), Exists(completed.exclude(currency=currency))


def mark_partial_values_at_risk(apps, schema_editor) -> None:
    alias = schema_editor.connection.alias
    Order = apps.get_model("orders", "Order")
    AnalyticsRun = apps.get_model("analytics", "AnalyticsRun")
    ChurnFollowUp = apps.get_model("analytics", "ChurnFollowUp")
    CustomerValue = apps.get_model("analytics", "CustomerValue")
    ValueSettings = apps.get_model("analytics", "ValueSettings")
    current_settings = ValueSettings.objects.using(alias).filter(pk=1).first()
    settings_currency = (
        current_settings.currency
        if current_settings is not None
        else ValueSettings._meta.get_field("currency").default
    )
    open_known = ChurnFollowUp.objects.using(alias).filter(
        done_at__isnull=True, value_at_risk__isnull=False, value_at_risk_partial=False
    )
    runs = AnalyticsRun.objects.using(alias).filter(pk__in=open_known.values("run_id"))
    for run in runs | AnalyticsRun.objects.using(alias).filter(is_current=True):
        currency = ((run.figures or {}).get("settings") or {}).get("currency", settings_currency)
        both = _bought_in_both(Order, alias, currency, run.as_of)
        open_known.filter(run_id=run.pk).filter(*both).update(value_at_risk_partial=True)
        if run.is_current:
            CustomerValue.objects.using(alias).filter(
                run_id=run.pk, churn_flag=True, value_at_risk__isnull=False
            ).filter(*both).update(value_at_risk_partial=True)
    opened_on = Cast(OuterRef("created_at"), DateField())
    open_known.filter(run__isnull=True).filter(
        *_bought_in_both(Order, alias, settings_currency, opened_on)
    ).update(value_at_risk_partial=True)


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0006_value_at_risk_partial"),
        ("orders", "0003_order_date_index"),
    ]

    operations = [
        migrations.RunPython(mark_partial_values_at_risk, migrations.RunPython.noop),
    ]
