"""The index the every-minute sweep reads the emails to customers through holds only those still
to send: neither sent nor given up. It held every unsent one, and those given up stay unsent for
good (until someone sends them again), so it grew with them for as long as the desk ran.

Built in the migration's transaction: it covers only the emails still to send, a handful at any
time, and the table is read once to find them."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("service", "0014_customer_email_claim_given_up"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="customeremail",
            name="customer_email_unsent",
        ),
        migrations.AddIndex(
            model_name="customeremail",
            index=models.Index(
                condition=models.Q(("given_up_at", None), ("sent_at", None)),
                fields=["created_at"],
                name="customer_email_to_send",
            ),
        ),
    ]
