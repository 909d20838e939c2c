"""Two customers with a ticket each, for the tests of undoing a merge of customers once their
tickets were merged across it, and the words of that refusal."""

from guanxi.customers.services import customer_create
from guanxi.service import services as desk


def customers_with_a_ticket_each(company) -> tuple:
    """(kept, other, ticket of the kept, ticket of the other): the rep's customer and a new one,
    each with a complaint opened; neither merged yet."""
    kept = company.rep_customer
    other = customer_create(actor=company.rep, data={"name": "王芳"})
    kept_ticket, other_ticket = (
        desk.ticket_create(
            actor=company.admin,
            customer_id=customer.pk,
            data={"type": "complaint", "subject": "退款还没到账"},
        )
        for customer in (kept, other)
    )
    return kept, other, kept_ticket, other_ticket


def ticket_merge_refusal(moved, into) -> str:
    """Why an undo is refused once ticket ``moved`` was merged into ticket ``into`` across it."""
    return (
        f"Ticket {moved.number} was merged into ticket {into.number} since, and a ticket merge "
        "cannot be undone: this merge can no longer be undone."
    )
