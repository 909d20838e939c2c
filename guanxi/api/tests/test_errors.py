"""Every error class with its status and the field it names, and odd input that must never
become a server error."""

import json

import pytest

from guanxi.audit.models import AuditEvent
from guanxi.core.testing.cursors import encode_cursor
from guanxi.customers.models import Customer
from guanxi.interactions.models import Interaction

HUGE = 10**30


@pytest.fixture
def rep(api_as):
    return api_as("rep")


def _shape(response) -> dict:
    """The one error shape, checked on every error answer."""
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["errors"], list)
    for error in body["errors"]:
        assert set(error) == {"field", "message"}
        assert isinstance(error["field"], str) and isinstance(error["message"], str)
    return body


def _fields(response) -> list[str]:
    return [e["field"] for e in _shape(response)["errors"]]


# --- validation by the services: 422 with their field paths ------------------------------------


def test_service_validation_errors_name_nested_fields(rep):
    response = rep.post(
        "/customers",
        {"name": "A", "phones": ["13900001111", "12"], "emails": ["ok@example.com", "broken@"]},
    )
    assert response.status_code == 422
    assert _fields(response) == ["phones[1].number", "emails[1].address"]
    assert "phones[1].number" in response.json()["detail"]
    assert not Customer.objects.filter(name="A").exists()


def test_service_non_field_errors_have_an_empty_errors_list_or_blank_field(api_as, company):
    # Deleting an organisation that still has people is refused by the service.
    org = Customer.objects.create(name="Org", party_type="organization", owner=company.rep)
    Customer.objects.create(name="Person", organization=org, owner=company.rep)
    response = api_as("admin").delete(f"/customers/{org.pk}", {"version": 1})
    assert response.status_code == 422
    assert _fields(response) == ["organization"]


def test_deleting_a_customer_with_open_tickets_names_the_tickets(api_as, company):
    from guanxi.service.services import ticket_create
    from guanxi.service.tests.desk import build_desk

    build_desk(company)
    ticket = ticket_create(
        actor=company.agent,
        customer_id=company.rep_customer.pk,
        data={"type": "complaint", "subject": "货物破损"},
    )
    response = api_as("admin").delete(f"/customers/{company.rep_customer.pk}", {"version": 1})
    assert response.status_code == 422
    assert _fields(response) == ["tickets"]
    assert ticket.number in response.json()["errors"][0]["message"]
    assert Customer.objects.get(pk=company.rep_customer.pk).deleted_at is None


# --- validation by the request schema: 422 in the same path style -------------------------------


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "name", "This field is required."),
        ({"name": None}, "name", None),
        ({"name": 12}, "name", None),
        ({"name": "A", "industy": "typo"}, "industy", "Unknown field."),
        ({"name": "A", "phones": [{"number": 5}]}, "phones[0].number", None),
        ({"name": "A", "phones": ["1390000111", {"number": "1", "x": 1}]}, "phones[1].x", None),
        ({"name": "A", "phones": "13900001111"}, "phones", None),
        ({"name": "A", "emails": [{"label": "work"}]}, "emails[0].address", None),
        ({"name": "A", "tags": [1]}, "tags[0]", None),
        ({"name": "A", "kind": "friend"}, "kind", None),
        ({"name": "A", "owner_id": "5"}, "owner_id", None),
        ({"name": "A", "owner_id": True}, "owner_id", None),
        ({"name": "A", "owner_id": HUGE}, "owner_id", None),
        ({"name": "A", "owner_id": -1}, "owner_id", None),
        ({"name": "A", "owner_id": 1.5}, "owner_id", None),
        ({"name": "A", "organization_id": 2**63}, "organization_id", None),
        ({"name": "A", "birth_date": "1985-02-30"}, "birth_date", None),
        ({"name": "A", "birth_date": 12}, "birth_date", None),
        ({"name": "A", "consents": [{"channel": "email"}]}, "consents[0].granted", None),
        (
            {"name": "A", "consents": [{"channel": "fax", "granted": True}]},
            "consents[0].channel",
            None,
        ),
        ({"name": "A", "custom_fields": ["x"]}, "custom_fields", None),
        ({"name": "A", "addresses": [{"street": ["x"]}]}, "addresses[0].street", None),
        (
            {"name": "A", "phones": [{"number": "13900001111", "is_primary": "yes"}]},
            "phones[0].is_primary",
            None,
        ),
    ],
)
def test_schema_errors_name_the_field_like_the_services_do(rep, body, field, message):
    response = rep.post("/customers", body)
    assert response.status_code == 422, response.json()
    errors = _shape(response)["errors"]
    assert field in [e["field"] for e in errors], errors
    if message:
        assert {"field": field, "message": message} in errors
    assert not Customer.objects.filter(created_by__isnull=False).exists()


