"""The service desk's pages: the ticket queue, a ticket with its conversation and actions, and
opening a ticket for a customer; for customers, the public request form, the status page their
link opens and the one-question survey."""

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import OperationalError, transaction
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from guanxi.accounts.models import User
from guanxi.core.languages import speak_unless_chosen
from guanxi.core.locking import is_lock_contention, logged_as_busy
from guanxi.core.uploads import (
    LENGTH_REQUIRED,
    UploadRefused,
    refuses_files_over,
    sent_without_length_message,
)
from guanxi.customers.models import Customer
from guanxi.customers.selectors import access_customer
from guanxi.customers.visibility import INTERACT
from guanxi.web.pages import customer_page
from guanxi.web.paging import keyset_page_context
from guanxi.web.params import int_param, version_param

from . import mail, services
from .forms import (
    CustomerReplyForm,
    NoteForm,
    PublicRequestForm,
    ReplyForm,
    SurveyForm,
    TicketChangeForm,
    TicketFilterForm,
    TicketForm,
)
from .intake import customer_wrote_again, request_from_customer
from .models import SatisfactionSurvey, Ticket, TicketAttachment
from .selectors import (
    notifications_for_user,
    ticket_get_for_user,
    ticket_orders_for_user,
    tickets_for_user,
    unread_notifications,
)

ORDERINGS = {"-id": "id"}


def _form_errors(form, error: ValidationError, fields: dict[str, str] | None = None) -> None:
    """Each of ``error``'s messages beside its field. ``fields`` names the form's field for
    the start of a path the service reports (``phones`` for ``phones[0].number``)."""
    for path, texts in error.message_dict.items():
        name = (fields or {}).get(re.split(r"[\[.]", path, maxsplit=1)[0], path)
        form.add_error(name if name in form.fields else None, texts)


# The public form's fields, by the customer record's fields the intake fills from them.
PUBLIC_REQUEST_FIELDS = {"phones": "phone", "emails": "email"}


@login_required
@require_GET
def ticket_list(request):
    form = TicketFilterForm(request.GET or None)
    filters = form.selector_filters(request.user) if request.GET else {"status": "open_any"}
    queryset = tickets_for_user(request.user, **(filters or {})).select_related(
        "customer", "assignee", "category"
    )
    if filters is None:  # a filter is not valid: the page says which, and lists no ticket
        queryset = queryset.none()
    paging = keyset_page_context(request, queryset, ordering="-id", orderings=ORDERINGS)
    context = {"form": form, "filter_errors": form.filter_errors(), "now": timezone.now()}
    return render(request, "service/list.html", {**context, **paging})


@login_required
@require_http_methods(["GET", "POST"])
def ticket_new(request, customer_id: int):
    try:
        customer = access_customer(request.user, customer_id, INTERACT)
    except Customer.DoesNotExist:
        raise Http404 from None
    form = TicketForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            ticket = services.ticket_create(
                actor=request.user, customer_id=customer.pk, data=form.cleaned_data
            )
        except Customer.DoesNotExist:
            raise Http404 from None  # merged into another or deleted since the check above
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, _("Ticket %(number)s opened.") % {"number": ticket.number})
            return redirect("service:detail", ticket_id=ticket.pk)
    status = 422 if form.errors else 200
    return render(request, "service/new.html", {"customer": customer, "form": form}, status=status)


def _detail_context(request, ticket, **forms):
    can_act = (
        Customer.objects.visible_to(request.user, INTERACT).filter(pk=ticket.customer_id).exists()
    )
    assignable = []
    if can_act:
        assignable = User.objects.filter(
            is_active=True, role__in=["service_agent", "manager", "sales_rep", "admin"]
        ).order_by("username")
    watchers = list(ticket.watchers.all())
    return {
        "ticket": ticket,
        "conversation": ticket.messages.select_related("author", "customer_email").prefetch_related(
            "attachments"
        ),
        # The acknowledgement and the survey the mail server did not take (replies are marked
        # in the conversation).
        "unsent_emails": ticket.customer_emails.filter(
            message=None, sent_at=None, failed_at__isnull=False
        ).order_by("created_at", "id"),
        # The tickets merged into this one, named on its page for as long as it exists.
        "merged_tickets": ticket.merged_tickets.order_by("pk"),
        "history": ticket.status_changes.select_related("by"),
        "attachments": ticket.attachments.all(),
        "linked_orders": ticket_orders_for_user(request.user, ticket),
        "sla_notices": ticket.sla_notifications.all(),
        "survey": SatisfactionSurvey.objects.filter(ticket=ticket).first(),
        "can_act": can_act,
        "assignable": assignable,
        # In the workflow's order (open, pending, resolved, closed), not sorted by code, which
        # put "Closed" first.
        "next_statuses": [
            status
            for status in Ticket.Status.values
            if status in services.TRANSITIONS.get(ticket.status, ())
        ],
        "status_labels": dict(Ticket.Status.choices),
        "reply_form": forms.get("reply_form") or ReplyForm(),
        "note_form": forms.get("note_form") or NoteForm(),
        "change_form": (forms.get("change_form") or TicketChangeForm(ticket=ticket))
        if can_act
        else None,
        "now": timezone.now(),
        "status_url": mail.status_url(ticket.pk),
        "watchers": watchers,
        "watching": any(user.pk == request.user.pk for user in watchers),
    }


