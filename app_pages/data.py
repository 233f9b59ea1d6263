"""Data: coverage, loads and revisions; upload files or fetch Kosovo's Eurostat data (same loader and
messages as the CLI); events."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from app_pages import cache, common, deletion, downloads
from indicators import eurostat, excel, fetch
from indicators.validation import LoadError
from monitoring.briefing import figures
from monitoring.i18n import t
from monitoring.narrative import episodes_text
from monitoring.pipeline import actions, records


def render() -> None:
    lang = common.lang()
    st.title(t("data.title", lang))
    common.show_flash()
    # Each part on its own: data the monitor cannot read (a year-0 period an old version let in) breaks
    # the chart that reads it, never the forms that load more data or delete the bad series.
    for part in (_coverage, _logs, deletion.render, _upload, _fetch, _events):
        common.guarded(lambda part=part: part(lang))


def _coverage(lang: str) -> None:
    cat = cache.desk().catalogue
    ids = [i.id for i in cat.indicators]
    chosen = st.multiselect(t("data.coverage_of", lang), ids, default=ids[:3], key="da_indicators",
                            format_func=lambda i: cat[i].name_in(lang), placeholder=t("data.all", lang))
    cells = cache.coverage_cells(tuple(chosen), lang)
    coverage = figures.coverage_figure(cells, lang=lang, title=t("data.coverage_title", lang))
    st.plotly_chart(coverage, width="stretch", key="coverage_chart")
    downloads.chart(coverage, downloads.meta(t("data.coverage_title", lang)), "coverage", "da_chart")
    with st.expander(t("data.coverage_table", lang)):
        cov = cache.data_tables(lang).coverage
        st.dataframe(
            cov, hide_index=True, width="stretch", column_config={c: t(f"data.col_{c}", lang) for c in cov}
        )
        downloads.table(cache.data_tables(lang).coverage_sheet, {c: t(f"data.col_{c}", lang) for c in cov},
                        "coverage", "da_table", title=t("data.coverage_table", lang))


def _logs(lang: str) -> None:
    left, right = st.columns(2)
    with left:
        st.subheader(t("data.loads", lang))
        loads = cache.data_tables(lang).loads
        st.dataframe(loads, hide_index=True, width="stretch", height=260,
                     column_config={c: t(f"data.col_{c}", lang) for c in loads})
    with right:
        st.subheader(t("data.revisions", lang))
        revs = cache.data_tables(lang).revisions
        if revs.empty:
            st.caption(t("data.no_revisions", lang))
        else:
            st.dataframe(revs, hide_index=True, width="stretch", height=260,
                         column_config={c: t(f"data.col_{c}", lang) for c in revs})


def _upload(lang: str) -> None:
    st.subheader(t("data.upload", lang))
    st.caption(t("data.upload_help", lang))
    # A new key after each successful load empties the file box (a widget's files cannot be reset).
    files = st.file_uploader(
        t("data.files", lang), type=["csv", "tsv", "txt", "gz", "xlsx"], accept_multiple_files=True,
        key=f"da_files_{st.session_state.get('_upload_round', 0)}"
    )
    _indicator_ids(lang)
    mappings = {}
    for n, f in enumerate(files or []):
        if f.name.lower().endswith(".xlsx") and not _has_tidy_sheet(f.getvalue()):
            mapping = _mapping(lang, f.name, f.getvalue(), f"da_map{n}")
            if mapping is not None:
                mappings[f.name] = mapping
    if (
        st.button(t("data.load", lang), type="primary", disabled=not files, key="da_load")
        and common.require_analyst()
    ):
        progress = common.progress_bar(lang)
        try:
            result = actions.upload_files(cache.desk().store, cache.desk().catalogue, cache.settings(),
                                          [(f.name, f.getvalue()) for f in files], today=cache.today(),
                                          who=common.current_user()[0], progress=progress,
                                          sheet_mappings=mappings, indicator_hint=t("data.indicator_hint", lang))
        except LoadError as exc:
            progress.bar.empty()
            st.error(t("data.load_failed", lang))
            st.code(str(exc), language=None, wrap_lines=True)  # quoted file content: shown as text
            return
        progress.bar.empty()
        lines = [common.md_escape(r.summary()) for r in result.reports]  # file names shown as uploaded
        if result.scan is not None:
            lines.append(t("data.rescanned", lang, n=len(result.touched), episodes=episodes_text(result.scan.episodes, lang)))
        common.flash("\n\n".join(lines))
        st.session_state["_upload_round"] = st.session_state.get("_upload_round", 0) + 1
        st.rerun()


def _indicator_ids(lang: str) -> None:
    """The catalogue's ids, for a file's indicator column (the unknown-indicator message points here)."""
    cat = cache.desk().catalogue
    with st.expander(t("data.ids", lang)):
        table = pd.DataFrame({
            "id": [i.id for i in cat.indicators],
            "name": [i.name_in(lang) for i in cat.indicators],
            "unit": [t(f"unit.{i.unit}", lang) for i in cat.indicators],
            "frequency": [t(f"ui.freq_{i.frequency}", lang) for i in cat.indicators],
        })
        st.dataframe(table, hide_index=True, width="stretch", key="da_ids",
                     column_config={c: t(f"data.ids_{c}", lang) for c in table})


def _mapping(lang: str, name: str, data: bytes, key: str) -> excel.SheetMapping | None:
    """The controls that say how to read a workbook's wide sheet, with a preview of its first rows."""
    sheets = _sheet_names(data)
    if not sheets:
        return None  # the load names what is wrong with the file
    cat = cache.desk().catalogue
    with st.container(border=True):
        st.markdown(t("data.xlsx_wide", lang, file="`" + name.replace("`", "'") + "`"))
        left, right = st.columns([1, 2])
        with left:
            sheet = st.selectbox(t("data.xlsx_sheet", lang), sheets, key=f"{key}_sheet")
            indicator = st.selectbox(t("data.xlsx_indicator", lang), cat.ids, key=f"{key}_indicator",
                                     format_func=lambda i: cat[i].name_in(lang))
            layout = st.radio(t("data.xlsx_layout", lang), excel.LAYOUTS, key=f"{key}_layout",
                              format_func=lambda v: t(f"data.xlsx_layout_{v}", lang))
        table = _preview(data, sheet)
        letters = list(table.columns) or ["A"]
        with right:
            st.caption(t("data.xlsx_preview", lang))
            st.dataframe(table, width="stretch", height=min(38 + 35 * len(table), 460))
        home = cat[indicator].geo_role == "home"
        one, two, three, four = st.columns(4)
        geo = one.text_input(t("data.xlsx_geo", lang), value="XK" if home else "", key=f"{key}_geo_{indicator}",
                             help=t(f"data.xlsx_geo_help_{layout}", lang)).strip().upper()
        column = two.selectbox(t(f"data.xlsx_key_{layout}", lang), letters, key=f"{key}_key_{layout}")
        header = three.number_input(t("data.xlsx_header_row", lang), min_value=0, value=0, step=1,
                                    key=f"{key}_header", help=t("data.xlsx_header_help", lang))
        value = None
        if layout == "rows" and geo:  # one value column: which one, when the sheet has several
            value = four.selectbox(t("data.xlsx_value_column", lang), [None, *letters], key=f"{key}_value",
                                   format_func=lambda c: t("data.xlsx_only_one", lang) if c is None else c)
    return excel.SheetMapping(sheet, indicator, layout, geo=geo or None,
                              geo_column=column if layout == "columns" else None,
                              period_column=column if layout == "rows" else None, header_row=int(header) or None,
                              value_column=value)


