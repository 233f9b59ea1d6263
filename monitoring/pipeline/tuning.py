"""Threshold tuning for the Thresholds page: what new settings would raise, without refitting.

The stored per-period parameters (scores) are re-thresholded at candidate settings with
``scan.level_frame``; the counts are the episodes that would be open at the latest period at those
settings (``monitoring.statistics.episodes``: the same count as the scan's). No Streamlit, no SQL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from indicators.catalogue import Catalogue
from indicators.store import Store, results
from monitoring.pipeline.scan import level_frame
from monitoring.settings import MonitorSettings, load_settings, parse_settings
from monitoring.statistics.episodes import (
    compute_episodes,
    open_by_indicator,
    open_episodes,
    resolve_after_of,
)

WINDOW_MONTHS = 12  # the recent months of window_start (the Thresholds page's caption)
# Widget fields: (section, key). "method" is the baseline method.
FIELDS = (("method", "method"), ("levels", "watch_alpha"), ("levels", "alert_alpha"),
          ("levels", "persistence"), ("levels", "min_count"), ("visa_rule", "watch"), ("visa_rule", "alert"),
          ("visa_rule", "reference"))
ALPHAS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2)


def window_start(today: pd.Timestamp, months: int = WINDOW_MONTHS) -> pd.Timestamp:
    return (pd.Timestamp(today).to_period("M") - months + 1).start_time


def stored_scores(store: Store, today: pd.Timestamp) -> pd.DataFrame:
    """Every stored period's parameters (the page caches them per version): an episode open now may
    have begun, and reached its peak, years ago (a sustained shift), and its level is its peak's."""
    del today  # the whole history counts
    return results.read_scores(store)


@dataclass(frozen=True)
class Counts:
    alerts: int  # open episodes that reached alert
    watches: int  # open episodes at watch
    by_indicator: pd.DataFrame  # indicator, alert, watch (open episodes)

    @property
    def total(self) -> int:
        return self.alerts + self.watches


def counts(stored: pd.DataFrame, catalogue: Catalogue, settings: MonitorSettings, today: pd.Timestamp,
           indicator: str | None = None) -> Counts:
    """The episodes that would be open at ``settings`` at the latest period, by the level they
    reached (the count the scan reports and every page shows)."""
    if indicator is not None:
        stored = stored[stored["indicator"] == indicator]
    if stored.empty:
        return Counts(0, 0, pd.DataFrame(columns=["indicator", "alert", "watch"]))
    levels = level_frame(stored, catalogue, settings, pd.Timestamp(today))
    episodes = compute_episodes(levels, resolve_after_of(settings, levels["indicator"]))
    count = open_episodes(episodes)
    table = open_by_indicator(episodes).set_index("indicator")
    table = table.reindex(sorted(set(stored["indicator"])), fill_value=0).reset_index()
    return Counts(count.alert, count.watch, table)


def values_of(settings: MonitorSettings, indicator: str | None) -> dict[str, object]:
    """The editable values, global or as in force for one indicator."""
    eff = settings if indicator is None else settings.for_indicator(indicator)
    return {
        key: (eff.method if section == "method" else getattr(getattr(eff, section), key))
        for section, key in FIELDS
    }


def with_values(
    settings: MonitorSettings, indicator: str | None, values: dict[str, object]
) -> MonitorSettings:
    """New settings with ``values`` (keys of ``FIELDS``) set globally or for one indicator.

    An indicator's value equal to the global one is stored as no override. Raises ``SettingsError``
    with the key's name for a value out of range (e.g. alert alpha above watch alpha).
    """
    data = settings.to_dict()
    if indicator is None:
        for section, key in FIELDS:
            if key not in values:
                continue
            if section == "method":
                data["method"] = values[key]
            else:
                data[section][key] = _plain(values[key])
    else:
        base = values_of(settings, None)
        over = dict(data["indicator"].get(indicator, {}))
        for _, key in FIELDS:
            if key in values:
                over[key] = _plain(values[key])
                if _plain(base[key]) == over[key]:
                    del over[key]
        if over:
            data["indicator"][indicator] = over
        else:
            data["indicator"].pop(indicator, None)
    return parse_settings(data, "new settings")


def _plain(value):
    return list(value) if isinstance(value, tuple | list) else value


