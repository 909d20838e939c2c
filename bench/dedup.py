"""Duplicate-scan figures (section ``dedup`` of ``make bench``).

``guanxi dedup scan --output …`` over the whole bench database (a million customers, one in
seventy of them a person entered twice by another salesperson), timed from process start to exit
as a user runs it: reading the stored index, blocking, comparing, fitting the model, transitive
pairs, the CSV and the review queue. Target ≤ 10 minutes on the two-core machine.
"""

from bench.run import timed_guanxi

SCAN_TARGET_SECONDS = 600.0


def run(context) -> list[dict]:
    output = context.results_dir / "dedup-pairs.csv"
    seconds, stdout = timed_guanxi(context.env, "dedup", "scan", "--output", str(output))
    print("  " + stdout.strip().replace("\n", "\n  "))
    with output.open(encoding="utf-8") as handle:
        pairs = sum(1 for _line in handle) - 1
    return [
        {
            "figure": "dedup scan, 1M customers (wall time)",
            "role": "",
            "value": seconds,
            "unit": "s",
            "target": SCAN_TARGET_SECONDS,
            "better": "lower",
            "pairs": pairs,
            "output": stdout,
        }
    ]
