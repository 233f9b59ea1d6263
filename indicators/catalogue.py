"""The indicator catalogue and geo codes, read from a versioned TOML data file."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PATH = Path(__file__).with_name("catalogue.toml")
GEO_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]{1,15}$")
CATEGORIES = ("outflow", "leading", "return", "context")
DIRECTIONS = ("up", "down", "both")
# What a series' geo is: the destination (asylum in FR), the origin (readmitted from DE), or home (XK).
GEO_ROLES = ("destination", "origin", "home")
FREQUENCIES = ("M", "Q", "A")
LANGUAGES = ("en", "sq", "sr")
_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
_FIELDS = ("id", "name", "unit", "frequency", "category", "bad_direction", "source", "description")


class FrozenMap(Mapping):
    """A read-only mapping that, unlike ``FrozenMap``, pickles (worker processes need it)."""

    def __init__(self, data=()):
        self._data = dict(data)

    def __getitem__(self, key):
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"


class CatalogueError(ValueError):
    """The catalogue file is malformed."""


@dataclass(frozen=True)
class Indicator:
    """One measured indicator (a row of the catalogue)."""

    id: str
    name: str
    unit: str
    frequency: str
    category: str
    bad_direction: str
    source: str
    description: str
    dataset: str = ""
    geo_role: str = "destination"
    names: Mapping[str, str] = field(default_factory=lambda: FrozenMap({}), compare=False)
    sources: Mapping[str, str] = field(default_factory=lambda: FrozenMap({}), compare=False)

    def name_in(self, lang: str) -> str:
        """The indicator's name in a language (English when no translation is given)."""
        return self.names.get(lang) or self.name

    def source_in(self, lang: str) -> str:
        """The source's name in a language (``source_sq``, ``source_sr``; as written when not given:
        ``Eurostat`` is a name in every language)."""
        return self.sources.get(lang) or self.source

    @property
    def source_line(self) -> str:
        """Source and dataset code, e.g. ``Eurostat migr_asyappctzm``."""
        return self.source_line_in("en")

    def source_line_in(self, lang: str) -> str:
        """Source (in the language) and dataset code: ``Policia e Kosovës``, ``Eurostat migr_asyappctzm``."""
        return f"{self.source_in(lang)} {self.dataset}".strip()


@dataclass(frozen=True)
class Catalogue:
    """All indicators and named geo codes."""

    version: int
    indicators: tuple[Indicator, ...]
    geo_names: Mapping[str, str]
    aggregates: tuple[str, ...]
    eu_plus: tuple[str, ...]
    path: Path | None = None
    eu_plus_source: str = ""  # the aggregate Eurostat publishes for EU+ (EU27_2020_EFTA)
    geo_aliases: Mapping[str, str] = field(default_factory=lambda: FrozenMap({}))

    def get(self, indicator_id: str) -> Indicator | None:
        """The indicator with this id, or None."""
        return self._by_id.get(indicator_id)

    def __getitem__(self, indicator_id: str) -> Indicator:
        return self._by_id[indicator_id]

    def __contains__(self, indicator_id: object) -> bool:
        return indicator_id in self._by_id

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.indicators)

    @property
    def _by_id(self) -> dict[str, Indicator]:
        return {i.id: i for i in self.indicators}

    def geo_name(self, code: str) -> str:
        """The geo's name, or its code where no name is known."""
        return self.geo_names.get(code, code)

    def is_aggregate(self, code: str) -> bool:
        """A total (EU27_2020, EU28, EU27_2020_EFTA, EU_PLUS, TOTAL), never a destination."""
        return code in self.aggregates


def valid_geo(code: str) -> bool:
    """Whether a geo code has the accepted shape (a Eurostat-style code)."""
    return bool(GEO_PATTERN.match(code))


def _indicator(raw: dict, where: str) -> Indicator:
    if not isinstance(raw, dict):
        raise CatalogueError(f"{where}: expected a table of fields")
    missing = [f for f in _FIELDS if not str(raw.get(f, "")).strip()]
    if missing:
        raise CatalogueError(f"{where}: missing {', '.join(missing)}")
    not_text = [f for f in (*_FIELDS, "dataset", *(f"{kind}_{lang}" for kind in ("name", "source")
                                                     for lang in LANGUAGES))
                if f in raw and not isinstance(raw[f], str)]
    if not_text:
        raise CatalogueError(f"{where}: {not_text[0]} {raw[not_text[0]]!r} is not text")
    checks = (
        ("id", _ID_PATTERN.match(raw["id"]) is not None, "lower-case letters, digits and _"),
        ("frequency", raw["frequency"] in FREQUENCIES, "one of " + ", ".join(FREQUENCIES)),
        ("category", raw["category"] in CATEGORIES, "one of " + ", ".join(CATEGORIES)),
        ("bad_direction", raw["bad_direction"] in DIRECTIONS, "one of " + ", ".join(DIRECTIONS)),
        ("geo_role", raw.setdefault("geo_role", "destination") in GEO_ROLES, "one of " + ", ".join(GEO_ROLES)),
    )
    for name, ok, expected in checks:
        if not ok:
            raise CatalogueError(f"{where}: {name} {raw[name]!r} is not {expected}")
    names = {lang: raw.get(f"name_{lang}", "") for lang in LANGUAGES if raw.get(f"name_{lang}")}
    names["en"] = raw["name"]
    sources = {lang: raw[f"source_{lang}"] for lang in LANGUAGES if raw.get(f"source_{lang}")}
    sources["en"] = raw["source"]
    return Indicator(
        **{f: str(raw[f]) for f in _FIELDS},
        dataset=str(raw.get("dataset", "")),
        geo_role=raw["geo_role"],
        names=FrozenMap(names),
        sources=FrozenMap(sources),
    )