@st.cache_data(show_spinner=False, max_entries=8)
def _has_tidy_sheet(data: bytes) -> bool:
    return excel.has_tidy_sheet(data)


@st.cache_data(show_spinner=False, max_entries=8)
def _sheet_names(data: bytes) -> list[str]:
    return excel.sheet_names(data)


@st.cache_data(show_spinner=False, max_entries=16)
def _preview(data: bytes, sheet: str):
    return excel.preview(data, sheet)
def _dataset_label(code: str, lang: str) -> str:
    cat = cache.desk().catalogue
    names = dict.fromkeys(cat[e.indicator].name_in(lang) for e in eurostat.load_mapping()[code]
                          if e.indicator in cat)
    return f"{code} – {', '.join(names)}"


def _fetch(lang: str) -> None:
    st.subheader(t("data.fetch", lang))
    st.caption(t("data.fetch_help", lang, url=fetch.base_url()))
    mapped = fetch.mapped_datasets(cache.desk().catalogue)
    chosen = st.pills(t("data.fetch_datasets", lang), mapped, selection_mode="multi", default=mapped,
                      key="da_fetch_datasets", format_func=lambda d: _dataset_label(d, lang)) or []
    left, right, _ = st.columns([1, 1, 2], vertical_alignment="bottom")
    since = left.text_input(t("data.fetch_since", lang), key="da_fetch_since",
                            placeholder=t("data.fetch_since_placeholder", lang),
                            help=t("data.fetch_since_help", lang)).strip()
    clicked = right.button(t("data.fetch_button", lang), type="primary", disabled=not chosen, key="da_fetch")
    kind, message = st.session_state.pop("_fetch_result", (None, None))
    if message:  # the last fetch's report, here beside the button rather than at the top of the page
        getattr(st, kind)(message)
    if not (clicked and common.require_analyst()):
        return
    if since and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", since):
        st.error(t("data.fetch_bad_since", lang, since=common.md_escape(since)))
        return
    bar = st.progress(0.0, text=t("data.fetch_start", lang))

    def progress(done: int, total: int, dataset: str) -> None:
        text = t("data.fetching", lang, done=done + 1, total=total, dataset=dataset) if dataset \
            else t("data.fetch_loading", lang)
        bar.progress(done / max(total, 1), text=text)

    scan: dict = {}

    def scan_progress(done: int, total: int, label: str) -> None:  # the rescan's bar, once it starts
        if "bar" not in scan:
            scan["bar"] = common.progress_bar(lang)
        scan["bar"](done, total, label)

    try:
        result = actions.fetch_eurostat(cache.desk().store, cache.desk().catalogue, cache.settings(), datasets=chosen,
                                        since=since or None, today=cache.today(), who=common.current_user()[0],
                                        progress=progress, scan_progress=scan_progress)
    except (fetch.FetchError, LoadError) as exc:
        bar.empty()
        st.error(t("data.fetch_failed", lang))
        st.code(str(exc), language=None, wrap_lines=True)  # text from the network: shown as is, never markdown
        return
    bar.empty()
    if "bar" in scan:
        scan["bar"].bar.empty()
    lines = [common.md_escape(line) for line in result.lines]
    if result.scan is not None:
        lines.append(t("data.rescanned", lang, n=len(result.touched), episodes=episodes_text(result.scan.episodes, lang)))
    st.session_state["_fetch_result"] = ("success", "  \n".join(lines))  # one line per dataset, compact
    st.rerun()


