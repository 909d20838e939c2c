"""The demo users' passwords, kept in ``GUANXI_DATA_DIR/demo-credentials.txt``.

Passwords are generated the first time the demo company is made, so no two installations share
them and none is ever committed. The file is readable by its owner only (mode 0600) and has one
user per line, three fields separated by spaces; lines starting with ``#`` are comments::

    # username role password
    admin admin Jx4mQ8rT2vLp
    manager manager 9KwzR3aYt6Hd

Scripts read a password with ``awk '$1 == "rep" {print $3}' var/demo-credentials.txt`` or,
in Python, :func:`read_credentials`.
"""

import os
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

FILE_NAME = "demo-credentials.txt"
_ALPHABET = string.ascii_letters + string.digits
_HEADER = (
    "# Guanxi demo users of this installation: username role password (one per line).\n"
    "# Generated on first run; shown again by `guanxi demo-data` and `guanxi serve`.\n"
)


@dataclass(frozen=True)
class Credential:
    username: str
    role: str
    password: str


def credentials_path() -> Path:
    return Path(settings.DATA_DIR) / FILE_NAME


def new_password() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(14))


def read_credentials(path: Path | None = None) -> list[Credential]:
    """The credentials in the file, in file order; empty when there is no file."""
    path = path or credentials_path()
    if not path.exists():
        return []
    result = []
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if len(fields) == 3 and not line.startswith("#"):
            result.append(Credential(*fields))
    return result


def write_credentials(credentials: list[Credential], path: Path | None = None) -> None:
    """Replace the file. It is created with mode 0600 before anything is written into it, so
    the passwords are never readable by others, not even for a moment."""
    path = path or credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(_HEADER)
        for item in credentials:
            handle.write(f"{item.username} {item.role} {item.password}\n")
    os.replace(temporary, path)


def format_credentials(credentials: list[Credential], *, url: str) -> str:
    """The sign-in hint and a table of the demo users, as the commands print it."""
    if not credentials:
        return (
            f"Sign in at {url}\n"
            f"(No demo users: {credentials_path()} does not exist. "
            "Run `guanxi demo-data` to make them.)\n"
        )
    width = max(len(c.username) for c in credentials)
    role_width = max(len(c.role) for c in credentials)
    lines = [
        f"Sign in at {url} as one of the demo users (passwords are in {credentials_path()}):",
        "",
        f"  {'username':<{width}}  {'role':<{role_width}}  password",
    ]
    lines += [f"  {c.username:<{width}}  {c.role:<{role_width}}  {c.password}" for c in credentials]
    return "\n".join(lines) + "\n"
