"""Where a change came from (IP address, web or API), carried alongside the request so services
can stamp it on audit rows without every caller passing it along."""

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Origin:
    via: str = "cli"
    remote_addr: str | None = None


_COMMAND_LINE = Origin()
_current_origin: ContextVar[Origin | None] = ContextVar("guanxi_audit_origin", default=None)


def current_origin() -> Origin:
    return _current_origin.get() or _COMMAND_LINE


def set_origin(origin: Origin):
    return _current_origin.set(origin)


def reset_origin(token) -> None:
    _current_origin.reset(token)
