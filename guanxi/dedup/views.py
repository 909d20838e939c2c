"""Duplicate pages: the review queue, one pair side by side (merge or "not duplicates"), undoing
a merge, and the hints the new-customer form shows while someone types.

Views only translate HTTP to one selector or service call and back; pairs are reached through
the visibility rule (both customers must be visible), and merges and rejections are services
that check the right to change both customers.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from guanxi.core.keyset import CursorError, keyset_page
from guanxi.customers.forms import CustomerForm
from guanxi.customers.models import Customer
from guanxi.customers.selectors import customer_detail_for_user, customer_permissions_for_user
from guanxi.customers.services import StaleVersionError
from guanxi.customers.visibility import can_create_customers
from guanxi.service.selectors import tickets_for_user
from guanxi.web.params import int_param, version_param

from .models import CustomerMerge, DuplicatePair
from .selectors import (
    access_duplicate_pair,
    duplicate_hints_for_user,
    duplicate_pairs_for_user,
    merge_successor,
    pair_score_field,
    pair_score_for_user,
    reasons_for_user,
)
from .services import customer_merge_undo, duplicate_pair_merge, duplicate_pair_reject

PAGE_SIZE = 50
# Later unverified requests from the address join the customer the first one made: enough of
# them to find the one to read, not every one a flood of forged mail left.
UNVERIFIED_REQUESTS_SHOWN = 20


@login_required
@require_GET
def duplicate_queue(request):
    """Possible duplicates among the customers the user may see, most likely first."""
    status = request.GET.get("status", DuplicatePair.Status.OPEN)
    if status not in DuplicatePair.Status.values:
        status = DuplicatePair.Status.OPEN
    pairs = duplicate_pairs_for_user(request.user, status=status)
    # Sorted by the score the user is shown, which for some is the score without ID numbers.
    orderings = {"-score": pair_score_field(request.user)}
    cursor_error = False
    try:
        page = keyset_page(
            pairs,
            ordering="-score",
            cursor=request.GET.get("cursor"),
            limit=PAGE_SIZE,
            orderings=orderings,
        )
    except CursorError:
        cursor_error = True
        page = keyset_page(pairs, ordering="-score", limit=PAGE_SIZE, orderings=orderings)
    for pair in page.items:
        pair.reasons = reasons_for_user(request.user, pair.details.get("fields"))
    return render(
        request,
        "dedup/queue.html",
        {
            "pairs": page.items,
            "status": status,
            "statuses": DuplicatePair.Status.choices,
            "cursor_error": cursor_error,
            "next_page_url": (
                "?" + urlencode({"status": status, "cursor": page.next_cursor})
                if page.next_cursor
                else None
            ),
        },
    )


def _pair_or_404(user, pair_id) -> DuplicatePair:
    try:
        return access_duplicate_pair(user, pair_id)
    except DuplicatePair.DoesNotExist:
        raise Http404 from None


def _side(user, customer_id: int) -> dict:
    customer = customer_detail_for_user(user, customer_id)
    return {
        "customer": customer,
        "permissions": customer_permissions_for_user(user, customer),
    }


def _unverified_requests(user, pair: DuplicatePair) -> list:
    """The tickets of a pair queued by an unverified request to the service desk that such
    requests opened, the first first, so the reviewer can read what the sender wrote before
    deciding whether they are the customer who has the address: only those ``user`` may see."""
    if pair.source != DuplicatePair.Source.INTAKE:
        return []
    tickets = tickets_for_user(user).filter(
        customer_id__in=(pair.left_id, pair.right_id), sender_unverified=True
    )
    return list(tickets.only("pk", "subject").order_by("pk")[:UNVERIFIED_REQUESTS_SHOWN])


@login_required
@require_GET
def duplicate_pair(request, pair_id: int):
    """Two customers side by side, with what speaks for and against their being one."""
    pair = _pair_or_404(request.user, pair_id)
    left, right = _side(request.user, pair.left_id), _side(request.user, pair.right_id)
    may_decide = left["permissions"].can_change and right["permissions"].can_change
    # The better-kept record survives by default: the one with more history.
    default_survivor = (
        pair.left_id
        if left["customer"].interactions.count() >= right["customer"].interactions.count()
        else pair.right_id
    )
    return render(
        request,
        "dedup/pair.html",
        {
            "pair": pair,
            "score": pair_score_for_user(request.user, pair),
            "left": left,
            "right": right,
            "may_decide": may_decide,
            "default_survivor": default_survivor,
            "reasons": reasons_for_user(request.user, pair.details.get("fields")),
            "inferred": pair.details.get("inferred", False),
            "unverified_requests": _unverified_requests(request.user, pair),
        },
    )


def _customers_shown(request) -> tuple[int | None, int | None] | None:
    """The (left, right) customers the pair's page showed, if its form said. Once one of them
    is merged into a third customer the pair names that one instead, which nobody compared
    here, so a decision on it is refused."""
    if request.POST.get("left_id") is None and request.POST.get("right_id") is None:
        return None
    return int_param(request.POST.get("left_id")), int_param(request.POST.get("right_id"))


@login_required
@require_POST
def duplicate_merge(request, pair_id: int):
    """Merge the pair, keeping the customer the user chose."""
    pair = _pair_or_404(request.user, pair_id)
    keep = request.POST.get("keep", "")
    if keep not in (str(pair.left_id), str(pair.right_id)):
        messages.error(request, _("Choose which customer to keep."))
        return redirect("dedup:pair", pair_id=pair.pk)
    survivor_id = int(keep)
    merged_id = pair.right_id if survivor_id == pair.left_id else pair.left_id
    shown = _customers_shown(request)
    if shown and shown != (pair.left_id, pair.right_id):
        messages.warning(
            request, _("One of the two customers changed since you opened this page; look again.")
        )
        return redirect("dedup:pair", pair_id=pair.pk)
    version_of = {
        pair.left_id: version_param(request.POST.get("version_left")),
        pair.right_id: version_param(request.POST.get("version_right")),
    }
    # A merge fills the kept customer's empty fields from the other, so it is always checked
    # against both customers as the page showed them: a form without their versions (a page
    # saved from before, a hand-made request) is refused as stale, once the service has
    # checked that the user may merge them at all.
    missing = None in version_of.values()
    try:
        merge = duplicate_pair_merge(
            actor=request.user,
            pair_id=pair.pk,
            survivor_id=survivor_id,
            survivor_version=version_of[survivor_id] or 0,
            merged_version=version_of[merged_id] or 0,
            merged_id=merged_id if shown else None,
        )
    except DuplicatePair.DoesNotExist:
        # Gone since the page was checked: a scan dropped it from the queue meanwhile.
        raise Http404 from None
    except StaleVersionError:
        messages.warning(
            request,
            _(
                "The form did not say which versions of the two customers you saw; look at "
                "them again as they are now. Nothing was merged."
            )
            if missing
            else _("One of the two customers changed since you opened this page; look again."),
        )
        return redirect("dedup:pair", pair_id=pair.pk)
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
        return redirect("dedup:pair", pair_id=pair.pk)
    messages.success(
        request,
        _("“%(merged)s” was merged into this customer. You can undo this below.")
        % {"merged": merge.merged.name},
    )
    return redirect("customers:detail", customer_id=survivor_id)


@login_required
@require_POST
def duplicate_reject(request, pair_id: int):
    pair = _pair_or_404(request.user, pair_id)
    try:
        duplicate_pair_reject(
            actor=request.user, pair_id=pair.pk, customer_ids=_customers_shown(request)
        )
    except DuplicatePair.DoesNotExist:
        # Gone since the page was checked: a scan dropped it from the queue meanwhile.
        raise Http404 from None
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
        return redirect("dedup:pair", pair_id=pair.pk)
    messages.success(
        request, _("Marked as two different customers; they will not be proposed again.")
    )
    return redirect("dedup:queue")


@login_required
@require_POST
def merge_undo(request, merge_id: int):
    try:
        merge = customer_merge_undo(actor=request.user, merge_id=merge_id)
    except (CustomerMerge.DoesNotExist, Customer.DoesNotExist):
        raise Http404 from None
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
        merge = CustomerMerge.objects.filter(pk=merge_id).first()
        if merge is None:
            raise Http404 from None
        # A survivor merged away since lives on in a later survivor: the message is shown there.
        return redirect(
            "customers:detail",
            customer_id=merge_successor(merge.survivor_id) or merge.survivor_id,
        )
    messages.success(
        request,
        _("The merge is undone: “%(name)s” is a customer of its own again.")
        % {"name": merge.merged.name},
    )
    return redirect("customers:detail", customer_id=merge.survivor_id)


@login_required
@require_POST
def duplicate_hints(request):
    """Likely duplicates of the customer being typed into the new-customer form (htmx)."""
    if not can_create_customers(request.user):
        raise PermissionDenied
    form = CustomerForm(user=request.user, post=request.POST)
    hints = duplicate_hints_for_user(request.user, form.service_data(draft=True))
    return render(request, "dedup/_hints.html", hints)
