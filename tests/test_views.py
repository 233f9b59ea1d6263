"""Page data (monitoring.pipeline.views, tuning, records): pure functions over a store, on the demo database."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from indicators.catalogue import load_catalogue
from indicators.store import episodes, open_store
from monitoring.i18n import period_label, strings
from monitoring.pipeline import records, tuning, views
from monitoring.settings import load_settings
from tests.apptest_support import TODAY, build_demo

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = load_catalogue()
NOW = pd.Timestamp(TODAY)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return open_store(build_demo(tmp_path_factory.mktemp("views") / "monitor.duckdb"))


def test_overview_shows_open_episodes_most_severe_first(demo):
    view = views.overview_view(demo, CATALOGUE, NOW)
    assert not view.empty
    assert view.latest_text == "October 2026 (monthly); Q3 2026 (quarterly); 2025 (annual)"
    table = view.current
    severity = table["level"].map(views.SEVERITY)
    assert severity.is_monotonic_decreasing
    alerts = table[table["level"] == "alert"]
    assert alerts["score"].is_monotonic_decreasing
    # one row per open episode: the one count
    stored = episodes.read_episodes(demo)
    open_now = stored[stored["state"] == "open"]
    assert len(table) == len(open_now) == view.count.total
    assert set(zip(table["indicator_id"], table["geo_code"], strict=True)) == set(
        zip(open_now["indicator"], open_now["geo"], strict=True))
    # The planted French spike of May 2026 is an episode of its own (over by October), kept with its figures.
    fr = stored[(stored["indicator"] == "asylum_applications") & (stored["geo"] == "FR")
                & (stored["start_period"] <= "2026-05") & (stored["last_period"] >= "2026-05")]
    assert len(fr) == 1 and fr["peak_level"].iloc[0] == "alert" and fr["state"].iloc[0] == "resolved"
    assert {tile.category for tile in view.tiles} == {"outflow", "return", "leading"}
    assert sum(tile.alerts + tile.watches for tile in view.tiles) == view.count.total
    assert sum(tile.series for tile in view.tiles) > 0
    assert set(view.freshness["source"]) >= {"Eurostat", "Kosovo Police"}
    assert set(views.overview_view(demo, CATALOGUE, NOW, "sq").freshness["source"]) >= {
        "Eurostat", "Policia e Kosovës", "Agjencia e Regjistrimit Civil"}


def test_what_changed_is_one_sentence_per_change_and_never_repeats_a_series(demo):
    view = views.overview_view(demo, CATALOGUE, NOW)
    assert view.changes
    kinds = [kind for kind, _, _ in view.changes]
    assert set(kinds) <= {"new", "escalation", "resolution", "criterion"}
    for kind, level, text in view.changes:
        assert text.count(".**") == 1 and text.endswith(".")
        if kind == "criterion" and level == "criterion":
            assert "not abnormal for this series" in text  # a status, said as one, not an anomaly


def test_sentences_follow_the_language(demo):
    view = views.overview_view(demo, CATALOGUE, NOW, "sr")
    assert view.current["reason"].str.contains("očekivano").all()
    assert "Odbijanja ulaska na spoljnoj granici" in set(view.current["indicator"])
    assert any("Kriterijum suspenzije EU" in text or "kriterijum suspenzije EU" in text
               for _, _, text in view.changes)


def test_explorer_history_joins_observations_and_results(demo):
    view = views.explorer_view(demo, CATALOGUE, load_settings(), "asylum_applications", "EU_PLUS")
    history = view.history
    assert history["period"].iloc[0] == "2015-01" and history["period"].iloc[-1] == "2026-10"
    assert history["expected"].iloc[:6].isna().all()  # not scored: too little history
    assert history["expected"].iloc[-24:].notna().all()
    assert history["provisional"].iloc[-2:].all() and not history["provisional"].iloc[-3]
    assert not view.visa.empty and view.visa["period_start"].min() >= pd.Timestamp("2023-01-01")
    assert set(view.breakdown["geo_name"]) >= {"Germany", "France"}
    assert len(view.recent) == 12


def test_eu_plus_breakdown_adds_up_to_the_total_it_states(demo):
    """The bars, the destinations' sum and the EU+ total's own excess agree, and the stated difference
    is exactly the total's excess minus the sum of the parts (issue 11, defect 2)."""
    from monitoring.briefing import figures

    view = views.explorer_view(demo, CATALOGUE, load_settings(), "asylum_applications", "EU_PLUS")
    parts, total = view.breakdown, view.breakdown_total
    alarms = view.history[view.history["level"].isin(["watch", "alert"])]
    row = alarms.iloc[-1]  # the breakdown is of the latest alarm
    assert view.breakdown_period == period_label(row["period"])
    assert total.observed == row["observed"] and total.expected == pytest.approx(row["expected"])
    assert total.parts_excess == pytest.approx(parts["excess"].sum())
    assert total.excess == pytest.approx(total.parts_excess + total.not_shown + total.baseline_gap)
    assert total.not_shown == 0  # the demo's total is the sum of its eight destinations
    fig = figures.breakdown_figure(parts, total=total)
    bars, sums = fig.data[0], fig.data[-1]
    assert sum(bars.x) == pytest.approx(sums.x[0]) and sums.x[1] == pytest.approx(row["observed"] - row["expected"])
    note = " ".join(a.text for a in fig.layout.annotations).replace("<br>", " ")
    signed = figures._signed_count
    assert f"add up to {signed(total.parts_excess, 'en')};" in note
    assert f"{signed(total.excess, 'en')}." in note
    gap = signed(total.excess - total.parts_excess, 'en')
    if gap == "0":  # the parts add up to the total's excess once rounded: the note says so, no difference
        assert "They add up." in note and "The difference" not in note
    else:
        assert f"The difference, {gap}, is because each destination" in note
    colours = dict(zip(bars.y, bars.marker.color, strict=True))
    for name, excess in zip(parts["geo_name"], parts["excess"], strict=True):
        assert colours[name] == (figures.ABOVE if excess >= 0 else figures.BELOW)