def _attachment_limit_bytes() -> int:
    return services.MAX_ATTACHMENT_BYTES


def _attachment_refused(request, refused: UploadRefused, ticket_id: int):
    """The ticket's page with why the reply or note was not taken: a file too large, stopped at
    as it arrived (see ``refuses_files_over``), or a post that did not say its size. What was
    typed is shown again when it came before the file, as the page's forms send it."""
    try:
        ticket = ticket_get_for_user(request.user, ticket_id)
    except Ticket.DoesNotExist:
        raise Http404 from None
    forms = {}
    action = refused.fields.get("action")
    if action == "reply":
        forms["reply_form"] = ReplyForm(refused.fields)
    elif action == "note":
        forms["note_form"] = NoteForm(refused.fields)
    if refused.status == LENGTH_REQUIRED:
        messages.error(request, sent_without_length_message())
    else:
        messages.error(
            request,
            _(
                "%(name)s is larger than %(limit)d MB. Nothing was saved: send it again with "
                "a smaller file."
            )
            % {"name": refused.file_name, "limit": services.MAX_ATTACHMENT_BYTES // (1024 * 1024)},
        )
    return render(
        request,
        "service/detail.html",
        _detail_context(request, ticket, **forms),
        status=refused.status,
    )


@login_required
@require_http_methods(["GET", "POST"])
@refuses_files_over(file_limit_bytes=_attachment_limit_bytes, refuse=_attachment_refused)
def ticket_detail(request, ticket_id: int):
    try:
        ticket = ticket_get_for_user(request.user, ticket_id)
    except Ticket.DoesNotExist:
        raise Http404 from None
    forms = {}
    merge_target = None
    http_status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        expected = version_param(request.POST.get("version"))
        # For the changes that overwrite (status, assignee, a merge, a reply that moves the
        # ticket on): a form without a version (a page saved from before, a hand-made request)
        # is refused as stale once the service has checked who may act, never let through.
        checked = 0 if expected is None else expected
        try:
            if action == "reply":
                form = ReplyForm(request.POST)
                forms["reply_form"] = form
                if form.is_valid():
                    status = form.cleaned_data["status"] or None
                    services.ticket_reply(
                        actor=request.user,
                        ticket_id=ticket.pk,
                        body=form.cleaned_data["body"],
                        status=status,
                        # The form sends the version it was read at, and it is checked; only
                        # moving the ticket on overwrites, and that never goes unchecked.
                        expected_version=checked if status else expected,
                        files=request.FILES.getlist("files"),
                    )
                    messages.success(request, _("Reply sent."))
                    return redirect("service:detail", ticket_id=ticket.pk)
            elif action == "note":
                form = NoteForm(request.POST)
                forms["note_form"] = form
                if form.is_valid():
                    services.ticket_note(
                        actor=request.user,
                        ticket_id=ticket.pk,
                        body=form.cleaned_data["body"],
                        files=request.FILES.getlist("files"),
                    )
                    messages.success(request, _("Note added."))
                    return redirect("service:detail", ticket_id=ticket.pk)
            elif action == "status":
                services.ticket_set_status(
                    actor=request.user,
                    ticket_id=ticket.pk,
                    status=request.POST.get("status", ""),
                    expected_version=checked,
                )
                messages.success(request, _("Status changed."))
                return redirect("service:detail", ticket_id=ticket.pk)
            elif action == "assign":
                services.ticket_assign(
                    actor=request.user,
                    ticket_id=ticket.pk,
                    assignee_id=int_param(request.POST.get("assignee_id")),
                    expected_version=checked,
                )
                messages.success(request, _("Assignment changed."))
                return redirect("service:detail", ticket_id=ticket.pk)
            elif action == "change":
                # Who may change the ticket is asked first, so that a post by someone who may
                # only read it is refused as such (403) whatever it sends.
                try:
                    access_customer(request.user, ticket.customer_id, INTERACT)
                except Customer.DoesNotExist:
                    raise Http404 from None
                form = TicketChangeForm(request.POST, ticket=ticket)
                forms["change_form"] = form
                if form.is_valid():
                    data = form.changes(ticket)
                    if not data:
                        messages.info(request, _("Nothing was changed."))
                        return redirect("service:detail", ticket_id=ticket.pk)
                    try:
                        # The API's change (PATCH /tickets/{id}): same checks, same audit row,
                        # the policy chosen again and the deadlines recomputed.
                        services.ticket_update(
                            actor=request.user,
                            ticket_id=ticket.pk,
                            expected_version=checked,
                            data=data,
                        )
                    except ValidationError as error:
                        if "ticket_id" in error.message_dict:
                            # About the ticket, not a field (it was merged away meanwhile, and
                            # its page shows no change form): said at the top of the page.
                            raise
                        _form_errors(form, error)
                    else:
                        messages.success(request, _("Ticket changed."))
                        return redirect("service:detail", ticket_id=ticket.pk)
            elif action == "send_again":
                services.customer_email_send_again(
                    actor=request.user,
                    ticket_id=ticket.pk,
                    email_id=int_param(request.POST.get("email_id")) or 0,
                )
                messages.success(request, _("Sent to the customer."))
                return redirect("service:detail", ticket_id=ticket.pk)
            elif action in ("watch", "unwatch"):
                services.ticket_watch(
                    actor=request.user, ticket_id=ticket.pk, watching=action == "watch"
                )
                return redirect("service:detail", ticket_id=ticket.pk)
            elif action == "merge":
                raw = (request.POST.get("into") or "").strip().upper().removeprefix("T-")
                into_id = int_param(raw)
                if into_id is None:
                    raise ValidationError({"into_id": _("Give the number of the ticket to keep.")})
                into_version = version_param(request.POST.get("into_version"))
                try:
                    if into_version is None:
                        # The number alone: show the ticket to keep and ask again, so that the
                        # merge is confirmed against both tickets as the user saw them.
                        merge_target = _merge_target(request.user, ticket, into_id, checked)
                    else:
                        target = services.ticket_merge(
                            actor=request.user,
                            ticket_id=ticket.pk,
                            into_id=into_id,
                            expected_version=checked,
                            into_version=into_version,
                        )
                        # Shown on the kept ticket's page, so it names the ticket merged away
                        # (saying "merged into" the page's own number read as a merge into itself).
                        messages.success(
                            request,
                            _("%(number)s was merged into this ticket.")
                            % {"number": ticket.number},
                        )
                        return redirect("service:detail", ticket_id=target.pk)
                except Ticket.DoesNotExist:
                    raise ValidationError({"into_id": _("No such ticket.")}) from None
            else:
                # Not a form of the page's (a hand-made post, or one from a page of another
                # version): said, and nothing done.
                messages.error(request, _("Unknown action."))
                http_status = 400
        except services.StaleTicketError as exc:
            if expected is None:
                text = _(
                    "The form did not say which version of the ticket you saw; here it is as "
                    "it is now. Nothing was saved."
                )
            elif exc.field == "into_version":
                text = _(
                    "Someone changed the ticket to keep while you were confirming the merge. "
                    "Nothing was merged."
                )
            else:
                text = _(
                    "Someone changed this ticket while you were looking at it; here it is as "
                    "it is now. Nothing was saved."
                )
            messages.error(request, text)
            if action == "change":
                # Shown as the ticket is now, not as the stale form had it.
                forms.pop("change_form", None)
                http_status = 409
        except ValidationError as error:
            # Refused by the service (an attachment too large, no such ticket to merge into):
            # the page again, with what was typed, answered as a form refused is.
            for texts in error.message_dict.values():
                for text in texts:
                    messages.error(request, text)
            http_status = 422
        ticket = ticket_get_for_user(request.user, ticket_id)
    if any(f.errors for f in forms.values()):
        http_status = 422
    context = _detail_context(request, ticket, **forms)
    context["merge_target"] = merge_target
    if request.method == "POST" and request.POST.get("action") == "merge":
        # A merge refused (a stale page, no such ticket) keeps the number typed.
        context["merge_into"] = request.POST.get("into", "")
    return render(request, "service/detail.html", context, status=http_status)


def _merge_target(user, ticket: Ticket, into_id: int, expected: int) -> Ticket:
    """The ticket to keep, shown for confirming a merge. Asked of whoever may merge only, and
    only from a page showing the ticket as it is (a stale one is refused as any change)."""
    access_customer(user, ticket.customer_id, INTERACT)
    if expected != ticket.version:
        raise services.StaleTicketError(ticket.version)
    target = ticket_get_for_user(user, into_id)
    if target.pk == ticket.pk:
        raise ValidationError({"into_id": _("A ticket cannot be merged into itself.")})
    if target.customer_id != ticket.customer_id:
        raise ValidationError({"into_id": _("Only tickets of the same customer can be merged.")})
    return target


@login_required
@require_GET
def attachment_download(request, ticket_id: int, attachment_id: int):
    try:
        ticket = ticket_get_for_user(request.user, ticket_id)
    except Ticket.DoesNotExist:
        raise Http404 from None
    attachment = get_object_or_404(TicketAttachment, pk=attachment_id, ticket=ticket)
    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type="application/octet-stream",
    )


