"""The customer endpoints, happy paths first, each through real HTTP and a real token."""

import csv
import io

import openpyxl
import pytest

from guanxi.audit.models import AuditEvent
from guanxi.customers.api import CustomerPageOut, CustomerSummaryOut
from guanxi.customers.models import Customer, CustomFieldDefinition

FULL_BODY = {
    "name": "王芳",
    "party_type": "person",
    "job_title": "采购经理",
    "kind": "prospect",
    "relationship_level": "preferred_supplier",
    "lifecycle_stage": "expectation",
    "industry": "Retail",
    "region": "Shanghai",
    "source_channel": "event",
    "birth_date": "1985-04-12",
    "website": "https://example.com",
    "notes": "Met at the Canton fair.",
    "external_id": "ERP-0042",
    "phones": ["13900001111", {"number": "021 6123 4567", "label": "work"}],
    "emails": ["wang.fang@example.com"],
    "addresses": [{"label": "office", "street": "1 Nanjing Road", "city": "Shanghai"}],
    "tags": ["VIP", "展会2026"],
    "consents": [{"channel": "email", "granted": True, "method": "web_form", "evidence": "form"}],
    "id_number": "11010519491231002X",
}


@pytest.fixture
def rep(api_as):
    return api_as("rep")


@pytest.fixture
def created(rep):
    response = rep.post("/customers", FULL_BODY)
    assert response.status_code == 201, response.json()
    return response.json()


def test_create_returns_the_whole_customer_masked(company, created):
    assert created["name"] == "王芳"
    assert created["owner"] == {"id": company.rep.pk, "username": "rep", "label": "rep"}
    assert created["version"] == 1
    assert [p["number_masked"] for p in created["phones"]] == [
        "+86 139 **** 1111",
        "+86 21 6*** 4567",
    ]
    assert created["phones"][0]["is_primary"] is True
    assert [e["address"] for e in created["emails"]] == ["wang.fang@example.com"]
    assert created["addresses"][0]["street"] == "1 Nanjing Road"
    assert sorted(created["tags"]) == ["VIP", "展会2026"]
    assert created["consents"][0]["channel"] == "email"
    assert created["consents"][0]["method"] == "web_form"
    assert created["consents"][0]["recorded_by"]["username"] == "rep"
    assert created["id_number_masked"] == "1****************X"
    assert created["birth_date"] == "1985-04-12"
    customer = Customer.objects.get(pk=created["id"])
    assert customer.created_by == company.rep
    assert (
        AuditEvent.objects.filter(customer_id=customer.pk, action="create", via="api").count() == 1
    )


def test_detail_masks_phones_and_id_number_and_sends_an_etag(rep, created):
    response = rep.get(f"/customers/{created['id']}")
    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    text = response.content.decode()
    for secret in ("13900001111", "139 0000 1111", "61234567", "11010519491231002X"):
        assert secret not in text
    body = response.json()
    assert body["phones"][0]["number_masked"] == "+86 139 **** 1111"
    assert body["id_number_masked"] == "1****************X"
    assert body["owner"]["username"] == "rep"
    assert body["last_contacted_at"] is None


def test_list_pages_through_every_visible_customer_once(api_as, company):
    admin = api_as("admin")
    seen, cursor = [], None
    for _ in range(5):
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = admin.get("/customers", params).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted((c.pk for c in company.customers.values()), reverse=True)


def test_list_orderings_and_filters(api_as, company, created):
    admin = api_as("admin")
    names = [i["name"] for i in admin.get("/customers", {"ordering": "name"}).json()["items"]]
    assert names == sorted(names)
    by_kind = admin.get("/customers", {"kind": "prospect"}).json()["items"]
    assert [c["id"] for c in by_kind] == [created["id"]]
    by_owner = admin.get("/customers", {"owner_id": company.rep_west.pk}).json()["items"]
    assert [c["name"] for c in by_owner] == ["West Customer"]
    unowned = admin.get("/customers", {"unowned": "true"}).json()["items"]
    assert [c["name"] for c in unowned] == ["Unowned Customer"]
    assert [c["id"] for c in admin.get("/customers", {"tag": "VIP"}).json()["items"]] == [
        created["id"]
    ]
    # Search matches phone digits and pinyin as well as names.
    assert [c["id"] for c in admin.get("/customers", {"q": "1390000"}).json()["items"]] == [
        created["id"]
    ]
    assert [c["id"] for c in admin.get("/customers", {"q": "wangfang"}).json()["items"]] == [
        created["id"]
    ]
    later = admin.get("/customers", {"updated_since": "2999-01-01T00:00:00"}).json()
    assert later == {"items": [], "next_cursor": None}


