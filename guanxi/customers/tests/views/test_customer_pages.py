"""The customer pages as each kind of user meets them, through Django's test client."""

import csv
import io

import pytest

from guanxi.audit.models import AuditEvent
from guanxi.core.testing.cursors import encode_cursor
from guanxi.core.testing.factories import customer_with_a_long_past
from guanxi.core.testing.visibility_matrix import EXPECTED
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create, customer_update

pytestmark = pytest.mark.django_db


def _login(client, user):
    client.force_login(user)
    return client


def _customer_form(**overrides):
    data = {
        "version": "",
        "party_type": "person",
        "name": "王芳",
        "company": "",
        "job_title": "",
        "kind": "prospect",
        "relationship_level": "transactional",
        "lifecycle_stage": "expectation",
        "source_channel": "phone",
        "industry": "Retail",
        "region": "上海",
        "owner_id": "",
        "birth_date": "",
        "website": "",
        "external_id": "",
        "notes": "",
        "organization_id": "",
        "organization_label": "",
        "phone_number": ["139 0000 1111", ""],
        "phone_label": ["mobile", "work"],
        "email_address": ["Wang.Fang@Example.com"],
        "email_label": ["work"],
        "address_label": ["office"],
        "address_street": ["南京西路 1 号"],
        "address_city": ["上海"],
        "address_region": ["上海"],
        "address_postcode": ["200040"],
        "address_country": ["CN"],
        "tags": "VIP， 展会2026",
        "id_number": "",
        "consent_email_state": "yes",
        "consent_email_method": "web_form",
        "consent_email_evidence": "signup form",
    }
    data.update(overrides)
    return data


def test_list_shows_exactly_the_customers_the_user_may_see(client, company):
    for username, (visible, _interact, _change) in EXPECTED.items():
        client.force_login(company.users[username])
        html = client.get("/customers/").content.decode()
        for name, customer in company.customers.items():
            assert (customer.name in html) == (name in visible), (username, name)


def test_search_finds_chinese_pinyin_and_phone_digits(client, company):
    _login(client, company.rep)
    customer_create(
        actor=company.rep, data={"name": "赵敏", "phones": ["13812345678"], "tags": ["重点"]}
    )
    for query in ("赵敏", "zhaomin", "5678", "138-1234-5678", "重点"):
        html = client.get("/customers/", {"q": query}).content.decode()
        assert "赵敏" in html, query
    # The rep sees the number as +86 138 **** 5678: its hidden digits find no one.
    assert "赵敏" not in client.get("/customers/", {"q": "138-1234"}).content.decode()
    html = client.get("/customers/", {"q": "nobody-like-this"}).content.decode()
    assert "No customers match" in html


def test_search_never_reaches_invisible_customers(client, company):
    _login(client, company.rep_b)
    html = client.get("/customers/", {"q": "zhangwei"}).content.decode()
    assert company.rep_customer.name not in html


def test_list_filters_and_keyset_pages(client, company):
    _login(client, company.admin)
    for i in range(60):
        customer_create(actor=company.admin, data={"name": f"Signed {i:02d}", "kind": "signed"})
    first = client.get("/customers/", {"kind": "signed", "sort": "name"})
    html = first.content.decode()
    assert "Signed 00" in html and "Signed 49" in html and "Signed 50" not in html
    assert company.rep_customer.name not in html  # kind filter applied
    next_url = first.context["next_page_url"]
    second = client.get("/customers/" + next_url).content.decode()
    assert "Signed 50" in second and "Signed 59" in second and "Signed 00" not in second


def test_a_doctored_cursor_shows_the_first_page_with_a_message(client, company):
    _login(client, company.admin)
    response = client.get("/customers/", {"cursor": "not-a-cursor"})
    assert response.status_code == 200
    assert "no longer valid" in response.content.decode()


@pytest.mark.parametrize(
    ("sort", "values"),
    [
        ("", ["-updated_at", "2024-02-30T00:00:00+00:00", 1]),
        ("", ["-updated_at", "2024-01-01T25:00:00+00:00", 1]),
        ("", ["-updated_at", "2024-01-01T00:00:00+25:00", 1]),
        ("", ["-updated_at", "0001-01-01T00:00:00+14:00", 1]),
        ("", ["-updated_at", "9999-12-31T23:59:59-12:00", 1]),
        ("name", ["name", "\ud800", 1]),
        ("name", ["name", "a\x00b", 1]),
        ("name", ["name", "A", 2**70]),
    ],
)
def test_a_cursor_with_doctored_values_shows_the_first_page_with_a_message(
    client, company, sort, values
):
    _login(client, company.admin)
    client.raise_request_exception = False
    response = client.get("/customers/", {"sort": sort, "cursor": encode_cursor(values)})
    assert response.status_code == 200
    html = response.content.decode()
    assert "no longer valid" in html and company.rep_customer.name in html


