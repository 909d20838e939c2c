"""``guanxi analytics ACTION …``: customer-value analytics from the command line.

``guanxi analytics fit ORDERS.csv --calibration-end YYYY-MM-DD`` fits the BG/NBD purchase
model and the Gamma-Gamma spend model to a file of orders (or, with ``--summary``, to a
per-customer summary), prints the parameters and, with ``--output``, writes each customer's
predictions. It works on files alone: no database, no migrations, nothing imported.

Exit status: 0 when the predictions could be made; 1 when they could not (fewer than 20 repeat
buyers, or a purchase model that did not converge: the reason goes to standard error, the
parameters are still printed, and no predictions are written); 2 for unusable input (missing
column, bad date or amount, empty file, …), with a message naming the line and column. A spend
model that cannot be used does not stop the predictions: as the refresh does, each purchase is
then priced at the mean of all repeat purchases, standard error says why, and the report names
the spend model that priced the values (``spend_model`` in the JSON).

``guanxi analytics refresh [--as-of YYYY-MM-DD]`` recomputes every customer's value from the
database into a new run and makes it the current one (see ``guanxi/analytics/refresh.py``),
with a progress bar on a terminal and a summary at the end. Exit status 1 when it fails; the
previous results then stay current.
"""

import datetime as dt
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from guanxi.analytics.clv import bgnbd, gamma_gamma
from guanxi.analytics.clv.files import (
    DEFAULT_ORDER_COLUMNS,
    InputError,
    parse_date,
    read_orders,
    read_summary,
    write_predictions,
)
from guanxi.analytics.clv.lifetime_value import (
    GAMMA_GAMMA,
    MIN_REPEAT_BUYERS,
    customer_value,
    fit_spend_model,
)
from guanxi.analytics.clv.summary import TIME_UNITS, SummaryError, summarise_transactions
from guanxi.core.files import check_output_path

BAD_INPUT = 2
NOT_CONVERGED = 1


def _finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