def test_list_items_carry_masked_phones(rep, created):
    item = next(i for i in rep.get("/customers").json()["items"] if i["id"] == created["id"])
    assert item["phones"][0]["number_masked"] == "+86 139 **** 1111"
    assert "13900001111" not in str(item)


def test_a_list_item_says_what_the_detail_says(api_as, company, created):
    # The list builds its rows itself, the detail from model instances: the same schema fields
    # must come out the same, organisation, owner, phones, emails and tags included.
    admin = api_as("admin")
    organisation = admin.post("/customers", {"name": "华瑞贸易", "party_type": "organization"})
    admin.patch(
        f"/customers/{created['id']}",
        {"organization_id": organisation.json()["id"], "version": created["version"]},
    )
    detail = admin.get(f"/customers/{created['id']}").json()
    item = next(i for i in admin.get("/customers").json()["items"] if i["id"] == created["id"])
    assert item["organization"] == {"id": organisation.json()["id"], "name": "华瑞贸易"}
    assert item["tags"] == ["VIP", "展会2026"] and len(item["phones"]) == 2
    assert item == {key: detail[key] for key in item}


def test_the_list_answer_is_exactly_the_documented_schema(api_as, company, created):
    # The list answer is rendered without ninja's validation pass (api/responses.py), so the
    # check that it has the documented shape, and nothing more, is made here.
    page = api_as("admin").get("/customers", {"limit": 200}).json()
    assert len(page["items"]) > 1
    CustomerPageOut.model_validate(page)
    for item in page["items"]:
        assert set(item) == set(CustomerSummaryOut.model_fields)
    assert set(page) == set(CustomerPageOut.model_fields)


