"""The CSV reader of the migration files (migration/formats.py) on real files."""

from __future__ import annotations

import pytest

from cunguan.migration import formats


def test_reader_streams_rows_with_physical_line_numbers(tmp_path):
    path = tmp_path / "b.csv"
    path.write_bytes("\ufeffbalance,platformUserNo,extra\n1.00,U1,x\n\n\"2,5\",\"U\n2\",y\n3,U3\n".encode())
    rows = list(formats.read_rows(path, formats.BALANCE_COLUMNS))
    assert [(r.line_no, r.get("platformUserNo"), r.get("balance")) for r in rows] == [
        (2, "U1", "1.00"), (5, "U\n2", "2,5"), (6, "U3", "3")]


def test_reader_refuses_missing_columns_and_bad_encoding(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text("platformUserNo\nU1\n", encoding="utf-8")
    with pytest.raises(formats.FileFormatError, match="balance"):
        list(formats.read_rows(path, formats.BALANCE_COLUMNS))
    path.write_bytes(b"platformUserNo,balance\n" + "张三,1\n".encode("gbk"))
    with pytest.raises(formats.FileFormatError, match="UTF-8"):
        list(formats.read_rows(path, formats.BALANCE_COLUMNS))
    path.write_bytes(b"")
    with pytest.raises(formats.FileFormatError, match="empty"):
        list(formats.read_rows(path, formats.BALANCE_COLUMNS))


def test_digest_identifies_the_file(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("x\n1\n")
    b.write_text("x\n2\n")
    assert formats.file_digest(a) != formats.file_digest(b) and len(formats.file_digest(a)) == 64
