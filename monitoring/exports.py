"""Server-side exports: charts as PNG/SVG/PDF (plotly + kaleido), tables as CSV/XLSX.

A chart export carries its own title, source line, the data's last period and the export date, so
an image pasted into a slide still says where it came from. Kaleido drives a Chrome: one sync
server is started per process on first use and reused (a cold export starts Chrome, 2-7 s; a warm
one takes about 0.2 s). Without a browser the export raises :class:`ExportError` with a message a
briefer can act on.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import queue
import textwrap
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from monitoring.i18n import DEFAULT_LANG, date_text, period_label, t

FORMATS = ("png", "svg", "pdf")
# Layout size of an exported chart; PNGs are rendered at twice that (2200 px wide, for slides).
WIDTH, HEIGHT, PNG_SCALE = 1100, 600, 2
# Chrome answers in well under a second once started; a start can take several seconds.
TIMEOUT_S = 120.0
FOOTNOTE_WIDTH = 125  # characters per line of the footnote under an exported chart
FOOTER_MARGIN = 150  # px below the plot: x-axis labels, legend, footer
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

_lock = threading.Lock()  # one export at a time: kaleido's sync server answers in call order


class ExportError(RuntimeError):
    """An export that cannot be made; the message says why and what to do."""


@dataclass(frozen=True)
class ChartMeta:
    """What an exported chart says about itself: title, source, data period, export date."""

    title: str
    source: str = ""
    last_period: str = ""
    exported: dt.date | None = None
    synthetic: bool = False
    lang: str = DEFAULT_LANG


def series_meta(title: str, indicator, history: pd.DataFrame, *, lang: str = DEFAULT_LANG,
                synthetic: bool = False, today: dt.date | None = None) -> ChartMeta:
    """Export metadata for a series chart: the indicator's source line and the last observed period.

    ``indicator`` is a catalogue ``Indicator``; ``history`` has ``period`` and ``observed`` columns
    (as ``monitoring.views.history_frame`` returns them).
    """
    seen = history.loc[history["observed"].notna(), "period"] if len(history) else history.get("period", [])
    last = period_label(str(seen.iloc[-1]), lang) if len(seen) else ""
    return ChartMeta(title=title, source=indicator.source_line_in(lang), last_period=last, exported=today,
                     synthetic=synthetic, lang=lang)


def source_text(source: str, lang: str = DEFAULT_LANG) -> str:
    """A source line as exports print it: Eurostat's data name Kosovo as Eurostat does
    (``Eurostat migr_asyappctzm, citizens of Kosovo*``; the footnote is :func:`kosovo_footnote`)."""
    return f"{source}, {t('export.kosovo_citizens', lang)}" if source.startswith("Eurostat ") else source


def kosovo_footnote(lang: str = DEFAULT_LANG) -> str:
    """Eurostat's footnote to ``Kosovo*``."""
    return t("export.kosovo_footnote", lang)


def footer_text(meta: ChartMeta) -> str:
    """``Source: Eurostat migr_asyappctzm, citizens of Kosovo*; synthetic demo data · Data to October 2026
    · Exported …``, and Eurostat's footnote to Kosovo* on a line of its own."""
    lang = meta.lang
    parts = []
    if meta.source:
        source = source_text(meta.source, lang) + ("; " + t("export.synthetic", lang) if meta.synthetic else "")
        parts.append(t("export.source", lang, source=source))
    elif meta.synthetic:
        parts.append(t("export.synthetic", lang))
    if meta.last_period:
        parts.append(t("export.data_to", lang, period=meta.last_period))
    parts.append(t("export.exported", lang, date=date_text(meta.exported or dt.date.today(), lang)))
    text = " · ".join(parts)
    if not meta.source.startswith("Eurostat "):
        return text
    return "<br>".join([text, *textwrap.wrap(kosovo_footnote(lang), FOOTNOTE_WIDTH)])


