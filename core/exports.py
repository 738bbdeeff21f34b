"""CSV downloads every app shares: cells that cannot run as spreadsheet formulas, and the
event log as CSV (each widget's Event Log offers it with ?format=csv)."""

import csv

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
EVENT_COLUMNS = ["Time (UTC)", "Category", "Action", "User", "Account", "Message", "Result"]


def safe_cell(value):
    """A text cell starting with = + - @ (or a tab or carriage return) gets a leading
    apostrophe, so a spreadsheet never runs it as a formula. Numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeCsvWriter:
    """csv.writer whose text cells cannot run as spreadsheet formulas."""

    def __init__(self, stream):
        self.writer = csv.writer(stream)

    def writerow(self, row):
        return self.writer.writerow([safe_cell(cell) for cell in row])


class _Echo:
    """A file-like object that hands back what is written (for streaming)."""

    def write(self, value):
        return value


def csv_download(filename: str, header, rows) -> StreamingHttpResponse:
    """A CSV attachment written row by row (a long event log never sits in memory)."""
    writer = SafeCsvWriter(_Echo())

    def lines():
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def events_csv(events, filename: str) -> StreamingHttpResponse:
    """An event-log queryset as CSV, newest first, as the page shows it."""
    rows = (
        [
            event.created.strftime("%Y-%m-%d %H:%M:%S"),
            event.get_category_display(),
            event.action,
            event.username,
            event.account.name if event.account_id else "",
            event.message,
            event.get_result_display(),
        ]
        for event in events.select_related("account").iterator(chunk_size=2000)
    )
    return csv_download(filename, EVENT_COLUMNS, rows)