def test_a_doctored_timeline_cursor_is_a_bad_request(client, company):
    _login(client, company.admin)
    client.raise_request_exception = False
    response = client.get(
        f"/customers/{company.rep_customer.pk}/timeline/",
        {"cursor": encode_cursor(["-occurred_at", "2024-02-30T00:00:00+00:00", 1])},
    )
    assert response.status_code == 400


@pytest.mark.parametrize("htmx", [False, True])
@pytest.mark.parametrize("q", ["nomatch" * 30, "nomatch\x00", "west\x00"])
def test_a_search_that_is_not_valid_shows_why_and_no_one(client, company, q, htmx):
    _login(client, company.admin)
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.get("/customers/", {"q": q}, headers=headers)
    assert response.status_code == 200
    html = response.content.decode()
    assert "these filters are not valid" in html
    assert "West Customer" not in html and "Rep Customer" not in html
    if not htmx:
        assert 'maxlength="200"' in html


def test_an_unknown_sort_order_falls_back_and_lists_everyone(client, company):
    _login(client, company.admin)
    html = client.get("/customers/", {"q": "west", "sort": "password"}).content.decode()
    assert "West Customer" in html and "not valid" not in html


def test_htmx_search_returns_only_the_results_fragment(client, company):
    _login(client, company.admin)
    response = client.get("/customers/", {"q": "west"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "West Customer" in html and "<html" not in html


def test_detail_page_shows_profile_timeline_and_history(client, company):
    customer = customer_create(
        actor=company.rep,
        data={"name": "李娜", "phones": ["13900001111"], "id_number": "11010519491231002X"},
    )
    _login(client, company.rep)
    html = client.get(f"/customers/{customer.pk}/").content.decode()
    assert "李娜" in html
    assert "139 **** 1111" in html and "13900001111" not in html.replace(" ", "")
    assert "1****************X" in html
    assert "created" in html  # the history section


def test_the_history_says_where_a_change_was_made_in_the_readers_language(client, company):
    _login(client, company.rep)
    client.post("/customers/new/", _customer_form())
    customer = Customer.objects.get(name="王芳")
    html = client.get(f"/customers/{customer.pk}/history/").content.decode()
    assert "· on the web" in html
    client.cookies["django_language"] = "zh-hans"
    html = client.get(f"/customers/{customer.pk}/history/").content.decode()
    assert "· 通过网页" in html and "· web" not in html


@pytest.mark.parametrize("username", sorted(EXPECTED))
def test_detail_page_is_404_for_customers_out_of_sight(client, company, username):
    client.force_login(company.users[username])
    visible = EXPECTED[username][0]
    for name, customer in company.customers.items():
        status = client.get(f"/customers/{customer.pk}/").status_code
        assert status == (200 if name in visible else 404), (username, name)


def test_create_through_the_form(client, company):
    _login(client, company.rep)
    response = client.post("/customers/new/", _customer_form())
    customer = Customer.objects.get(name="王芳")
    assert response.status_code == 302 and response["Location"] == f"/customers/{customer.pk}/"
    assert customer.owner == company.rep  # a rep's blank owner means "me"
    assert [p.number for p in customer.phones.all()] == ["+8613900001111"]
    assert customer.emails.get().address == "wang.fang@example.com"
    assert sorted(customer.tags.values_list("name", flat=True)) == ["VIP", "展会2026"]
    assert customer.consents.get().method == "web_form"
    assert AuditEvent.objects.filter(customer_id=customer.pk, action="create").count() == 1


def test_bad_form_input_is_marked_per_field_and_nothing_is_written(client, company):
    _login(client, company.rep)
    before = (Customer.objects.count(), AuditEvent.objects.count())
    response = client.post(
        "/customers/new/",
        _customer_form(
            name="",
            phone_number=["12345", "13900001111"],
            email_address=["not-an-email"],
            consent_email_method="",
        ),
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "This field cannot be blank." in html
    assert "“12345” is not a valid phone number." in html
    assert "“not-an-email” is not a valid email address." in html
    assert "Say how consent was given" in html
    assert 'value="13900001111"' in html  # what the user typed is kept
    assert (Customer.objects.count(), AuditEvent.objects.count()) == before


def test_edit_saves_and_records_changes(client, company):
    _login(client, company.rep)
    response = client.get(f"/customers/{company.rep_customer.pk}/edit/")
    assert response.status_code == 200
    form = response.context["form"]
    data = _customer_form(
        name=company.rep_customer.name,
        version=form.version,
        owner_id=str(company.rep.pk),
        industry="Energy",
        consent_email_state="",
    )
    response = client.post(f"/customers/{company.rep_customer.pk}/edit/", data)
    assert response.status_code == 302
    customer = Customer.objects.get(pk=company.rep_customer.pk)
    assert customer.industry == "Energy" and customer.version == 2
    event = AuditEvent.objects.get(customer_id=customer.pk, action="update")
    assert event.changes["industry"] == {"before": "", "after": "Energy"}


def test_a_stale_edit_is_refused_and_shows_what_was_saved_meanwhile(client, company):
    customer = customer_create(actor=company.rep, data={"name": "Stale", "industry": "Retail"})
    _login(client, company.rep)
    form = client.get(f"/customers/{customer.pk}/edit/").context["form"]
    customer_update(
        actor=company.rep,
        customer_id=customer.pk,
        expected_version=1,
        data={"industry": "Finance"},
    )
    response = client.post(
        f"/customers/{customer.pk}/edit/",
        _customer_form(name="Stale", version=form.version, industry="Energy"),
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "Someone else saved this customer" in html
    assert "Saved meanwhile:" in html and "Finance" in html
    assert 'value="Energy"' in html  # the user's own input survives
    assert Customer.objects.get(pk=customer.pk).industry == "Finance"
    assert response.context["form"].version == "2"


@pytest.mark.parametrize(
    ("username", "customer_name", "status"),
    [
        ("rep", "teammate_customer", 403),  # visible through team sharing, not changeable
        ("analyst", "rep_customer", 403),
        ("agent", "rep_customer", 403),
        ("rep_b", "rep_customer", 404),
    ],
)
def test_edit_is_refused_without_the_right_and_leaves_no_trace(
    client, company, username, customer_name, status
):
    customer = company.customers[customer_name]
    client.force_login(company.users[username])
    assert client.get(f"/customers/{customer.pk}/edit/").status_code == status
    events = AuditEvent.objects.count()
    response = client.post(
        f"/customers/{customer.pk}/edit/", _customer_form(name="Hijacked", version="1")
    )
    assert response.status_code == status
    assert Customer.objects.get(pk=customer.pk).name == customer.name
    assert AuditEvent.objects.count() == events


def test_delete_needs_a_deleting_role(client, company):
    customer = company.rep_customer
    _login(client, company.rep)
    assert client.post(f"/customers/{customer.pk}/delete/", {"version": "1"}).status_code == 403
    _login(client, company.manager)
    response = client.post(f"/customers/{customer.pk}/delete/", {"version": "1"})
    assert response.status_code == 302
    assert Customer.objects.get(pk=customer.pk).deleted_at is not None
    assert client.get(f"/customers/{customer.pk}/").status_code == 404


def test_reveal_needs_the_permission_and_is_audited(client, company):
    customer = customer_create(
        actor=company.rep, data={"name": "Reveal", "phones": ["13900001111"]}
    )
    _login(client, company.rep)
    assert client.post(f"/customers/{customer.pk}/reveal/").status_code == 403
    assert not AuditEvent.objects.filter(action="reveal").exists()
    _login(client, company.manager)  # East manager with the permission
    response = client.post(f"/customers/{customer.pk}/reveal/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "+86 139 0000 1111" in response.content.decode()
    event = AuditEvent.objects.get(action="reveal")
    assert event.actor == company.manager and event.customer_id == customer.pk


def _read_csv(response) -> list[dict[str, str]]:
    content = b"".join(response) if hasattr(response, "streaming_content") else response.content
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def test_export_contains_only_visible_customers_masked_and_is_audited(client, company):
    customer_create(
        actor=company.rep,
        data={"name": '=HYPERLINK("http://x")', "phones": ["13900001111"]},
    )
    for username, (visible, _i, _c) in EXPECTED.items():
        client.force_login(company.users[username])
        response = client.post("/customers/export/", {})
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment;")
        names = {row["name"] for row in _read_csv(response)}
        expected = {company.customers[n].name for n in visible}
        if username in ("admin", "manager", "rep", "teammate", "agent", "analyst"):
            expected.add('\'=HYPERLINK("http://x")')
        assert names == expected, username
    rows = _read_csv(client.post("/customers/export/", {}))
    assert all("****" in row["phones"] for row in rows if row["phones"])
    assert AuditEvent.objects.filter(action="export").count() == len(EXPECTED) + 1


def test_export_with_full_numbers_needs_the_permission(client, company):
    customer_create(actor=company.rep, data={"name": "Full", "phones": ["13900001111"]})
    _login(client, company.rep)
    assert client.post("/customers/export/", {"reveal": "1"}).status_code == 403
    _login(client, company.manager)
    rows = _read_csv(client.post("/customers/export/", {"reveal": "1", "q": "Full"}))
    # A leading "+" would make a spreadsheet read the number as a formula, so it is quoted.
    assert [row["phones"] for row in rows] == ["'+86 139 0000 1111"]


def test_reassign_page_moves_all_customers_of_a_leaver(client, company):
    _login(client, company.manager)
    preview = client.get(
        "/customers/reassign/",
        {"from_owner": company.rep.pk, "to_owner": company.teammate.pk},
        HTTP_HX_REQUEST="true",
    )
    assert "1 customer will move." in preview.content.decode()
    response = client.post(
        "/customers/reassign/", {"from_owner": company.rep.pk, "to_owner": company.teammate.pk}
    )
    assert response.status_code == 302
    assert Customer.objects.get(pk=company.rep_customer.pk).owner == company.teammate
    assert AuditEvent.objects.filter(action="reassign", customer_id=company.rep_customer.pk)


def test_reps_cannot_open_the_reassign_page(client, company):
    _login(client, company.rep)
    assert client.get("/customers/reassign/").status_code == 403
    response = client.post(
        "/customers/reassign/", {"from_owner": company.teammate.pk, "to_owner": company.rep.pk}
    )
    assert response.status_code == 403
    assert Customer.objects.get(pk=company.teammate_customer.pk).owner == company.teammate


def test_organization_lookup_offers_only_visible_organisations(client, company):
    visible = customer_create(
        actor=company.rep, data={"name": "华瑞贸易有限公司", "party_type": "organization"}
    )
    hidden = customer_create(
        actor=company.rep_west, data={"name": "华瑞物流有限公司", "party_type": "organization"}
    )
    _login(client, company.rep)
    html = client.get(
        "/customers/organizations/lookup/", {"organization_label": "华瑞"}
    ).content.decode()
    assert f'data-pick-id="{visible.pk}"' in html and f'data-pick-id="{hidden.pk}"' not in html


def test_pages_need_a_login(client, company):
    response = client.get("/customers/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_list_and_detail_pages_use_a_fixed_number_of_queries(
    client, company, django_assert_max_num_queries
):
    from guanxi.interactions.services import interaction_log

    for i in range(30):
        customer = customer_create(
            actor=company.rep,
            data={"name": f"Busy {i}", "phones": ["13900001111"], "tags": ["A", "B"]},
        )
    for i in range(25):
        interaction_log(
            actor=company.rep,
            customer_id=customer.pk,
            data={"channel": "visit", "subject": f"Visit {i}"},
        )
    _login(client, company.rep)
    # (12 before the header's bell counted unread notices: one query on every page.)
    with django_assert_max_num_queries(13):
        assert client.get("/customers/").status_code == 200
    # (20 before the page showed possible duplicates and merges: one query each; 22 before the
    # orders card: its recent orders and the purchase summary; 24 before the value card: the
    # current run, the customer's figures in it and the blacklist entry; 27 before the bell
    # and the tickets card.)
    with django_assert_max_num_queries(29):
        assert client.get(f"/customers/{customer.pk}/").status_code == 200


@pytest.mark.parametrize(
    ("more", "oldest"), [("Show earlier contacts", "call 24"), ("Show older changes", "created")]
)
def test_earlier_contacts_and_older_changes_are_links_that_work_without_javascript(
    client, company, more, oldest
):
    import re

    customer = customer_with_a_long_past(company)
    _login(client, company.rep)
    html = client.get(f"/customers/{customer.pk}/").content.decode()
    link = re.search(r'<a [^>]*href="([^"]+)"[^>]*>' + more + "</a>", html, re.S)
    assert link, f"no link “{more}”"
    assert f'hx-get="{link.group(1)}"' in link.group(0)
    url = link.group(1).replace("&amp;", "&")

    page = client.get(url)  # followed as a plain link: a whole page
    assert page.status_code == 200
    html = page.content.decode()
    assert "<html" in html and oldest in html
    assert f'href="/customers/{customer.pk}/"' in html  # back to the customer

    fragment = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in fragment and oldest in fragment


def test_search_as_you_type_brings_the_clear_link_and_the_language_switch_target(client, company):
    _login(client, company.rep)
    html = client.get("/customers/", {"q": "Rep", "kind": ""}, HTTP_HX_REQUEST="true")
    html = html.content.decode()
    assert '<span id="clear-filters" hx-swap-oob="true"><a class="button" href="/customers/">' in (
        html
    )
    assert 'id="language-next" value="/customers/?q=Rep&amp;kind=" hx-swap-oob="true"' in html

    html = client.get("/customers/", HTTP_HX_REQUEST="true").content.decode()
    assert '<span id="clear-filters" hx-swap-oob="true"></span>' in html

    page = client.get("/customers/", {"q": "Rep"}).content.decode()  # the whole page
    assert "hx-swap-oob" not in page
    assert '<span id="clear-filters"><a class="button" href="/customers/">Clear</a></span>' in page
