"""The request schema's own complaints (a wrong type, text too long, a number out of bounds, a
choice not offered, a date not written as one) reach the client in the request's language,
like the services' messages, not in pydantic's English."""

import pytest


def _ticket(admin, company) -> tuple[str, int]:
    created = admin.post(
        "/tickets",
        {"customer_id": company.rep_customer.pk, "type": "complaint", "subject": "Broken lid"},
    )
    assert created.status_code == 201, created.json()
    return f"/tickets/{created.json()['id']}", created.json()["version"]


def _order(admin, company) -> tuple[str, int]:
    created = admin.post(
        "/orders",
        {"customer_id": company.rep_customer.pk, "ordered_on": "2026-01-05", "amount": "10.00"},
    )
    assert created.status_code == 201, created.json()
    return f"/orders/{created.json()['id']}", created.json()["version"]


def _customer(admin, company) -> tuple[str, int]:
    customer = company.rep_customer
    return f"/customers/{customer.pk}", customer.version


PHONE = "13800138000"
CASES = [
    # (record, sent, field, English, Chinese)
    (_ticket, {"subject": "x" * 201}, "subject", "At most 200 characters.", "最多 200 个字符。"),
    (_ticket, {"subject": ""}, "subject", "This field cannot be empty.", "此字段不能为空。"),
    (
        _ticket,
        {"priority": "soon"},
        "priority",
        "Choose one of: low, normal, high, urgent.",
        "请从以下选项中选择：low, normal, high, urgent。",
    ),
    (_ticket, {"category_id": "7"}, "category_id", "Expected a whole number.", "应为整数。"),
    (_ticket, {"category_id": 0}, "category_id", "Must be at least 1.", "不能小于 1。"),
    (
        _ticket,
        {"category_id": 2**63},
        "category_id",
        f"Must be at most {2**63 - 1}.",
        f"不能大于 {2**63 - 1}。",
    ),
    (_ticket, {"order_ids": 5}, "order_ids", "Expected a list.", "应为列表。"),
    (_order, {"notes": 5}, "notes", "Expected text.", "应为文本。"),
    (
        _order,
        {"ordered_on": "2026-13-01"},
        "ordered_on",
        "Expected a date as YYYY-MM-DD.",
        "日期格式应为 YYYY-MM-DD。",
    ),
    (_order, {"amount": "ten"}, "amount", "Expected a number.", "应为数字。"),
    (
        _order,
        {"amount": "1.234"},
        "amount",
        "At most 2 digits after the decimal point.",
        "小数点后最多 2 位数字。",
    ),
    (
        _order,
        {"amount": "1" * 13},
        "amount",
        "At most 12 digits before the decimal point.",
        "小数点前最多 12 位数字。",
    ),
    (_order, {"currency": "US"}, "currency", "Not in the expected form.", "格式不正确。"),
    (
        _customer,
        {"phones": [{"number": PHONE, "is_primary": "yes"}]},
        "phones[0].is_primary",
        "Expected true or false.",
        "应为 true 或 false。",
    ),
    (_customer, {"addresses": [5]}, "addresses[0]", "Expected an object.", "应为对象。"),
    (
        _customer,
        {"consents": [{"channel": "sms", "granted": True, "method": "verbal", "recorded_at": "x"}]},
        "consents[0].recorded_at",
        "Not a valid date and time.",
        "日期时间无效。",
    ),
]


@pytest.mark.parametrize(("language", "column"), [("en", 3), ("zh-hans", 4)])
@pytest.mark.parametrize("case", CASES, ids=[f"{case[2]} {next(iter(case[1]))}" for case in CASES])
def test_schema_messages_are_in_the_request_language(api_as, company, language, column, case):
    admin = api_as("admin")
    address, version = case[0](admin, company)
    answer = admin.patch(
        address, {"version": version, **case[1]}, headers={"Accept-Language": language}
    )
    assert answer.status_code == 422, answer.json()
    assert {"field": case[2], "message": case[column]} in answer.json()["errors"], answer.json()
