"""The customer list's filters that match a column (industry, region, tag) state that column's
length as their limit, read from the models rather than written out again, so that a migration
changing a column moves the filter's limit with it: a longer column's values can still be
filtered on, and the OpenAPI document says what the column holds.

The limits are fixed when the API's modules are imported, so the check runs in a fresh
interpreter that shortens the columns, as a migration would, before importing them."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]

PROBE = """
import json
import django

django.setup()
from guanxi.customers.models import Customer, Tag

Customer._meta.get_field("industry").max_length = 7
Customer._meta.get_field("region").max_length = 8
Tag._meta.get_field("name").max_length = 9

from guanxi.customers.api import CustomerExportQuery, CustomerListQuery

print(json.dumps({
    query.__name__: {
        name: query.model_json_schema()["properties"][name]["anyOf"][0]["maxLength"]
        for name in ("industry", "region", "tag")
    }
    for query in (CustomerListQuery, CustomerExportQuery)
}))
"""


def test_the_customer_filters_limits_follow_their_columns():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "guanxi.settings.test"}
    probe = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, cwd=REPO, capture_output=True, text=True
    )
    assert probe.returncode == 0, probe.stderr
    limits = {"industry": 7, "region": 8, "tag": 9}
    assert json.loads(probe.stdout.strip().splitlines()[-1]) == {
        "CustomerListQuery": limits,
        "CustomerExportQuery": limits,
    }
