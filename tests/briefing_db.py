"""A scanned demo database shared by the export, deck and note tests (built once per test process).

Three demo indicators: a monthly one with an EU+ row (asylum applications), a quarterly one
(return decisions) and a home series (border exits, geo XK). Alert counts come from the statistics,
which are still being calibrated: tests never hard-code them.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from functools import cache
from pathlib import Path

import pandas as pd

TODAY = dt.date(2026, 11, 26)
INDICATORS = ("asylum_applications", "return_decisions", "border_exits")


@cache
def demo_db() -> Path:
    """The path of a database holding the demo files of ``INDICATORS``, loaded and scanned."""
    from indicators.catalogue import load_catalogue
    from indicators.loaders import demo_files, load_files
    from indicators.store import open_store
    from monitoring.pipeline.scan import scan
    from monitoring.settings import load_settings

    path = Path(tempfile.mkdtemp(prefix="briefing-")) / "monitor.duckdb"
    store = open_store(path)
    catalogue = load_catalogue()
    files = [p for p in demo_files() if p.stem in INDICATORS]
    assert len(files) == len(INDICATORS), files
    load_files(store, files, catalogue=catalogue, today=TODAY)
    scan(store, catalogue, load_settings(), today=pd.Timestamp(TODAY), workers=1)
    return path


@cache
def briefing(lang: str, period: str | None = None):
    """The briefing of the demo database in ``lang`` (cached: a frozen dataclass)."""
    from indicators.catalogue import load_catalogue
    from indicators.store import open_store
    from monitoring.briefing.contents import build_briefing
    from monitoring.settings import saved_settings

    store = open_store(demo_db())
    return build_briefing(store, load_catalogue(), saved_settings(store), period=period, lang=lang, today=TODAY)
