"""Customer pages: the list, the 360 page, the create/edit form, reveal, export, reassignment
and the recycle bin.

Views only translate HTTP to one selector or service call and back; every customer is reached
through the visibility rule (``access_customer`` or a ``*_for_user`` selector), and every write
is a service that checks permission and audits.
"""

from typing import NamedTuple

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from guanxi.accounts.roles import DELETING_ROLES, REASSIGNING_ROLES
from guanxi.analytics.selectors import customer_value_card
from guanxi.core.keyset import CursorError, keyset_page
from guanxi.core.masking import mask_numbers_in_text, text_as_seen_by
from guanxi.dedup.selectors import (
    duplicate_hints_for_user,
    merge_successor,
    merged_customers_within_reach,
    merges_of_customer_for_user,
    open_pairs_of_customer_for_user,
)
from guanxi.interactions.forms import InteractionForm
from guanxi.interactions.selectors import interactions_for_customer
from guanxi.orders.selectors import orders_for_customer, purchase_summary
from guanxi.web.paging import keyset_page_context
from guanxi.web.params import int_param, version_param

from .export_jobs import (
    EXPORT_KEPT_DAYS,
    access_customer_export_job,
    customer_export_is_long,
    customer_export_job_create,
    customer_export_removed,
    customer_export_workbook,
)
from .exports import (
    MEDIA_TYPES,
    ExportFormat,
    customers_export_csv_stream,
    customers_export_xlsx,
    export_filename,
)
from .forms import (
    CustomerExportForm,
    CustomerFilterForm,
    CustomerForm,
    ReassignForm,
    RecycleBinFilterForm,
)
from .history import custom_value_shown, describe_history
from .masked_phone_search import numbers_named_in_full
from .models import Customer, CustomerExportJob, Phone
from .selectors import (
    RECYCLE_BIN_ORDERINGS,
    PageDetails,
    access_customer,
    customer_detail_for_user,
    customer_list_for_user,
    customer_permissions_for_user,
    deleted_customer_detail_for_user,
    deleted_customers_for_user,
    history_for_customer,
    inactive_owners_for_user,
    organization_lookup_for_user,
    organization_people_for_user,
    page_details,
    reassignable_customer_count,
    with_deletions,
)
from .services import (
    StaleVersionError,
    WholeNumberLimitReached,
    customer_create,
    customer_delete,
    customer_restore,
    customer_reveal_sensitive,
    customer_update,
    customers_reassign,
    whole_number_lookups_count,
)
from .visibility import VIEW, can_create_customers, can_restore_customers, customer_scope

PAGE_SIZE = 50
TIMELINE_PAGE = 20
HISTORY_PAGE = 20
RECENT_ORDERS = 10
TIMELINE_ORDERINGS = {"-occurred_at": "occurred_at"}
HISTORY_ORDERINGS = {"-id": "id"}


def _wants_fragment(request) -> bool:
    """htmx asks for the part of the page it swaps; a history restore needs the whole page."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def _whole_numbers_refused(user, query: str | None) -> str:
    """Counts the whole phone numbers ``query`` names for ``user`` (if they see numbers
    masked), and says so when they may not look up any more for now ("" when they may)."""
    try:
        whole_number_lookups_count(
            actor=user, numbers=numbers_named_in_full(query or ""), field="q"
        )
    except WholeNumberLimitReached as refusal:
        return refusal.message()
    return ""


def _visible_or_404(user, customer_id, action=VIEW) -> Customer:
    try:
        return access_customer(user, customer_id, action)
    except Customer.DoesNotExist:
        raise Http404 from None


@login_required
@require_GET
def customer_list(request):
    """Search, filter, sort and page through the customers the user may see."""
    form = CustomerFilterForm(request.GET, user=request.user)
    return _list_page(request, form, fragment=_wants_fragment(request))


def _list_page(request, form: CustomerFilterForm, *, fragment: bool, status: int = 200):
    filters = form.selector_filters()
    queryset = (
        customer_list_for_user(request.user, filters=filters or {})
        # The organisation, phones, emails and tags are fetched for the page's rows afterwards
        # (``page_details``), not joined to every match: with a search, PostgreSQL would
        # otherwise join thousands of rows before it keeps the newest fifty.
        .select_related("owner")
    )
    if filters is None:  # a filter is not valid: the page says which, and lists no one
        queryset = queryset.none()
    refused = _whole_numbers_refused(request.user, (filters or {}).get("q"))
    if refused:
        queryset = queryset.none()
        # The search as you type gets its answer swapped in only when it is a success.
        status = status if fragment else 429
    paging = keyset_page_context(request, queryset, ordering=form.ordering(), limit=PAGE_SIZE)
    customers = list(paging["page"].items)
    context = {
        "form": form,
        **paging,
        "customers": customers,
        "rows": _list_rows(customers, page_details(customers, viewer=request.user)),
        "is_filtered": form.is_filtered(),
        "filter_errors": form.filter_errors(),
        "lookup_refused": refused,
        # The export form posts the filters of the list shown. Search-as-you-type replaces
        # only the results, so their fragment brings the export form along (out of band).
        "export_params": form.export_params(),
        "export_form": CustomerExportForm(),
        "fragment": fragment,
        "can_create": can_create_customers(request.user),
        "can_restore": can_restore_customers(request.user),
        "may_reveal": request.user.may_view_sensitive(),
    }
    template = "customers/_results.html" if fragment else "customers/list.html"
    return render(request, template, context, status=status)


class _ListRow(NamedTuple):
    """A customer of the list page with what its row shows besides the customer's own fields."""

    customer: Customer
    company: str  # the organisation's name if the reader may see it, as ``company_in_sight``
    phone: str  # the first phone, masked
    email: str  # the first email
    tags: list[str]


