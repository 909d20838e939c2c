"""The OpenAPI document names each input and output schema by its class name alone: two
classes of the same name in different apps became one entry, and one operation was documented
with the other's fields (the customer merge with the ticket merge's body, a customer's owner
without its label)."""

import importlib
import inspect
import pkgutil

from pydantic import BaseModel

import guanxi


def _schema_classes():
    for module_info in pkgutil.walk_packages(guanxi.__path__, prefix="guanxi."):
        name = module_info.name
        if not (name.endswith(".api") or name.startswith("guanxi.api.")) or ".tests" in name:
            continue
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseModel)
                and value.__module__ == module.__name__
            ):
                yield value


def test_no_two_schemas_share_a_name():
    seen: dict[str, str] = {}
    clashes = []
    for cls in _schema_classes():
        where = f"{cls.__module__}.{cls.__qualname__}"
        if cls.__name__ in seen and seen[cls.__name__] != where:
            clashes.append(f"{seen[cls.__name__]} and {where}")
        seen.setdefault(cls.__name__, where)
    assert not clashes, "Schemas sharing a name in the OpenAPI document: " + "; ".join(clashes)