@pytest.mark.parametrize("body", [[], [1, 2], "a string", 12, None, True])
def test_a_body_that_is_not_an_object_is_422_without_fields(rep, body):
    response = rep.post("/customers", body=json.dumps(body).encode())
    assert response.status_code == 422
    assert "JSON object" in _shape(response)["detail"]


def test_a_missing_body_is_422(rep):
    response = rep.post("/customers", body=b"")
    assert response.status_code == 422
    _shape(response)


# --- bytes that are not JSON, or JSON no database can store: 400 ---------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b'{"name": "A",}',
        b"\xff\xfe\x00{",
        b'{"name": "\xff\xfe"}',
        b'{"name": NaN}',
        b'{"name": "A", "custom_fields": {"n": Infinity}}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"owner_id": ' + b"9" * 5000 + b"}",
    ],
    ids=[
        "truncated",
        "trailing-comma",
        "utf16-bom",
        "latin1",
        "nan",
        "infinity",
        "deep",
        "longint",
    ],
)
def test_malformed_json_is_400(rep, raw):
    response = rep.post("/customers", body=raw)
    assert response.status_code == 400
    assert _shape(response)["errors"] == []


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"name": "A\\u0000B"}', "name"),
        (b'{"name": "\\ud800"}', "name"),
        (b'{"name": "A", "custom_fields": {"note": "x\\u0000"}}', "custom_fields.note"),
        (b'{"name": "A", "phones": [{"number": "\\udfff"}]}', "phones[0].number"),
    ],
)
def test_text_no_database_can_store_is_400_naming_the_field(rep, raw, field):
    response = rep.post("/customers", body=raw)
    assert response.status_code == 400
    assert _fields(response) == [field]
    assert not Customer.objects.filter(created_by__isnull=False).exists()


def test_nul_in_a_query_parameter_is_400_naming_it(rep):
    response = rep.get("/customers", {"q": "a\x00b"})
    assert response.status_code == 400
    assert _fields(response) == ["q"]