def _list_rows(customers: list[Customer], details: PageDetails) -> list[_ListRow]:
    rows = []
    for customer in customers:
        phones = details.phones.get(customer.pk)
        emails = details.emails.get(customer.pk)
        rows.append(
            _ListRow(
                customer,
                company=details.organisations.get(customer.organization_id, customer.company),
                phone=phones[0]["number_masked"] if phones else "",
                email=emails[0]["address"] if emails else "",
                tags=details.tags.get(customer.pk, []),
            )
        )
    return rows


@login_required
@require_GET
def customer_detail(request, customer_id: int):
    """The customer 360 page: profile, contacts, people, timeline and history."""
    try:
        customer = customer_detail_for_user(request.user, customer_id)
    except Customer.DoesNotExist:
        successor = _merged_into_visible(request.user, customer_id)
        if successor is None:
            raise Http404 from None
        messages.info(request, _("That customer was merged into this one."))
        return redirect("customers:detail", customer_id=successor)
    permissions = customer_permissions_for_user(request.user, customer)
    timeline = keyset_page(
        interactions_for_customer(customer=customer),
        ordering="-occurred_at",
        limit=TIMELINE_PAGE,
        orderings=TIMELINE_ORDERINGS,
    )
    history, history_next = _history_page(request, customer)
    people = (
        organization_people_for_user(request.user, customer)[:50]
        if customer.is_organization
        else []
    )
    return render(
        request,
        "customers/detail.html",
        {
            "customer": customer,
            # Numbers typed into the notes as the reader may see them, as the card's numbers.
            "notes": text_as_seen_by(request.user, customer.notes),
            "permissions": permissions,
            "timeline": timeline,
            "history": history,
            "history_next": history_next,
            "people": people,
            "stage_track": _stage_track(customer),
            "interaction_form": InteractionForm(
                initial={
                    "occurred_at": timezone.localtime().replace(second=0, microsecond=0),
                    "channel": "phone",
                    "direction": "outbound",
                }
            ),
            "custom_values": _custom_values(customer),
            "merges": _merges(request.user, customer, permissions),
            "possible_duplicates": open_pairs_of_customer_for_user(request.user, customer)[:10],
            "recent_orders": orders_for_customer(customer=customer)[:RECENT_ORDERS],
            "purchases": purchase_summary([customer.pk]).get(customer.pk),
            "value_card": customer_value_card(customer),
            # The customer is visible, so all their tickets are (tickets follow the customer).
            "recent_tickets": customer.tickets.select_related("assignee").order_by("-id")[:10],
        },
    )


def _stage_track(customer: Customer) -> list[tuple]:
    """Each lifecycle stage, and whether the customer has reached it."""
    stages = list(Customer.LifecycleStage)
    reached = stages.index(customer.lifecycle_stage) if customer.lifecycle_stage in stages else -1
    return [(stage, i <= reached) for i, stage in enumerate(stages)]


