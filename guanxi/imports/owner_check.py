"""The owner a row of a customer import names, asked of the row alone, before the import: for the
check of the first rows on the mapping page, which must refuse such a row as the import does."""

from django.utils.translation import gettext_noop

from guanxi.audit.summaries import Summary
from guanxi.customers.models import Customer
from guanxi.customers.visibility import CHANGE, VIEW, customer_scope
from guanxi.dedup.selectors import merge_successors

from .customer_import import _no_such_guanxi_id, _not_yours, _not_yours_by_guanxi_id
from .customer_rows import CustomerRow, kept_owner_reason
from .reasons import Reason, field_reason


def kept_owner_reason_ahead(row: CustomerRow, actor) -> Reason | None:
    """:func:`kept_owner_reason` for a row checked before its import. The customer the row goes
    into is the one its Guanxi id or external id names, found as the import finds it: by Guanxi
    id among the customers ``actor`` may see, one merged away standing for the one it was
    merged into, and only one they may change taken. A row naming one the import refuses is
    refused for the import's reason, never for its owner: the owner of a customer the user may
    not change is not theirs to learn. A row with neither id makes a new customer. (One the
    import merges into a duplicate the named owner has already is refused here, where no
    duplicate is looked for: the check is a first look, which the dry run and the import make
    exact.)"""
    if row.kept_owner is None:
        return None
    if row.guanxi_id is None and not row.external_id:
        return kept_owner_reason(row, None)
    if row.guanxi_id is not None:
        target = _by_guanxi_id(row.guanxi_id, actor)
        not_yours = _not_yours_by_guanxi_id(row.guanxi_id)
    else:
        target = _by_external_id(row.external_id)
        not_yours = _not_yours(row.external_id)
        if target is None:  # a new customer with that external id
            return kept_owner_reason(row, None)
    if not isinstance(target, int):
        return target
    owner = Customer.objects.visible_to(actor, CHANGE).filter(pk=target).values_list("owner_id")
    if not owner:
        return not_yours
    return kept_owner_reason(row, owner[0][0])


def _in_recycle_bin(shown_id: int | str) -> Summary:
    return Summary(
        gettext_noop("the customer %(id)s is in the recycle bin; restore it first"),
        {"id": shown_id},
    )


def _by_guanxi_id(guanxi_id: int, actor) -> int | Reason:
    """As ``CustomerImporter._existing_by_guanxi_id`` finds it, for one id."""
    seen = Customer.objects.filter(customer_scope(actor, VIEW, deleted=True), pk=guanxi_id)
    found = seen.values_list("deleted_at").first()
    if found is None:
        return _no_such_guanxi_id(guanxi_id)
    if found[0] is None:
        return guanxi_id
    successor = merge_successors([guanxi_id]).get(guanxi_id)
    if successor is None:
        return field_reason("guanxi_id", _in_recycle_bin(guanxi_id))
    if not Customer.objects.visible_to(actor).filter(pk=successor).exists():
        return _no_such_guanxi_id(guanxi_id)
    return successor


def _by_external_id(external_id: str) -> int | Reason | None:
    """As ``CustomerImporter._existing_by_external_id`` finds it, for one id (None for none)."""
    found = Customer.objects.filter(external_id=external_id).values_list("pk", "deleted_at")
    if not found:
        return None
    pk, deleted_at = found[0]
    if deleted_at is None:
        return pk
    successor = merge_successors([pk]).get(pk)
    return successor or field_reason("external_id", _in_recycle_bin(external_id))
