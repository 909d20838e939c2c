"""Exporting customer lists. Every export goes through the visibility rule, shows phones and ID
numbers masked unless a permitted user asks for them in full, neutralises spreadsheet formulas,
and is written to the audit log."""

import csv
import io
from collections.abc import Iterator

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.audit.models import AuditEvent
from guanxi.audit.services import audit_record
from guanxi.core.crypto import decrypt_text

from .selectors import customer_list_for_user

EXPORT_COLUMNS = (
    "id",
    "external_id",
    "party_type",
    "name",
    "company",
    "kind",
    "relationship_level",
    "lifecycle_stage",
    "industry",
    "region",
    "source_channel",
    "owner",
    "phones",
    "emails",
    "tags",
    "id_number",
    "created_at",
    "updated_at",
)
# Spreadsheet programs treat a cell that starts with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: str) -> str:
    """Prefix a quote so spreadsheets show the text instead of evaluating it."""
    if value and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _rows(customers, *, reveal: bool) -> Iterator[list[str]]:
    for customer in customers:
        phones = [p.display if reveal else p.masked for p in customer.phones.all()]
        if reveal and customer.id_number_encrypted:
            id_number = decrypt_text(customer.id_number_encrypted)
        else:
            id_number = customer.id_number_masked
        values = [
            str(customer.pk),
            customer.external_id or "",
            customer.party_type,
            customer.name,
            customer.company_label or "",
            customer.kind,
            customer.relationship_level,
            customer.lifecycle_stage,
            customer.industry,
            customer.region,
            customer.source_channel,
            customer.owner.username if customer.owner else "",
            "; ".join(phones),
            "; ".join(e.address for e in customer.emails.all()),
            "; ".join(t.name for t in customer.tags.all()),
            id_number,
            customer.created_at.isoformat(),
            customer.updated_at.isoformat(),
        ]
        yield [neutralise_formula(v) for v in values]


@transaction.atomic
def customers_export_csv(*, actor, filters: dict | None = None, reveal: bool = False) -> bytes:
    """The customers ``actor`` may see, narrowed by ``filters``, as UTF-8 CSV (with a byte order
    mark, so spreadsheet programs read Chinese correctly). ``reveal`` exports full phone and ID
    numbers and needs the 'view sensitive data' permission."""
    if reveal and not actor.may_view_sensitive():
        raise PermissionDenied(_("You may not export sensitive data in full."))
    customers = (
        customer_list_for_user(actor, filters=filters)
        .select_related("owner", "organization")
        .prefetch_related("phones", "emails", "tags")
        .order_by("id")
    )
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for row in _rows(customers.iterator(chunk_size=2000), reveal=reveal):
        writer.writerow(row)
        count += 1
    audit_record(
        actor=actor,
        action=AuditEvent.Action.EXPORT,
        object_type="customer_list",
        object_id=None,
        summary=_("%(count)d customers exported") % {"count": count},
        changes={
            "filters": {
                "before": None,
                "after": {k: str(v) for k, v in (filters or {}).items() if v not in (None, "")},
            },
            "rows": {"before": None, "after": count},
            "revealed": {"before": None, "after": reveal},
        },
    )
    return buffer.getvalue().encode("utf-8")


def export_filename() -> str:
    return f"guanxi-customers-{timezone.localtime():%Y%m%d-%H%M}.csv"
