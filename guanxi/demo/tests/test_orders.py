"""The demo's orders, invoices and payments as the generator draws them: no database."""

import numpy as np
import pytest

from guanxi.demo.orders import (
    CANCELLED,
    HISTORY_DAYS,
    MARGIN_HIGH,
    MARGIN_LOW,
    ORDER_COLUMNS,
    PAYMENT_TERMS_DAYS,
    REFUNDED,
    Customers,
    block_rows,
    day_number,
    generate_orders,
)

TODAY = day_number("2026-03-01")
NOW_SECONDS = TODAY * 86400 + 5 * 3600
FIRST_IDS = dict.fromkeys(ORDER_COLUMNS, 1)


def _customers(count: int = 20_000, seed: int = 0) -> Customers:
    rng = np.random.default_rng(seed)
    return Customers(
        ids=np.arange(1, count + 1, dtype=np.int64) * 3,
        is_organisation=rng.random(count) < 0.3,
        buys=rng.random(count) < 0.4,
        since=TODAY - (rng.random(count) * 4 * 365).astype(np.int64),
        created_by=rng.integers(0, 5, count),
    )


def _generate(customers: Customers, *, total: int, seed: int = 1, block_buyers: int = 3000):
    blocks = list(
        generate_orders(
            customers,
            total=total,
            seed=seed,
            today=TODAY,
            now_seconds=NOW_SECONDS,
            first_ids=FIRST_IDS,
            block_buyers=block_buyers,
        )
    )
    return {
        table: {
            column: np.concatenate([getattr(b, table)[column] for b in blocks])
            for column in getattr(blocks[0], table)
        }
        for table in ORDER_COLUMNS
    }


@pytest.fixture(scope="module")
def customers() -> Customers:
    return _customers()


@pytest.fixture(scope="module")
def generated(customers) -> dict[str, dict[str, np.ndarray]]:
    return _generate(customers, total=200_000)


def test_exactly_the_total_with_consecutive_ids(generated):
    orders = generated["order"]
    assert len(orders["id"]) == 200_000
    for table in ORDER_COLUMNS:
        ids = generated[table]["id"]
        assert (ids == np.arange(1, len(ids) + 1)).all(), table


def test_the_same_seed_gives_the_same_rows_and_another_seed_others(customers, generated):
    again = _generate(customers, total=200_000)
    for table in ORDER_COLUMNS:
        for column, values in generated[table].items():
            assert np.array_equal(values, again[table][column]), (table, column)
    other = _generate(customers, total=200_000, seed=2)
    assert not np.array_equal(other["order"]["ordered_on"], generated["order"]["ordered_on"])