class Command(BaseCommand):
    help = (
        "Customer-value analytics: `fit` fits lifetime-value models to a CSV file; `refresh` "
        "recomputes every customer's value from the database."
    )
    # Fitting a file needs no database: no system checks (some query it), no migration check.
    requires_system_checks = []

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        fit = actions.add_parser(
            "fit",
            help="fit BG/NBD + Gamma-Gamma to orders or a customer summary (no database needed)",
            description=(
                "Fit the BG/NBD purchase model and the Gamma-Gamma spend model by maximum "
                "likelihood, print the parameters, and optionally write per-customer "
                "predictions. Reads only the given file."
            ),
        )
        fit.add_argument(
            "orders",
            nargs="?",
            metavar="ORDERS.csv",
            help="orders, one per line, with a header naming the --columns",
        )
        fit.add_argument(
            "--summary",
            metavar="SUMMARY.csv",
            help="a per-customer summary instead of orders: columns frequency, recency, T, "
            "monetary_value (and optionally customer_id), recency and T in --time-unit",
        )
        fit.add_argument(
            "--calibration-end",
            metavar="YYYY-MM-DD",
            help="last day of the calibration period; later orders are ignored (required "
            "with ORDERS.csv)",
        )
        fit.add_argument(
            "--time-unit",
            choices=sorted(TIME_UNITS),
            default="day",
            help="period in which purchases are counted and recency/T measured (default day)",
        )
        fit.add_argument(
            "--columns",
            default=",".join(DEFAULT_ORDER_COLUMNS),
            metavar="ID,DATE,AMOUNT",
            help="names of the customer, date and amount columns (default %(default)s)",
        )
        fit.add_argument(
            "--json",
            dest="as_json",
            action="store_true",
            help="print one JSON object instead of text",
        )
        fit.add_argument(
            "--output", metavar="PREDICTIONS.csv", help="write per-customer predictions here"
        )
        fit.add_argument(
            "--horizon",
            type=int,
            default=12,
            metavar="MONTHS",
            help="months ahead for expected purchases and lifetime value (default 12)",
        )
        fit.add_argument(
            "--discount-rate",
            type=float,
            default=0.01,
            metavar="R",
            help="monthly discount rate for the lifetime value (default 0.01)",
        )

        refresh = actions.add_parser(
            "refresh",
            help="recompute every customer's value from the database into a new current run",
            description=(
                "Aggregate orders, contacts and invoices, fit the lifetime-value models, score, "
                "tier and flag every customer, and swap the results in as the current run."
            ),
        )
        refresh.add_argument(
            "--as-of",
            metavar="YYYY-MM-DD",
            help="the day the figures are as of, today or earlier (default today); later orders "
            "are ignored",
        )

    def handle(self, *args, action: str, **options):
        if action == "fit":
            try:
                return self.fit(**options)
            except (InputError, SummaryError) as error:
                raise CommandError(str(error), returncode=BAD_INPUT) from None
        if action == "refresh":
            return self.refresh(as_of=options.get("as_of"))

    def refresh(self, *, as_of: str | None) -> None:
        from guanxi.analytics.refresh import STEPS, analytics_refresh

        try:
            day = dt.date.fromisoformat(as_of) if as_of else None
        except ValueError:
            raise CommandError(
                f"--as-of: {as_of!r} is not a date (YYYY-MM-DD)", returncode=BAD_INPUT
            ) from None
        # A day still to come would make the new current run: every customer's recency
        # measured to it, so churn warnings and follow-ups for customers who are active.
        if day is not None and day > timezone.localdate():
            raise CommandError(
                f"--as-of: {as_of} is after today ({timezone.localdate()}); the figures can "
                "only be as of a day that has come.",
                returncode=BAD_INPUT,
            )
        started = time.perf_counter()
        bar = tqdm(
            total=len(STEPS),
            unit="step",
            file=sys.stderr,
            disable=not sys.stderr.isatty(),
            dynamic_ncols=True,
        )
        done = []

        def progress(step: str) -> None:
            if done:
                bar.update(1)
            done.append(step)
            bar.set_description(step)

        try:
            run = analytics_refresh(as_of=day, progress=progress)
        except Exception as error:
            raise CommandError(f"The refresh failed: {error}", returncode=1) from error
        finally:
            bar.update(len(STEPS) - bar.n)
            bar.close()
        self._print_refresh(run, time.perf_counter() - started)

    def _print_refresh(self, run, seconds: float) -> None:
        write = self.stdout.write
        figures = run.figures
        write(
            f"Run #{run.pk} as of {run.as_of}: {figures['customers']:,} customers, "
            f"{figures['buyers']:,} who bought"
            f"{_other_currency_buyers(figures.get('buyers_other_currencies_only'))}, "
            f"{figures['repeat_buyers']:,} more than once."
        )
        for key, title, names in (
            ("bgnbd", "BG/NBD purchase model", bgnbd.PARAMETER_NAMES),
            ("gamma_gamma", "Gamma-Gamma spend model", gamma_gamma.PARAMETER_NAMES),
        ):
            model = figures[key]
            verdict = "converged" if model.get("converged") else "NOT USED"
            parameters = ", ".join(
                f"{name} = {model[name]:.4g}" for name in names if model.get(name) is not None
            )
            write(f"{title} ({verdict}): {parameters or '-'}")
            if not model.get("converged"):
                write(f"  {model.get('message', '')}")
        if figures.get("spend_model") == "pooled_mean":
            write(
                "Lifetime values price every purchase at the mean of all repeat purchases "
                "(the spend model's limit when spend barely differs between customers)."
            )
        tiers = ", ".join(
            f"{tier or 'untiered'} {count:,}" for tier, count in figures["tiers"].items()
        )
        write(f"Value tiers (by {figures['pareto_by']}): {tiers}")
        write(
            f"Churn warnings: {figures['churn_warnings']:,} customers, "
            f"{figures['value_at_risk']:,.2f} at risk"
            f"{_partial_at_risk(figures.get('value_at_risk_partial'))}"
            f"{_unknown_at_risk(figures.get('value_at_risk_unknown'))}; "
            f"{figures['churn_follow_ups_created']:,} new follow-ups; "
            f"{figures['tier_changes']:,} tier changes."
        )
        # The no-repeat signal's wait comes from the data, so say what it came to (or that there
        # was too little to tell): an analyst reading the warnings needs it.
        no_repeat_days = figures.get("churn_no_repeat_days")
        if no_repeat_days is None:
            write(
                "No second purchase: not judged (too few customers bought again to say how "
                "long a second purchase takes)."
            )
        else:
            write(
                f"No second purchase: a single purchase more than {no_repeat_days:,.1f} days "
                "ago is flagged."
            )
        if figures.get("activities_without_unit_cost"):
            write(
                "No unit cost for: "
                + ", ".join(figures["activities_without_unit_cost"])
                + " (not counted in the cost to serve)"
            )
        # The steps in the order they ran (the stored figures come back with their keys sorted);
        # swapping in and pruning follow after the figures are stored, in the total only.
        timings = figures.get("seconds", {})
        steps = ", ".join(
            f"{name} {timings[name]:.1f} s"
            for name in ("aggregate", "compute", "write")
            if name in timings
        )
        write(f"{seconds:.2f} s ({steps})" if steps else f"{seconds:.2f} s")

    def fit(
        self,
        *,
        orders: str | None,
        summary: str | None,
        calibration_end: str | None,
        time_unit: str,
        columns: str,
        as_json: bool,
        output: str | None,
        horizon: int,
        discount_rate: float,
        **_options,
    ):
        if bool(orders) == bool(summary):
            raise InputError("give either ORDERS.csv or --summary SUMMARY.csv (one of them)")
        if horizon < 1:
            raise InputError(f"--horizon: {horizon} is not a number of months, 1 or more")
        if not math.isfinite(discount_rate) or not 0 <= discount_rate < 1:
            raise InputError(f"--discount-rate: {discount_rate} is not a rate in [0, 1)")
        # Checked before fitting, which can take minutes on a large file.
        if output and (problem := check_output_path(Path(output), "--output")):
            raise InputError(problem)
        started = time.perf_counter()
        if orders:
            if not calibration_end:
                raise InputError("--calibration-end is required with an orders file")
            end = parse_date(calibration_end, "--calibration-end")
            names = tuple(name.strip() for name in columns.split(","))
            if len(names) != 3 or not all(names) or len(set(names)) != 3:
                raise InputError(
                    f"--columns: {columns!r} must name three different columns: "
                    "customer id, date, amount"
                )
            order_rows = read_orders(Path(orders), columns=names)
            data = summarise_transactions(
                order_rows.customer_codes,
                order_rows.dates,
                order_rows.amounts,
                calibration_end=end,
                time_unit=time_unit,
            )
            if len(data) == 0:
                first = np.datetime_as_string(order_rows.dates.min())
                raise InputError(
                    f"{orders}: no order on or before the calibration end {calibration_end} "
                    f"(the first order is on {first})"
                )
            ids, frequency, recency, age, monetary = (
                order_rows.customer_names[data.customer_ids],
                data.frequency,
                data.recency,
                data.age,
                data.monetary_value,
            )
        else:
            if calibration_end:
                raise InputError("--calibration-end applies to orders, not to --summary")
            table = read_summary(Path(summary))
            ids, frequency, recency, age, monetary = (
                table.customer_ids,
                table.frequency,
                table.recency,
                table.age,
                table.monetary_value,
            )

        purchases = bgnbd.fit(frequency, recency, age)
        model = fit_spend_model(frequency, monetary)
        spend = model.fitted
        problems = []
        repeat_buyers = int(np.count_nonzero(frequency > 0))
        if repeat_buyers < MIN_REPEAT_BUYERS:
            problems.append(
                f"Only {repeat_buyers} customers bought more than once; predictions need at "
                f"least {MIN_REPEAT_BUYERS}, so none are made."
            )
        if not purchases.converged:
            problems.append(f"The BG/NBD model did not converge: {purchases.diagnostics.message}.")
        spend_note = ""
        if spend is None:
            spend_note = f"The Gamma-Gamma model could not be fitted: {model.problem}."
        elif not spend.converged:
            spend_note = f"The Gamma-Gamma model did not converge: {spend.diagnostics.message}."
        elif model.parameters is None:
            spend_note = (
                f"The Gamma-Gamma fit has q = {spend.parameters.q:.4g} ≤ 1, so its mean spend "
                "is infinite: too few or too uneven repeat purchases for a spend forecast."
            )
        if spend_note and not problems:
            spend_note += " Each purchase is priced at the mean of all repeat purchases instead."
        if spend_note:
            # Not a reason to stop: with the purchase model, the mean still prices the values.
            self.stderr.write(spend_note)

        predictions = None
        if not problems:
            predictions = customer_value(
                purchases.parameters,
                model.parameters,
                frequency,
                recency,
                age,
                monetary,
                months=horizon,
                monthly_discount_rate=discount_rate,
                time_unit=time_unit,
            )
            if output:
                write_predictions(
                    Path(output),
                    {
                        "customer_id": ids,
                        "frequency": frequency,
                        "recency": recency,
                        "T": age,
                        "monetary_value": monetary,
                        "probability_alive": predictions.probability_alive,
                        "expected_purchases": predictions.expected_purchases,
                        "expected_average_spend": predictions.expected_average_spend,
                        "clv": predictions.lifetime_value,
                    },
                )
        elif output:
            problems.append(f"No predictions were written to {output}.")
        seconds = time.perf_counter() - started

        # The spend model that priced the values; None when there are no values.
        spend_model = model.name if predictions is not None else None
        if as_json:
            self.stdout.write(
                _json_report(
                    purchases,
                    model,
                    spend_model=spend_model,
                    customers=len(frequency),
                    seconds=seconds,
                )
            )
        else:
            self._print_report(
                purchases,
                model,
                spend_model,
                predictions,
                frequency,
                time_unit,
                horizon,
                output,
                seconds,
            )
        if problems:
            raise CommandError(" ".join(problems), returncode=NOT_CONVERGED)

    def _print_report(
        self,
        purchases,
        model,
        spend_model,
        predictions,
        frequency,
        time_unit,
        horizon,
        output,
        seconds,
    ):
        customers = len(frequency)
        write = self.stdout.write
        spend = model.fitted
        repeaters = spend.customers if spend else 0
        write(
            f"{customers:,} customers, {repeaters:,} with repeat purchases; time unit: {time_unit}"
        )
        _write_model(
            write,
            "BG/NBD purchase model",
            purchases,
            bgnbd.PARAMETER_NAMES,
            purchases.parameters,
            converged=purchases.converged,
        )
        if spend:
            _write_model(
                write,
                "Gamma-Gamma spend model",
                spend,
                gamma_gamma.PARAMETER_NAMES,
                spend.parameters,
                converged=model.converged,
            )
        if predictions is not None:
            if spend_model == GAMMA_GAMMA:
                write("Spend per purchase: the Gamma-Gamma model.")
            else:
                write(
                    "Spend per purchase: the mean of all repeat purchases, "
                    f"{predictions.expected_average_spend[0]:,.2f} (the Gamma-Gamma model "
                    "cannot be used)."
                )
            write(
                f"Next {horizon} months: {predictions.expected_purchases.sum():,.1f} repeat "
                f"purchases expected, lifetime value {predictions.lifetime_value.sum():,.2f} in "
                f"all ({predictions.lifetime_value.mean():,.2f} per customer)."
            )
            write(_activity_sentence(predictions.probability_alive, frequency))
            if output:
                write(f"Predictions for {customers:,} customers written to {output}.")
        write(f"{seconds:.2f} s")