def _merged_into_visible(user, customer_id: int) -> int | None:
    """Where a customer merged away lives on, if the user may see that customer and could see
    the merged one before the merge (its row, owner and all, stays in the recycle bin). Anyone
    else gets the 404 of an id that never existed: a redirect would tell them it did."""
    successor = merge_successor(customer_id)
    if successor is None:
        return None
    could_see_merged = Customer.objects.filter(
        customer_scope(user, VIEW, deleted=True), pk=customer_id
    ).exists()
    if not could_see_merged:
        return None
    visible = Customer.objects.visible_to(user, VIEW).filter(pk=successor).exists()
    return successor if visible else None


def _merges(user, customer: Customer, permissions) -> list[dict]:
    manager = user.is_superuser or user.role in DELETING_ROLES
    merges = list(merges_of_customer_for_user(user, customer)[:10])
    within_reach = merged_customers_within_reach(user, merges)
    return [
        {
            "merge": merge,
            "may_undo": merge.undone_at is None
            and permissions.can_change
            and merge.merged_id in within_reach
            and (manager or merge.merged_by_id == user.pk),
        }
        for merge in merges
    ]


def _custom_values(customer: Customer) -> list[tuple[str, str]]:
    from .models import CustomFieldDefinition

    values = customer.custom_fields or {}
    language = get_language() or "en"
    return [
        (d.label_for(language), custom_value_shown(values[d.key]))
        for d in CustomFieldDefinition.objects.filter(is_active=True)
        if d.key in values
    ]


@login_required
@require_GET
def customer_timeline(request, customer_id: int):
    """The next page of a customer's timeline: the entries htmx appends ("show more"), or a
    whole page of them when followed as a plain link."""
    customer = _visible_or_404(request.user, customer_id)
    try:
        timeline = keyset_page(
            interactions_for_customer(customer=customer),
            ordering="-occurred_at",
            cursor=request.GET.get("cursor"),
            limit=TIMELINE_PAGE,
            orderings=TIMELINE_ORDERINGS,
        )
    except CursorError:
        return HttpResponse(status=400)
    template = "customers/_timeline.html" if _wants_fragment(request) else "customers/timeline.html"
    return render(request, template, {"customer": customer, "timeline": timeline})


@login_required
@require_GET
def customer_history(request, customer_id: int):
    """The next page of a customer's audit history: the entries htmx appends ("show more"),
    or a whole page of them when followed as a plain link."""
    customer = _visible_or_404(request.user, customer_id)
    try:
        history, history_next = _history_page(request, customer, request.GET.get("cursor"))
    except CursorError:
        return HttpResponse(status=400)
    template = "customers/_history.html" if _wants_fragment(request) else "customers/history.html"
    return render(
        request,
        template,
        {"customer": customer, "history": history, "history_next": history_next},
    )


def _history_page(request, customer: Customer, cursor: str | None = None, **described):
    """A page of the customer's history from ``cursor`` (the newest without one), described
    for the user (``describe_history``, with ``described``), and the cursor of the next page.
    Raises ``CursorError`` for a cursor no page gave."""
    history = history_for_customer(customer=customer, viewer=request.user)
    page = keyset_page(
        history.events(),
        ordering="-id",
        cursor=cursor,
        limit=HISTORY_PAGE,
        orderings=HISTORY_ORDERINGS,
    )
    entries = describe_history(page.items, viewer=request.user, history=history, **described)
    return entries, page.next_cursor


def _form_context(form: CustomerForm, *, customer: Customer | None) -> dict:
    form.language = get_language() or "en"
    return {"form": form, "customer": customer, "sections": form.sections()}


@login_required
@require_http_methods(["GET", "POST"])
def customer_create_view(request):
    if not can_create_customers(request.user):
        raise PermissionDenied
    if request.method == "POST":
        form = CustomerForm(user=request.user, post=request.POST)
        try:
            customer = customer_create(actor=request.user, data=form.service_data())
        except ValidationError as exc:
            form.apply_errors(exc)
            messages.error(request, _("Please correct the marked fields."))
            # The warning of likely duplicates seen while typing comes back with the form, as
            # the page asks for it (from what was sent, not the form marked with the errors).
            typed = CustomerForm(user=request.user, post=request.POST)
            hints = duplicate_hints_for_user(request.user, typed.service_data(draft=True))
        else:
            messages.success(request, _("Customer “%(name)s” created.") % {"name": customer.name})
            return redirect("customers:detail", customer_id=customer.pk)
    else:
        hints = None
        form = CustomerForm(user=request.user)
        # "Add a person" on an organisation's page starts the form linked to it.
        organization_id = int_param(request.GET.get("organization"))
        if organization_id is not None:
            organization = (
                Customer.objects.visible_to(request.user, VIEW)
                .filter(pk=organization_id, party_type=Customer.PartyType.ORGANIZATION)
                .first()
            )
            if organization is not None:
                form.organization_id = str(organization.pk)
                form.organization_label = organization.name
    status = 422 if form.has_errors else 200
    context = _form_context(form, customer=None) | {"duplicate_hints": hints}
    return render(request, "customers/form.html", context, status=status)