def parse_catalogue(text: str, path: Path | None = None) -> Catalogue:
    """Parse catalogue TOML text."""
    where = str(path or "catalogue")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"{where}: not valid TOML: {exc}") from None
    if not isinstance(data.get("indicator", []), list):
        raise CatalogueError(f"{where}: indicator must be a list of [[indicator]] tables")
    for key in ("geo", "aggregates", "geo_aliases"):
        if not isinstance(data.get(key, {}), dict):
            raise CatalogueError(f"{where}: {key} must be a table")
    agg = data.get("aggregates", {})
    for key in ("codes", "eu_plus"):
        if key in agg and not (isinstance(agg[key], list) and all(isinstance(c, str) for c in agg[key])):
            raise CatalogueError(f"{where}: aggregates.{key} must be a list of geo codes")
    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool):
        raise CatalogueError(f"{where}: version {version!r} is not a whole number")
    indicators = tuple(
        _indicator(raw, f"{where}: indicator {n}") for n, raw in enumerate(data.get("indicator", []), 1)
    )
    ids = [i.id for i in indicators]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise CatalogueError(f"{where}: indicator id defined twice: {', '.join(dupes)}")
    geo = {str(k): str(v) for k, v in data.get("geo", {}).items()}
    bad = [code for code in geo if not valid_geo(code)]
    if bad:
        raise CatalogueError(f"{where}: bad geo code {bad[0]!r}")
    aliases = {str(k): v for k, v in data.get("geo_aliases", {}).items()}
    bad = [f"{k} = {v!r}" for k, v in aliases.items() if not (isinstance(v, str) and valid_geo(k) and valid_geo(v))]
    if bad:
        raise CatalogueError(f"{where}: bad geo alias {bad[0]} (expected CODE = \"EUROSTAT_CODE\")")
    source = agg.get("eu_plus_source", "")
    if not isinstance(source, str) or (source and not valid_geo(source)):
        raise CatalogueError(f"{where}: aggregates.eu_plus_source {source!r} is not a geo code")
    return Catalogue(
        version=version,
        indicators=indicators,
        geo_names=FrozenMap(geo),
        aggregates=tuple(agg.get("codes", ("EU27_2020", "EU28", "EU27_2020_EFTA", "EU_PLUS", "TOTAL"))),
        eu_plus=tuple(agg.get("eu_plus", ())),
        path=path,
        eu_plus_source=source,
        geo_aliases=FrozenMap(aliases),
    )


def catalogue_path() -> Path:
    """The catalogue file in use: ``MONITOR_CATALOGUE`` or the shipped default."""
    return Path(os.environ.get("MONITOR_CATALOGUE") or DEFAULT_PATH)


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Read the catalogue file (default: ``catalogue_path()``)."""
    path = Path(path) if path else catalogue_path()
    return parse_catalogue(path.read_text(encoding="utf-8"), path)


def indicator_toml(ind: Indicator) -> str:
    """One ``[[indicator]]`` table in the catalogue's TOML form."""

    def q(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ["", "[[indicator]]"]
    for name in ("id", "name"):
        lines.append(f"{name} = {q(getattr(ind, name))}")
    for lang in ("sq", "sr"):
        if ind.names.get(lang):
            lines.append(f"name_{lang} = {q(ind.names[lang])}")
    for name in ("unit", "frequency", "category", "bad_direction", "geo_role", "source", "dataset", "description"):
        lines.append(f"{name} = {q(getattr(ind, name))}")
        if name == "source":
            lines += [f"source_{lang} = {q(ind.sources[lang])}" for lang in ("sq", "sr") if ind.sources.get(lang)]
    return "\n".join(lines) + "\n"


def add_indicator(ind: Indicator, path: str | Path | None = None) -> Catalogue:
    """Append an indicator to the catalogue file; refuses a duplicate id. Returns the new catalogue."""
    path = Path(path) if path else catalogue_path()
    text = path.read_text(encoding="utf-8")
    current = parse_catalogue(text, path)
    if ind.id in current:
        raise CatalogueError(f"{path}: indicator {ind.id!r} already exists")
    # Insert before the [geo] table so the file stays readable.
    block = indicator_toml(ind)
    marker = text.find("\n[geo]")
    new_text = text + block if marker < 0 else text[:marker] + "\n" + block.rstrip("\n") + "\n" + text[marker:]
    parsed = parse_catalogue(new_text, path)  # validates before writing
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(new_text, encoding="utf-8")
    os.replace(tmp, path)
    return parsed
