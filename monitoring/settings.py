"""Detection settings: defaults from TOML, per-indicator overrides, a stable hash for incremental scans.

Sections map onto the channels' own frozen settings dataclasses:
``[glm]`` -> ``GLMSettings``, ``[levels]`` -> ``LevelSettings``, ``[visa_rule]`` -> ``VisaRuleSettings``,
``[episodes]`` -> ``EpisodeSettings`` (when an alert episode resolves);
``[indicator.<id>]`` overrides any of their keys (and ``method``) for one indicator.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from indicators.catalogue import FrozenMap
from monitoring.statistics.baselines import GLMSettings
from monitoring.statistics.episodes import EpisodeSettings
from monitoring.statistics.glr import GLRSettings
from monitoring.statistics.levels import LevelSettings
from monitoring.statistics.visa_rule import VisaRuleSettings

DEFAULT_PATH = Path(__file__).with_name("settings.toml")
# auto: the likelihood-ratio test on the seasonal baseline (glr), EARS for short series;
# glm: farringtonFlexible (Noufaily settings), EARS for short series; ears: EARS only.
METHODS = ("auto", "glm", "ears")
SECTIONS = {"glr": GLRSettings, "glm": GLMSettings, "levels": LevelSettings, "visa_rule": VisaRuleSettings,
            "episodes": EpisodeSettings}
# Keys of earlier versions, dropped when read: the criterion's thresholds now live in [visa_rule] only.
LEGACY_KEYS = {"levels": ("visa_watch", "visa_alert", "visa_min_count"),
               "glm": ("low_count",)}  # the levels' min_count is the one count guard


class SettingsError(ValueError):
    """A settings file or value that cannot be used; the message names the file and key."""


@dataclass(frozen=True)
class IndicatorSettings:
    """The effective settings for one indicator."""

    method: str
    glr: GLRSettings
    glm: GLMSettings
    levels: LevelSettings
    visa_rule: VisaRuleSettings
    episodes: EpisodeSettings = field(default_factory=EpisodeSettings)

    def fit_hash(self) -> str:
        """A hash of everything that changes a fit (not alpha or thresholds: those re-level only)."""
        data = {"method": self.method, "glr": _as_plain(self.glr), "glm": _as_plain(self.glm),
                "visa_rule": _as_plain(self.visa_rule)}
        for key in ("watch", "alert"):
            data["visa_rule"].pop(key, None)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class MonitorSettings:
    """Global settings plus per-indicator overrides."""

    method: str = "auto"
    glr: GLRSettings = field(default_factory=GLRSettings)
    glm: GLMSettings = field(default_factory=GLMSettings)
    levels: LevelSettings = field(default_factory=LevelSettings)
    visa_rule: VisaRuleSettings = field(default_factory=VisaRuleSettings)
    episodes: EpisodeSettings = field(default_factory=EpisodeSettings)
    overrides: Mapping[str, Mapping[str, Mapping[str, object]]] = field(
        default_factory=lambda: FrozenMap({})
    )

    def for_indicator(self, indicator: str) -> IndicatorSettings:
        """Defaults with the indicator's overrides applied."""
        over = self.overrides.get(indicator, {})
        return IndicatorSettings(
            method=str(over.get("method", {}).get("method", self.method)) if "method" in over else self.method,
            glr=replace(self.glr, **over.get("glr", {})),
            glm=replace(self.glm, **over.get("glm", {})),
            levels=replace(self.levels, **over.get("levels", {})),
            visa_rule=replace(self.visa_rule, **over.get("visa_rule", {})),
            episodes=replace(self.episodes, **over.get("episodes", {})),
        )

    def to_dict(self) -> dict:
        """A plain dict in the TOML file's shape (JSON-serialisable)."""
        out: dict = {"method": self.method}
        for name in SECTIONS:
            out[name] = _as_plain(getattr(self, name))
        out["indicator"] = {ind: _flat_override(over) for ind, over in self.overrides.items()}
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


def _owner(key: str) -> str | None:
    """The section a bare key of ``[indicator.<id>]`` belongs to: the first that has it."""
    return next((name for name, cls in SECTIONS.items() if key in {f.name for f in fields(cls)}), None)


def _flat_override(over: Mapping) -> dict:
    """One indicator's overrides in the file's shape: bare keys, ``section.key`` where a bare key
    would belong to another section (``glm.years``, since ``years`` alone is the glr's)."""
    out: dict = {}
    for section, values in over.items():
        for key, value in values.items():
            value = list(value) if isinstance(value, tuple) else value
            if section == "method" or _owner(key) == section:
                out[key] = value
            else:
                out.setdefault(section, {})[key] = value
    return out


def _as_plain(obj) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(obj).items()}