def test_a_body_over_the_size_limit_is_413(rep, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = rep.post("/customers", {"name": "A", "notes": "x" * 2000})
    assert response.status_code == 413
    _shape(response)


# --- path and query parameters ------------------------------------------------------------------


@pytest.mark.parametrize("raw_id", ["0", "-1", "abc", "1.5", str(HUGE), str(2**63), "%00"])
def test_impossible_ids_in_the_path_are_422(rep, raw_id):
    for response in (
        rep.get(f"/customers/{raw_id}"),
        rep.patch(f"/customers/{raw_id}", {"version": 1}),
        rep.delete(f"/customers/{raw_id}", {"version": 1}),
        rep.get(f"/customers/{raw_id}/history"),
        rep.get(f"/customers/{raw_id}/interactions"),
        rep.post(f"/customers/{raw_id}/interactions", {"channel": "phone", "subject": "x"}),
        rep.post(f"/customers/{raw_id}/reveal"),
    ):
        assert response.status_code == 422, (raw_id, response.content)
        assert _fields(response) == ["customer_id"]


def test_a_possible_id_that_does_not_exist_is_404(rep):
    response = rep.get(f"/customers/{2**63 - 1}")
    assert response.status_code == 404
    assert _shape(response)["detail"] == "No such customer."


def test_an_id_in_the_body_naming_no_record_in_sight_is_404_naming_its_field(api_as, company):
    """The same 404 for a record that does not exist and one out of sight, which says which of
    the request's ids it is about; one for the id in the path names no body field."""
    rep = api_as("rep")
    mine, theirs = company.rep_customer, company.west_customer
    ticket = rep.post(
        "/tickets", {"customer_id": mine.pk, "type": "inquiry", "subject": "Where?"}
    ).json()
    for missing in (2**63 - 1, theirs.pk):
        for path, body, field, detail in (
            ("/orders", {"customer_id": missing, "ordered_on": "2026-01-05"}, "customer_id", None),
            (
                "/invoices",
                {
                    "customer_id": missing,
                    "number": "F-1",
                    "issued_on": "2026-01-05",
                    "due_on": "2026-02-05",
                    "amount": "10.00",
                },
                "customer_id",
                None,
            ),
            (
                "/tickets",
                {"customer_id": missing, "type": "inquiry", "subject": "Lost"},
                "customer_id",
                None,
            ),
            (
                f"/customers/{mine.pk}/merge",
                {"merged_id": missing, "version": mine.version, "merged_version": 1},
                "merged_id",
                None,
            ),
            (
                f"/tickets/{ticket['id']}/merge",
                {"into_id": missing, "version": ticket["version"], "into_version": 1},
                "into_id",
                "No such ticket.",
            ),
        ):
            if field == "into_id" and missing == theirs.pk:
                continue  # a ticket of theirs is below
            response = rep.post(path, body)
            assert response.status_code == 404, (path, missing, response.content)
            assert _fields(response) == [field], (path, missing)
            assert response.json()["detail"] == (detail or "No such customer.")
    their_ticket = (
        api_as("rep_west")
        .post("/tickets", {"customer_id": theirs.pk, "type": "inquiry", "subject": "Theirs"})
        .json()
    )
    body = {"into_id": their_ticket["id"], "version": ticket["version"], "into_version": 1}
    response = rep.post(f"/tickets/{ticket['id']}/merge", body)
    assert response.status_code == 404
    assert _fields(response) == ["into_id"]
    # Out of sight in the path: the path's 404, naming nothing in the body.
    for path, body in (
        (
            f"/customers/{theirs.pk}/merge",
            {"merged_id": mine.pk, "version": 1, "merged_version": mine.version},
        ),
        (
            f"/tickets/{their_ticket['id']}/merge",
            {"into_id": ticket["id"], "version": 1, "into_version": ticket["version"]},
        ),
    ):
        response = rep.post(path, body)
        assert response.status_code == 404
        assert _fields(response) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": str(HUGE)}, "limit"),
        ({"ordering": "password"}, "ordering"),
        ({"ordering": "-deleted_at"}, "ordering"),
        ({"owner_id": str(HUGE)}, "owner_id"),
        ({"organization_id": "x"}, "organization_id"),
        ({"updated_since": "yesterday"}, "updated_since"),
        ({"updated_since": "0001-01-01T00:00:00"}, "updated_since"),
        ({"updated_since": "0001-01-01T00:00:00+14:00"}, "updated_since"),
        ({"updated_since": "9999-12-31T23:59:59-12:00"}, "updated_since"),
        ({"unowned": "perhaps"}, "unowned"),
        ({"kind": "friend"}, "kind"),
        ({"q": "x" * 201}, "q"),
    ],
)
def test_bad_list_parameters_are_422_naming_them(rep, params, field):
    response = rep.get("/customers", params)
    assert response.status_code == 422
    assert _fields(response) == [field]


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "%%%",
        encode_cursor(["name", "A", 1]),  # made for another ordering
        encode_cursor(["-id", 1]),
        encode_cursor(["-id", None, HUGE]),
        encode_cursor(["-id", None, "7"]),
        encode_cursor({"a": 1}),
    ],
)
def test_bad_cursors_are_400_naming_cursor(rep, cursor):
    response = rep.get("/customers", {"cursor": cursor})
    assert response.status_code == 400
    assert _fields(response) == ["cursor"]


