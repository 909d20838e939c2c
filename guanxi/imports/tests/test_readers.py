"""Reading CSV and XLSX files: encodings, delimiters, bad rows reported one by one."""

import datetime as dt
import re

import pytest
from openpyxl import Workbook

from guanxi.imports.readers import FileProblem, open_table
from guanxi.imports.reasons import rendered

from .files import damaged_xlsx, rewrite_sheet


def _write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_utf8_with_and_without_byte_order_mark(tmp_path):
    for prefix in (b"", b"\xef\xbb\xbf"):
        path = _write(tmp_path, "a.csv", prefix + "name,phone\n张伟,13812345678\n".encode())
        table = open_table(path)
        assert table.header == ["name", "phone"]
        assert [r.cells for r in table.rows()] == [["张伟", "13812345678"]]


def test_a_gbk_file_is_read_as_gbk(tmp_path):
    path = _write(
        tmp_path, "a.csv", "姓名,电话\n张伟,13812345678\n王芳,13900001111\n".encode("gbk")
    )
    table = open_table(path)
    assert table.encoding == "gb18030"
    assert table.header == ["姓名", "电话"]
    assert [r.cells[0] for r in table.rows()] == ["张伟", "王芳"]
    assert all(r.problem is None for r in table.rows())


def test_a_row_in_another_encoding_is_reported_with_its_number(tmp_path):
    data = (
        "name,phone\n张伟,13812345678\n".encode()
        + "王芳,13900001111\n".encode("gbk")
        + "李娜,13700001111\n".encode()
    )
    rows = list(open_table(_write(tmp_path, "a.csv", data)).rows())
    assert [r.number for r in rows] == [2, 3, 4]
    assert rows[0].problem is None and rows[2].problem is None
    problem = rendered(rows[1].problem)
    assert "not valid UTF-8" in problem and "0x" in problem


def test_semicolons_quoted_newlines_and_blank_lines(tmp_path):
    data = b'name;notes\n"Wang Fang";"two\nlines"\n\n;\nLi Na;ok\n'
    rows = list(open_table(_write(tmp_path, "a.csv", data)).rows())
    assert [r.cells for r in rows] == [["Wang Fang", "two\nlines"], ["Li Na", "ok"]]
    assert [r.number for r in rows] == [2, 6]


def test_xlsx_keeps_the_digits_of_phone_numbers_and_writes_dates(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["name", "phone", "birth_date", "amount"])
    sheet.append(["张伟", 13812345678, dt.datetime(1985, 3, 2), 12.5])
    sheet.append([None, None, None, None])
    sheet.append(["王芳", "139 0000 1111", dt.date(1990, 1, 31), 3.0])
    path = tmp_path / "a.xlsx"
    workbook.save(path)
    table = open_table(path)
    assert table.kind == "xlsx" and table.header == ["name", "phone", "birth_date", "amount"]
    assert [r.cells for r in table.rows()] == [
        ["张伟", "13812345678", "1985-03-02", "12.5"],
        ["王芳", "139 0000 1111", "1990-01-31", "3"],
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\n\n", "empty"),
        (b"PK\x03\x04not really a zip", "not a readable XLSX"),
    ],
)
def test_unreadable_files_are_refused_as_a_whole(tmp_path, data, message):
    with pytest.raises(FileProblem, match=message):
        open_table(_write(tmp_path, "a.csv", data))


def test_old_excel_files_are_refused_with_advice(tmp_path):
    with pytest.raises(FileProblem, match="xlsx or CSV"):
        open_table(_write(tmp_path, "a.xls", b"\xd0\xcf\x11\xe0" + b"\0" * 100))


def test_resuming_skips_the_rows_already_read(tmp_path):
    data = "name\n" + "".join(f"c{i}\n" for i in range(10))
    table = open_table(_write(tmp_path, "a.csv", data.encode()))
    assert [r.cells[0] for r in table.rows(start_after=8)] == ["c7", "c8", "c9"]
    assert table.count_rows() == 10


