"""ID numbers stored masked the earlier way are masked again as they are masked now.

The earlier masking kept the first four and last four characters of a resident ID number
(1101**********002X); beside the birth date and an address, those are the whole number. The
present one (``guanxi.core.masking.mask_id_number``) keeps the first and last character of a
number of a resident ID's length (15 or 18) and at most two at each end of any other.

The masked form is masked again, rather than the number decrypted and masked: the present
masking keeps only characters the earlier one kept and depends on nothing but the length, so
masking the stored masked form gives exactly what masking the number gives. A migration must not
import the application's encryption code, and this one needs no keys (a database restored under
rotated keys migrates all the same). The rule is copied here as it was when this migration was
written, so that it gives the same result whatever the application code later becomes.

Only rows whose masked form changes are written, by primary key in batches, each batch in its own
transaction: the migration can be stopped and run again (a row masked already is left alone), and
a row is only written if its masked form is still the one read, so an ID number changed while it
runs is not overwritten. Nothing else of the customer changes, its version included: the number
is the same, only less of it shows.
"""

from django.db import migrations, transaction

BATCH = 5000
RESIDENT_ID_LENGTHS = (15, 18)


def masked_again(masked: str) -> str:
    length = len(masked)
    keep = 1 if length in RESIDENT_ID_LENGTHS else 2
    if keep * 2 > length // 2:
        keep = min(keep, length // 4)
    return masked[:keep] + "*" * (length - 2 * keep) + (masked[length - keep :] if keep else "")


def mask_again(apps, schema_editor):
    Customer = apps.get_model("customers", "Customer")
    connection = schema_editor.connection
    db = connection.alias
    last = 0
    while True:
        batch = list(
            Customer.objects.using(db)
            .filter(pk__gt=last)
            .exclude(id_number_masked="")
            .order_by("pk")
            .values_list("pk", "id_number_masked")[:BATCH]
        )
        if not batch:
            return
        last = batch[-1][0]
        updates = [
            (masked_again(masked), pk, masked)
            for pk, masked in batch
            if masked_again(masked) != masked
        ]
        if updates:
            with transaction.atomic(using=db), connection.cursor() as cursor:
                cursor.executemany(
                    "UPDATE customers_customer SET id_number_masked = %s"
                    " WHERE id = %s AND id_number_masked = %s",
                    updates,
                )


class Migration(migrations.Migration):
    # Each batch is committed on its own (see the module's docstring).
    atomic = False

    dependencies = [("customers", "0008_recycle_bin_index")]

    operations = [migrations.RunPython(mask_again, migrations.RunPython.noop, elidable=True)]
