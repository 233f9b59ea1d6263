"""The audit log: every write path appends exactly one row (who, when, what, before, after), nothing
deletes a row, the CLI shows and exports it; text people type is stored verbatim everywhere."""

from __future__ import annotations

import csv
import datetime as dt
import inspect
import io
import json
import re
from pathlib import Path

import pytest

from indicators.__main__ import main
from indicators.catalogue import load_catalogue
from indicators.loaders import load_files
from indicators.store import Store, audit, backup, deletion, digests, episodes, events, observations, results
from indicators.store.audit import read_audit
from tests.populated import TODAY, master_copy, series_csv

ROOT = Path(__file__).resolve().parents[1]
CLOCK = dt.datetime(2026, 11, 26, 10, 30)


@pytest.fixture
def db(tmp_path_factory, tmp_path) -> Store:
    store = master_copy(tmp_path_factory, tmp_path / "m.duckdb")
    store.clock = lambda: CLOCK
    return store


def _first_episode(store) -> int:
    return int(episodes.read_episodes(store).iloc[-1]["id"])


def _episode_target(store) -> str:
    row = episodes.read_episodes(store).iloc[-1]
    return f"episode {row['id']}: {row['indicator']}/{row['geo']} from {row['start_period']}"


def _load(store, tmp_path):
    load_files(store, [series_csv(tmp_path / "new.csv", shift=3)], catalogue=load_catalogue(),
               today=TODAY.date(), who="cleo")


def _restore(store, tmp_path):
    backup.backup(store, tmp_path / "bk")
    backup.restore(store, tmp_path / "bk", who="cleo")


WRITES = {
    # name: (the write, action, target, check of (before, after, reason))
    "load": (_load, "load", lambda t: str(t / "new.csv"),
             lambda b, a, r: b is None and a == "load 3: 0 new, 9 revised, 342 unchanged" and r is None),
    "threshold change": (
        lambda s, t: results.save_settings(s, '{"levels": {"watch_alpha": 0.1}}', who="cleo", reason="fewer alerts"),
        "settings", lambda t: "thresholds",
        lambda b, a, r: json.loads(b)["method"] == "auto" and a == '{"levels": {"watch_alpha": 0.1}}'
        and r == "fewer alerts"),
    "acknowledgement": (
        lambda s, t: episodes.set_episode_status(s, _first_episode(s), status="acknowledged", who="cleo",
                                                 comment="ok"),
        "episode_status", lambda t: None,
        lambda b, a, r: (b, a, r) == ("open", "acknowledged", "ok")),
    "event add": (lambda s, t: events.add_event(s, "2026-01-02", "New rule", "cleo"), "event.add",
                  lambda t: "event 9", lambda b, a, r: b is None and json.loads(a)["label"] == "New rule"),
    "event edit": (lambda s, t: events.update_event(s, 8, "cleo", label="Renamed"), "event.update",
                   lambda t: "event 8",
                   lambda b, a, r: json.loads(b)["label"] == "Local election" and json.loads(a)["label"] == "Renamed"),
    "event delete": (lambda s, t: events.delete_event(s, 8, "cleo"), "event.delete", lambda t: "event 8",
                     lambda b, a, r: not json.loads(b)["deleted"] and json.loads(a)["deleted"]),
    "deletion": (
        lambda s, t: deletion.delete(s, "asylum_applications", "DE", who="cleo", since=dt.date(2026, 4, 1),
                                     until=dt.date(2026, 6, 30)),
        "delete", lambda t: "asylum_applications DE 2026-04..2026-06",
        lambda b, a, r: b.startswith("3 values: 2026-04=") and a.startswith("deleted (deletion 3;") and r is None),
    "restore": (_restore, "restore", lambda t: str(t / "bk"),
                lambda b, a, r: all(sum(json.loads(x)[k]["audit"] for k in ("tables", "journal_tables")) == 5
                                    for x in (b, a))),
    "digest sent": (
        lambda s, t: digests.record_sent(s, [{"change_key": "new:x:FR:2026-09", "kind": "new"}], lang="sq",
                                         recipients=["b@x.org", "a@x.org"], subject="Alarm i ri", who="cleo"),
        "digest_sent", lambda t: "digest sq: 1 change(s)",
        lambda b, a, r: b is None and a == "a@x.org, b@x.org" and r == "Alarm i ri"),
    "recipients": (
        lambda s, t: digests.save_recipients(s, '{"en": {"all": ["a@x.org"]}}', who="cleo", reason="new desk"),
        "digest_recipients", lambda t: "recipients 1",
        lambda b, a, r: b is None and a == '{"en": {"all": ["a@x.org"]}}' and r == "new desk"),
}


@pytest.mark.parametrize("name", list(WRITES))
def test_each_write_path_appends_exactly_one_row(db, tmp_path, name):
    write, action, target, check = WRITES[name]
    before = read_audit(db)
    write(db, tmp_path)
    after = read_audit(db)
    assert after.iloc[: len(before)].equals(before)  # nothing earlier changed
    assert len(after) == len(before) + 1
    row = after.iloc[-1].to_dict()
    expected_target = target(tmp_path) or _episode_target(db)
    assert (row["who"], row["logged_at"], row["action"], row["target"]) == ("cleo", CLOCK, action, expected_target)
    assert check(*(None if v is None or v != v else v for v in (row["before"], row["after"], row["reason"])))


def test_a_load_that_changes_nothing_writes_nothing(db, tmp_path):
    path = series_csv(tmp_path / "same.csv", shift=7)  # the populated database's second load
    before = db.path.read_bytes()
    load_files(db, [path], catalogue=load_catalogue(), today=TODAY.date())
    assert db.path.read_bytes() == before