def test_nul_characters_and_overlong_cells_are_reported_naming_the_column(tmp_path):
    long_note = "x" * 20_000
    data = f"name,notes\n张伟,ok\nab\x00c,{long_note}\n李娜,fine\n".encode()
    rows = list(open_table(_write(tmp_path, "a.csv", data)).rows())
    assert [r.problem for r in rows[::2]] == [None, None]
    bad = rows[1]
    assert bad.number == 3
    assert rendered(bad.problem) == (
        "name: contains a NUL character (0x00), which is not text; "
        "notes: longer than 10,000 characters"
    )
    # The error file gets all that was there, without the NUL.
    assert bad.cells == ["abc", long_note]

    # Longer than csv's own default limit of 131,072 characters: still one row, reported.
    huge = f"name,notes\nBig,{'y' * 2_000_000}\nAfter,ok\n".encode()
    rows = list(open_table(_write(tmp_path, "b.csv", huge)).rows())
    assert [(r.cells[0], r.problem and rendered(r.problem)) for r in rows] == [
        ("Big", "notes: longer than 10,000 characters"),
        ("After", None),
    ]

    # A workbook cannot hold a NUL character at all; a long cell is reported the same way.
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["name", "notes"])
    sheet.append(["王芳", "z" * 12_000, "and a cell past the header"])
    path = tmp_path / "a.xlsx"
    workbook.save(path)
    (row,) = open_table(path).rows()
    assert rendered(row.problem).startswith(
        "notes: longer than 10,000 characters; the row has values beyond the last column"
    )
    assert row.cells == ["王芳", "z" * 12_000, "and a cell past the header"]


def test_a_quote_left_open_is_reported_with_the_lines_it_swallowed(tmp_path):
    data = (
        'name,phone\n张伟,13812345678\nBad "quote,13900001111\n'  # a quote inside a cell: fine
        '王芳,"13700001111\n李娜,13600001111\n赵敏,13500001111\n'
    ).encode()
    rows = list(open_table(_write(tmp_path, "a.csv", data)).rows())
    assert [r.cells[0] for r in rows] == ["张伟", 'Bad "quote', "王芳"]
    assert rows[2].number == 4
    assert rendered(rows[2].problem) == (
        'a quote (") opened on line 4 is never closed, so lines 4–6 were read as this one row; '
        "close the quote and import them again"
    )
    # Nothing of the swallowed lines is lost: they are in the row, for the error file.
    assert rows[2].cells[1] == "13700001111\n李娜,13600001111\n赵敏,13500001111\n"

    # A quoted cell over several lines that is closed, last in the file, is a row like any other.
    data = 'name,address\n张伟,"上海市\n浦东新区"\n'.encode()
    (row,) = open_table(_write(tmp_path, "b.csv", data)).rows()
    assert (row.cells, row.problem) == (["张伟", "上海市\n浦东新区"], None)

    # A stray quote closed only far below makes an overlong cell; the reason points at it.
    lines = "".join(f"客户{i},1380000{i:04d}\n" for i in range(800))
    data = f'name,phone\n王芳,"139\n{lines}"\n张伟,13812345678\n'.encode()
    rows = list(open_table(_write(tmp_path, "c.csv", data)).rows())
    assert [r.cells[0] for r in rows] == ["王芳", "张伟"]
    assert rendered(rows[0].problem) == (
        "phone: longer than 10,000 characters (the row runs over lines 2–803: "
        "is a quote left open?)"
    )


def test_an_xlsx_with_a_stale_dimension_is_read_whole(tmp_path):
    # Writers other than Excel often leave <dimension ref="A1"/> (or any stale range); Excel
    # opens such files with every row and column, and so must the import.
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["name", "phone", "email"])
    for i in range(5):
        sheet.append([f"客户{i}", f"1381234567{i}", f"c{i}@example.com"])
    for stale in (b"A1", b"A1:B3"):
        data = rewrite_sheet(
            workbook,
            lambda xml, s=stale: re.sub(
                rb'<dimension ref="[^"]*"', b'<dimension ref="' + s + b'"', xml
            ),
        )
        table = open_table(_write(tmp_path, "a.xlsx", data))
        assert table.header == ["name", "phone", "email"], stale
        assert [r.cells for r in table.rows()][4] == ["客户4", "13812345674", "c4@example.com"]
        assert table.count_rows() == 5


def test_a_damaged_xlsx_is_a_file_problem_not_a_traceback(tmp_path):
    # The header reads fine; the sheet breaks off in the middle (a half-copied file).
    data = damaged_xlsx()
    table = open_table(_write(tmp_path, "a.xlsx", data))
    with pytest.raises(FileProblem, match="damaged"):
        table.count_rows()


def test_values_beyond_the_last_header_are_reported_and_kept(tmp_path):
    # An unquoted comma in a value shifts the rest of the row one column to the right.
    data = "name,phone,city\n张伟,13812345678,上海,浦东\n王芳,13900001111,北京,,\n".encode()
    shifted, padded = open_table(_write(tmp_path, "a.csv", data)).rows()
    problem = rendered(shifted.problem)
    assert problem.startswith("the row has values beyond the last column of the header")
    assert "column 4" in problem
    assert shifted.cells == ["张伟", "13812345678", "上海", "浦东"]
    # Empty cells after the header (a trailing separator) are no value: the row is fine.
    assert padded.problem is None