def _activity_sentence(probability_alive: np.ndarray, frequency: np.ndarray) -> str:
    """How many customers the purchase model holds more likely active than not, counted only
    among those who bought again: BG/NBD lets a customer drop out only after a repeat purchase,
    so it gives everyone who bought once a probability of 1, which says nothing about them and
    would inflate the share by every one-off buyer."""
    repeat = frequency > 0
    once = int(np.count_nonzero(~repeat))
    if not repeat.any():
        return f"No customer bought again: the model cannot tell who is still active ({once:,})."
    active = float((probability_alive[repeat] >= 0.5).mean())
    return (
        f"{active:.1%} of the {int(repeat.sum()):,} customers who bought again are more likely "
        f"active than not; the {once:,} who bought once are not counted (the model gives them 1, "
        "as it lets a customer drop out only after a repeat purchase)."
    )


def _write_model(write, title, fitted, names, parameters, *, converged: bool):
    verdict = "converged" if converged else "DID NOT CONVERGE"
    write(
        f"{title} ({verdict}; {fitted.diagnostics.iterations} iterations, gradient "
        f"{fitted.diagnostics.gradient_norm:.1e}):"
    )
    errors = fitted.standard_errors
    for name in names:
        value = getattr(parameters, name)
        error = f"  ± {getattr(errors, name):.4g}" if errors else ""
        write(f"  {name:<6}{value:>12.6g}{error}")
    write(f"  log-likelihood {fitted.log_likelihood:,.2f}")


