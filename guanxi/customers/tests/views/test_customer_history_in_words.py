"""A customer's history names the labels of its phones and emails, its consents and its choice
fields in the words the rest of the page uses for them, in the reader's language ("手机 +86 138
**** 7762", "已同意（网页表单，2026-03-02）"), instead of the codes its audit rows keep
("mobile:+86 138 **** 7762", "granted (web_form, 2026-03-02)"); on the customer page, the
history page and its "show older" fragment, and the recycle bin's page. The rows stay as they
were written, so rows written before a consent's evidence was recorded read the same way; the
numbers stay masked as they were written."""

import re

import pytest
from django.conf import settings

from guanxi.audit.models import AuditEvent
from guanxi.customers.models import Customer, CustomFieldDefinition
from guanxi.customers.services import customer_create, customer_delete, customer_update
from guanxi.dedup.services import customer_merge_undo, customers_merge

pytestmark = pytest.mark.django_db

ROW = re.compile(
    r'<tr><td>(?P<label>[^<]*)</td><td class="before">(?P<before>.*?)</td>'
    r'<td class="after">(?P<after>.*?)</td></tr>'
)
MOBILE = "13890417762"
OFFICE = "02150001234"


def _consent(granted: bool, method: str, evidence: str = "") -> dict:
    return {
        "channel": "email",
        "granted": granted,
        "method": method,
        "evidence": evidence,
        "recorded_at": "2026-03-02T10:00:00+08:00",
    }


@pytest.fixture
def edited(company) -> Customer:
    """A customer whose phones, emails, consent and kind the rep changed."""
    customer = customer_create(
        actor=company.rep,
        data={
            "name": "欧阳娜娜",
            "kind": "potential",
            "phones": [{"number": MOBILE, "label": "mobile"}],
            "emails": [{"address": "nana@example.com", "label": "personal"}],
            "consents": [_consent(True, "web_form", "Form 17")],
        },
    )
    return customer_update(
        actor=company.rep,
        customer_id=customer.pk,
        expected_version=customer.version,
        data={
            "kind": "signed",
            "phones": [{"number": OFFICE, "label": "work"}],
            "emails": [{"address": "nana@example.com", "label": "work"}],
            "consents": [_consent(False, "written")],
        },
    )


# The lines of the edit, by language: (label, before, after).
EDIT_LINES = {
    "en": [
        ("marketing consent", "Email: granted (Web form, 2026-03-02 10:00:00, Form 17)",
         "Email: refused (Signed in writing, 2026-03-02 10:00:00)"),
        ("emails", "Personal nana@example.com", "Work nana@example.com"),
        ("kind", "Potential", "Signed"),
        ("phones", "Mobile +86 138 **** 7762", "Work +86 21 5*** 1234"),
    ],
    "zh-hans": [
        ("营销许可", "电子邮件：已同意（网页表单，2026-03-02 10:00:00，Form 17）",
         "电子邮件：已拒绝（书面签署，2026-03-02 10:00:00）"),
        ("邮箱", "个人 nana@example.com", "工作 nana@example.com"),
        ("客户类别", "潜在客户", "签约客户"),
        ("电话", "手机 +86 138 **** 7762", "工作 +86 21 5*** 1234"),
    ],
}  # fmt: skip


def _lines(page: str) -> list[tuple[str, str, str]]:
    return [(row["label"], row["before"], row["after"]) for row in ROW.finditer(page)]


def _read(client, path: str, language: str, **headers) -> str:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(path, **headers)
    assert response.status_code == 200
    page = response.content.decode()
    # Masked as written: the numbers in full are nowhere.
    assert MOBILE not in page and OFFICE not in page
    assert "890417762" not in page and "50001234" not in page
    return page


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/customers/%d/", {}),
        ("/customers/%d/history/", {}),
        ("/customers/%d/history/", {"HTTP_HX_REQUEST": "true"}),
    ],
)
def test_an_edit_is_told_in_the_pages_words(client, company, edited, language, path, headers):
    client.force_login(company.rep)
    page = _read(client, path % edited.pk, language, **headers)
    lines = _lines(page)
    for line in EDIT_LINES[language]:
        assert line in lines
    # Nor are the codes anywhere in the history, of the creation either.
    shown = " ".join(" ".join(line) for line in lines)
    for code in ("mobile:", "personal:", "work:", "web_form", "(written", "potential"):
        assert code not in shown


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_recycle_bin_page_tells_the_edit_in_the_same_words(client, company, edited, language):
    customer_delete(actor=company.manager, customer_id=edited.pk)
    client.force_login(company.admin)
    page = _read(client, f"/customers/recycle-bin/{edited.pk}/", language)
    for line in EDIT_LINES[language]:
        assert line in _lines(page)


