"""A second score of each duplicate pair, without the ID numbers' evidence (see
``DuplicatePair.score_without_id_number``), computed for the pairs already stored from the
weight their details give the ID number. The formula is written out here rather than imported,
so the migration stays as it is when the app's code changes."""

import math

from django.db import migrations, models

BATCH = 2000
SCORE_CLIP = 1e-15


def _score_without_id_number(score, details):
    fields = (details or {}).get("fields") if isinstance(details, dict) else None
    weight = 0.0
    other_evidence = False
    for reason in fields or ():
        if not isinstance(reason, dict):
            continue
        if reason.get("field") == "id_number":
            weight += float(reason.get("weight") or 0.0)
        elif float(reason.get("weight") or 0.0) > 0:
            other_evidence = True
    if not weight:
        return float(score)
    if not other_evidence:
        return 0.0  # found through its ID numbers alone
    p = min(max(float(score), SCORE_CLIP), 1.0 - SCORE_CLIP)
    log_odds = math.log2(p / (1.0 - p)) - weight
    return 1.0 / (1.0 + 2.0 ** -min(max(log_odds, -60.0), 60.0))


def compute(apps, schema_editor):
    DuplicatePair = apps.get_model("dedup", "DuplicatePair")
    last = 0
    while True:
        batch = list(
            DuplicatePair.objects.filter(pk__gt=last)
            .order_by("pk")
            .only("pk", "score", "details")[:BATCH]
        )
        if not batch:
            return
        for pair in batch:
            pair.score_without_id_number = _score_without_id_number(pair.score, pair.details)
        DuplicatePair.objects.bulk_update(batch, ["score_without_id_number"], batch_size=500)
        last = batch[-1].pk


class Migration(migrations.Migration):
    dependencies = [
        ("dedup", "0005_duplicate_pair_source_restore"),
    ]

    operations = [
        migrations.AddField(
            model_name="duplicatepair",
            name="score_without_id_number",
            field=models.FloatField(null=True, verbose_name="score without the ID number"),
        ),
        migrations.RunPython(compute, migrations.RunPython.noop, elidable=True),
    ]
