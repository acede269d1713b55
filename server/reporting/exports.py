"""A report's tables as files: CSV for any tool, XLSX for spreadsheet users. One table shape for both."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import xlsxwriter

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"  # the media type of to_xlsx()


@dataclass
class Sheet:
    title: str
    headers: list[str]
    rows: list[list] = field(default_factory=list)


def to_csv(sheets: list[Sheet]) -> str:
    """One section per sheet; with several, each is headed by its title and followed by an empty line."""
    out = io.StringIO()
    writer = csv.writer(out)
    for n, sheet in enumerate(sheets):
        if len(sheets) > 1:
            if n:
                writer.writerow([])
            writer.writerow([sheet.title])
        writer.writerow(sheet.headers)
        writer.writerows([_csv_cell(v) for v in row] for row in sheet.rows)
    return out.getvalue()


def to_xlsx(sheets: list[Sheet]) -> bytes:
    """One worksheet per sheet: a bold header row that stays in view, numbers kept as numbers."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False,
                                        "strings_to_formulas": False, "strings_to_urls": False})
    bold = book.add_format({"bold": True, "bg_color": "#EEF2F6", "border": 1})
    used: set[str] = set()
    for sheet in sheets:
        ws = book.add_worksheet(_sheet_name(sheet.title, used))
        ws.write_row(0, 0, sheet.headers, bold)
        for r, row in enumerate(sheet.rows, start=1):
            for c, value in enumerate(row):
                if value is None:
                    continue
                ws.write(r, c, value) if isinstance(value, (int, float)) else ws.write_string(r, c, str(value))
        for c, header in enumerate(sheet.headers):
            width = max([_width(header), *(_width(row[c]) for row in sheet.rows if c < len(row))])
            ws.set_column(c, c, min(60, width + 2))
        ws.freeze_panes(1, 0)
    book.close()
    return buffer.getvalue()


def _csv_cell(value):
    """Empty for a missing figure; a text that a spreadsheet would run as a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _width(value) -> int:
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)  # CJK characters are two columns wide


def _sheet_name(title: str, used: set[str]) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique in the book."""
    base = "".join("_" if ch in "[]:*?/\\" else ch for ch in title)[:31] or "Sheet"
    name, n = base, 2
    while name.lower() in used:
        suffix = f" ({n})"
        name, n = base[:31 - len(suffix)] + suffix, n + 1
    used.add(name.lower())
    return name
