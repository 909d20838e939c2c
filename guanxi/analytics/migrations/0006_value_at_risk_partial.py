from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0005_value_at_risk_unknown"),
    ]

    operations = [
        migrations.AddField(
            model_name="churnfollowup",
            name="value_at_risk_partial",
            field=models.BooleanField(default=False, verbose_name="partial value at risk"),
        ),
        migrations.AddField(
            model_name="customervalue",
            name="value_at_risk_partial",
            field=models.BooleanField(default=False, verbose_name="partial value at risk"),
        ),
    ]
