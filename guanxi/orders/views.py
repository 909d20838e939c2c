"""The order list, and booking an order from the customer page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from guanxi.customers.models import Customer
from guanxi.customers.selectors import access_customer
from guanxi.customers.visibility import CHANGE
from guanxi.web.paging import keyset_page_context

from .forms import OrderFilterForm, OrderForm
from .selectors import orders_for_user
from .services import order_create

# Latest order date first, then the latest recorded, which an index on (ordered_on, id)
# answers at any depth and under any date filter (see migration 0003).
ORDERINGS = {"-ordered_on": "ordered_on"}


@login_required
@require_GET
def order_list(request):
    """Orders of every customer the user can see, latest order date first."""
    form = OrderFilterForm(request.GET)
    queryset = orders_for_user(request.user, **form.selector_filters())
    paging = keyset_page_context(request, queryset, ordering="-ordered_on", orderings=ORDERINGS)
    return render(request, "orders/list.html", {"form": form, **paging})


@login_required
@require_http_methods(["GET", "POST"])
def order_create_view(request, customer_id: int):
    """Book an order for a customer the user may change; back to the customer page after."""
    try:
        customer = access_customer(request.user, customer_id, CHANGE)
    except Customer.DoesNotExist:
        raise Http404 from None
    if request.method == "POST":
        form = OrderForm(request.POST)
        if form.is_valid():
            try:
                order_create(actor=request.user, customer_id=customer.pk, data=form.cleaned_data)
            except Customer.DoesNotExist:
                raise Http404 from None  # merged into another or deleted since the check above
            except ValidationError as exc:
                for name, texts in exc.message_dict.items():
                    form.add_error(name if name in form.fields else None, texts)
            else:
                messages.success(request, _("Order booked."))
                return redirect("customers:detail", customer_id=customer.pk)
    else:
        form = OrderForm(
            initial={"ordered_on": timezone.localdate(), "channel": "other", "status": "placed"}
        )
    status = 422 if form.errors else 200
    return render(request, "orders/form.html", {"customer": customer, "form": form}, status=status)
