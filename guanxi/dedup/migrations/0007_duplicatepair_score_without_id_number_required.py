"""Every pair has its score without the ID number from now on (0006 computed it for those
stored), and the review queue of whoever may not see ID numbers is read in its order. Apart
from 0006 so that the column is changed after the rows are written and committed, which
PostgreSQL needs."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("dedup", "0006_duplicatepair_score_without_id_number"),
    ]

    operations = [
        migrations.AlterField(
            model_name="duplicatepair",
            name="score_without_id_number",
            field=models.FloatField(verbose_name="score without the ID number"),
        ),
        migrations.AddIndex(
            model_name="duplicatepair",
            index=models.Index(
                fields=["status", "-score_without_id_number", "id"],
                name="duplicatepair_queue_blind",
            ),
        ),
    ]