@login_required
@require_http_methods(["GET", "POST"])
def notifications(request):
    if request.method == "POST":
        unread_notifications(request.user).update(read_at=timezone.now())
        return redirect("service:notifications")
    items = notifications_for_user(request.user)[:200]
    return render(request, "service/notifications.html", {"items": items})


# --- customers -----------------------------------------------------------------------------


@customer_page
@require_http_methods(["GET", "POST"])
def public_request(request):
    """The form anyone can use to reach the service desk."""
    form = PublicRequestForm(request.POST or None)
    busy = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if data.get("website"):  # the hidden field: a bot; pretend all went well
            return render(request, "service/public_thanks.html", {"ticket": None})
        try:
            ticket = request_from_customer(
                name=data["name"],
                email=data["email"],
                phone=data.get("phone") or "",
                data={
                    "type": data["type"],
                    "subject": data["subject"],
                    "description": data["description"],
                    "category_id": data.get("category_id"),
                },
                channel=Ticket.Channel.WEB_FORM,
            )
        except ValidationError as error:
            _form_errors(form, error, PUBLIC_REQUEST_FIELDS)
        except OperationalError as error:
            if not is_lock_contention(error):
                raise
            # Nothing was taken (the request's transaction rolled back). The busy page's
            # "Try again" led to the empty form, and the customer typed it all again: the form
            # comes back with what they typed, to send again, answered as the busy page is.
            busy = error
            form.add_error(
                None,
                _("Your request was not sent: the database is busy. Send it again in a moment."),
            )
        else:
            return render(
                request,
                "service/public_thanks.html",
                {"ticket": ticket, "status_url": mail.status_url(ticket.pk)},
            )
    status = 503 if busy is not None else 422 if form.errors else 200
    response = render(request, "service/public_form.html", {"form": form}, status=status)
    if busy is not None:
        # Retry-After and logged as every busy answer is (a warning), not by Django as an error.
        return logged_as_busy(request, busy, response)
    return response