def _coerce(value, annotation, where: str):
    kind = typing.get_origin(annotation) or annotation
    if isinstance(kind, str):  # postponed annotations
        kind = {"int": int, "float": float, "bool": bool, "str": str}.get(kind.split("|")[0].strip(), object)
    try:
        if kind is bool:
            if not isinstance(value, bool):
                raise TypeError
            return value
        if kind is int:
            if isinstance(value, bool) or float(value) != int(value):
                raise TypeError
            return int(value)
        if kind is float:
            if isinstance(value, bool):
                raise TypeError
            return float(value)
        if kind is tuple:
            return tuple(value) if isinstance(value, list | tuple) else (value,)
        if kind is str:
            if not isinstance(value, str):
                raise TypeError
            return value
    except (TypeError, ValueError, OverflowError):
        raise SettingsError(f"{where}: {value!r} is not a valid {getattr(kind, '__name__', kind)}") from None
    return value


def _section(cls, raw: Mapping, where: str) -> dict:
    if not isinstance(raw, Mapping):
        raise SettingsError(f"{where}: expected a table of settings")
    legacy = next((keys for name, keys in LEGACY_KEYS.items() if SECTIONS.get(name) is cls), ())
    raw = {k: v for k, v in raw.items() if k not in legacy}
    known = {f.name: f for f in fields(cls)}
    hints = typing.get_type_hints(cls)
    out = {}
    for key, value in raw.items():
        if key not in known:
            raise SettingsError(f"{where}: unknown key {key!r}; known keys: {', '.join(sorted(known))}")
        out[key] = _coerce(value, hints.get(key, object), f"{where}.{key}")
    try:
        cls(**out)  # let the dataclass validate ranges
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{where}: {exc}") from None
    return out


def parse_settings(data: Mapping, where: str = "settings") -> MonitorSettings:
    """Settings from a dict in the TOML shape; every problem names the key."""
    unknown = set(data) - {"method", "indicator", *SECTIONS}
    if unknown:
        raise SettingsError(f"{where}: unknown section {sorted(unknown)[0]!r}; known: "
                            f"method, {', '.join(SECTIONS)}, indicator")
    method = data.get("method", "auto")
    if method not in METHODS:
        raise SettingsError(f"{where}: method {method!r} is not one of {', '.join(METHODS)}")
    parts = {name: cls(**_section(cls, data.get(name, {}), f"{where} [{name}]")) for name, cls in SECTIONS.items()}
    overrides: dict[str, dict[str, dict]] = {}
    if not isinstance(data.get("indicator", {}), Mapping):
        raise SettingsError(f"{where} [indicator]: expected tables of settings per indicator, [indicator.<id>]")
    for ind, raw in data.get("indicator", {}).items():
        if not isinstance(raw, Mapping):
            raise SettingsError(f"{where} [indicator.{ind}]: expected a table of settings")
        split: dict[str, dict] = {}
        for key, value in raw.items():
            if key == "method":
                if value not in METHODS:
                    raise SettingsError(f"{where} [indicator.{ind}].method: {value!r} is not one of "
                                        f"{', '.join(METHODS)}")
                split.setdefault("method", {})["method"] = value
                continue
            if key in SECTIONS and isinstance(value, Mapping):  # glm.years = 5: one section's key
                split.setdefault(key, {}).update(value)
                continue
            if any(key in keys for keys in LEGACY_KEYS.values()):
                continue
            # a bare key belongs to the first section that has it (glr before glm: the default method)
            owner = _owner(key)
            if owner is None:
                raise SettingsError(f"{where} [indicator.{ind}]: unknown key {key!r}")
            split.setdefault(owner, {})[key] = value
        for name, cls in SECTIONS.items():
            if name in split:
                base = _as_plain(parts[name])
                checked = _section(cls, {**base, **split[name]}, f"{where} [indicator.{ind}]")
                split[name] = {k: checked[k] for k in split[name]}
        overrides[ind] = split
    return MonitorSettings(method=method, **parts, overrides=FrozenMap(overrides))


def load_settings(path: str | Path | None = None) -> MonitorSettings:
    """Settings from a TOML file (default: the shipped ``monitoring/settings.toml``)."""
    path = Path(path) if path else DEFAULT_PATH
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"{path}: no such settings file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from None
    return parse_settings(data, str(path))


def settings_from_json(text: str) -> MonitorSettings:
    """Settings saved by ``MonitorSettings.to_json``."""
    return parse_settings(json.loads(text), "saved settings")


def saved_settings(store) -> MonitorSettings:
    """The settings last saved in the database, else the shipped defaults."""
    from indicators.store import results

    latest = results.latest_settings(store)
    return settings_from_json(latest[1]) if latest else load_settings()
