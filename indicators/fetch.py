"""Kosovo's slices of the mapped Eurostat datasets, straight from Eurostat's dissemination API.

For each dataset of ``eurostat_map.toml`` whose indicator is in the catalogue (read at run time):

1. the data structure (``{base}/sdmx/2.1/datastructure/ESTAT/{DATASET}``) gives the order of the
   dimensions, so that the positional series key can pin ``citizen`` (and any other dimension every
   mapping entry of the dataset pins) and ``freq`` (the catalogue indicator's frequency) on
   Eurostat's side: only Kosovo rows travel;
2. the data (``{base}/sdmx/2.1/data/{DATASET}/{key}?format=TSV&compressed=true[&startPeriod=...]``)
   are saved as ``<dataset>.tsv.gz`` in a fresh folder.

Everything is downloaded before anything is loaded; then all files go through ``load_files`` in one
call (all or nothing). "No results found" (SDMX error 100) is "no data for this key", not an error.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import json
import os
import re
import shutil
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from xml.etree import ElementTree

import pandas as pd
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from indicators import eurostat
from indicators.catalogue import Catalogue
from indicators.loaders import LoadReport, load_files
from indicators.store import Store
from indicators.validation import LoadError

DEFAULT_URL = "https://ec.europa.eu/eurostat/api/dissemination"
ENV_URL = "MONITOR_EUROSTAT_URL"
TIMEOUT = (10.0, 120.0)  # seconds: connect, read
RETRIES = 3
BACKOFF = 1.0  # seconds: urllib3 waits 0, 2, 4 s before the retries
RETRY_STATUSES = (429, 500, 502, 503, 504)
NO_RESULTS = "100"  # SDMX error code: the query matched no data
_SINCE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
Progress = Callable[[int, int, str], None]
_FREQ_NAMES = {"M": "monthly", "Q": "quarterly", "A": "annual"}


class FetchError(Exception):
    """A download failed; the message says which dataset, what Eurostat answered, what to do."""


@dataclass(frozen=True)
class Downloaded:
    """The files of one fetch (nothing loaded yet) and the datasets Eurostat has no Kosovo rows for."""

    folder: Path
    datasets: tuple[str, ...]
    paths: tuple[Path, ...]
    empty: tuple[str, ...]
    urls: dict[str, str] = field(default_factory=dict)
    frequencies: dict[str, str] = field(default_factory=dict)


def base_url() -> str:
    return (os.environ.get(ENV_URL) or DEFAULT_URL).rstrip("/")


def mapped_datasets(catalogue: Catalogue, mapping=None) -> list[str]:
    """The mapped datasets with an indicator in the catalogue, in the mapping file's order."""
    mapping = eurostat.load_mapping() if mapping is None else mapping
    return [d for d, entries in mapping.items() if any(e.indicator in catalogue for e in entries)]


def frequency(dataset: str, catalogue: Catalogue, mapping) -> str:
    """M, Q or A: the frequency of the catalogue indicator the dataset maps onto."""
    return next(catalogue[e.indicator].frequency for e in mapping[dataset] if e.indicator in catalogue)


def start_period(since: str, freq: str) -> str:
    """``2024-05`` as Eurostat's startPeriod in a frequency: ``2024-05``, ``2024-Q2`` or ``2024``."""
    m = _SINCE.match(since.strip())
    if not m:
        raise FetchError(f"--since: found {since!r}; expected a month YYYY-MM, such as 2024-01")
    year, month = m.group(1), int(m.group(2))
    return {"M": f"{year}-{month:02d}", "Q": f"{year}-Q{(month - 1) // 3 + 1}"}.get(freq, year)


def make_session(retries: int | None = None, backoff: float | None = None) -> requests.Session:
    """A session retrying connection errors, read timeouts, 429 and 5xx with exponential backoff."""
    retries = RETRIES if retries is None else retries
    backoff = BACKOFF if backoff is None else backoff
    retry = Retry(total=retries, connect=retries, read=retries, status=retries, backoff_factor=backoff,
                  status_forcelist=RETRY_STATUSES, allowed_methods=frozenset({"GET"}),
                  respect_retry_after_header=True, raise_on_status=False)
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = "kosovo-migration-monitor (python-requests)"
    return session


def eurostat_message(body: bytes) -> tuple[str, str]:
    """(SDMX error code, text) from Eurostat's XML or JSON error body; ('', '') when there is none."""
    text = body[:20000].decode("utf-8", "replace").strip()
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError:
        root = None
    if root is not None:
        for el in root.iter():
            if _local(el) == "ErrorMessage":
                said = " ".join(t.strip() for t in el.itertext() if t.strip())
                return el.get("code", ""), said
        fault = [el for el in root.iter() if _local(el) == "faultstring"]
        return "", " ".join(" ".join(el.itertext()).split()) if fault else ""
    try:
        data = json.loads(text)
    except ValueError:
        return "", " ".join(text.split())[:300] if text and not text.startswith("<") else ""
    errors = data.get("error") if isinstance(data, dict) else None
    errors = errors if isinstance(errors, list) else [errors] if isinstance(errors, dict) else []
    for err in errors:
        return str(err.get("id", "")), str(err.get("label", ""))
    return "", ""


