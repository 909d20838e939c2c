"""Logging contacts from the customer page, and the list of recent contacts."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from guanxi.core.keyset import keyset_page
from guanxi.customers.models import Customer
from guanxi.customers.selectors import access_customer
from guanxi.customers.visibility import INTERACT
from guanxi.web.paging import keyset_page_context

from .forms import InteractionFilterForm, InteractionForm
from .selectors import interaction_list_for_user, interactions_for_customer
from .services import interaction_log

ORDERINGS = {"-occurred_at": "occurred_at"}


def _errors(form: InteractionForm) -> str:
    """The form's errors in one line, each after the label of its field as the form shows it
    (not the field's name in the code)."""
    return "; ".join(
        f"{form.fields[name].label}: {' '.join(texts)}" if name in form.fields else " ".join(texts)
        for name, texts in form.errors.items()
    )


@login_required
@require_POST
def interaction_log_view(request, customer_id: int):
    """Record a contact; with htmx the form and the timeline are refreshed in place."""
    try:
        customer = access_customer(request.user, customer_id, INTERACT)
    except Customer.DoesNotExist:
        raise Http404 from None
    form = InteractionForm(request.POST)
    saved = False
    if form.is_valid():
        try:
            interaction_log(actor=request.user, customer_id=customer.pk, data=form.cleaned_data)
        except Customer.DoesNotExist:
            raise Http404 from None  # merged into another or deleted since the check above
        except ValidationError as exc:
            for name, texts in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, texts)
        else:
            saved = True
            # The log moved the customer's last contact (when this one is the latest); the
            # profile beside the form shows it again from the row, not from the copy read above.
            customer.refresh_from_db(fields=["last_contacted_at"])
    if not request.htmx or request.htmx.history_restore_request:
        if saved:
            messages.success(request, _("Contact logged."))
        else:
            messages.error(
                request, _("The contact was not logged: %(errors)s") % {"errors": _errors(form)}
            )
        return redirect("customers:detail", customer_id=customer.pk)
    if saved:
        form = InteractionForm(
            initial={
                "occurred_at": timezone.localtime().replace(second=0, microsecond=0),
                "channel": form.cleaned_data["channel"],
                "direction": form.cleaned_data["direction"],
            }
        )
    timeline = keyset_page(
        interactions_for_customer(customer=customer),
        ordering="-occurred_at",
        limit=20,
        orderings=ORDERINGS,
    )
    return render(
        request,
        "interactions/_logged.html",
        {"customer": customer, "form": form, "timeline": timeline, "saved": saved},
        # htmx only swaps successful responses in, so field errors also come back as 200.
        status=200,
    )


@login_required
@require_GET
def interaction_list(request):
    """Recent contacts on every customer the user can see."""
    form = InteractionFilterForm(request.GET)
    filters = form.selector_filters(request.user)
    queryset = interaction_list_for_user(request.user, filters=filters)
    paging = keyset_page_context(request, queryset, ordering="-occurred_at", orderings=ORDERINGS)
    return render(request, "interactions/list.html", {"form": form, **paging})