def _gone_meanwhile(customer: Customer):
    """The answer to a form whose customer went while the service waited for it: merged into
    another customer (whose page its address leads to, saying so) or deleted (a 404 there),
    rather than a server error."""
    return redirect("customers:detail", customer_id=customer.pk)


@login_required
@require_http_methods(["GET", "POST"])
def customer_edit_view(request, customer_id: int):
    try:
        customer = customer_detail_for_user(request.user, customer_id)
    except Customer.DoesNotExist:
        raise Http404 from None
    if not customer_permissions_for_user(request.user, customer).can_change:
        raise PermissionDenied
    if request.method == "POST":
        form = CustomerForm(user=request.user, customer=customer, post=request.POST)
        version = form.expected_version()
        try:
            if version is None:
                raise ValidationError({"version": _("The form is missing its version.")})
            updated = customer_update(
                actor=request.user,
                customer_id=customer.pk,
                expected_version=version,
                data=form.service_data(),
            )
        except Customer.DoesNotExist:
            return _gone_meanwhile(customer)
        except StaleVersionError:
            saved = customer_detail_for_user(request.user, customer.pk)
            form.customer = saved
            form.mark_conflicts(saved)
            messages.warning(
                request,
                _(
                    "Someone else saved this customer while you were editing. Your changes are "
                    "not saved yet: the values saved now are shown beside the fields that "
                    "differ. Save again to keep yours."
                ),
            )
            return render(
                request, "customers/form.html", _form_context(form, customer=saved), status=409
            )
        except ValidationError as exc:
            form.apply_errors(exc)
            messages.error(request, _("Please correct the marked fields."))
        else:
            messages.success(request, _("Changes saved."))
            return redirect("customers:detail", customer_id=updated.pk)
    else:
        form = CustomerForm(user=request.user, customer=customer)
    status = 422 if form.has_errors else 200
    return render(
        request, "customers/form.html", _form_context(form, customer=customer), status=status
    )


@login_required
@require_POST
def customer_delete_view(request, customer_id: int):
    customer = _visible_or_404(request.user, customer_id)
    # Deleting is decided on the customer as the page showed it, as the API's delete is: a
    # form without the version (a page saved from before, a hand-made request) is refused as
    # stale, once the service has checked that the user may delete at all.
    expected = version_param(request.POST.get("version"))
    try:
        customer_delete(
            actor=request.user,
            customer_id=customer.pk,
            expected_version=0 if expected is None else expected,
        )
    except Customer.DoesNotExist:
        return _gone_meanwhile(customer)
    except StaleVersionError:
        messages.warning(
            request,
            _(
                "The form did not say which version of the customer you saw; look at it "
                "again as it is now. Nothing was deleted."
            )
            if expected is None
            else _("This customer changed since you opened it; look again."),
        )
        return redirect("customers:detail", customer_id=customer.pk)
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
        return redirect("customers:detail", customer_id=customer.pk)
    messages.success(
        request,
        _("“%(name)s” moved to the recycle bin. An administrator can restore it.")
        % {"name": customer.name},
    )
    return redirect("customers:list")


@login_required
@require_POST
def customer_reveal_view(request, customer_id: int):
    """Full ID and phone numbers, for users allowed to see them; every reveal is audited."""
    customer = _visible_or_404(request.user, customer_id)
    revealed = customer_reveal_sensitive(actor=request.user, customer_id=customer.pk)
    labels = dict(Phone.Label.choices)
    for phone in revealed["phones"]:
        phone["label"] = labels.get(phone["label"], phone["label"])
    template = "customers/_revealed.html" if _wants_fragment(request) else "customers/revealed.html"
    return render(request, template, {"customer": customer, "revealed": revealed})


