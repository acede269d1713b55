"""Report downloads: the same table as CSV and as XLSX."""
from __future__ import annotations

import io

import openpyxl
import pytest
from flask import Flask
from werkzeug.exceptions import NotFound

from server.reporting.exports import Sheet, to_csv
from server.web.downloads import export_response

SHEETS = [Sheet("每日", ["日期", "评价数", "满意率"], [["2026-11-01", 12, 0.917], ["2026-11-02", 0, None]]),
          Sheet("原因", ["原因", "次数"], [["=HYPERLINK(\"x\")", 3]])]


@pytest.fixture
def ctx():
    with Flask(__name__).test_request_context():
        yield


def test_csv_has_a_bom_and_a_section_per_sheet(ctx):
    response = export_response("w03-2026-11", SHEETS, "csv")
    assert response.headers["Content-Disposition"] == 'attachment; filename="w03-2026-11.csv"'
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff每日\r\n日期,评价数,满意率\r\n2026-11-01,12,0.917\r\n2026-11-02,0,\r\n\r\n原因\r\n")
    assert "'=HYPERLINK" in text, "a formula is written as text"
    assert to_csv(SHEETS[:1]).startswith("日期,"), "one sheet: no title line"


def test_xlsx_keeps_numbers_as_numbers_and_text_as_text(ctx):
    response = export_response("w03", SHEETS, "xlsx")
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    assert book.sheetnames == ["每日", "原因"]
    rows = list(book["每日"].iter_rows(values_only=True))
    assert rows == [("日期", "评价数", "满意率"), ("2026-11-01", 12, 0.917), ("2026-11-02", 0, None)]
    assert book["原因"]["A2"].value == '=HYPERLINK("x")' and book["原因"]["A2"].data_type == "s"


def test_an_unknown_format_is_not_found(ctx):
    with pytest.raises(NotFound):
        export_response("w03", SHEETS, "pdf")