def test_impact_frame_projects_from_before_2024(demo):
    impact = views.impact_frame(demo, "asylum_applications", "EU_PLUS")  # as the scan stored it
    assert impact["period_start"].min() == pd.Timestamp("2024-01-01")
    assert (impact["excess_lower"] <= impact["excess"]).all() and (
        impact["excess"] <= impact["excess_upper"]
    ).all()
    assert impact["cumulative"].iloc[-1] > 0  # the demo has a visa-free rise of asylum applications
    assert views.impact_frame(demo, "recognition_rate", "DE").empty  # a rate: no count to project


def test_reference_label():
    assert views.reference_label(("2023-11", "2023-12")) == "November–December 2023"
    assert views.reference_label(("2023-11", "2023-12"), "sq") == "nëntor–dhjetor 2023"
    assert views.reference_label(("2023-12",)) == "December 2023"


def test_counts_are_monotone_in_alpha_and_visa_thresholds(demo):
    stored = tuning.stored_scores(demo, NOW)
    saved = load_settings()
    counts = [
        tuning.counts(
            stored, CATALOGUE, tuning.with_values(saved, None, {"watch_alpha": a, "alert_alpha": a}), NOW
        ).alerts
        for a in (0.05, 0.01, 0.001)
    ]
    assert counts[0] >= counts[1] >= counts[2]
    assert counts[0] > counts[2]
    # the EU suspension criterion is a status apart: its thresholds never change the anomaly count
    strict = tuning.with_values(saved, None, {"watch": 1.0, "alert": 2.0})
    assert (tuning.counts(stored, CATALOGUE, strict, NOW).alerts
            == tuning.counts(stored, CATALOGUE, saved, NOW).alerts)


def test_counts_at_the_saved_settings_match_the_stored_episodes(demo):
    stored = tuning.stored_scores(demo, NOW)
    counted = tuning.counts(stored, CATALOGUE, load_settings(), NOW)
    count = records.episode_count(demo)  # the open episodes the scan stored: the one count
    assert (counted.alerts, counted.watches) == (count.alert, count.watch) and count.total > 0
    assert counted.by_indicator[["alert", "watch"]].sum().tolist() == [count.alert, count.watch]


def test_indicator_override_equal_to_global_is_dropped():
    saved = load_settings()
    over = tuning.with_values(saved, "refused_entry", {"watch_alpha": 0.02})
    assert over.for_indicator("refused_entry").levels.watch_alpha == 0.02
    assert over.levels.watch_alpha == 0.05
    back = tuning.with_values(over, "refused_entry", {"watch_alpha": 0.05})
    assert "refused_entry" not in back.overrides
    assert tuning.changes(saved, over) == ["indicator.refused_entry.watch_alpha: – → 0.02"]