# Every function that opens a write is either audited above or a derived/system write.
AUDITED = {"observations.apply_load", "results.save_settings", "episodes.set_episode_status", "events.add_event",
           "events.update_event", "events.delete_event", "backup.restore", "deletion.delete",
           "digests.record_sent", "digests.save_recipients"}
EXEMPT = {
    "Store.ensure_schema": "creates or migrates the schema",
    "observations.sync_catalogue": "copies the catalogue file (versioned in git) into the database",
    "results.write_scan": "derived results; the runs table logs who scanned and when",
    "results.write_levels": "levels derived from the audited settings",
    "episodes.apply_review_changes": "a scan's reopenings, each with its audit row by system; other review changes "
                                     "only set the reference peak of an acknowledgement kept from before v6",
    "episodes.record_actions": "the data_deleted note in a withdrawn episode's history; the deletion's audit row "
                               "says it",
}


def test_every_write_path_is_audited_or_knowingly_exempt():
    from indicators import store as store_package

    found = set()
    for module in (observations, results, episodes, events, backup, audit, deletion, digests):
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__ and re.search(r"\.write\(", inspect.getsource(fn)):
                found.add(f"{module.__name__.rsplit('.', 1)[1]}.{name}")
    for name, fn in inspect.getmembers(store_package.Store, inspect.isfunction):
        if re.search(r"self\.write\(", inspect.getsource(fn)):
            found.add(f"Store.{name}")
    assert found == AUDITED | set(EXEMPT)


_CHANGES_AUDIT = re.compile(
    r"\b(DELETE\s+FROM|UPDATE|TRUNCATE(\s+TABLE)?|DROP\s+TABLE(\s+IF\s+EXISTS)?|ALTER\s+TABLE|INSERT\s+OR\s+REPLACE\s+INTO)"
    r"\s+[\"\w.]*\baudit\b", re.IGNORECASE)


def test_no_code_updates_or_deletes_audit_rows():
    sources = [p for d in ("indicators", "monitoring", "app_pages", "tools") for p in (ROOT / d).rglob("*.py")]
    sources += [ROOT / "dashboard.py"]
    offenders = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in sources if p.exists()
                 for m in _CHANGES_AUDIT.finditer(p.read_text(encoding="utf-8"))]
    assert offenders == []
    assert _CHANGES_AUDIT.search('con.execute("DELETE FROM audit WHERE id = 1")')  # the check can fail
    public = [n for n, _ in inspect.getmembers(audit, inspect.isfunction) if not n.startswith("_")]
    assert not [n for n in public if re.search("delete|remove|clear|purge|truncate|prune", n)]


TEXTS = {
    "quotes": "He said \"stop\" and 'go'",
    "backslashes": r"C:\new\table \n \\ \" \x00",
    "newlines": "first line\nsecond line\r\nthird\rfourth\n",
    "html": "<script>alert('x')</script><b>bold</b> &amp; &lt;/td>",
    "unicode": "Prishtinë, Čačak, Ђурђевдан, ç — 😀👍🏽 ✓",
    "sql": "'; DROP TABLE audit; --",
    "formula": "=cmd|' /C calc'!A0",
    "spaces": "  padded  \t",
    "long": "x" * 10_000,
    "null": "NULL",
}


@pytest.mark.parametrize("kind", list(TEXTS))
def test_typed_text_is_stored_verbatim(db, kind):
    text = TEXTS[kind]
    event_id = events.add_event(db, "2026-02-03", text, text)
    listed = events.list_events(db)
    assert listed.loc[listed["id"] == event_id, ["label", "created_by"]].values.tolist() == [[text, text]]
    events.update_event(db, event_id, "x", label=text + "!")
    assert events.list_events(db).set_index("id").at[event_id, "label"] == text + "!"
    key = _first_episode(db)
    episodes.set_episode_status(db, key, status="acknowledged", who=text, comment=text)
    episode = episodes.read_episodes(db).set_index("id").loc[key]
    assert (episode["comment"], episode["status_by"]) == (text, text)
    assert episodes.episode_actions(db, key).iloc[-1]["comment"] == text
    settings_id = results.save_settings(db, "{}", who=text, reason=text)
    log = results.settings_log(db).set_index("id")
    assert (log.at[settings_id, "reason"], log.at[settings_id, "who"]) == (text, text)
    logged = read_audit(db).tail(4)
    assert json.loads(logged.iloc[0]["after"])["label"] == text
    assert json.loads(logged.iloc[1]["after"])["label"] == text + "!"
    assert logged.iloc[2]["reason"] == text and logged.iloc[3]["reason"] == text
    assert logged["who"].tolist()[2:] == [text, text]


def _run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_cli_prints_and_exports_the_log(db, tmp_path):
    results.save_settings(db, "{}", who="Dritë", reason=TEXTS["formula"])
    code, out, err = _run("audit", "--db", db.path)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == len(read_audit(db))
    assert lines[-1] == "     6  2026-11-26 10:30:00  Dritë  settings thresholds  reason: \"=cmd|' /C calc'!A0\""
    target = tmp_path / "audit.csv"
    code, out, err = _run("audit", "--db", db.path, "--out", target)
    assert (code, out, err) == (0, f"wrote 6 audit rows to {target}\n", "")
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel reads the ë right
    with open(target, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(audit.COLUMNS)
    assert [r["id"] for r in rows] == ["1", "2", "3", "4", "5", "6"]
    # A cell a spreadsheet would run as a formula is exported behind an apostrophe; the database keeps it.
    assert (rows[-1]["who"], rows[-1]["reason"]) == ("Dritë", "'" + TEXTS["formula"])
    assert read_audit(db).iloc[-1]["reason"] == TEXTS["formula"]
