"""The analytics dashboard, the CSV download of each of its charts, and the list of churn
follow-ups where account managers close them."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from guanxi.customers.models import Customer
from guanxi.customers.services import StaleVersionError
from guanxi.web.params import version_param

from . import labels
from .dashboard import CHARTS, stage_rule, tier_rule
from .exports import MEDIA_TYPE, chart_export_csv, export_filename
from .forms import DashboardFilterForm
from .models import ChurnFollowUp
from .selectors import current_run, follow_ups_for_user, value_columns_for_user
from .services import blacklist_add, blacklist_remove, follow_up_done

# The follow-up page lists this many; the rest come up as these are closed.
FOLLOW_UP_LIST_LENGTH = 200


@login_required
@require_GET
def dashboard(request):
    """Six charts of the current run's figures over the customers the user may see."""
    form = DashboardFilterForm(request.GET)
    filters = form.selector_filters()
    run = current_run()
    charts = {}
    if run:
        values = value_columns_for_user(request.user, filters=filters)
        charts = {key: build(request.user, filters, values) for key, build in CHARTS.items()}
    return render(
        request,
        "analytics/dashboard.html",
        {
            "form": form,
            "run": run,
            "currency": ((run.figures or {}).get("settings") or {}).get("currency", "")
            if run
            else "",
            "spend_model": (run.figures or {}).get("spend_model") if run else None,
            "charts": charts,
            "tier_rule": tier_rule(run) if run else "",
            "stage_rule": stage_rule(run),
            "is_filtered": bool(filters),
            "open_follow_ups": follow_ups_for_user(request.user).count(),
        },
    )


@login_required
@require_POST
def chart_export(request, chart: str):
    """One chart's figures as CSV. A POST, like the customer export, because it writes an
    audit row; the dashboard's filters come along in the form."""
    if chart not in CHARTS:
        raise Http404
    filters = DashboardFilterForm(request.POST).selector_filters()
    content = chart_export_csv(actor=request.user, chart=chart, filters=filters)
    response = HttpResponse(content, content_type=MEDIA_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{export_filename(chart)}"'
    return response


@login_required
@require_GET
def follow_ups(request):
    """The open churn follow-ups on the customers the user may see, largest value at risk
    first."""
    queryset = follow_ups_for_user(request.user)
    shown = list(queryset[:FOLLOW_UP_LIST_LENGTH])
    for follow_up in shown:
        follow_up.reason_label = labels.REASONS.get(follow_up.reason, follow_up.reason)
    return render(
        request,
        "analytics/follow_ups.html",
        {
            "follow_ups": shown,
            "total": len(shown) if len(shown) < FOLLOW_UP_LIST_LENGTH else queryset.count(),
        },
    )


@login_required
@require_POST
def follow_up_close(request, follow_up_id: int):
    """Mark one follow-up done; needs the right to change its customer (403 otherwise, 404
    when the customer is out of sight)."""
    try:
        follow_up = follow_up_done(actor=request.user, follow_up_id=follow_up_id)
    except (ChurnFollowUp.DoesNotExist, Customer.DoesNotExist):
        raise Http404 from None
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
        return redirect("analytics:follow_ups")
    messages.success(
        request, _("Follow-up of “%(name)s” marked done.") % {"name": follow_up.customer.name}
    )
    return redirect("analytics:follow_ups")


@login_required
@require_POST
def blacklist_put(request, customer_id: int):
    """Put a customer on the blacklist with the reason given; needs the right to change the
    customer (403 otherwise, 404 when it is out of sight)."""
    try:
        blacklist_add(
            actor=request.user, customer_id=customer_id, reason=request.POST.get("reason")
        )
    except Customer.DoesNotExist:
        raise Http404 from None
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    else:
        messages.success(request, _("The customer is on the blacklist now."))
    return redirect(reverse("customers:detail", args=[customer_id]) + "#value")


@login_required
@require_POST
def blacklist_take_off(request, customer_id: int):
    """Take a customer off the blacklist; the same rights as putting them on it. Decided on
    the customer as the page showed it: after someone else's change (the entry taken off and
    put back with another reason), or from a form without the version, nothing is removed."""
    expected = version_param(request.POST.get("version"))
    try:
        blacklist_remove(
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
                "The form did not say which version of the customer you saw; look at it "
                "again as it is now. Nothing was taken off the blacklist."
            )
            if expected is None
            else _(
                "This customer changed since you opened it; look again. Nothing was taken "
                "off the blacklist."
            ),
        )
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    else:
        messages.success(request, _("The customer is off the blacklist."))
    return redirect(reverse("customers:detail", args=[customer_id]) + "#value")