@customer_page
@require_http_methods(["GET", "POST"])
def public_status(request, token: str):
    ticket_id = mail.ticket_id_from_status_token(token)
    ticket = Ticket.objects.filter(pk=ticket_id).first() if ticket_id else None
    if ticket is None:
        raise Http404
    speak_unless_chosen(request, ticket.email_language)
    form = CustomerReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            wrote = customer_wrote_again(ticket_id=ticket.pk, body=form.cleaned_data["body"])
        if (went_to := wrote.new_request or wrote.continued) is not None:
            # Filed as a new request (its customer is in the recycle bin), or in the one an
            # earlier message here started, whose requester is the writer: the message is there.
            # Otherwise the writer stays here, also when it went into the ticket this one was
            # merged into, whose page shows the desk's answers to whoever asked for that one.
            token = mail.status_link_token(went_to.pk)
        return redirect("service:public_status", token=token)
    public = ticket.messages.exclude(kind="note").select_related("author")
    return render(
        request,
        "service/public_status.html",
        {"ticket": ticket, "conversation": public, "form": form},
    )


@customer_page
@require_http_methods(["GET", "POST"])
def public_survey(request, token: str):
    ticket_id = mail.ticket_id_from_survey_token(token)
    survey = (
        SatisfactionSurvey.objects.select_related("ticket").filter(ticket_id=ticket_id).first()
        if ticket_id
        else None
    )
    if survey is None:
        raise Http404
    speak_unless_chosen(request, survey.ticket.email_language)
    initial = {}
    if (score := int_param(request.GET.get("score"))) is not None:
        initial["score"] = score
    form = SurveyForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.survey_answer(
                ticket_id=survey.ticket_id,
                score=form.cleaned_data["score"],
                comment=form.cleaned_data["comment"],
            )
        except SatisfactionSurvey.DoesNotExist:
            # Gone since it was read above: its ticket was deleted with its customer (the
            # recycle bin emptied) while the page was being answered.
            raise Http404 from None
        return render(request, "service/public_survey_thanks.html", {"ticket": survey.ticket})
    return render(request, "service/public_survey.html", {"survey": survey, "form": form})
