"""``guanxi dedup ACTION``: duplicate detection from the command line.

    guanxi dedup scan [--output pairs.csv] [--threshold T] [--no-queue]
    guanxi dedup evaluate [--dataset febrl1|febrl2|febrl3|febrl4|chinese|all] [--check]
    guanxi dedup fetch-febrl [DIR]
    guanxi dedup reindex

``scan`` looks for duplicates among all customers, writes the pairs at or above the threshold
(default: the review threshold) as CSV with the columns
``left_id,right_id,left_external_id,right_external_id,score`` and puts them in the review queue.
``evaluate`` runs the same engine on data sets whose duplicates are known and prints precision
and recall (``--check`` exits with status 1 when a data set misses the quality bar of precision
≥ 0.98 and recall ≥ 0.95). ``fetch-febrl`` downloads the public FEBRL data sets once.
``reindex`` recomputes every customer's stored blocking keys.
"""

import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from guanxi.core.arguments import at_least
from guanxi.core.files import check_output_path
from guanxi.dedup.matching.blocking import DEFAULT_MAX_BLOCK
from guanxi.dedup.matching.engine import REVIEW_THRESHOLD

QUALITY_BAR = {"precision": 0.98, "recall": 0.95}
BAD_INPUT = 2


def _threshold(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise CommandError(
            f"--threshold must be a number from 0 to 1, not {text!r}.", returncode=BAD_INPUT
        )
    return value


def _output_path(path: Path | None) -> Path | None:
    """The pairs file, checked before the scan starts: a scan of a million customers takes
    minutes, and only then would a missing directory or a typo show."""
    if path is None:
        return None
    problem = check_output_path(path, "--output")
    if problem:
        raise CommandError(problem, returncode=BAD_INPUT)
    return path


class Command(BaseCommand):
    help = "Duplicate detection: scan the customers, evaluate on known data, rebuild keys."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        scan = actions.add_parser("scan", help="find likely duplicates among all customers")
        scan.add_argument("--output", type=Path, help="write the pairs to this CSV file")
        scan.add_argument(
            "--threshold",
            default=str(REVIEW_THRESHOLD),
            help=f"lowest score to report, 0 to 1 (default {REVIEW_THRESHOLD})",
        )
        scan.add_argument(
            "--no-queue", action="store_true", help="do not put the pairs in the review queue"
        )
        scan.add_argument(
            "--max-block",
            type=int,
            default=DEFAULT_MAX_BLOCK,
            help="skip blocking keys shared by more customers than this",
        )
        evaluate = actions.add_parser(
            "evaluate", help="precision and recall on data sets with known duplicates"
        )
        evaluate.add_argument(
            "--dataset",
            default="all",
            choices=["febrl1", "febrl2", "febrl3", "febrl4", "chinese", "all"],
        )
        evaluate.add_argument("--threshold", default=str(REVIEW_THRESHOLD))
        evaluate.add_argument(
            "--entities", type=int, default=5000, help="size of the generated Chinese data set"
        )
        evaluate.add_argument("--seed", type=int, default=7)
        evaluate.add_argument(
            "--check", action="store_true", help="exit with status 1 below the quality bar"
        )
        fetch = actions.add_parser("fetch-febrl", help="download the FEBRL data sets")
        fetch.add_argument("directory", nargs="?", type=Path)
        actions.add_parser("reindex", help="recompute every customer's blocking keys")

    def handle(self, *args, action: str, **options):
        if action == "scan":
            self._scan(options)
        elif action == "evaluate":
            self._evaluate(options)
        elif action == "fetch-febrl":
            from guanxi.dedup.datasets import febrl

            directory = options["directory"]
            if directory is not None and directory.exists() and not directory.is_dir():
                raise CommandError(f"{directory} is a file, not a directory.", returncode=BAD_INPUT)
            directory = febrl.fetch(directory)
            self.stdout.write(f"FEBRL data sets in {directory}")
        elif action == "reindex":
            self._reindex()

    def _progress(self, total: int | None, unit: str):
        return tqdm(
            total=total,
            unit=unit,
            unit_scale=True,
            file=sys.stderr,
            disable=not sys.stderr.isatty(),
            dynamic_ncols=True,
        )

    def _scan(self, options) -> None:
        from guanxi.customers.models import Customer
        from guanxi.dedup.scan import scan_duplicates

        threshold = _threshold(options["threshold"])
        output = _output_path(options["output"])
        # A block of one customer holds no pair: below 2 every key would be skipped and the
        # scan would report no duplicates at all.
        at_least("--max-block", options["max_block"], 2)
        total = Customer.objects.filter(deleted_at__isnull=True).count()
        started = time.monotonic()
        with self._progress(total, " customers") as bar:
            result = scan_duplicates(
                threshold=threshold,
                output=output,
                queue=not options["no_queue"],
                max_block=options["max_block"],
                progress=bar,
            )
        elapsed = time.monotonic() - started
        b = result.blocking
        if result.indexed:
            self.stdout.write(
                f"Indexed {result.indexed:,} customers that had no (or an outdated) "
                "duplicate-detection index."
            )
        self.stdout.write(
            f"Scanned {result.customers:,} customers in {elapsed:.1f} s: "
            f"{result.candidate_pairs:,} candidate pairs compared, "
            f"{result.pairs:,} at or above {threshold:g} "
            f"({result.inferred_pairs:,} of them inferred from other pairs)."
        )
        if b.skipped_blocks:
            self.stdout.write(
                f"Skipped {b.skipped_blocks:,} blocking keys shared by more than "
                f"{options['max_block']} customers (largest {b.largest_skipped:,})."
            )
        if not options["no_queue"]:
            self.stdout.write(
                f"Review queue: {result.queued_new:,} new, {result.queued_updated:,} updated, "
                f"{result.previously_decided:,} already decided, {result.dropped:,} dropped."
            )
        model = result.model
        status = "converged" if model.converged else "DID NOT CONVERGE"
        self.stdout.write(
            f"Model fitted on {model.pairs:,} pairs in {model.iterations} rounds ({status})."
        )
        if model.source != "fitted":
            self.stdout.write(f"Scored with the {model.source}.")
        timings = ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items())
        self.stdout.write(f"Time: {timings}.")
        if options["output"]:
            self.stdout.write(f"Pairs written to {options['output']}.")

    def _evaluate(self, options) -> None:
        from guanxi.dedup.evaluate import evaluate_dataset

        threshold = _threshold(options["threshold"])
        at_least("--entities", options["entities"], 1)
        names = (
            ["febrl1", "febrl2", "febrl3", "febrl4", "chinese"]
            if options["dataset"] == "all"
            else [options["dataset"]]
        )
        header = (
            f"{'data set':<10}{'records':>9}{'true pairs':>12}{'found':>8}"
            f"{'precision':>11}{'recall':>8}{'F1':>8}{'seconds':>9}"
        )
        self.stdout.write(f"Threshold {threshold:g}; quality bar: precision ≥ 0.98, recall ≥ 0.95")
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        failed = []
        for name in names:
            try:
                outcome = evaluate_dataset(
                    name, threshold=threshold, entities=options["entities"], seed=options["seed"]
                )
            except FileNotFoundError as error:
                raise CommandError(str(error), returncode=BAD_INPUT) from None
            q = outcome.quality
            self.stdout.write(
                f"{name:<10}{outcome.records:>9,}{q.true:>12,}{q.found:>8,}"
                f"{q.precision:>11.4f}{q.recall:>8.4f}{q.f1:>8.4f}{outcome.seconds:>9.2f}"
            )
            if q.precision < QUALITY_BAR["precision"] or q.recall < QUALITY_BAR["recall"]:
                failed.append(name)
        if failed and options["check"]:
            raise CommandError(f"Below the quality bar: {', '.join(failed)}", returncode=1)

    def _reindex(self) -> None:
        from guanxi.customers.models import Customer
        from guanxi.dedup.keys import rebuild_match_keys

        total = Customer.objects.filter(deleted_at__isnull=True).count()
        with self._progress(total, " customers") as bar:
            count = rebuild_match_keys(progress=bar)
        self.stdout.write(f"Blocking keys rebuilt for {count:,} customers.")