def dress(fig: go.Figure, meta: ChartMeta, *, width: int = WIDTH, height: int = HEIGHT) -> go.Figure:
    """A copy of ``fig`` sized for export, with the title on top, the legend below and the footer."""
    out = go.Figure(fig)  # a copy: the caller's figure is left as it was
    out.update_layout(
        width=width, height=height, hovermode=False,
        title={"text": meta.title, "x": 0.01, "xanchor": "left", "y": 0.97, "yanchor": "top",
               "font": {"size": 20}} if meta.title else None,
        legend={"orientation": "h", "x": 0, "xanchor": "left", "y": -0.1, "yanchor": "top"},
        margin={"l": 70, "r": 30, "t": 70 if meta.title else 25, "b": FOOTER_MARGIN},
    )
    # The footer sits at the bottom edge, below the legend (which may take two or three rows).
    out.add_annotation(text=footer_text(meta), xref="paper", yref="paper", x=0, y=0, xanchor="left",
                       yanchor="bottom", yshift=-FOOTER_MARGIN + 4, showarrow=False, align="left",
                       font={"size": 12, "color": "#4b5563"})
    return out


def browser_path() -> str:
    """The Chrome/Chromium kaleido will use (``BROWSER_PATH`` or one found on the system).

    Only looks; never downloads. Raises :class:`ExportError` when there is none.
    """
    from choreographer.browsers.chromium import Chromium

    pinned = os.environ.get("BROWSER_PATH")
    path = pinned or Chromium.find_browser(skip_local=False)
    if path and Path(path).is_file():
        return str(path)
    where = f"BROWSER_PATH={pinned!r} is not a file. " if pinned else ""
    raise ExportError(t("export.no_browser", DEFAULT_LANG, where=where))


def _ensure_server() -> None:
    import kaleido
    import plotly.io as pio

    if kaleido._global_server.is_running():
        return
    browser_path()
    # No MathJax: it would be fetched from a CDN, and the charts have no formulas. plotly.js comes
    # from the installed plotly package.
    kaleido.start_sync_server(n=1, timeout=90, mathjax=False, headers=pio.defaults.headers,
                              silence_warnings=True)


def _render(fig: go.Figure, fmt: str, width: int, height: int, scale: float) -> bytes:
    import kaleido
    from kaleido.errors import BrowserFailedError, ChromeNotFoundError

    spec = fig.to_dict()
    opts = {"format": fmt, "width": width, "height": height, "scale": scale}
    answer: queue.Queue = queue.Queue(maxsize=1)

    def work():
        try:
            answer.put(kaleido.calc_fig_sync(spec, opts=opts))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            answer.put(exc)

    with _lock:
        _ensure_server()
        # A daemon thread, so a Chrome that never answers cannot hang the caller (or the exit).
        threading.Thread(target=work, daemon=True).start()
        try:
            result = answer.get(timeout=TIMEOUT_S)
        except queue.Empty:
            raise ExportError(t("export.timeout", DEFAULT_LANG, seconds=int(TIMEOUT_S))) from None
    if isinstance(result, ChromeNotFoundError):
        raise ExportError(t("export.no_browser", DEFAULT_LANG, where="")) from None
    if isinstance(result, BrowserFailedError):
        raise ExportError(t("export.browser_failed", DEFAULT_LANG, error=str(result)[:300])) from None
    if isinstance(result, BaseException):
        raise ExportError(t("export.failed", DEFAULT_LANG, error=f"{type(result).__name__}: {result}"[:300])) \
            from result
    return result


def figure_bytes(fig: go.Figure, fmt: str, meta: ChartMeta | None = None, *, width: int = WIDTH,
                 height: int = HEIGHT, scale: float = PNG_SCALE) -> bytes:
    """A chart as PNG (at ``scale`` times the layout size: twice by default), SVG or PDF, dressed
    with ``meta`` when given."""
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ExportError(t("export.bad_format", DEFAULT_LANG, fmt=fmt, formats=", ".join(FORMATS)))
    if meta is not None:
        fig = dress(fig, meta, width=width, height=height)
    return _render(fig, fmt, width, height, scale if fmt == "png" else 1)


