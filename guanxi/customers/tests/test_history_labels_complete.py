"""Every change key a service writes into an audit row that a customer's history shows has a
label there, so no page shows a stored key (``reply``, ``note``) instead of words, in either
language.

The keys are read from the source: the ``{"key": {"before": …, "after": …}}`` dictionaries and
``changes["key"] = {"before": …}`` assignments of every module that records audit rows, and
the extra keyword arguments of the ticket services' ``_save_audited`` (a reply's text, the
customer's message). A new key a service starts writing fails here until it gets a label."""

import ast
from pathlib import Path

import pytest
from django.utils import translation

from guanxi.audit.models import AuditEvent
from guanxi.customers.history import _label, _model_of

PACKAGE = Path(__file__).resolve().parents[2]

# The object types a customer's history shows (rows with a customer id).
HISTORY_TYPES = {
    "customer",
    "interaction",
    "order",
    "invoice",
    "payment",
    "blacklist",
    "churn_follow_up",
    "ticket",
    "article",
    "duplicate_pair",
}
# Helpers that write a fixed object type, by module and name.
HELPERS = {
    ("service/services.py", "_audit"): "ticket",
    ("service/services.py", "_save_audited"): "ticket",
    ("knowledge/services.py", "_audit"): "article",
}
# ``_save_audited``'s own parameters; any other keyword becomes a change key.
SAVE_AUDITED_PARAMETERS = {"now", "action", "summary", "before", "snapshot"}


def _constant(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _is_change(node) -> bool:
    return isinstance(node, ast.Dict) and any(_constant(k) == "before" for k in node.keys)


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _keys_and_types(tree, module: str) -> tuple[set[str], set[str]]:
    keys: set[str] = set()
    types: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if key is not None and _constant(key) and _is_change(value):
                    keys.add(_constant(key))
        elif isinstance(node, ast.Assign) and _is_change(node.value):
            for target in node.targets:
                if isinstance(target, ast.Subscript) and _constant(target.slice):
                    keys.add(_constant(target.slice))
        elif isinstance(node, ast.Call):
            name = _call_name(node)
            if (module, name) in HELPERS:
                types.add(HELPERS[module, name])
            if name == "_save_audited":
                keys |= {k.arg for k in node.keywords if k.arg} - SAVE_AUDITED_PARAMETERS
            for keyword in node.keywords:
                if keyword.arg == "object_type" and _constant(keyword.value):
                    types.add(_constant(keyword.value))
    return keys, types


def _written_keys() -> list[tuple[str, str, str]]:
    """(module, object type, key) for every change key written where the history shows it:
    each function's keys with the object types that function (or, failing that, its module)
    records."""
    found = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE).as_posix()
        if "/tests/" in f"/{module}" or "/migrations/" in module:
            continue
        source = path.read_text(encoding="utf-8")
        if "before" not in source:
            continue
        tree = ast.parse(source)
        _, module_types = _keys_and_types(tree, module)
        for function in tree.body:
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            keys, types = _keys_and_types(function, module)
            for object_type in (types or module_types) & HISTORY_TYPES:
                found |= {(module, object_type, key) for key in keys}
    return sorted(found)


WRITTEN = _written_keys()


def test_the_collection_finds_the_keys_services_write():
    # A guard on the collector itself: were it to find nothing, the test below would pass
    # whatever the history shows.
    keys = {(object_type, key) for _, object_type, key in WRITTEN}
    assert {("ticket", "reply"), ("ticket", "note"), ("blacklist", "blacklisted")} <= keys
    assert ("ticket", "escalated_to") in keys


@pytest.mark.parametrize(("module", "object_type", "key"), WRITTEN)
def test_every_key_a_service_writes_has_a_label_in_the_history(module, object_type, key):
    model = _model_of(AuditEvent(object_type=object_type))
    # In Chinese a label always differs from the stored key; in English it may read the same.
    with translation.override("zh-hans"):
        assert _label(key, model) != key, f"{module}: {object_type} {key!r} has no label"
