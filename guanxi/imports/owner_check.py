"""The owner a row of a customer import names, asked of the rows alone, before the import: for the
check of the first rows on the mapping page, which must refuse such a row as the import does."""

from guanxi.audit.summaries import Summary
from guanxi.customers.models import Customer
from guanxi.customers.visibility import CHANGE

from .customer_import import (
    CustomerImporter,
    _no_such_guanxi_id,
    _not_yours,
    _not_yours_by_guanxi_id,
)
from .customer_rows import CustomerRow, kept_owner_reason
from .reasons import Reason, field_reason


def kept_owner_reasons_ahead(rows: list[CustomerRow], actor) -> dict[int, Reason]:
    """:func:`kept_owner_reason` for rows checked before their import: row number -> reason,
    for the rows refused. The customer a row goes into is the one its Guanxi id or external id
    names, found as the import finds it (with its own look-ups, for all the rows at once): by
    Guanxi id among the customers ``actor`` may see, one merged away standing for the one it
    was merged into, and only one they may change taken. A row naming one the import refuses
    is refused for the import's reason, never for its owner: the owner of a customer the user
    may not change is not theirs to learn. A row with neither id makes a new customer. (One the
    import merges into a duplicate the named owner has already is refused here, where no
    duplicate is looked for: the check is a first look, which the dry run and the import make
    exact.)"""
    asked = [row for row in rows if row.kept_owner is not None]
    by_guanxi_id, _external_ids, _names = CustomerImporter._existing_by_guanxi_id(
        actor, [row.guanxi_id for row in asked]
    )
    by_external_id = CustomerImporter._existing_by_external_id(
        row.external_id for row in asked if row.guanxi_id is None
    )
    targets = {v for v in (*by_guanxi_id.values(), *by_external_id.values()) if isinstance(v, int)}
    owners = (
        dict(
            Customer.objects.visible_to(actor, CHANGE)
            .filter(pk__in=targets)
            .values_list("pk", "owner_id")
        )
        if targets
        else {}
    )
    reasons: dict[int, Reason] = {}
    for row in asked:
        target: int | Reason | None = None  # None: a new customer
        if row.guanxi_id is not None:
            target = by_guanxi_id.get(row.guanxi_id, _no_such_guanxi_id(row.guanxi_id))
            not_yours = _not_yours_by_guanxi_id(row.guanxi_id)
        elif row.external_id:
            target = by_external_id.get(row.external_id)
            if isinstance(target, Summary):  # in the recycle bin
                target = field_reason("external_id", target)
            not_yours = _not_yours(row.external_id)
        if target is None:
            reason = kept_owner_reason(row, None)
        elif not isinstance(target, int):
            reason = target
        elif target not in owners:
            reason = not_yours
        else:
            reason = kept_owner_reason(row, owners[target])
        if reason:
            reasons[row.number] = reason
    return reasons