def _events(lang: str) -> None:
    st.subheader(t("data.events", lang))
    evts = cache.data_tables(lang).events
    st.dataframe(evts, hide_index=True, width="stretch", height=240, column_order=records.EVENT_COLUMNS,
                 column_config={c: t(f"data.col_{c}", lang) for c in records.EVENT_COLUMNS})
    add, edit = st.columns(2)
    with add, st.form("add_event", clear_on_submit=True):
        st.markdown(f"**{t('data.add_event', lang)}**")
        date = st.date_input(t("data.col_date", lang), value=None, key="ev_date")
        label = st.text_input(t("data.col_label", lang), key="ev_label")
        cat = cache.desk().catalogue
        indicator = st.selectbox(t("data.event_indicator", lang), [None, *cat.ids], key="ev_indicator",
                                 format_func=lambda i: t("data.every_indicator", lang) if i is None
                                 else cat[i].name_in(lang))
        geo = st.text_input(t("data.event_geo", lang), key="ev_geo", help=t("data.event_geo_help", lang))
        if st.form_submit_button(t("data.add", lang)) and common.require_analyst():
            if date is None or not label.strip():
                st.error(t("data.event_needs", lang))
            else:
                actions.add_event(cache.desk().store, date, label.strip(), who=common.current_user()[0],
                                  indicator=indicator, geo=geo.strip().upper() or None)
                common.flash(t("data.event_added", lang))
                st.rerun()
    if evts.empty:
        return
    with edit:
        chosen = st.selectbox(
            t("data.edit_event", lang),
            list(evts["id"]),
            key="ev_edit",
            format_func=lambda i: (
                f"{evts.set_index('id').at[i, 'date']:%Y-%m-%d} – {evts.set_index('id').at[i, 'label']}"
            ),
        )
        row = evts.set_index("id").loc[chosen]
        with st.form(f"edit_event_{chosen}"):
            date = st.date_input(t("data.col_date", lang), value=row["date"], key=f"ev_edit_date_{chosen}")
            label = st.text_input(
                t("data.col_label", lang), value=row["label_as_written"], key=f"ev_edit_label_{chosen}"
            )
            delete = st.checkbox(t("data.delete_event", lang), key=f"ev_delete_{chosen}")
            if st.form_submit_button(t("data.save_event", lang)) and common.require_analyst():
                store, who = cache.desk().store, common.current_user()[0]
                if delete:
                    actions.delete_event(store, int(chosen), who=who)
                else:
                    actions.update_event(store, int(chosen), who=who, date=date, label=label.strip(),
                                         indicator=row["indicator_id"], geo=row["geo_code"])
                common.flash(t("data.event_saved", lang))
                st.rerun()


common.guarded(render)