def write_figure(fig: go.Figure, path: str | Path, meta: ChartMeta | None = None) -> Path:
    """Write a chart to ``path``; the format comes from the suffix (.png, .svg, .pdf)."""
    path = Path(path)
    path.write_bytes(figure_bytes(fig, path.suffix.lstrip("."), meta))
    return path


def file_name(*parts: str, suffix: str) -> str:
    """A safe download file name from parts: ``asylum_applications_DE_2026-10.png``."""
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in "_".join(p for p in parts if p))
    return f"{keep.strip('._') or 'export'}.{suffix}"


# --- tables --------------------------------------------------------------------------------------

# Excel number formats of exported cells (the value itself stays a number or a date).
COUNT = "#,##0"
DECIMAL = "#,##0.00"
CHANGE = "+0%;-0%;0%"  # a signed change: 1.22 shows as +122%
SHARE = "0.0%"  # a rate: 0.453 shows as 45.3%
MONTH = "mmm yyyy"
YEAR = "0"
DATE = "yyyy-mm-dd"
DATETIME = "yyyy-mm-dd hh:mm"
_CSV_DATES = {MONTH: "%Y-%m", DATE: "%Y-%m-%d", DATETIME: "%Y-%m-%d %H:%M"}


@dataclass(frozen=True)
class Sheet:
    """A table to export: numbers as numbers, dates as datetimes, text as text, and an Excel number
    format per column (a string) or per cell (a list, one per row; None: the default)."""

    frame: pd.DataFrame
    formats: dict = field(default_factory=dict)

    def renamed(self, names) -> Sheet:
        """The sheet with columns renamed (``names``: old -> new, e.g. headers in the language)."""
        return Sheet(self.frame.rename(columns=dict(names)),
                     {names.get(c, c): f for c, f in self.formats.items()})

    def format_of(self, column, row: int):
        fmt = self.formats.get(column)
        return fmt[row] if isinstance(fmt, (list, tuple)) else fmt


def _as_sheet(table) -> Sheet:
    return table if isinstance(table, Sheet) else Sheet(table)


def period_cell(code) -> tuple:
    """A period code as an exported cell: a month as its first day (shown ``Oct 2026``), a year as
    the number, a quarter as its code (``2026-Q3``, which no date format can show)."""
    if not isinstance(code, str) or not code:
        return None, None
    from indicators.periods import to_period

    period = to_period(code)
    if period.freqstr.startswith("M"):
        return period.start_time.to_pydatetime(), MONTH
    if period.freqstr.startswith("A") or period.freqstr.startswith("Y"):
        return int(period.year), YEAR
    return code, None


def value_cell(value, unit: str) -> tuple:
    """An observed, expected or bound value as an exported cell: a rate (unit ``percent``, stored as
    45.3) as the fraction 0.453 with a percent format; a count as a number with thousands."""
    if value is None or _missing(value):
        return None, None
    value = float(value)
    if unit == "percent":
        return round(value / 100, 6), SHARE
    return (int(value) if value.is_integer() else round(value, 2)), COUNT


def change_cell(change) -> tuple:
    """A relative change (1.22 for +122%) as an exported cell with a signed percent format."""
    if change is None or _missing(change) or not np.isfinite(float(change)):
        return None, None
    return round(float(change), 6), CHANGE


def when_cell(value, fmt: str = DATETIME) -> tuple:
    """A timestamp (or a date, with ``fmt=DATE``) as an exported date cell."""
    if value is None or _missing(value):
        return None, None
    stamp = pd.Timestamp(value)
    return (stamp.to_pydatetime() if fmt == DATETIME else stamp.normalize().to_pydatetime()), fmt


def sheet(columns: dict) -> Sheet:
    """A :class:`Sheet` from ``{column: [cell, ...]}``, each cell a value or a ``(value, format)`` pair."""
    data, formats = {}, {}
    for name, cells in columns.items():
        cells = list(cells)
        pairs = [c if isinstance(c, tuple) else (c, None) for c in cells]
        data[name] = pd.Series([v for v, _ in pairs], dtype=object)
        fmts = [f for _, f in pairs]
        if any(fmts):
            formats[name] = fmts[0] if len(set(fmts)) == 1 else fmts
    return Sheet(pd.DataFrame(data, columns=list(columns)), formats)