@pytest.mark.parametrize(
    "cursor",
    [encode_cursor(["-occurred_at", "not a time", 1]), encode_cursor(["-occurred_at", 5, 1])],
)
def test_bad_timeline_cursors_are_400(rep, company, cursor):
    response = rep.get(f"/customers/{company.rep_customer.pk}/interactions", {"cursor": cursor})
    assert response.status_code == 400
    assert _fields(response) == ["cursor"]
    response = rep.get("/interactions", {"cursor": cursor})
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("ordering", "values"),
    [
        ("name", ["name", "A", HUGE]),
        ("name", ["name", "a\x00b", 1]),
        ("name", ["name", "\ud800", 1]),
        ("-updated_at", ["-updated_at", "2024-02-30T00:00:00+00:00", 1]),
        ("-updated_at", ["-updated_at", "2024-01-01T00:00:00+25:00", 1]),
        ("-updated_at", ["-updated_at", "0001-01-01T00:00:00+14:00", 1]),
        ("-updated_at", ["-updated_at", "9999-12-31T23:59:59-12:00", 1]),
    ],
)
def test_cursor_values_no_database_accepts_are_400_naming_cursor(rep, ordering, values):
    response = rep.get("/customers", {"ordering": ordering, "cursor": encode_cursor(values)})
    assert response.status_code == 400
    assert _fields(response) == ["cursor"]


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"])
def test_export_refuses_an_updated_since_out_of_range(rep, value):
    response = rep.get("/customers/export", {"updated_since": value})
    assert response.status_code == 422
    assert _fields(response) == ["updated_since"]


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"])
def test_other_date_times_out_of_range_are_422_naming_the_field(rep, company, value):
    for name in ("since", "until"):
        response = rep.get("/interactions", {name: value})
        assert (response.status_code, _fields(response)) == (422, [name])
    logged = rep.post(
        f"/customers/{company.rep_customer.pk}/interactions",
        {"channel": "phone", "subject": "来电", "occurred_at": value},
    )
    assert (logged.status_code, _fields(logged)) == (422, ["occurred_at"])
    consent = rep.patch(
        f"/customers/{company.rep_customer.pk}",
        {
            "version": company.rep_customer.version,
            "consents": [
                {"channel": "email", "granted": True, "method": "verbal", "recorded_at": value}
            ],
        },
    )
    assert (consent.status_code, _fields(consent)) == (422, ["consents[0].recorded_at"])


# --- permission, visibility, concurrency -------------------------------------------------------


def test_forbidden_is_403(api_as, company):
    response = api_as("analyst").post("/customers", {"name": "Read only"})
    assert response.status_code == 403
    assert _shape(response)["errors"] == []
    visible_but_not_changeable = api_as("rep").patch(
        f"/customers/{company.teammate_customer.pk}", {"version": 1, "name": "Mine"}
    )
    assert visible_but_not_changeable.status_code == 403


def test_stale_version_is_409_with_the_current_version_and_writes_nothing(rep, company):
    customer = company.rep_customer
    assert (
        rep.patch(f"/customers/{customer.pk}", {"version": 1, "industry": "A"}).status_code == 200
    )
    response = rep.patch(f"/customers/{customer.pk}", {"version": 1, "industry": "B"})
    assert response.status_code == 409
    body = _shape(response)
    assert body["current_version"] == 2
    assert [e["field"] for e in body["errors"]] == ["version"]
    customer.refresh_from_db()
    assert (customer.industry, customer.version) == ("A", 2)
    assert AuditEvent.objects.filter(customer_id=customer.pk, action="update").count() == 1


def test_stale_if_match_is_409_too(rep, company):
    rep.patch(f"/customers/{company.rep_customer.pk}", {"version": 1, "industry": "A"})
    response = rep.patch(
        f"/customers/{company.rep_customer.pk}", {"industry": "B"}, headers={"If-Match": '"1"'}
    )
    assert response.status_code == 409
    assert response.json()["current_version"] == 2


def test_stale_delete_is_409(api_as, company):
    response = api_as("admin").delete(f"/customers/{company.rep_customer.pk}", {"version": 7})
    assert response.status_code == 409
    company.rep_customer.refresh_from_db()
    assert company.rep_customer.deleted_at is None


@pytest.mark.parametrize(
    ("body", "headers", "field"),
    [
        ({"industry": "X"}, {}, "version"),
        ({"industry": "X", "version": None}, {}, "version"),
        ({"industry": "X", "version": 1}, {"If-Match": '"2"'}, "If-Match"),
        ({"industry": "X"}, {"If-Match": "*"}, "If-Match"),
        ({"industry": "X"}, {"If-Match": '"99999999999999999999"'}, "If-Match"),
        ({"industry": "X", "version": "1"}, {}, "version"),
        ({"industry": "X", "version": 0}, {}, "version"),
        ({"industry": "X", "version": HUGE}, {}, "version"),
    ],
)
def test_missing_or_contradictory_versions_are_422(rep, company, body, headers, field):
    response = rep.patch(f"/customers/{company.rep_customer.pk}", body, headers=headers)
    assert response.status_code == 422
    assert _fields(response) == [field]
    company.rep_customer.refresh_from_db()
    assert company.rep_customer.industry == ""


@pytest.mark.parametrize("params", [{}, {"version": "x"}, {"version": str(HUGE)}])
def test_delete_needs_a_sensible_version(api_as, company, params):
    response = api_as("admin").delete(f"/customers/{company.rep_customer.pk}", params)
    assert response.status_code == 422
    assert _fields(response) == ["version"]