@login_required
@require_POST
def customer_export_view(request):
    """The filtered list as CSV or an Excel workbook, for re-import or for reading. A POST,
    because it writes an audit row (and may reveal)."""
    export_form = CustomerExportForm(request.POST)
    if not export_form.is_valid():
        raise BadRequest("Unknown export format or layout")
    export_format = export_form.cleaned_data["format"]
    layout = export_form.cleaned_data["layout"]
    filter_form = CustomerFilterForm(request.POST, user=request.user)
    filters = filter_form.selector_filters()
    if filters is None:
        # Exporting without the filter that is not valid would export everyone.
        messages.error(request, _("Nothing was exported: correct the filters first."))
        return _list_page(request, filter_form, fragment=False, status=422)
    # An export's rows answer a search by a whole number as the list does; over the limit the
    # list is shown again, saying so (a refused number is not counted twice).
    if _whole_numbers_refused(request.user, filters.get("q")):
        return _list_page(request, filter_form, fragment=False)
    reveal = request.POST.get("reveal") == "1"
    if export_format == ExportFormat.XLSX and customer_export_is_long(
        actor=request.user, filters=filters
    ):
        # Too long to write before a reverse proxy gives up on the response: written in the
        # background and downloaded from the job's page.
        job = customer_export_job_create(
            actor=request.user, filters=filters, reveal=reveal, layout=layout
        )
        return redirect("customers:export_job", job_id=job.pk)
    if export_format == ExportFormat.XLSX:
        workbook = customers_export_xlsx(
            actor=request.user, filters=filters, reveal=reveal, layout=layout
        )
        return FileResponse(
            workbook,
            as_attachment=True,
            filename=export_filename(export_format),
            content_type=MEDIA_TYPES[export_format],
        )
    pieces = customers_export_csv_stream(
        actor=request.user, filters=filters, reveal=reveal, layout=layout
    )
    response = StreamingHttpResponse(pieces, content_type=MEDIA_TYPES[export_format])
    response["Content-Disposition"] = f'attachment; filename="{export_filename(export_format)}"'
    return response


def _export_job_or_404(user, job_id) -> CustomerExportJob:
    try:
        return access_customer_export_job(user, job_id)
    except CustomerExportJob.DoesNotExist:
        raise Http404 from None


@login_required
@require_GET
def customer_export_job_view(request, job_id: int):
    """A background export's page: waiting, writing (the page refreshes itself), ready with
    its download, or failed with the reason."""
    job = _export_job_or_404(request.user, job_id)
    expired = customer_export_removed(job)
    context = {
        "job": job,
        "running": job.status
        in (CustomerExportJob.Status.QUEUED, CustomerExportJob.Status.RUNNING),
        "expired": expired,
        "kept_days": EXPORT_KEPT_DAYS,
    }
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "customers/_export_job.html", context)
    return render(request, "customers/export_job.html", context)


@login_required
@require_GET
def customer_export_download(request, job_id: int):
    """A background export's workbook, for its requester. Not audited again: the export was
    audited once, when the workbook was written (what, how many, revealed or not), and getting
    the same file again shows its requester nothing the row does not already record; a second
    row per download would count one export several times."""
    job = _export_job_or_404(request.user, job_id)
    if job.status != CustomerExportJob.Status.READY or customer_export_removed(job):
        raise Http404
    return customer_export_workbook(job)


@login_required
@require_GET
def organization_lookup(request):
    """Organisations matching what the user typed, as pickable suggestions (htmx)."""
    label = request.GET.get("organization_label", "")
    refused = _whole_numbers_refused(request.user, label)
    organizations = [] if refused else organization_lookup_for_user(request.user, label)
    # htmx swaps in only a successful answer, so a refusal is one too.
    return render(
        request,
        "customers/_organization_lookup.html",
        {"organizations": organizations, "refused": refused},
    )


def _may_reassign(user) -> bool:
    return user.is_superuser or user.role in REASSIGNING_ROLES


