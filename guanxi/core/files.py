"""Output files the commands write: whole or not at all.

A command stopped with Ctrl-C (or failing) while writing a pairs, predictions or error file
must not leave a truncated file that looks complete, nor destroy the one a previous run wrote
there. :func:`replaced_on_success` writes beside the destination and renames over it only
when everything was written.
"""

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from django.utils.translation import gettext as _

# Read once, as the program starts: reading it means setting it, which would change the mode
# of a file another thread (the importer's) creates meanwhile.
UMASK = os.umask(0)
os.umask(UMASK)


def _not_a_file(path: Path) -> bool:
    """Whether ``path`` is there but not a regular file (a directory aside): /dev/stdout, a
    pipe. It is written as it is; there is nothing to rename over it."""
    return path.exists() and not path.is_file() and not path.is_dir()


@contextmanager
def replaced_on_success(
    path: Path, *, encoding: str = "utf-8", newline: str | None = ""
) -> Iterator[TextIO]:
    """A text handle whose contents become ``path`` when the block ends without an exception
    (including ``KeyboardInterrupt``); otherwise ``path`` is left as it was.

    A symbolic link is followed: the file it names is replaced, the link stays. What is not a
    regular file (/dev/stdout) is written directly."""
    path = Path(path)
    if _not_a_file(path):
        with open(path, "w", encoding=encoding, newline=newline) as handle:
            yield handle
        return
    path = path.resolve()
    # In the destination's directory, so the rename is atomic (same file system).
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".part"
    )
    try:
        with os.fdopen(descriptor, "w", encoding=encoding, newline=newline) as handle:
            yield handle
        # mkstemp creates the file 0600; the result gets the mode a plain open() would give.
        os.chmod(temporary, 0o666 & ~UMASK)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def check_output_path(path: Path, option: str) -> str | None:
    """Why ``path`` cannot be written as an output file, naming ``option``, in the active
    language (the command's: it is said to whoever runs it); None when it can.
    Checked before the work starts, so a typo does not show only after minutes of work."""
    path = Path(path)
    if path.is_dir():
        return _("%(option)s %(path)s is a directory, not a file.") % {
            "option": option,
            "path": path,
        }
    if _not_a_file(path):  # written directly: nothing is written beside it
        if os.access(path, os.W_OK):
            return None
        return _("%(option)s %(path)s cannot be written.") % {"option": option, "path": path}
    # A symbolic link's target is replaced, beside it.
    target = path.resolve()
    if not target.parent.is_dir():
        return _("%(option)s %(path)s: the directory %(directory)s does not exist.") % {
            "option": option,
            "path": path,
            "directory": target.parent,
        }
    # The file is written beside its destination first, so the directory must be writable.
    if not os.access(target.parent, os.W_OK) or (
        target.exists() and not os.access(target, os.W_OK)
    ):
        return _("%(option)s %(path)s cannot be written.") % {"option": option, "path": path}
    return None
