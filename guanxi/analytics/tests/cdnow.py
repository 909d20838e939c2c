"""The CDNOW sample: the benchmark data set of the customer-lifetime-value literature.

2,357 customers who made their first purchase at the online music shop CDNOW in the first
quarter of 1997, with every purchase until June 1998 (Fader & Hardie's sample of the CDNOW
data, used in Fader, Hardie & Lee 2005 and their notes). Fitted on the 39-week calibration
period (1997-01-01 to 1997-09-30) it gives the published BG/NBD and Gamma-Gamma estimates the
tests reproduce.

Source: the wheel of the ``lifetimes`` package on PyPI (version 0.11.3, MIT licence,
copyright 2015 Cameron Davidson-Pilon), which redistributes the sample and the summaries of it
in ``lifetimes/datasets/``. ``make test`` runs ``python -m guanxi.analytics.tests.cdnow DIR``
once, which downloads that wheel with pip (no dependencies, nothing installed), checks it and
the files against the hashes below, and extracts them with the licence. The tests read only
that directory and never touch the network.
"""

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

DIRECTORY = Path(__file__).resolve().parents[3] / "var" / "datasets" / "cdnow"
WHEEL = "Lifetimes-0.11.3-py3-none-any.whl"
WHEEL_SHA256 = "261e3dc89977c2b60767ca6728aaa29d429de0c814635070a749c36555895da8"
FILES = {
    "lifetimes/datasets/CDNOW_sample.txt": (
        "CDNOW_sample.txt",
        "6fae10155c0b0ba363c2c386e30f77990d22328220efd862a5edd1443420d94a",
    ),
    "lifetimes/datasets/cdnow_customers_summary_with_transactions.csv": (
        "cdnow_customers_summary_with_transactions.csv",
        "7ddd11b55be3227edfc1d58675154e96971b0de3ad37ddd9280d1dba154b8b2f",
    ),
    "Lifetimes-0.11.3.dist-info/LICENSE.txt": (
        "LICENSE-lifetimes.txt",
        "eabba5d927630ba270781bd2704815fd9ec942bceb418ffc05b43fec4d4ac2cc",
    ),
}
CALIBRATION_END = np.datetime64("1997-09-30")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch(directory: Path) -> None:
    """Download the wheel with pip, check it, extract the data files into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "--dest",
                scratch,
                "lifetimes==0.11.3",
            ],
            check=True,
        )
        wheel = Path(scratch) / WHEEL
        if _sha256(wheel.read_bytes()) != WHEEL_SHA256:
            raise SystemExit(f"{WHEEL}: unexpected contents (hash mismatch)")
        with zipfile.ZipFile(wheel) as archive:
            for member, (name, digest) in FILES.items():
                data = archive.read(member)
                if _sha256(data) != digest:
                    raise SystemExit(f"{member}: unexpected contents (hash mismatch)")
                (directory / name).write_bytes(data)


def _path(name: str) -> Path:
    import pytest

    path = DIRECTORY / name
    if not path.exists():
        pytest.fail(
            f"The CDNOW sample is missing ({path}). `make test` fetches it once; or run "
            f"`python -m guanxi.analytics.tests.cdnow {DIRECTORY}`."
        )
    return path


def load_transactions() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customer ids (1..2357), dates and amounts of all 6,919 purchases, 1997-01 to 1998-06.

    The file has one purchase per line: master id, sample id, date YYYYMMDD, CDs, dollars.
    """
    columns = np.loadtxt(_path("CDNOW_sample.txt"), dtype=str)
    dates = np.array(
        [f"{text[:4]}-{text[4:6]}-{text[6:]}" for text in columns[:, 2]], dtype="datetime64[D]"
    )
    return columns[:, 1].astype(int), dates, columns[:, 4].astype(float)


def load_summary() -> dict[str, np.ndarray]:
    """The published calibration summary: x, t_x and T in weeks, zbar in dollars."""
    table = np.loadtxt(
        _path("cdnow_customers_summary_with_transactions.csv"), delimiter=",", skiprows=1
    )
    return {
        "customer_id": table[:, 0].astype(int),
        "frequency": table[:, 1],
        "recency": table[:, 2],
        "T": table[:, 3],
        "monetary_value": table[:, 4],
    }


if __name__ == "__main__":
    fetch(Path(sys.argv[1]) if len(sys.argv) > 1 else DIRECTORY)
