"""The committed OpenAPI schema, the documentation pages, and stable route names."""

import json
import re
from pathlib import Path

from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse
from ninja.responses import NinjaJSONEncoder

from guanxi.api.api import api
from guanxi.api.tests import ID_PARAMETERS

COMMITTED = Path(__file__).resolve().parents[3] / "docs" / "openapi.json"
REFRESH = (
    "guanxi export_openapi_schema --api guanxi.api.api.api --indent 2 --sorted "
    "--output docs/openapi.json"
)


def test_committed_schema_matches_the_code():
    live = json.loads(json.dumps(api.get_openapi_schema(), cls=NinjaJSONEncoder))
    assert COMMITTED.exists(), f"docs/openapi.json is missing. Create it with:\n  {REFRESH}"
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert live == committed, (
        "The API changed but docs/openapi.json did not. If the change is intended, refresh the "
        f"committed schema and review the diff:\n  {REFRESH}"
    )


def test_schema_is_served_without_authentication():
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Guanxi API"


def test_docs_page_loads_its_assets_from_this_server(db):
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "//cdn" not in html and "unpkg" not in html and "jsdelivr" not in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    for asset in assets:
        assert asset.startswith("/static/"), asset  # same origin, no external host
        assert finders.find(asset.removeprefix("/static/")), f"{asset} is not a shipped file"


def test_every_operation_has_a_stable_route_name():
    names = {
        op.get("operationId")
        for path in api.get_openapi_schema()["paths"].values()
        for op in path.values()
    }
    assert names == {
        "customer_list",
        "customer_create",
        "customer_export",
        "customer_export_job",
        "customer_export_file",
        "customers_reassign",
        "customer_detail",
        "customer_update",
        "customer_delete",
        "customer_reveal",
        "customer_deleted_list",
        "customer_deleted_detail",
        "customer_restore",
        "customer_history",
        "customer_value",
        "customer_blacklist_add",
        "customer_blacklist_remove",
        "custom_field_list",
        "customer_interaction_list",
        "customer_interaction_create",
        "interaction_list",
        "me",
        "user_list",
        "user_deactivate",
        "customer_duplicates_check",
        "duplicate_list",
        "duplicate_reject",
        "customer_merge",
        "merge_undo",
        "order_list",
        "order_detail",
        "order_create",
        "order_update",
        "order_refund",
        "order_cancel",
        "order_approve",
        "invoice_list",
        "invoice_create",
        "invoice_payment_create",
        "ticket_list",
        "ticket_detail",
        "ticket_create",
        "ticket_update",
        "ticket_reply",
        "ticket_note",
        "ticket_status",
        "ticket_assign",
        "ticket_merge",
        "ticket_email_send_again",
    }
    for name in names:
        path = _path_of(name)
        kwargs = {key: 1 for key in ID_PARAMETERS if f"{{{key}}}" in path}
        assert reverse(f"api:{name}", kwargs=kwargs).startswith("/api/v1/")


def _path_of(operation_id: str) -> str:
    for path, operations in api.get_openapi_schema()["paths"].items():
        if any(op.get("operationId") == operation_id for op in operations.values()):
            return path
    raise AssertionError(operation_id)
