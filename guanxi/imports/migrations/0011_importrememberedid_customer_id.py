from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("imports", "0010_importrememberedid"),
    ]

    operations = [
        migrations.AddField(
            model_name="importrememberedid",
            name="customer_id",
            field=models.BigIntegerField(blank=True, null=True),
        ),
    ]