def _get(session: requests.Session, url: str, what: str, timeout, params=None) -> requests.Response:
    try:
        response = session.get(url, params=params, timeout=timeout or TIMEOUT)
        response.content  # noqa: B018 - reads the whole body now, so a cut-off answer fails here
    except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
        raise FetchError(f"{what}: Eurostat's answer was cut off ({_reason(exc)}); try again later") from None
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        raise FetchError(f"could not reach Eurostat at {base_of(url)}: {_reason(exc)}; check the connection "
                         f"or {ENV_URL}") from None
    except requests.exceptions.RequestException as exc:
        raise FetchError(f"{what}: the request failed ({_reason(exc)})") from None
    return response


def _local(el) -> str:
    return el.tag.rsplit("}", 1)[-1]


def base_of(url: str) -> str:
    return url.split("/sdmx/", 1)[0]


def _reason(exc: BaseException) -> str:
    """The innermost cause of a requests/urllib3 error, in one short line."""
    text = str(exc)
    for marker in ("Read timed out", "timed out", "Connection refused", "Name or service not known",
                   "IncompleteRead", "Connection broken"):
        if marker in text:
            return {"timed out": "timed out", "Read timed out": "timed out"}.get(marker, marker.lower())
    return " ".join(text.split())[:200] or type(exc).__name__


def _failed(what: str, response: requests.Response) -> FetchError:
    code, said = eurostat_message(response.content)
    said = f": {said}" if said else ""
    code = f" (SDMX error {code})" if code else ""
    return FetchError(f"{what}: Eurostat answered HTTP {response.status_code} {response.reason}{code}{said}")


def dimensions(session, base: str, dataset: str, timeout=None) -> list[str]:
    """The dataset's dimension ids (lower case) in key order, from its data structure definition."""
    url = f"{base}/sdmx/2.1/datastructure/ESTAT/{dataset.upper()}"
    what = f"{dataset} (data structure)"
    response = _get(session, url, what, timeout)
    if response.status_code != 200:
        raise _failed(what, response)
    try:
        root = ElementTree.fromstring(response.content)
    except ElementTree.ParseError as exc:
        raise FetchError(f"{what}: Eurostat's answer is not readable XML ({exc})") from None
    found = []
    for dim_list in (el for el in root.iter() if _local(el) == "DimensionList"):
        for el in dim_list:
            if _local(el) == "Dimension" and el.get("id"):
                found.append((int(el.get("position") or len(found) + 1), el.get("id").lower()))
    if not found:
        raise FetchError(f"{what}: Eurostat's answer lists no dimensions")
    return [dim for _, dim in sorted(found)]


def series_key(dataset: str, dims: Sequence[str], mapping, freq: str) -> str:
    """The positional key: dimensions every mapping entry pins (citizen=XK, ...) and freq; others open."""
    entries = [e for e in mapping[dataset] if e.required() <= set(dims)]
    if not entries:
        need = " or ".join(sorted({",".join(sorted(e.required())) for e in mapping[dataset]}))
        raise FetchError(f"{dataset}: Eurostat's dimensions ({','.join(dims)}) lack those the mapping "
                         f"needs ({need}); see indicators/eurostat_map.toml")
    shared = set.intersection(*({d for d, _ in e.where} for e in entries))
    pinned = {d: "+".join(sorted({v for e in entries for k, v in e.where if k == d})) for d in shared}
    pinned.setdefault("freq", freq)
    return ".".join(pinned.get(d, "") for d in dims)


def _tsv_gz(dataset: str, response: requests.Response) -> bytes:
    """The answer as gzip bytes with a fixed header (same content, same file hash), checked whole."""
    data = response.content
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as exc:
            raise FetchError(f"{dataset}: Eurostat's answer was cut off (incomplete gzip: {exc}); "
                             "try again later") from None
    first = data.split(b"\n", 1)[0].decode("utf-8", "replace")
    if "\t" not in first or "\\" not in first.split("\t")[0]:
        raise FetchError(f"{dataset}: Eurostat's answer is not a TSV table (it starts with "
                         f"{' '.join(first.split())[:120]!r})")
    return gzip.compress(data, mtime=0)


