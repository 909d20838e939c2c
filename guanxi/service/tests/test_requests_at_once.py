"""Two requests from someone new arriving at the same moment: the second waits for the first and
is filed under the customer the first made, instead of making a second customer with the same
address. Real concurrency needs PostgreSQL: each request runs on a thread of its own."""

import pytest

from guanxi.core.testing.merging import CONCURRENT
from guanxi.core.testing.threads import hold_before, second_waits_for_first
from guanxi.customers.models import Customer, Email, Phone
from guanxi.dedup.models import DuplicatePair
from guanxi.service import intake
from guanxi.service.models import Ticket

pytestmark = CONCURRENT

ADDRESS = "zhaolei@new.example.cn"


def _request(n: int, *, match_customer: bool = True):
    return lambda: intake.request_from_customer(
        name="赵磊",
        email=ADDRESS,
        data={"type": "inquiry", "subject": f"咨询 {n}", "description": "想了解一下报价。"},
        channel=Ticket.Channel.WEB_FORM,
        acknowledge=False,
        match_customer=match_customer,
    )


@pytest.mark.parametrize("verified", [True, False], ids=["verified", "unverified"])
def test_two_requests_at_once_from_a_new_address_make_one_customer(company, monkeypatch, verified):
    hold = hold_before(monkeypatch, intake, "ticket_create_from_customer", thread="first")
    results = second_waits_for_first(
        _request(1, match_customer=verified), _request(2, match_customer=verified), hold
    )

    assert results["first"][0] == "ok", results["first"]
    assert results["second"][0] == "ok", results["second"]
    one, two = results["first"][1], results["second"][1]
    assert one.customer_id == two.customer_id
    assert Customer.objects.filter(name="赵磊").count() == 1
    assert Email.objects.filter(address=ADDRESS).count() == 1


def _request_from(n: int, *, email: str, phone: str):
    return lambda: intake.request_from_customer(
        name="钱芳",
        email=email,
        phone=phone,
        data={"type": "inquiry", "subject": f"咨询 {n}", "description": "想了解一下报价。"},
        channel=Ticket.Channel.WEB_FORM,
        acknowledge=False,
    )


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("", "+86 138 0013 8000"), ("", "13800138000")),
        (("qianfang@new.example.cn", "138 0013 8000"), ("qf@home.example.cn", "+8613800138000")),
    ],
    ids=["number-written-two-ways", "two-addresses-one-number"],
)
def test_two_requests_at_once_with_one_number_are_queued_as_a_pair(
    company, monkeypatch, first, second
):
    """A number on the public form does not file a request under the customer who has it (see
    ``intake``), but queues the two for review: the second waits for the first's number rather
    than for its own address alone, and so finds the customer the first made, however each
    wrote the number."""
    hold = hold_before(monkeypatch, intake, "ticket_create_from_customer", thread="first")
    results = second_waits_for_first(
        _request_from(1, email=first[0], phone=first[1]),
        _request_from(2, email=second[0], phone=second[1]),
        hold,
        seconds=5,
    )

    assert results["first"][0] == "ok", results["first"]
    assert results["second"][0] == "ok", results["second"]
    one, two = results["first"][1].customer_id, results["second"][1].customer_id
    assert one != two
    [pair] = DuplicatePair.objects.all()
    assert (pair.left_id, pair.right_id) == tuple(sorted((one, two)))
    assert Phone.objects.filter(number="+8613800138000").count() == 2
