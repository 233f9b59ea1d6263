"""Figure builders: the traces and lines a reader relies on are there, in the user's language."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from monitoring.briefing import figures
from monitoring.i18n import t
from monitoring.pipeline import views


def history(n: int = 48, *, levels: dict[int, str] | None = None, provisional: int = 2) -> pd.DataFrame:
    months = pd.period_range("2023-01", periods=n, freq="M")
    observed = 100 + 10 * np.sin(np.arange(n))
    frame = pd.DataFrame(
        {"period": [str(p) for p in months], "period_start": months.start_time, "observed": observed,
         "expected": 100.0, "lower": 80.0, "upper": 125.0, "level": "normal", "provisional": False}
    )
    frame.loc[:11, ["expected", "lower", "upper"]] = np.nan  # the first year is not scored
    frame.loc[:11, "level"] = None
    for pos, level in (levels or {}).items():
        frame.loc[pos, "level"] = level
        frame.loc[pos, "observed"] = 160.0
    frame.loc[n - provisional :, "provisional"] = True
    return frame


def names(fig) -> list[str]:
    return [tr.name for tr in fig.data if tr.name]


def test_series_figure_draws_observed_expected_band_and_markers():
    fig = figures.series_figure(history(levels={30: "watch", 40: "alert"}), title="x")
    assert {"observed", "expected", "watch", "alert", "provisional (hollow)"} <= set(names(fig))
    band = next(tr for tr in fig.data if tr.name == t("fig.band"))
    assert band.fill == "tonexty"
    alert = next(tr for tr in fig.data if tr.name == "alert")
    assert list(alert.y) == [160.0]


def test_provisional_points_are_hollow():
    fig = figures.series_figure(history(provisional=3))
    observed = next(tr for tr in fig.data if tr.name == "observed")
    colours = list(observed.marker.color)
    assert colours[-3:] == ["white"] * 3 and colours[0] != "white"


def test_alert_in_a_provisional_period_uses_an_open_symbol():
    frame = history(levels={47: "alert"}, provisional=1)
    fig = figures.series_figure(frame)
    alert = next(tr for tr in fig.data if tr.name == "alert")
    assert list(alert.marker.symbol) == ["diamond-open"]


def test_visa_free_line_and_events_inside_the_range_only():
    events = pd.DataFrame(
        {"date": ["2015-09-15", "2024-01-01", "2024-06-01"],
         "label": ["Hungary closes its border", "Visa-free travel begins", "A user event"]}
    )
    fig = figures.series_figure(history(), events=events)
    texts = [a.text for a in fig.layout.annotations]
    assert "Visa-free travel begins" in texts and "A user event" in texts
    assert not any("Hungary" in x for x in texts)  # 2015 is outside the chart
    assert texts.count("Visa-free travel begins") == 1  # the seeded event is not drawn twice
    assert len(fig.layout.shapes) == 2
    assert all(a.textangle == -90 for a in fig.layout.annotations)


def test_labels_follow_the_language():
    fig = figures.series_figure(history(levels={40: "alert"}), lang="sq")
    assert "alarm" in names(fig) and t("fig.observed", "sq") in names(fig)


def test_empty_history_says_so():
    fig = figures.series_figure(history().iloc[0:0])
    assert fig.layout.annotations[0].text == t("fig.no_data")


def test_visa_rule_figure_has_both_changes_and_threshold_lines():
    months = pd.period_range("2024-01", periods=12, freq="M")
    changes = pd.DataFrame(
        {"period_start": months.start_time, "change_yoy": np.linspace(-0.1, 0.6, 12),
         "change_ref": np.linspace(0.0, 0.4, 12)}
    )
    fig = figures.visa_rule_figure(changes, watch=0.3, alert=0.5, reference_label="Nov–Dec 2023")
    assert len(fig.data) == 2
    assert [tr.name for tr in fig.data][1].endswith("Nov–Dec 2023")
    lines = sorted(s.y0 for s in fig.layout.shapes if s.y0 == s.y1)
    assert lines == pytest.approx([0, 30, 50])
    assert fig.data[0].y[-1] == pytest.approx(60)


def test_impact_figure_monthly_and_cumulative_with_interval():
    months = pd.period_range("2024-01", periods=6, freq="M")
    excess = pd.Series([10.0, -5, 20, 30, 15, 5])
    impact = pd.DataFrame(
        {"period_start": months.start_time, "excess": excess, "excess_lower": excess - 8,
         "excess_upper": excess + 8, "cumulative": excess.cumsum(), "cumulative_lower": excess.cumsum() - 20,
         "cumulative_upper": excess.cumsum() + 20}
    )
    fig = figures.impact_figure(impact)
    bars = fig.data[0]
    assert list(bars.y) == list(excess)
    assert list(bars.error_y.array) == [8.0] * 6
    assert fig.data[-1].y[-1] == pytest.approx(75)


def test_breakdown_sorted_coloured_by_sign_with_a_legend_and_levels_in_words():
    frame = pd.DataFrame(
        {"geo_name": ["Germany", "France", "Italy"], "excess": [50.0, 120.0, -4.0],
         "level": ["watch", "alert", "normal"]}
    )
    fig = figures.breakdown_figure(frame)
    bar = fig.data[0]
    assert list(bar.y) == ["Italy", "Germany", "France"]
    assert list(bar.marker.color) == [figures.BELOW, figures.ABOVE, figures.ABOVE]
    assert figures.ALERT not in list(bar.marker.color)  # a level is a word beside the bar, not a colour
    assert list(bar.text) == ["−4", "+50 · watch", "+120 · alert"]
    legend = {tr.name: tr.marker.color for tr in fig.data if tr.showlegend is not False}
    assert legend == {"above its expected value": figures.ABOVE, "below its expected value": figures.BELOW}


def test_a_negative_bar_is_never_red_even_at_an_alarm_level():
    frame = pd.DataFrame({"geo_name": ["Germany"], "excess": [-30.0], "level": ["alert"]})
    assert list(figures.breakdown_figure(frame).data[0].marker.color) == [figures.BELOW]


def test_breakdown_states_the_total_and_why_the_parts_differ():
    frame = pd.DataFrame({"geo_name": ["Germany", "France"], "excess": [-40.0, 15.0], "level": ["normal"] * 2,
                          "observed": [100.0, 60.0], "expected": [140.0, 45.0]})
    total = views.BreakdownTotal(observed=170.0, expected=150.0, parts_observed=160.0, parts_expected=185.0)
    fig = figures.breakdown_figure(frame, total=total)
    sums = fig.data[-1]
    assert list(sums.x) == [-25.0, 20.0]  # the destinations' sum, the EU+ total's own excess
    assert sum(fig.data[0].x) == pytest.approx(sums.x[0])
    note = " ".join(a.text for a in fig.layout.annotations).replace("<br>", " ")
    assert "add up to −25" in note and "170 against 150 expected, +20" in note
    # 20 - (-25) = 45: +35 from the baselines (185 - 150), +10 in destinations not shown (170 - 160)
    assert "The difference, +45: +35 because each destination has its own baseline" in note
    assert "+10 in EU+ destinations not shown" in note


def test_coverage_figure_codes_states():
    months = pd.date_range("2024-01-01", periods=4, freq="MS")
    frame = pd.DataFrame(
        {"label": ["A"] * 4 + ["B"] * 2, "month": list(months) + list(months[:2]),
         "state": ["present", "missing", "present", "provisional", "present", "present"]}
    )
    fig = figures.coverage_figure(frame)
    heat = fig.data[0]
    z = np.asarray(heat.z)
    assert list(heat.y) == ["B", "A"]  # first label on top
    assert list(z[1]) == [1, 0, 1, 2]
    assert list(z[0]) == [1, 1, 0, 0]  # B has no rows for the last two months: missing


def test_small_multiples_one_panel_each():
    fig = figures.small_multiples_figure([("a", history(levels={40: "alert"})), ("b", history())], columns=2)
    assert [a.text for a in fig.layout.annotations] == ["a", "b"]


def test_alert_log_figure_stacks_levels_by_quarter():
    months = ["2026-01-01", "2026-01-01", "2026-02-01", "2026-04-01"]
    levels = ["alert", "watch", "alert", "alert"]
    log = pd.DataFrame({"period_start": pd.to_datetime(months), "level": levels})
    fig = figures.alert_log_figure(log)
    assert [tr.name for tr in fig.data] == ["alert", "watch"]
    assert list(fig.data[0].y) == [2, 1]  # January and February fall in the same quarter


def test_event_labels_typed_by_users_are_shown_escaped():
    import pandas as pd

    from monitoring.briefing.figures import add_events

    label = "<b>raid</b> & <a href='javascript:alert(1)'>x</a>"
    events = pd.DataFrame({"date": [pd.Timestamp("2025-03-01")], "label": [label]})
    fig = add_events(__import__("plotly.graph_objects").graph_objects.Figure(), events,
                     pd.Timestamp("2025-01-01"), pd.Timestamp("2025-12-31"))
    texts = [a.text for a in fig.layout.annotations] + [a.hovertext for a in fig.layout.annotations]
    # the only tag is the figure's own line break in a wrapped label
    assert all("<" not in t and ">" not in t for t in (x.replace("<br>", "") for x in texts))
    hover = fig.layout.annotations[0].hovertext
    assert hover == "&lt;b&gt;raid&lt;/b&gt; &amp; &lt;a href=&#x27;javascript:alert(1)&#x27;&gt;x&lt;/a&gt;"


def test_an_annual_series_has_years_on_its_axis():
    import pandas as pd

    from monitoring.briefing.figures import series_figure

    years = [str(y) for y in range(2018, 2026)]
    history = pd.DataFrame({"period": years, "period_start": pd.to_datetime([f"{y}-01-01" for y in years]),
                            "observed": 100.0, "expected": 100.0, "lower": 80.0, "upper": 120.0,
                            "level": "normal", "provisional": False})
    axis = series_figure(history).layout.xaxis
    assert (axis.dtick, axis.tickformat) == ("M12", "%Y")
    monthly = history.assign(period=[f"{y}-01" for y in years])
    assert series_figure(monthly).layout.xaxis.tickformat is None


SEEDED = "EU adopts the visa exemption for Kosovo (Regulation (EU) 2023/850)"


@pytest.mark.parametrize("lang", ["en", "sq", "sr"])
def test_a_seeded_event_is_shown_in_the_language_and_whole(lang):
    events = pd.DataFrame({"date": ["2023-04-19", "2023-06-01"], "label": [SEEDED, "A user <b>event</b>"],
                           "created_by": ["system", "analyst"]})
    fig = figures.series_figure(history(), events=events, lang=lang)
    by_hover = {a.hovertext: a.text for a in fig.layout.annotations if a.hovertext}
    label = t("event.eu_visa_exemption_2023", lang)
    assert (label == SEEDED) == (lang == "en")
    shown = by_hover[label]
    # the whole label, on lines short enough to fit the plot's height (never cut at the plot's top)
    assert shown.replace("<br>", " ") == label and "…" not in shown
    assert all(len(line) <= figures.EVENT_LINE_CHARS for line in shown.split("<br>"))
    # a user's event stays as written (escaped)
    assert by_hover["A user &lt;b&gt;event&lt;/b&gt;"] == "A user &lt;b&gt;event&lt;/b&gt;"


def test_a_user_event_with_a_seeded_label_stays_as_written():
    events = pd.DataFrame({"date": ["2023-04-19"], "label": [SEEDED], "created_by": ["analyst"]})
    fig = figures.series_figure(history(), events=events, lang="sq")
    assert any(a.hovertext == SEEDED for a in fig.layout.annotations)


def test_a_very_long_event_label_is_cut_only_after_two_lines():
    text = figures.event_text("word " * 40)
    assert text.count("<br>") == 1 and text.endswith("…")


def test_the_legend_is_below_the_plot_not_over_the_title():
    fig = figures.series_figure(history(levels={40: "alert", 41: "watch"}), title="A long title", lang="sq")
    assert fig.layout.legend.yanchor == "top" and fig.layout.legend.y < 0
