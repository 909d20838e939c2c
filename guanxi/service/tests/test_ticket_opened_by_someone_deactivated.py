"""A ticket opened by an agent deactivated since they signed in (or since their request was
authenticated). They were refused as if they lacked a right on the customer they could ask
for; like every other write, the request is refused saying their account has been
deactivated."""

import pytest

from guanxi.accounts.models import User
from guanxi.core.locking import ActorDeactivated
from guanxi.service import services
from guanxi.service.models import Ticket

pytestmark = pytest.mark.django_db


def test_a_ticket_opened_by_an_agent_deactivated_since_is_refused_saying_so(company):
    agent = company.agent
    User.objects.filter(pk=agent.pk).update(is_active=False)  # committed after they signed in

    with pytest.raises(ActorDeactivated) as refused:
        services.ticket_create(
            actor=agent,
            customer_id=company.unowned_customer.pk,
            data={"type": "inquiry", "subject": "发票抬头"},
        )

    assert refused.value.args == ("Your account has been deactivated: nothing was changed.",)
    assert not Ticket.objects.filter(created_by=agent).exists()
