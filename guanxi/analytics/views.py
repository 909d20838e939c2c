"""The analytics dashboard and the CSV download of each of its charts."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from .dashboard import CHARTS
from .exports import MEDIA_TYPE, chart_export_csv, export_filename
from .forms import DashboardFilterForm
from .selectors import current_run


@login_required
@require_GET
def dashboard(request):
    """Six charts of the current run's figures over the customers the user may see."""
    form = DashboardFilterForm(request.GET)
    filters = form.selector_filters()
    run = current_run()
    charts = {key: build(request.user, filters) for key, build in CHARTS.items()} if run else {}
    return render(
        request,
        "analytics/dashboard.html",
        {
            "form": form,
            "run": run,
            "currency": ((run.figures or {}).get("settings") or {}).get("currency", "")
            if run
            else "",
            "charts": charts,
            "is_filtered": bool(filters),
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
