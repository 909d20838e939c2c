"""Reading orders and summaries from CSV files, with errors that say where."""

import numpy as np
import pytest

from guanxi.analytics.clv.files import InputError, read_orders, read_summary, write_predictions


def write(tmp_path, text: str, name="orders.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def test_reads_orders(tmp_path):
    path = write(
        tmp_path,
        "\ufeffnote,customer_id,date,amount\n"  # a spreadsheet's BOM, an extra column
        "x,C-1,2024-03-01,10.50\n"
        '"a, b",C-2,2024-03-02T23:30:00+08:00,3\n'
        "y, C-1 ,2024-03-05 08:00,0\n"
        "\n",
    )
    orders = read_orders(path)
    assert orders.customer_names[orders.customer_codes].tolist() == ["C-1", "C-2", "C-1"]
    assert orders.dates.tolist() == [
        np.datetime64("2024-03-01"),
        np.datetime64("2024-03-02"),
        np.datetime64("2024-03-05"),
    ]
    assert orders.amounts.tolist() == [10.5, 3.0, 0.0]


def test_other_column_names(tmp_path):
    path = write(tmp_path, "客户,下单日期,金额\n7,2024-01-01,8\n")
    orders = read_orders(path, columns=("客户", "下单日期", "金额"))
    assert orders.customer_names.tolist() == ["7"] and orders.amounts.tolist() == [8.0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("customer_id,date,amount\n", "no data below the header"),
        ("customer_id,day,amount\n1,2024-01-01,3\n", "line 1: no column 'date'"),
        (
            "customer_id,date,amount\n1,2024-01-01,3\n2,2024-13-01,4\n",
            "line 3, column 'date': '2024-13-01' is not a date",
        ),
        ("customer_id,date,amount\n1,01/02/2024,3\n", "line 2, column 'date'"),
        ("customer_id,date,amount\n1,2024-01-01xyz,3\n", "line 2, column 'date'"),
        ("customer_id,date,amount\n1,,3\n", "line 2, column 'date'"),
        (
            "customer_id,date,amount\n1,2024-01-01,3\n1,2024-01-02,twelve\n",
            "line 3, column 'amount': 'twelve' is not a number",
        ),
        ("customer_id,date,amount\n1,2024-01-01,nan\n", "line 2, column 'amount': 'nan'"),
        ("customer_id,date,amount\n1,2024-01-01,\n", "line 2, column 'amount'"),
        (
            "customer_id,date,amount\n1,2024-01-01,3\n1,2024-01-02,-5\n",
            "line 3, column 'amount': '-5' is negative",
        ),
        ("customer_id,date,amount\n1,2024-01-01\n", "line 2: 2 value(s), expected at least 3"),
        ("customer_id,date,amount\n ,2024-01-01,3\n", "line 2, column 'customer_id': empty"),
    ],
)
def test_bad_orders_name_the_line_and_column(tmp_path, text, message):
    with pytest.raises(InputError) as caught:
        read_orders(write(tmp_path, text))
    assert message in str(caught.value)


def test_a_missing_or_binary_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_orders(tmp_path / "nothing.csv")
    binary = tmp_path / "orders.csv"
    binary.write_bytes(b"customer_id,date,amount\n\xff\xfe,2024-01-01,1\n")
    with pytest.raises(InputError, match="not UTF-8"):
        read_orders(binary)


def test_reads_a_summary_with_or_without_ids(tmp_path):
    with_ids = read_summary(
        write(
            tmp_path,
            "customer_id,frequency,recency,T,monetary_value\nA,2,30.4,38.9,22.35\nB,0,0,38.9,0\n",
        )
    )
    assert with_ids.customer_ids.tolist() == ["A", "B"]
    assert with_ids.frequency.tolist() == [2.0, 0.0]
    assert with_ids.age.tolist() == [38.9, 38.9]
    without = read_summary(
        write(tmp_path, "T,recency,frequency,monetary_value\n5,1,1,3\n", "s.csv")
    )
    assert without.customer_ids.tolist() == ["1"] and without.recency.tolist() == [1.0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("frequency,recency,T\n1,1,2\n", "no column 'monetary_value'"),
        (
            "frequency,recency,T,monetary_value\n1,1,2,3\n1,3,2,3\n",
            "line 3, column 'recency': 3 exceeds T",
        ),
        ("frequency,recency,T,monetary_value\n1.5,1,2,3\n", "line 2, column 'frequency': 1.5"),
        ("frequency,recency,T,monetary_value\n0,1,2,0\n", "line 2, column 'recency'"),
        ("frequency,recency,T,monetary_value\n1,1,2,-3\n", "line 2, column 'monetary_value'"),
        ("frequency,recency,T,monetary_value\n1,1,inf,3\n", "line 2, column 'T'"),
    ],
)
def test_bad_summaries_name_the_line_and_column(tmp_path, text, message):
    with pytest.raises(InputError) as caught:
        read_summary(write(tmp_path, text))
    assert message in str(caught.value)


def test_writes_predictions(tmp_path):
    path = tmp_path / "out.csv"
    write_predictions(path, {"customer_id": np.array(["a", "b"]), "clv": np.array([1.5, 0.1])})
    assert path.read_text().splitlines() == ["customer_id,clv", "a,1.5", "b,0.1"]
    with pytest.raises(InputError, match="cannot be written"):
        write_predictions(tmp_path / "missing" / "out.csv", {"x": np.array([1])})