def _flat(data: dict, prefix: str = "") -> dict[str, object]:
    out = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def changes(old: MonitorSettings | str | None, new: MonitorSettings | str) -> list[str]:
    """``levels.watch_alpha: 0.05 → 0.02`` for every value that differs."""

    def as_dict(s):
        if s is None:
            return {}
        return json.loads(s) if isinstance(s, str) else json.loads(s.to_json())

    a, b = _flat(as_dict(old)), _flat(as_dict(new))
    return [
        f"{k}: {_text(a.get(k))} → {_text(b.get(k))}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)
    ]


# The Thresholds page's label of each setting (flat key, without ``indicator.<id>.``).
LABELS = {"method": "th.method", "levels.watch_alpha": "th.watch_alpha", "levels.alert_alpha": "th.alert_alpha",
          "levels.persistence": "th.persistence", "levels.min_count": "th.min_count",
          "visa_rule.watch": "th.visa_watch", "visa_rule.alert": "th.visa_alert",
          "visa_rule.reference": "th.reference"}
_BARE = {key.rpartition(".")[2]: key for key in LABELS}  # an indicator's override names a bare key


def change_lines(old: MonitorSettings | str | None, new: MonitorSettings | str, lang: str = "en",
                 catalogue: Catalogue | None = None) -> list[str]:
    """The changes of :func:`changes` as a user reads them: the setting's label in the language and its
    values as the page shows them (``EU suspension criterion: higher threshold: 50% → 70%``); an
    indicator's own value is named after the indicator. A setting the page does not show keeps its key."""
    from monitoring.i18n import t

    def as_dict(s):
        if s is None:
            return {}
        return json.loads(s) if isinstance(s, str) else json.loads(s.to_json())

    a, b = _flat(as_dict(old)), _flat(as_dict(new))
    out = []
    for key in sorted(set(a) | set(b), key=_order):
        if a.get(key) == b.get(key):
            continue
        setting, who = key, ""
        if key.startswith("indicator."):
            _, ind, bare = key.split(".", 2)
            setting = _BARE.get(bare, bare)
            found = catalogue.get(ind) if catalogue is not None else None
            who = (found.name_in(lang) if found else ind) + " – "
        label = t(LABELS[setting], lang) if setting in LABELS else setting
        values = " → ".join(_shown(setting, v, lang) for v in (a.get(key), b.get(key)))
        out.append(f"{who}{label}: {values}")
    return out


def _order(key: str) -> tuple:
    setting = _BARE.get(key.rsplit(".", 1)[-1], key) if key.startswith("indicator.") else key
    order = list(LABELS)
    return (key.startswith("indicator."), order.index(setting) if setting in order else len(order), key)


def _shown(setting: str, value, lang: str) -> str:
    from monitoring.i18n import number, t
    from monitoring.pipeline.views import reference_label

    if value is None:
        return "–"
    if setting == "method":
        return t(f"th.method_{value}", lang)
    if setting in ("visa_rule.watch", "visa_rule.alert"):
        return number(float(value) * 100, lang) + "%"
    if setting == "visa_rule.reference":
        return reference_label(tuple(value), lang) if value else "–"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _text(value)
    decimals = 0 if float(value).is_integer() else len(repr(float(value)).split(".")[1].rstrip("0"))
    return number(value, lang, decimals)


def _text(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def audit_log(store: Store, lang: str = "en", catalogue: Catalogue | None = None) -> pd.DataFrame:
    """Saved settings, newest first: id, when, who, reason, what changed (as :func:`change_lines` says
    it, in ``lang``), the version reverted to."""
    log = results.settings_log(store)
    if log.empty:
        return pd.DataFrame(columns=["id", "saved_at", "who", "reason", "changes", "reverts"])
    ordered = log.sort_values("id")
    previous = [load_settings().to_json(),
                *ordered["settings"].iloc[:-1]]  # the first vs the shipped defaults
    ordered = ordered.assign(
        changes=["; ".join(change_lines(p, s, lang, catalogue)) or "–"
                 for p, s in zip(previous, ordered["settings"], strict=True)]
    )
    # the version reverted to, as text: blank (never "None") for a save that reverts nothing
    ordered = ordered.assign(reverts=["" if pd.isna(v) else str(int(v)) for v in ordered["reverts"]])
    return ordered.sort_values("id", ascending=False)[
        ["id", "saved_at", "who", "reason", "changes", "reverts"]
    ]


def needs_refit(old: MonitorSettings, new: MonitorSettings, catalogue: Catalogue) -> bool:
    """Whether the new settings change a fit (method, baseline) and so take effect at the next scan."""
    ids = [i.id for i in catalogue.indicators]
    return any(old.for_indicator(i).fit_hash() != new.for_indicator(i).fit_hash() for i in ids)