def neutralise(value):
    """A cell a spreadsheet could run as a formula (starting with = + - @, tab or CR) as plain text.

    Only text is touched: numbers, including negative ones, stay numbers.
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every text cell and column name neutralised."""
    out = frame.copy()
    out.columns = [neutralise(str(c)) for c in out.columns]
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].astype(object).map(neutralise)
    return out


def _csv_value(value, fmt):
    """A cell as CSV writes it: numbers plain (``1234``, ``1.22``), dates ISO, text as is."""
    if value is None or _missing(value):
        return ""
    if isinstance(value, (dt.datetime, dt.date)):
        default = "%Y-%m-%d %H:%M" if isinstance(value, dt.datetime) and value != _midnight(value) else "%Y-%m-%d"
        return value.strftime(_CSV_DATES.get(fmt, default))
    value = _plain(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value


def table_csv(table) -> bytes:
    """A table (a :class:`Sheet` or a frame) as UTF-8 CSV with a byte-order mark (so Excel reads ë
    and č): numbers plain, whatever the UI language (no thousands separator, a dot for decimals),
    dates ISO, text with formulas neutralised."""
    table = _as_sheet(table)
    safe = safe_frame(table.frame)
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(list(safe.columns))
    columns = list(table.frame.columns)
    for n, row in enumerate(safe.itertuples(index=False)):
        writer.writerow([_csv_value(v, table.format_of(c, n)) for c, v in zip(columns, row, strict=True)])
    return buf.getvalue().encode("utf-8-sig")


def table_xlsx(table, sheet: str = "data", *, title: str = "", note: str = "") -> bytes:
    """A table (a :class:`Sheet` or a frame) as an XLSX workbook (one sheet): numbers and dates as
    such with their number formats, text with formulas neutralised; title and note above when given."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    table = _as_sheet(table)
    wb = Workbook()
    ws = wb.active
    ws.title = "".join(c for c in sheet if c not in "[]:*?/\\")[:31] or "data"
    for text, bold in ((title, True), (note, False)):
        if text:
            ws.append([neutralise(text)])
            ws.cell(ws.max_row, 1).font = Font(bold=bold)
    if title or note:
        ws.append([])
    safe = safe_frame(table.frame)
    columns = list(table.frame.columns)
    header_row = ws.max_row + 1 if (title or note) else 1
    ws.append(list(safe.columns))
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
    for n, row in enumerate(safe.itertuples(index=False)):
        ws.append([None if _missing(v) else _plain(v) for v in row])
        for c, cell in enumerate(ws[ws.max_row]):
            fmt = table.format_of(columns[c], n)
            if fmt and not isinstance(cell.value, str) and cell.value is not None:
                cell.number_format = fmt
            elif isinstance(cell.value, (dt.datetime, dt.date)):
                cell.number_format = DATE if cell.value == _midnight(cell.value) else DATETIME
    for n, col in enumerate(safe.columns, 1):
        shown = [_shown(v) for v in safe.iloc[:, n - 1].head(200)]
        longest = max([len(str(col)), *(len(v) for v in shown)])
        ws.column_dimensions[get_column_letter(n)].width = min(60, max(8, longest + 2))
    for row in ws.iter_rows(min_row=header_row + 1):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the text
    ws.freeze_panes = ws.cell(header_row + 1, 1)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _midnight(value):
    if isinstance(value, dt.datetime):
        return value.replace(hour=0, minute=0, second=0, microsecond=0)
    return value


def _shown(value) -> str:
    if value is None or _missing(value):
        return ""
    if isinstance(value, (dt.datetime, dt.date)):
        return "2026-10-26 00:00"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def _missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _plain(value):
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, pd.Period):
        return str(value)
    if hasattr(value, "item") and not isinstance(value, str):
        return value.item()
    return value