def test_coverage_cells_mark_missing_and_provisional_months(demo):
    cells = records.coverage_cells(demo, CATALOGUE, indicators=["asylum_applications", "return_decisions",
                                                               "refused_entry"])
    nl = cells[cells["label"] == "First-time asylum applications – Netherlands"]
    assert (nl["state"] == "missing").sum() == 4
    assert nl.set_index("month").loc[pd.Timestamp("2026-10-01"), "state"] == "provisional"
    # A quarterly value covers its three months, an annual one its twelve.
    de = cells[cells["label"] == "Ordered to leave – Germany"]
    assert len(de) % 3 == 0 and (de["state"] == "provisional").sum() == 6
    de = cells[cells["label"] == "Refusals of entry at the external border – Germany"]
    assert len(de) == 11 * 12 and (de["state"] == "provisional").sum() == 12


def test_every_string_key_used_by_the_dashboard_exists_in_every_language():
    sources = [*ROOT.glob("app_pages/*.py"), ROOT / "dashboard.py", *ROOT.glob("monitoring/**/*.py")]
    used: set[str] = set()
    for path in sources:
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z_0-9]+)["']""", text))
    used = {k for k in used if not k.endswith("_")}  # prefixes of keys built at run time (below)
    assert len(used) > 100
    for lang in ("en", "sq", "sr"):
        missing = sorted(k for k in used if k not in strings(lang))
        assert not missing, f"{lang}: {missing}"
    # Keys built at run time: each option of a widget or table.
    dynamic = (
        [f"nav.{p}" for p in ("overview", "explorer", "thresholds", "alerts", "data")]
        + [f"alerts.status_{s}" for s in records.STATUSES]
        + [f"th.method_{m}" for m in ("auto", "glm", "ears")]
        + [f"alerts.col_{c}" for c in records.LOG_COLUMNS]
        + [f"col.{c}" for c in views.CURRENT_COLUMNS]
        + [f"ui.freq_{f}" for f in "MQA"]
        + [f"category.{c}" for c in views.TILE_CATEGORIES]
        + [f"fig.cov_{s}" for s in ("missing", "present", "provisional")]
    )
    for lang in ("en", "sq", "sr"):
        assert not [k for k in dynamic if k not in strings(lang)], lang
    assert strings("sq")["overview.title"] != strings("en")["overview.title"]


def test_the_visa_rule_is_read_as_the_scan_stored_it(demo):
    """The explorer's changes and the briefing's figures come from the stored rule, and that rule is the
    one computed from the observations (``visa_rule``), for every monthly and quarterly count series."""
    from indicators.periods import PANDAS_FREQ, to_period
    from monitoring.briefing.contents import visa_figures
    from monitoring.pipeline import criterion_view as criterion
    from monitoring.statistics.visa_rule import visa_rule

    settings = load_settings()
    rule = criterion.stored_rule(demo, since=None)
    checked = 0
    for indicator_id, geos in views.series_choices(demo, CATALOGUE).items():
        ind = views.indicator_of(CATALOGUE, indicator_id)
        if ind.unit == "percent" or ind.frequency == "A":
            assert views.explorer_view(demo, CATALOGUE, settings, indicator_id, geos[0]).visa.empty
            continue
        for geo in geos:
            view = views.explorer_view(demo, CATALOGUE, settings, indicator_id, geo)
            history = view.history
            values = pd.Series(history["observed"].to_numpy(dtype=float), index=pd.PeriodIndex(
                [to_period(p) for p in history["period"]], freq=PANDAS_FREQ[ind.frequency]))
            computed = visa_rule(values, settings.for_indicator(indicator_id).visa_rule, direction=ind.bad_direction)
            computed = computed[computed.index.start_time >= pd.Timestamp("2023-01-01")]
            for column in ("change_yoy", "change_ref", "change_adjusted"):
                assert view.visa[column].to_numpy() == pytest.approx(computed[column].to_numpy(), nan_ok=True)
            mine = rule[(rule["indicator"] == indicator_id) & (rule["geo"] == geo)]
            last = mine.iloc[-1].to_dict()
            figures = visa_figures(last, ind, last["period"], settings, "en")
            at = computed.loc[to_period(last["period"])]
            assert (figures.observed, figures.year_before) == (at["observed"], at["expected"])
            assert figures.level == ("below", "above_watch", "above_alert")[int(at["status_code"])]
            checked += 1
    assert checked > 20
