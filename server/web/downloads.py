"""A report's tables as a download: the HTTP response around server/reporting/exports.py's CSV and XLSX."""
from __future__ import annotations

from flask import Response, abort

from server.reporting.exports import XLSX, Sheet, to_csv, to_xlsx


def export_response(stem: str, sheets: list[Sheet], fmt: str) -> Response:
    """`{stem}.csv` (UTF-8 with BOM, so spreadsheet programs read the Chinese) or `{stem}.xlsx`; else 404."""
    if fmt == "csv":
        body, mimetype = "\ufeff" + to_csv(sheets), "text/csv"
    elif fmt == "xlsx":
        body, mimetype = to_xlsx(sheets), XLSX
    else:
        abort(404, f"no export as {fmt!r}: csv or xlsx")
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'})