def test_patch_changes_only_what_is_sent(rep, created):
    response = rep.patch(
        f"/customers/{created['id']}",
        {"version": 1, "industry": "Finance", "phones": ["13900002222"]},
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert response["ETag"] == '"2"'
    assert body["version"] == 2
    assert body["industry"] == "Finance"
    assert body["region"] == "Shanghai"  # untouched
    assert [p["number_masked"] for p in body["phones"]] == ["+86 139 **** 2222"]
    event = AuditEvent.objects.get(customer_id=created["id"], action="update")
    assert event.changes["industry"] == {"before": "Retail", "after": "Finance"}


def test_patch_accepts_if_match_instead_of_version(rep, created):
    response = rep.patch(
        f"/customers/{created['id']}", {"notes": "Call back"}, headers={"If-Match": '"1"'}
    )
    assert response.status_code == 200, response.json()
    assert response.json()["notes"] == "Call back"
    weak = rep.patch(f"/customers/{created['id']}", {"notes": "x"}, headers={"If-Match": 'W/"2"'})
    assert weak.status_code == 200


def test_patch_clears_values_sent_as_null(rep, created):
    response = rep.patch(
        f"/customers/{created['id']}",
        {"version": 1, "birth_date": None, "website": None, "id_number": "", "tags": []},
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["birth_date"], body["website"], body["id_number_masked"], body["tags"]) == (
        None,
        "",
        "",
        [],
    )


def test_delete_moves_the_customer_to_the_recycle_bin(api_as, company):
    manager = api_as("manager")
    customer = company.rep_customer
    response = manager.delete(f"/customers/{customer.pk}", {"version": 1})
    assert response.status_code == 204
    assert response.content == b""
    customer.refresh_from_db()
    assert customer.deleted_at is not None
    assert manager.get(f"/customers/{customer.pk}").status_code == 404
    assert AuditEvent.objects.filter(customer_id=customer.pk, action="delete").count() == 1


def test_delete_accepts_if_match(api_as, company):
    response = api_as("admin").delete(
        f"/customers/{company.west_customer.pk}", headers={"If-Match": '"1"'}
    )
    assert response.status_code == 204


def test_reveal_shows_full_numbers_to_a_permitted_user_and_is_audited(api_as, rep, created):
    manager = api_as("manager")  # East Sales manager with the view-sensitive-data permission
    response = manager.post(f"/customers/{created['id']}/reveal")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["id_number"] == "11010519491231002X"
    assert [p["number"] for p in body["phones"]] == ["+86 139 0000 1111", "+86 21 6123 4567"]
    events = AuditEvent.objects.filter(customer_id=created["id"], action="reveal")
    assert [(e.actor.username, e.via) for e in events] == [("manager", "api")]


def test_reveal_is_refused_without_the_permission_and_not_audited(rep, created):
    response = rep.post(f"/customers/{created['id']}/reveal")
    assert response.status_code == 403
    assert response.json()["errors"] == []
    assert not AuditEvent.objects.filter(action="reveal").exists()


def test_history_lists_the_customers_events_newest_first(rep, created):
    rep.patch(f"/customers/{created['id']}", {"version": 1, "industry": "Finance"})
    rep.patch(f"/customers/{created['id']}", {"version": 2, "industry": "Energy"})
    first = rep.get(f"/customers/{created['id']}/history", {"limit": 2}).json()
    assert [e["action"] for e in first["items"]] == ["update", "update"]
    assert first["items"][0]["changes"]["industry"] == {"before": "Finance", "after": "Energy"}
    assert first["items"][0]["actor"]["username"] == "rep"
    assert first["items"][0]["via"] == "api"
    rest = rep.get(
        f"/customers/{created['id']}/history", {"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    assert [e["action"] for e in rest["items"]] == ["create"]
    assert rest["next_cursor"] is None
    # Sensitive values never appear in the history, only that they changed.
    assert rest["items"][0]["changes"]["id_number"] == {"before": None, "after": "[changed]"}


def _csv_rows(response) -> list[dict[str, str]]:
    text = response.getvalue().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_export_is_a_masked_csv_attachment_and_audited(rep, created):
    response = rep.get("/customers/export", {"tag": "VIP"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="guanxi-customers-')
    rows = _csv_rows(response)
    assert [r["name"] for r in rows] == ["王芳"]
    assert rows[0]["phones"] == "'+86 139 **** 1111; +86 21 6*** 4567"
    assert rows[0]["id_number"] == "1****************X"
    event = AuditEvent.objects.get(action="export")
    assert event.changes["rows"]["after"] == 1
    assert event.changes["filters"]["after"] == {"tag": "VIP"}


def test_export_reveals_only_for_permitted_users(api_as, rep, created):
    assert rep.get("/customers/export", {"reveal": "true"}).status_code == 403
    assert not AuditEvent.objects.filter(action="export").exists()
    rows = _csv_rows(api_as("manager").get("/customers/export", {"reveal": "true", "tag": "VIP"}))
    assert rows[0]["id_number"] == "11010519491231002X"
    assert rows[0]["phones"] == "'+86 139 0000 1111; +86 21 6123 4567"


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _xlsx_rows(response) -> list[dict]:
    sheet = openpyxl.load_workbook(io.BytesIO(response.getvalue())).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    return [dict(zip(values[0], row, strict=True)) for row in values[1:]]


def test_export_as_xlsx_is_a_masked_workbook_attachment_and_audited(rep, created):
    response = rep.get("/customers/export", {"tag": "VIP", "format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert response["Content-Disposition"].startswith('attachment; filename="guanxi-customers-')
    assert response["Content-Disposition"].endswith('.xlsx"')
    [row] = _xlsx_rows(response)
    assert (row["id"], row["name"], row["external_id"]) == (created["id"], "王芳", "ERP-0042")
    assert row["phones"] == "'+86 139 **** 1111; +86 21 6*** 4567"
    assert row["id_number"] == "1****************X"
    event = AuditEvent.objects.get(action="export")
    assert event.via == "api"
    assert event.changes["format"]["after"] == "xlsx"
    assert event.changes["filters"]["after"] == {"tag": "VIP"}
    assert event.changes["rows"]["after"] == 1


def test_export_format_defaults_to_csv_and_refuses_others(rep, created):
    response = rep.get("/customers/export", {"format": "csv"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].endswith('.csv"')
    assert AuditEvent.objects.get(action="export").changes["format"]["after"] == "csv"
    refused = rep.get("/customers/export", {"format": "pdf"})
    assert refused.status_code == 422
    assert "detail" in refused.json()
    assert AuditEvent.objects.filter(action="export").count() == 1


def test_export_as_xlsx_reveals_only_for_permitted_users(api_as, rep, created):
    assert rep.get("/customers/export", {"reveal": "true", "format": "xlsx"}).status_code == 403
    assert not AuditEvent.objects.filter(action="export").exists()
    manager = api_as("manager")
    [row] = _xlsx_rows(
        manager.get("/customers/export", {"reveal": "true", "tag": "VIP", "format": "xlsx"})
    )
    assert row["id_number"] == "11010519491231002X"
    assert row["phones"] == "'+86 139 0000 1111; +86 21 6123 4567"


def test_reassign_hands_customers_to_a_colleague(api_as, company):
    manager = api_as("manager")
    response = manager.post(
        "/customers/reassign",
        {"from_owner_id": company.rep.pk, "to_owner_id": company.teammate.pk},
    )
    assert response.status_code == 200, response.json()
    assert response.json() == {"moved": 1}
    company.rep_customer.refresh_from_db()
    assert company.rep_customer.owner == company.teammate


def test_reassign_from_the_unowned_pool_with_explicit_ids(api_as, company):
    response = api_as("manager").post(
        "/customers/reassign",
        {
            "from_owner_id": None,
            "to_owner_id": company.rep.pk,
            "customer_ids": [company.unowned_customer.pk],
        },
    )
    assert response.json() == {"moved": 1}


def test_reassign_is_for_managers_and_administrators(api_as, company):
    response = api_as("rep").post(
        "/customers/reassign", {"from_owner_id": company.rep.pk, "to_owner_id": company.rep.pk}
    )
    assert response.status_code == 403


def test_custom_fields_lists_active_definitions(api_as):
    CustomFieldDefinition.objects.create(
        key="budget", label="Budget", label_zh_hans="预算", field_type="number", position=1
    )
    CustomFieldDefinition.objects.create(
        key="size", label="Size", field_type="choice", choices=["S", "M"], required=False
    )
    CustomFieldDefinition.objects.create(key="old", label="Old", field_type="text", is_active=False)
    response = api_as("analyst").get("/custom-fields")
    assert response.json() == [
        {
            "key": "size",
            "label": "Size",
            "label_zh_hans": "",
            "field_type": "choice",
            "choices": ["S", "M"],
            "required": False,
        },
        {
            "key": "budget",
            "label": "Budget",
            "label_zh_hans": "预算",
            "field_type": "number",
            "choices": [],
            "required": False,
        },
    ]


def test_custom_field_values_are_validated_and_stored(rep):
    CustomFieldDefinition.objects.create(key="budget", label="Budget", field_type="number")
    bad = rep.post("/customers", {"name": "A", "custom_fields": {"budget": "lots"}})
    assert bad.status_code == 422
    assert bad.json()["errors"] == [
        {"field": "custom_fields.budget", "message": "Expected a number."}
    ]
    good = rep.post("/customers", {"name": "A", "custom_fields": {"budget": "1200.5"}})
    assert good.json()["custom_fields"] == {"budget": 1200.5}
    # An exponent beyond what decimal arithmetic holds was a server error.
    for huge in ("1E+999999999", "-1e999999999"):
        bad = rep.post("/customers", {"name": "B", "custom_fields": {"budget": huge}})
        assert bad.status_code == 422, huge
        assert bad.json()["errors"] == [
            {"field": "custom_fields.budget", "message": "Expected a number."}
        ]


def test_reassign_from_someone_who_does_not_exist_names_from_owner_id(api_as, company):
    # A mistyped id moved nobody's customers and answered as if all had gone well.
    response = api_as("manager").post(
        "/customers/reassign", {"from_owner_id": 2**62, "to_owner_id": company.rep.pk}
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "from_owner_id", "message": "Not a valid user id."}
    ]


def test_reassign_needs_from_owner_id_spelt_out(api_as, company):
    # Leaving it out must not silently mean "the unowned pool".
    response = api_as("manager").post("/customers/reassign", {"to_owner_id": company.rep.pk})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "from_owner_id", "message": "This field is required."}
    ]
    assert not Customer.objects.filter(owner=company.rep).exclude(pk=company.rep_customer.pk)
