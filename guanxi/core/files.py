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


@contextmanager
def replaced_on_success(
    path: Path, *, encoding: str = "utf-8", newline: str | None = ""
) -> Iterator[TextIO]:
    """A text handle whose contents become ``path`` when the block ends without an exception
    (including ``KeyboardInterrupt``); otherwise ``path`` is left as it was."""
    path = Path(path)
    # In the destination's directory, so the rename is atomic (same file system).
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".part"
    )
    try:
        with os.fdopen(descriptor, "w", encoding=encoding, newline=newline) as handle:
            yield handle
        # mkstemp creates the file 0600; the result gets the mode a plain open() would give.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def check_output_path(path: Path, option: str) -> str | None:
    """Why ``path`` cannot be written as an output file, naming ``option``; None when it can.
    Checked before the work starts, so a typo does not show only after minutes of work."""
    path = Path(path)
    if path.is_dir():
        return f"{option} {path} is a directory, not a file."
    if not path.parent.is_dir():
        return f"{option} {path}: the directory {path.parent} does not exist."
    # The file is written beside its destination first, so the directory must be writable.
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return f"{option} {path} cannot be written."
    return None
