"""Jobs say whether their file is a web upload the application keeps (and deletes once nothing
needs it). Until now a job's file counted as one when it lay in the uploads folder, which the
file of a command-line import may too; the jobs made before are marked as web uploads when they
were made from the web and their file is in that folder, as only the web puts files there, so
their files are deleted as before and no command-line import's file ever is."""

from pathlib import Path

from django.conf import settings
from django.db import migrations, models

BATCH = 2000


def mark_web_uploads(apps, schema_editor):
    ImportJob = apps.get_model("imports", "ImportJob")
    # As ``services.uploads_directory`` had it when this was written.
    uploads = Path(settings.DATA_DIR) / "imports"
    candidates = (
        ImportJob.objects.filter(via="web", path__startswith=str(uploads))
        .order_by("pk")
        .values_list("pk", "path")
    )
    ids = [pk for pk, path in candidates.iterator() if Path(path).parent == uploads]
    for start in range(0, len(ids), BATCH):
        ImportJob.objects.filter(pk__in=ids[start : start + BATCH]).update(uploaded=True)


class Migration(migrations.Migration):

    dependencies = [
        ("imports", "0007_importjob_path_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="importjob",
            name="uploaded",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(mark_web_uploads, migrations.RunPython.noop, elidable=True),
    ]