def test_unsupported_methods_are_405_in_the_error_shape(rep, company):
    response = rep.client.put(
        "/api/v1/customers",
        "{}",
        content_type="application/json",
        headers={"Authorization": f"Bearer {rep.token}"},
    )
    assert response.status_code == 405
    assert "GET" in response["Allow"] and "POST" in response["Allow"]
    _shape(response)
    assert rep.get("/customers/reassign").status_code == 405


# --- no odd input ends in a server error -------------------------------------------------------

ODD_VALUES = [
    None,
    True,
    0,
    -1,
    HUGE,
    -HUGE,
    1.5,
    1e308,
    "",
    " ",
    "x" * 10_000,
    "\u202e",
    "a\x00b",
    [],
    {},
    [None],
    {"": None},
    "2026-02-30",
    "13900001111",
]


def test_no_odd_value_in_any_field_is_a_server_error(rep, company):
    """Each field of each write, filled with each odd value: always a 2xx or a 4xx in the error
    shape, never a 500."""
    customer = company.rep_customer

    def current_version() -> dict:
        # Read afresh each time, so every PATCH reaches validation instead of stopping at 409.
        return {"version": Customer.objects.get(pk=customer.pk).version}

    targets = [
        (
            "post",
            "/customers",
            lambda: {"name": "Odd"},
            [
                "name",
                "party_type",
                "organization_id",
                "company",
                "job_title",
                "kind",
                "relationship_level",
                "lifecycle_stage",
                "industry",
                "region",
                "source_channel",
                "owner_id",
                "birth_date",
                "website",
                "notes",
                "external_id",
                "phones",
                "emails",
                "addresses",
                "tags",
                "consents",
                "custom_fields",
                "id_number",
            ],
        ),
        (
            "patch",
            f"/customers/{customer.pk}",
            current_version,
            [
                "version",
                "name",
                "kind",
                "source_channel",
                "owner_id",
                "phones",
                "emails",
                "addresses",
                "tags",
                "consents",
                "custom_fields",
                "id_number",
                "birth_date",
            ],
        ),
        (
            "post",
            f"/customers/{customer.pk}/interactions",
            lambda: {"channel": "phone", "subject": "Call"},
            ["channel", "direction", "subject", "notes", "staff_id", "occurred_at"],
        ),
        (
            "post",
            "/customers/reassign",
            lambda: {"from_owner_id": None, "to_owner_id": company.rep.pk},
            ["from_owner_id", "to_owner_id", "customer_ids"],
        ),
    ]
    seen = set()
    for method, path, base, fields in targets:
        for field in fields:
            for value in ODD_VALUES:
                bodies = [{**base(), field: value}]
                if field in ("phones", "emails", "addresses", "consents"):
                    bodies.append({**base(), field: [{"number": value, "address": value}]})
                for body in bodies:
                    response = getattr(rep, method)(path, body)
                    seen.add(response.status_code)
                    assert response.status_code < 500, (method, path, body, response.content)
                    if response.status_code >= 400:
                        _shape(response)
    assert {200, 201, 400, 422} <= seen, seen
    # Whatever was accepted went through the services and is well formed.
    for interaction in Interaction.objects.all():
        assert interaction.subject


def test_odd_query_strings_are_never_a_server_error(rep, company):
    for path in (
        "/customers",
        "/customers/export",
        "/interactions",
        f"/customers/{company.rep_customer.pk}/history",
        f"/customers/{company.rep_customer.pk}/interactions",
    ):
        for query in (
            "limit=-0",
            "cursor=",
            "cursor=%FF%FE",
            "q=%F0%9F",
            "since=9999-99-99",
            "until=2026-01-01T25:00",
            "staff_id=1e3",
            "customer_id=%00",
            "updated_since=2026-01-01T00:00:00%2B25:00",
            "q=" + "%20" * 150,
            "tag=" + "x" * 51,
            "ordering=",
            "unowned=1&unowned=0",
        ):
            response = rep.client.get(
                f"/api/v1{path}?{query}", headers={"Authorization": f"Bearer {rep.token}"}
            )
            assert response.status_code < 500, (path, query, response.content)
            if response.status_code >= 400:
                _shape(response)


def test_unknown_api_paths_answer_in_the_error_shape(api_as):
    response = api_as("rep").get("/no-such-endpoint")
    assert response.status_code == 404
    assert response.json() == {"detail": "There is no such API endpoint.", "errors": []}
