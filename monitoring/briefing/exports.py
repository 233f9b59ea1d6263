"""Server-side exports: charts as PNG/SVG/PDF (plotly + kaleido), tables as CSV/XLSX.

A chart export carries its own title, source line, the data's last period and the export date, so
an image pasted into a slide still says where it came from. Kaleido drives a Chrome: one sync
server is started per process on first use and reused (a cold export starts Chrome, 2-7 s; a warm
one takes about 0.2 s). Without a browser the export raises :class:`ExportError` with a message a
briefer can act on.
"""

from __future__ import annotations

import datetime as dt
import os
import queue
import textwrap
import threading
from dataclasses import dataclass
from pathlib import Path

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
    (as ``monitoring.pipeline.views.history_frame`` returns them).
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