def download(session, base: str, dataset: str, key: str, start: str | None, folder: Path,
             timeout=None) -> Path | None:
    """Save one dataset's slice as ``<dataset>.tsv.gz``; None when Eurostat has no data for the key."""
    url = f"{base}/sdmx/2.1/data/{dataset.upper()}/{key}"
    params = {"format": "TSV", "compressed": "true"} | ({"startPeriod": start} if start else {})
    response = _get(session, url, dataset, timeout, params)
    if response.status_code in (400, 404):
        code, said = eurostat_message(response.content)
        if code == NO_RESULTS or (not code and "no results found" in said.lower()):
            return None
    if response.status_code != 200:
        raise _failed(dataset, response)
    path = folder / f"{dataset}.tsv.gz"
    path.write_bytes(_tsv_gz(dataset, response))
    return path


def download_all(folder: Path, *, catalogue: Catalogue, datasets: Sequence[str] | None = None,
                 since: str | None = None, progress: Progress | None = None,
                 session: requests.Session | None = None, timeout=None) -> Downloaded:
    """Download every chosen dataset into ``folder`` (created); raises ``FetchError`` on the first failure."""
    mapping = eurostat.load_mapping()
    known = mapped_datasets(catalogue, mapping)
    chosen = [d.strip().lower() for d in datasets or known if d.strip()]
    unknown = [d for d in chosen if d not in known]
    if unknown:
        raise FetchError(f"unknown dataset {', '.join(unknown)}: choose among {', '.join(known)} "
                         "(indicators/eurostat_map.toml)")
    chosen = list(dict.fromkeys(chosen))
    base, session, timeout = base_url(), session or make_session(), timeout or TIMEOUT
    folder.mkdir(parents=True, exist_ok=True)
    paths, empty, urls, freqs = [], [], {}, {}
    for n, dataset in enumerate(chosen):
        if progress:
            progress(n, len(chosen), dataset)
        freq = freqs[dataset] = frequency(dataset, catalogue, mapping)
        key = series_key(dataset, dimensions(session, base, dataset, timeout), mapping, freq)
        urls[dataset] = f"{base}/sdmx/2.1/data/{dataset.upper()}/{key}"
        path = download(session, base, dataset, key, start_period(since, freq) if since else None, folder,
                        timeout)
        (paths.append(path) if path else empty.append(dataset))
    if progress:
        progress(len(chosen), len(chosen), "")
    return Downloaded(folder, tuple(chosen), tuple(paths), tuple(empty), urls, freqs)


def new_folder(store: Store) -> Path:
    """A fresh folder beside the database for one fetch's files (kept as provenance when loaded)."""
    return store.path.parent / "eurostat" / pd.Timestamp.now().strftime("%Y%m%d-%H%M%S-%f")


@contextlib.contextmanager
def staged(store: Store):
    """A new folder for one fetch's files, removed when anything inside fails: nothing half-loaded
    stays behind, and load problems name the downloaded file, not its folder."""
    folder = new_folder(store)
    try:
        yield folder
    except LoadError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise LoadError([replace(p, file=Path(p.file).name) for p in exc.problems], exc.more) from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def named(reports: Sequence[LoadReport]) -> list[LoadReport]:
    """Reports naming the file by its name (``migr_asyappctzm.tsv.gz``), not its folder."""
    return [replace(r, file=Path(r.file).name) for r in reports]


def report_lines(got: Downloaded, reports: Sequence[LoadReport]) -> list[str]:
    """One line per dataset and the total: ``fetched N datasets: X new, Y revised, Z unchanged rows``."""
    lines = [r.summary() for r in named(reports)]
    lines += [f"{d}: 0 rows (Eurostat has no {_FREQ_NAMES.get(got.frequencies.get(d), '')} data for Kosovo "
              "citizens in it)".replace("no  data", "no data") for d in got.empty]
    new, revised, unchanged = (sum(getattr(r, k) for r in reports) for k in ("new", "revised", "unchanged"))
    n = len(got.datasets)
    lines.append(f"fetched {n} dataset{'s' if n != 1 else ''}: {new} new, {revised} revised, "
                 f"{unchanged} unchanged rows")
    return lines


def fetch(store: Store, *, catalogue: Catalogue, today: dt.date, who: str = "local",
          datasets: Sequence[str] | None = None, since: str | None = None, progress: Progress | None = None,
          session: requests.Session | None = None, timeout=None) -> tuple[Downloaded, list[LoadReport]]:
    """Download, then load everything in one ``load_files`` call (``FetchError``/``LoadError``: nothing loaded)."""
    with staged(store) as folder:
        got = download_all(folder, catalogue=catalogue, datasets=datasets, since=since, progress=progress,
                           session=session, timeout=timeout)
        reports = load_files(store, list(got.paths), catalogue=catalogue, today=today, who=who) if got.paths \
            else []
    discard_if_unused(got, reports)
    return got, reports


def discard_if_unused(got: Downloaded, reports: Sequence[LoadReport]) -> None:
    """Remove the fetch's folder when no file of it was recorded as a new load."""
    if not any(r.load_id is not None and not r.already_loaded for r in reports):
        shutil.rmtree(got.folder, ignore_errors=True)