def test_only_buying_customers_within_the_last_three_years(customers, generated):
    orders = generated["order"]
    buyers = set(customers.ids[customers.buys].tolist())
    assert set(orders["customer_id"].tolist()) <= buyers
    # Nearly every buyer has bought at least once at this many orders per buyer.
    assert len(np.unique(orders["customer_id"])) > 0.95 * len(buyers)
    since = dict(zip(customers.ids.tolist(), customers.since.tolist(), strict=True))
    first = orders["ordered_on"] >= np.array([since[c] for c in orders["customer_id"].tolist()])
    assert first.all()
    assert orders["ordered_on"].min() >= TODAY - HISTORY_DAYS
    assert orders["ordered_on"].max() <= TODAY
    assert (orders["created_at"] <= NOW_SECONDS).all()
    assert (orders["created_at"] // 86400 == orders["ordered_on"]).mean() > 0.99


def test_purchases_are_skewed_as_in_the_model_and_organisations_buy_more(customers, generated):
    orders = generated["order"]
    positions = np.searchsorted(customers.ids, orders["customer_id"])
    per_customer = np.bincount(positions, minlength=len(customers.ids))[customers.buys]
    assert per_customer.max() > 10 * np.median(per_customer)  # a long tail of frequent buyers
    org = customers.is_organisation[customers.buys]
    assert per_customer[org].mean() > 1.5 * per_customer[~org].mean()
    by_org = customers.is_organisation[positions]
    assert orders["amount"][by_org].mean() > 2 * orders["amount"][~by_org].mean()


def test_margins_refunds_and_cancellations(generated):
    orders = generated["order"]
    amount, cost, margin = orders["amount"], orders["cost"], orders["gross_margin"]
    assert (amount >= 100).all()
    assert (margin == amount - cost).all()
    share = margin / amount
    assert share.min() >= MARGIN_LOW - 0.01 and share.max() <= MARGIN_HIGH + 0.01
    assert 0.2 < share.mean() < 0.3
    status = orders["status"]
    assert 0.02 < (status == REFUNDED).mean() < 0.04
    assert 0.01 < (status == CANCELLED).mean() < 0.03
    assert len(np.unique(orders["channel"])) == 6


def test_invoices_are_due_thirty_days_later_and_mostly_paid_on_time(generated):
    orders, invoices, payments = generated["order"], generated["invoice"], generated["payment"]
    assert 0.1 < len(invoices["id"]) / len(orders["id"]) < 0.6
    order_at = orders["id"] - 1
    invoiced = order_at[invoices["order_id"] - 1]
    assert (orders["customer_id"][invoiced] == invoices["customer_id"]).all()
    assert (orders["amount"][invoiced] == invoices["amount"]).all()
    assert (orders["status"][invoiced] < REFUNDED).all()
    assert (invoices["due_on"] - invoices["issued_on"] == PAYMENT_TERMS_DAYS).all()
    assert (invoices["issued_on"] >= orders["ordered_on"][invoiced]).all()
    assert (invoices["issued_on"] <= TODAY).all()

    due = invoices["due_on"][payments["invoice_id"] - 1]
    issued = invoices["issued_on"][payments["invoice_id"] - 1]
    assert (payments["amount"] == invoices["amount"][payments["invoice_id"] - 1]).all()
    assert (payments["paid_on"] >= issued).all() and (payments["paid_on"] <= TODAY).all()
    on_time = (payments["paid_on"] <= due).mean()
    assert 0.75 < on_time < 0.95
    assert on_time < 1  # some late
    # Paid invoices are exactly those with a payment; a few past due are never paid.
    paid = np.zeros(len(invoices["id"]), dtype=bool)
    paid[payments["invoice_id"] - 1] = True
    assert (invoices["status"] == paid).all()
    overdue_unpaid = (~paid & (invoices["due_on"] < TODAY)).mean()
    assert 0.02 < overdue_unpaid < 0.1


def test_blocks_do_not_change_the_totals_and_rows_match_the_columns(customers):
    small = _customers(2000, seed=4)
    rows = None
    for block in generate_orders(
        small, total=5000, seed=3, today=TODAY, now_seconds=NOW_SECONDS, first_ids=FIRST_IDS
    ):
        rows = block_rows(block)
        for table, columns in ORDER_COLUMNS.items():
            assert all(len(row) == len(columns) for row in rows[table])
    assert rows is not None and len(rows["order"]) == 5000
    order = dict(zip(ORDER_COLUMNS["order"], rows["order"][0], strict=True))
    assert order["currency"] == "CNY" and order["version"] == 1
    assert order["amount"] == round(order["cost"] + order["gross_margin"], 2)


def test_nobody_buying_or_zero_total_gives_nothing(customers):
    none_buy = Customers(
        customers.ids,
        customers.is_organisation,
        np.zeros(len(customers.ids), dtype=bool),
        customers.since,
        customers.created_by,
    )
    for who, total in ((none_buy, 1000), (customers, 0)):
        assert not list(
            generate_orders(
                who, total=total, seed=1, today=TODAY, now_seconds=NOW_SECONDS, first_ids=FIRST_IDS
            )
        )