def _old_row(company, changes) -> None:
    customer = company.rep_customer
    AuditEvent.objects.create(
        actor=company.admin,
        action=AuditEvent.Action.UPDATE,
        object_type="customer",
        object_id=customer.pk,
        customer_id=customer.pk,
        summary="Written long ago",
        changes=changes,
    )


def test_an_old_row_reads_in_words_and_what_it_does_not_know_as_stored(client, company):
    # A consent as rows kept it before its evidence was recorded; a phone without a label, an
    # email of a label no longer offered and a consent in a shape never written are shown as
    # they are stored.
    _old_row(
        company,
        {
            "consents": {
                "before": {"sms": "refused (verbal, 2025-01-05)"},
                "after": {"sms": "granted (import, 2025-02-01)", "post": "yes"},
            },
            "phones": {"before": ["+86 138 **** 7762"], "after": ["fax:+86 21 5*** 1234"]},
            "emails": {"before": None, "after": ["school:nana@example.edu"]},
        },
    )
    client.force_login(company.rep)
    lines = _lines(_read(client, f"/customers/{company.rep_customer.pk}/", "zh-hans"))
    assert ("营销许可", "短信：已拒绝（口头同意，由员工记录，2025-01-05）",
            "短信：已同意（导入，2025-02-01）; 邮寄：yes") in lines  # fmt: skip
    assert ("电话", "+86 138 **** 7762", "传真 +86 21 5*** 1234") in lines
    assert ("邮箱", "—", "school:nana@example.edu") in lines


def test_custom_fields_are_named_by_their_labels(client, company):
    CustomFieldDefinition.objects.create(
        key="shoe_size", label="Shoe size", label_zh_hans="鞋码", field_type="number"
    )
    _old_row(company, {"custom_fields": {"before": {}, "after": {"shoe_size": 42, "gone": "x"}}})
    client.force_login(company.rep)
    # In the keys' order, whatever order the database keeps them in.
    for language, shown in (("en", "gone: x; Shoe size: 42"), ("zh-hans", "gone: x; 鞋码: 42")):
        lines = _lines(_read(client, f"/customers/{company.rep_customer.pk}/", language))
        assert (("custom fields" if language == "en" else "自定义字段"), "—", shown) in lines


def test_a_merge_and_its_undo_tell_contacts_and_fields_in_words(client, company):
    survivor = customer_create(actor=company.rep, data={"name": "王芳"})
    other = customer_create(
        actor=company.rep,
        data={"name": "王芳", "industry": "零售", "phones": [{"number": MOBILE, "label": "home"}]},
    )
    merge = customers_merge(actor=company.manager, survivor_id=survivor.pk, merged_id=other.pk)
    survivor = Customer.objects.get(pk=survivor.pk)
    # Changed since the merge filled it: the undo leaves it so and says which field it kept.
    customer_update(
        actor=company.manager,
        customer_id=survivor.pk,
        expected_version=survivor.version,
        data={"industry": "批发"},
    )
    customer_merge_undo(actor=company.manager, merge_id=merge.pk)
    client.force_login(company.manager)
    lines = _lines(_read(client, f"/customers/{survivor.pk}/history/", "zh-hans"))
    assert ("电话", "—", "家庭 +86 138 **** 7762") in lines  # the merge's
    assert ("电话", "家庭 +86 138 **** 7762", "—") in lines  # its undo's
    assert ("保留合并后的修改", "—", "行业") in lines