def _json_report(
    purchases, model, *, spend_model: str | None, customers: int, seconds: float
) -> str:
    bg = purchases.parameters.as_dict()
    spend = model.fitted
    report = {
        "bgnbd": {
            **{name: _finite_or_none(value) for name, value in bg.items()},
            "log_likelihood": _finite_or_none(purchases.log_likelihood),
            "converged": purchases.converged,
        },
        "gamma_gamma": {
            **(
                {name: _finite_or_none(value) for name, value in spend.parameters.as_dict().items()}
                if spend
                else dict.fromkeys(gamma_gamma.PARAMETER_NAMES)
            ),
            "log_likelihood": _finite_or_none(spend.log_likelihood) if spend else None,
            # As the refresh records it: a fit to q ≤ 1 did not converge to a usable model.
            "converged": model.converged,
        },
        # "gamma_gamma" or "pooled_mean" (the mean of all repeat purchases), whichever priced
        # the predictions; None when none were made.
        "spend_model": spend_model,
        "customers": customers,
        "seconds": round(seconds, 3),
    }
    return json.dumps(report)


def _other_currency_buyers(count: int | None) -> str:
    """The customers who bought, but only in other currencies than the settings': the buyers
    counted before them are those of the settings currency, which the figures count, and
    leaving them out would call them customers who never bought (runs from before say
    nothing)."""
    if not count:
        return ""
    return f" (and {count:,} only in other currencies, which the figures do not count)"


def _partial_at_risk(count: int | None) -> str:
    """The warned customers whose value at risk counts the settings currency alone, having
    bought in other currencies too: the total is at least what it says for them."""
    if not count:
        return ""
    return f" (at least: {count:,} bought in other currencies too)"


def _unknown_at_risk(count: int | None) -> str:
    """The warned customers left out of the value at risk: they bought only in other currencies
    than the settings', which the figures do not convert (runs from before say nothing)."""
    if not count:
        return ""
    return f" (and {count:,} unknown: bought only in other currencies)"