@login_required
@require_http_methods(["GET", "POST"])
def reassign_view(request):
    """Hand all customers of one account manager to another (the salesperson-leaves case)."""
    if not _may_reassign(request.user):
        raise PermissionDenied
    form = ReassignForm(request.POST or request.GET or None, user=request.user)
    preview = None
    if form.is_bound and form.is_valid():
        from_owner_id = form.from_owner_id()
        preview = reassignable_customer_count(request.user, owner_id=from_owner_id)
        if request.method == "POST":
            try:
                moved = customers_reassign(
                    actor=request.user,
                    from_owner_id=from_owner_id,
                    to_owner_id=form.to_owner_id(),
                )
            except ValidationError as exc:
                for name, texts in exc.message_dict.items():
                    form.add_error("to_owner" if name == "to_owner_id" else None, texts)
            else:
                messages.success(
                    request,
                    _("%(count)d customers now have a new account manager.") % {"count": moved},
                )
                return redirect(reverse("customers:reassign"))
    if _wants_fragment(request):
        # The preview htmx asks for on every change shows the count alone.
        return render(request, "customers/_reassign_preview.html", {"preview": preview})
    return render(
        request,
        "customers/reassign.html",
        {
            "form": form,
            "preview": preview,
            "inactive_owners": inactive_owners_for_user(request.user),
        },
    )


@login_required
@require_GET
def recycle_bin(request):
    """The recycle bin (administrators only): deleted customers, newest deletion first, with
    who deleted them, each with a button that restores it."""
    form = RecycleBinFilterForm(request.GET)
    query = form.query()
    queryset = (
        deleted_customers_for_user(request.user, query=query or "")
        .select_related("owner")
        .prefetch_related("organization")
    )
    if query is None:  # words that cannot be searched for: the page says so, and lists no one
        queryset = queryset.none()
    refused = _whole_numbers_refused(request.user, query)
    if refused:
        queryset = queryset.none()
    paging = keyset_page_context(
        request,
        queryset,
        ordering="-deleted_at",
        limit=PAGE_SIZE,
        orderings=RECYCLE_BIN_ORDERINGS,
    )
    context = {
        "form": form,
        **paging,
        "customers": with_deletions(paging["page"].items),
        "is_filtered": bool(request.GET.get("q")),
        "lookup_refused": refused,
    }
    return render(request, "customers/recycle_bin.html", context, status=429 if refused else 200)


@login_required
@require_GET
def deleted_customer_detail(request, customer_id: int):
    """A customer in the recycle bin, read-only, for whoever may restore it (administrators; the
    others are refused as the bin refuses them): its profile, contact details with the numbers
    masked, who deleted it and its history, with the Restore button, so that it is restored
    knowingly. Nothing on it changes the customer; the full numbers are not offered, since
    revealing them is for customers in use. With ``cursor``, the history from there: the
    entries htmx appends ("show older changes"), or the page with them."""
    try:
        customer = deleted_customer_detail_for_user(request.user, customer_id)
    except Customer.DoesNotExist:
        raise Http404 from None
    try:
        history, history_next = _history_page(
            request, customer, request.GET.get("cursor"), recycle_bin=True
        )
    except CursorError:
        return HttpResponse(status=400)
    context = {
        "customer": customer,
        "history": history,
        "history_next": history_next,
        "history_url": reverse("customers:deleted_detail", args=[customer.pk]),
    }
    if _wants_fragment(request) and request.GET.get("cursor"):
        return render(request, "customers/_history.html", context)
    context |= {
        # Masked for everyone, as the bin masks the card's numbers and the history's text:
        # seeing them in full is for customers in use.
        "notes": mask_numbers_in_text(customer.notes),
        "stage_track": _stage_track(customer),
        "custom_values": _custom_values(customer),
        "organization_deleted": customer.organization is not None
        and customer.organization.deleted_at is not None,
    }
    return render(request, "customers/deleted_detail.html", context)


@login_required
@require_POST
def customer_restore_view(request, customer_id: int):
    """Restore one customer from the recycle bin, as the bin showed it (its version)."""
    expected = version_param(request.POST.get("version"))
    try:
        customer = customer_restore(
            actor=request.user,
            customer_id=customer_id,
            expected_version=0 if expected is None else expected,
        )
    except Customer.DoesNotExist:
        raise Http404 from None
    except StaleVersionError:
        messages.warning(
            request,
            _(
                "The form did not say which version of the customer you saw; look at the "
                "recycle bin again. Nothing was restored."
            )
            if expected is None
            else _(
                "This customer changed since the recycle bin was shown, perhaps restored and "
                "deleted again. Look at it again before restoring it. Nothing was restored."
            ),
        )
        return redirect("customers:recycle_bin")
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
        return redirect("customers:recycle_bin")
    messages.success(
        request,
        _("“%(name)s” is restored: it is back in the customer lists and search.")
        % {"name": customer.name},
    )
    return redirect("customers:detail", customer_id=customer.pk)
