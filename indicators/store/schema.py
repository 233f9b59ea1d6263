"""The database schema, created and migrated on open. Each migration is a list of statements."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import duckdb

from indicators.store import db, journal
from indicators.store.db import StoreError
from indicators.store.journal import Journal

# Known events worth seeding as annotations (DESIGN §3; dates from public sources).
SEED_EVENTS = (
    ("2014-09-01", "Irregular departures of Kosovo nationals through Serbia and Hungary rise (peak winter 2014–15)"),
    ("2015-09-15", "Hungary closes its border with Serbia"),
    ("2015-10-24", "Germany lists Kosovo as a safe country of origin"),
    ("2016-01-01", "Germany's Western Balkans labour-migration rule takes effect"),
    ("2020-03-15", "COVID-19 border closures"),
    ("2023-04-19", "EU adopts the visa exemption for Kosovo (Regulation (EU) 2023/850)"),
    ("2024-01-01", "Visa-free travel to the Schengen area begins"),
)

_V1 = [
    "CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    """CREATE TABLE indicators (
        id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, unit VARCHAR, frequency VARCHAR NOT NULL,
        category VARCHAR, bad_direction VARCHAR, source VARCHAR, dataset VARCHAR, description VARCHAR)""",
    "CREATE SEQUENCE load_ids START 1",
    """CREATE TABLE loads (
        id INTEGER PRIMARY KEY, file VARCHAR NOT NULL, sha256 VARCHAR NOT NULL, format VARCHAR,
        loaded_at TIMESTAMP NOT NULL, loaded_by VARCHAR, synthetic BOOLEAN DEFAULT false,
        rows_new INTEGER, rows_revised INTEGER, rows_unchanged INTEGER)""",
    """CREATE TABLE observations (
        indicator VARCHAR NOT NULL, geo VARCHAR NOT NULL, period VARCHAR NOT NULL, period_start DATE NOT NULL,
        value DOUBLE, flag VARCHAR, load_id INTEGER NOT NULL, loaded_at TIMESTAMP NOT NULL,
        source_file VARCHAR, PRIMARY KEY (indicator, geo, period))""",
    """CREATE TABLE revisions (
        indicator VARCHAR NOT NULL, geo VARCHAR NOT NULL, period VARCHAR NOT NULL, value DOUBLE, flag VARCHAR,
        load_id INTEGER, loaded_at TIMESTAMP, source_file VARCHAR,
        replaced_by_load INTEGER NOT NULL, replaced_at TIMESTAMP NOT NULL)""",
    "CREATE SEQUENCE event_ids START 1",
    """CREATE TABLE events (
        id INTEGER PRIMARY KEY, date DATE NOT NULL, label VARCHAR NOT NULL, indicator VARCHAR, geo VARCHAR,
        created_by VARCHAR, created_at TIMESTAMP, updated_at TIMESTAMP, deleted BOOLEAN DEFAULT false)""",
    "CREATE SEQUENCE audit_ids START 1",
    """CREATE TABLE audit (
        id BIGINT PRIMARY KEY, logged_at TIMESTAMP NOT NULL, who VARCHAR NOT NULL, action VARCHAR NOT NULL,
        target VARCHAR, before VARCHAR, after VARCHAR, reason VARCHAR)""",
]

_SCORE_COLUMNS = (
    # The monitoring layer's stored frame (monitoring/statistics/stored.py): per-period channel parameters
    # from which levels are recomputed at any threshold without refitting.
    "direction VARCHAR, observed DOUBLE, provisional_flag BOOLEAN, recent_sum DOUBLE, last_year DOUBLE, "
    "glm_expected DOUBLE, glm_lower DOUBLE, glm_upper DOUBLE, glm_score DOUBLE, glm_p_value DOUBLE, "
    "glm_dispersion DOUBLE, glm_se_log DOUBLE, glm_n_baseline DOUBLE, "
    "ears_expected DOUBLE, ears_lower DOUBLE, ears_upper DOUBLE, ears_score DOUBLE, ears_p_value DOUBLE, "
    "stl_expected DOUBLE, stl_lower DOUBLE, stl_upper DOUBLE, stl_score DOUBLE, stl_p_value DOUBLE, "
    "cusum_expected DOUBLE, cusum_statistic DOUBLE, cusum_side DOUBLE, cusum_shift_start VARCHAR, "
    "visa_observed DOUBLE, visa_expected DOUBLE, visa_reference DOUBLE, visa_change_yoy DOUBLE, "
    "visa_change_ref DOUBLE"
)

_V2 = [
    "CREATE SEQUENCE run_ids START 1",
    """CREATE TABLE runs (
        id INTEGER PRIMARY KEY, started_at TIMESTAMP NOT NULL, finished_at TIMESTAMP, who VARCHAR,
        settings VARCHAR, data_vintage INTEGER, series_total INTEGER, series_refitted INTEGER,
        periods_scored INTEGER, alerts INTEGER, watches INTEGER)""",
    """CREATE TABLE series_state (
        indicator VARCHAR NOT NULL, geo VARCHAR NOT NULL, fingerprint VARCHAR NOT NULL, fit_hash VARCHAR NOT NULL,
        run_id INTEGER NOT NULL, note VARCHAR, PRIMARY KEY (indicator, geo))""",
    f"""CREATE TABLE scores (
        indicator VARCHAR NOT NULL, geo VARCHAR NOT NULL, period VARCHAR NOT NULL, period_start DATE NOT NULL,
        {_SCORE_COLUMNS}, run_id INTEGER NOT NULL, PRIMARY KEY (indicator, geo, period))""",
    """CREATE TABLE results (
        indicator VARCHAR NOT NULL, geo VARCHAR NOT NULL, period VARCHAR NOT NULL, period_start DATE NOT NULL,
        observed DOUBLE, expected DOUBLE, lower DOUBLE, upper DOUBLE, score DOUBLE, p_value DOUBLE,
        level VARCHAR NOT NULL, channels VARCHAR, provisional BOOLEAN, change_yoy DOUBLE, change_ref DOUBLE,
        last_year DOUBLE, reason VARCHAR, PRIMARY KEY (indicator, geo, period))""",
    """CREATE TABLE alerts (
        indicator VARCHAR NOT NULL, geo VARCHAR NOT NULL, period VARCHAR NOT NULL, period_start DATE NOT NULL,
        first_run INTEGER, first_seen TIMESTAMP NOT NULL, first_level VARCHAR NOT NULL, first_observed DOUBLE,
        first_expected DOUBLE, first_upper DOUBLE, first_lower DOUBLE, first_reason VARCHAR,
        level VARCHAR NOT NULL, last_run INTEGER, status VARCHAR NOT NULL DEFAULT 'open', status_by VARCHAR,
        status_at TIMESTAMP, comment VARCHAR, expires DATE, PRIMARY KEY (indicator, geo, period))""",
    "CREATE SEQUENCE alert_action_ids START 1",
    """CREATE TABLE alert_actions (
        id INTEGER PRIMARY KEY, indicator VARCHAR NOT NULL, geo VARCHAR NOT NULL, period VARCHAR NOT NULL,
        action VARCHAR NOT NULL, who VARCHAR NOT NULL, acted_at TIMESTAMP NOT NULL, comment VARCHAR,
        expires DATE)""",
    "CREATE SEQUENCE settings_ids START 1",
    """CREATE TABLE settings_log (
        id INTEGER PRIMARY KEY, saved_at TIMESTAMP NOT NULL, who VARCHAR NOT NULL, settings VARCHAR NOT NULL,
        reason VARCHAR NOT NULL, reverts INTEGER)""",
]

_V3 = [
    # The visa-free impact (monitoring/statistics/impact.py), fitted by the scan so pages never fit on request.
    """CREATE TABLE impact (
        indicator VARCHAR NOT NULL, geo VARCHAR NOT NULL, period VARCHAR NOT NULL, period_start DATE NOT NULL,
        observed DOUBLE, expected DOUBLE, lower DOUBLE, upper DOUBLE, excess DOUBLE, cumulative_excess DOUBLE,
        cumulative_lower DOUBLE, cumulative_upper DOUBLE, run_id INTEGER NOT NULL,
        PRIMARY KEY (indicator, geo, period))""",
    # Fits made before this version have no impact: forget them, so that the next scan refits all.
    "DELETE FROM series_state",
]

_V4 = [
    # How an alert was first seen, complete enough to say it again in any language.
    "ALTER TABLE alerts ADD COLUMN first_channels VARCHAR",
    "ALTER TABLE alerts ADD COLUMN first_last_year DOUBLE",
    "ALTER TABLE alerts ADD COLUMN first_provisional BOOLEAN",
]

_V5 = [
    # The anomaly channel (monitoring/statistics/glr.py): a likelihood-ratio test of the last 1-3 periods against a
    # seasonal quasi-Poisson baseline. Per period: the baseline's expected value and dispersion, and the
    # sums over the windows of 2 and 3 periods ending there, so any threshold re-levels without a refit.
    "ALTER TABLE scores ADD COLUMN glr_expected DOUBLE",
    "ALTER TABLE scores ADD COLUMN glr_dispersion DOUBLE",
    "ALTER TABLE scores ADD COLUMN glr_n_baseline DOUBLE",
    "ALTER TABLE scores ADD COLUMN glr_observed_2 DOUBLE",
    "ALTER TABLE scores ADD COLUMN glr_observed_3 DOUBLE",
    "ALTER TABLE scores ADD COLUMN glr_expected_2 DOUBLE",
    "ALTER TABLE scores ADD COLUMN glr_expected_3 DOUBLE",
    # The EU suspension criterion, apart from the anomaly level: the seasonally adjusted ratio's base.
    "ALTER TABLE scores ADD COLUMN visa_reference_adjusted DOUBLE",
    # Current results: what the anomaly test tested (window of 1-3 periods, its sums and bound), the
    # month a sustained shift began, and the criterion's status, since when, and whether it rose here.
    "ALTER TABLE results ADD COLUMN tested_periods INTEGER",
    "ALTER TABLE results ADD COLUMN tested_observed DOUBLE",
    "ALTER TABLE results ADD COLUMN tested_expected DOUBLE",
    "ALTER TABLE results ADD COLUMN tested_bound DOUBLE",
    "ALTER TABLE results ADD COLUMN shift_start VARCHAR",
    "ALTER TABLE results ADD COLUMN change_adjusted DOUBLE",
    "ALTER TABLE results ADD COLUMN criterion VARCHAR",
    "ALTER TABLE results ADD COLUMN criterion_since VARCHAR",
    "ALTER TABLE results ADD COLUMN criterion_crossed BOOLEAN",
    # Fits made before this version have no anomaly test: forget them, so that the next scan refits all.
    "DELETE FROM series_state",
]

_V6 = [
    # Alerts are episodes (monitoring/statistics/episodes.py): one row per run of alarming periods of a series, from
    # its first watch/alert period until it resolves, reviewed (acknowledged, dismissed, reopened) as one.
    # state: open, resolved, or withdrawn (no longer raised at the current settings; kept, never deleted).
    # peak_level is the episode's level (the highest it reached); current_level the series' latest one.
    # ack_level/ack_score: the peak when acknowledged (a worse peak reopens it).
    # first_figures: the first period's figures as its sentence needs them (JSON, from monitoring).
    "CREATE SEQUENCE episode_ids START 1",
    """CREATE TABLE episodes (
        id INTEGER PRIMARY KEY, indicator VARCHAR NOT NULL, geo VARCHAR NOT NULL, start_period VARCHAR NOT NULL,
        start_date DATE NOT NULL, last_period VARCHAR NOT NULL, last_date DATE NOT NULL, resolved_period VARCHAR,
        state VARCHAR NOT NULL, peak_level VARCHAR NOT NULL, peak_period VARCHAR, peak_score DOUBLE,
        peak_observed DOUBLE, peak_expected DOUBLE, current_level VARCHAR NOT NULL, shift_start VARCHAR,
        periods INTEGER, first_seen TIMESTAMP NOT NULL, first_run INTEGER, last_run INTEGER,
        first_level VARCHAR NOT NULL, first_observed DOUBLE, first_expected DOUBLE, first_upper DOUBLE,
        first_lower DOUBLE, first_channels VARCHAR, first_last_year DOUBLE, first_provisional BOOLEAN,
        first_reason VARCHAR, first_figures VARCHAR, status VARCHAR NOT NULL DEFAULT 'open', status_by VARCHAR, status_at TIMESTAMP,
        comment VARCHAR, expires DATE, ack_level VARCHAR, ack_score DOUBLE)""",
    "CREATE SEQUENCE episode_action_ids START 1",
    # period: the alarming period an action was taken on, for actions kept from the per-period log.
    """CREATE TABLE episode_actions (
        id INTEGER PRIMARY KEY, episode_id INTEGER NOT NULL, action VARCHAR NOT NULL, who VARCHAR NOT NULL,
        acted_at TIMESTAMP NOT NULL, comment VARCHAR, expires DATE, period VARCHAR)""",
    # A run's count of open episodes (runs.alerts/watches stay what they were: alarming series-periods).
    "ALTER TABLE runs ADD COLUMN open_alert_episodes INTEGER",
    "ALTER TABLE runs ADD COLUMN open_watch_episodes INTEGER",
    # The tables alerts and alert_actions stay as read-only history; their rows are converted into
    # episodes by indicators.store.episodes.convert_alert_log (Python, below in migrate).
]

_V7 = [
    # The e-mail digest (monitoring/pipeline/digest.py): every change sent, per language and recipient, recorded only
    # once that recipient's mail was accepted (so a change is never sent twice, and a refused one is retried).
    # change_key names the change: "new:<indicator>:<geo>:<start>", "criterion:...:<period>:<status>",
    # "quiet:<ISO week>" for an all-quiet mail.
    """CREATE TABLE digest_sent (
        change_key VARCHAR NOT NULL, lang VARCHAR NOT NULL, recipient VARCHAR NOT NULL, kind VARCHAR NOT NULL,
        indicator VARCHAR, geo VARCHAR, period VARCHAR, sent_at TIMESTAMP NOT NULL, subject VARCHAR,
        PRIMARY KEY (change_key, lang, recipient))""",
    # The digest's recipients as analysts saved them on the Recipients page (JSON: language -> category ->
    # addresses); the latest row wins over the mail settings file.
    "CREATE SEQUENCE recipients_ids START 1",
    """CREATE TABLE digest_recipients (
        id INTEGER PRIMARY KEY, saved_at TIMESTAMP NOT NULL, who VARCHAR NOT NULL, recipients VARCHAR NOT NULL,
        reason VARCHAR NOT NULL)""",
]

# The review of an episode, kept in the journal from v8 (``reviews``, by episode id).
REVIEW_COLUMNS = ("status", "status_by", "status_at", "comment", "expires", "ack_level", "ack_score")

_V8 = [
    # The small writes people make between scans move to the journal (indicators/store/journal.py), written in
    # place instead of copying this file: episode reviews and their history, events, the digest's records. Their
    # rows are copied there first by _into_journal (below, in migrate); the database's own audit rows stay here,
    # and from now on both logs take their ids from the journal's counter.
    "DROP TABLE episode_actions",
    "DROP SEQUENCE episode_action_ids",
    "DROP TABLE events",
    "DROP SEQUENCE event_ids",
    "DROP TABLE digest_sent",
    "DROP TABLE digest_recipients",
    "DROP SEQUENCE recipients_ids",
    "DROP SEQUENCE audit_ids",
    *(f"ALTER TABLE episodes DROP COLUMN {c}" for c in REVIEW_COLUMNS),
]

# The scan's derived tables, one row per (indicator, geo, period), written only by the scan and the re-levelling.
DERIVED = ("scores", "results", "impact")
_REQUIRED = {"scores": ("run_id",), "results": ("level",), "impact": ("run_id",)}

_V9 = [
    # The derived tables without a primary key: its index on three text columns took about as much of the
    # file as the rows themselves, and these tables are only ever replaced whole (results) or per refitted
    # series (scores, impact), never looked up for a conflict; their writer keeps the rows unique
    # (results._insert_frame refuses a frame with a repeated key). Rewritten in series order, so a series
    # reads from few blocks; the file is compacted after the migration (db.write_copy).
    *(statement for table in DERIVED for statement in (
        f"CREATE TABLE {table}_v9 AS SELECT * FROM {table} ORDER BY indicator, geo, period_start",  # noqa: S608
        f"DROP TABLE {table}",
        f"ALTER TABLE {table}_v9 RENAME TO {table}",
        *(f"ALTER TABLE {table} ALTER COLUMN {column} SET NOT NULL"
          for column in ("indicator", "geo", "period", "period_start", *_REQUIRED[table])))),
]

_V10 = [
    # Saved settings move to the journal (``_settings_into_journal`` copies them first, with their ids): a save is a
    # small write, and the levels it produces are written behind it (monitoring/pipeline/levelling.py), each
    # write of levels recording the settings they were levelled at (meta 'levelled_settings').
    "DROP TABLE settings_log",
    "DROP SEQUENCE settings_ids",
]

# v11: what the scan derives moves to a file of its own beside the data (``db.results_path``; ``_split_results``
# below): a load then copies only the data, a scan or a re-levelling only the results. The tables keep their
# definitions and rows, the sequences their next values; the levelled-at marker moves to ``results_meta``,
# and both files record one id, so that a results file is never read with another database's data.
RESULT_TABLES = ("scores", "results", "impact", "series_state", "runs", "episodes", "alerts", "alert_actions")
_RESULT_SEQUENCES = ("run_ids", "episode_ids", "alert_action_ids")
_OBSERVED = ("indicator", "geo", "period", "period_start", "load_id", "loaded_at")
_V11 = [
    # Observations without their primary key: its index on three text columns was nine tenths of the data
    # file (22 of 24.5 MB at 5,000 series) and every load's checkpoint rewrote it (75 of 86 ms). A load never
    # relied on it (it inserts only the rows not yet present, and a file repeating a key is refused before);
    # its writer checks the keys it wrote are still one row each (observations._apply). In series order.
    "CREATE TABLE observations_v11 AS SELECT * FROM observations ORDER BY indicator, geo, period_start, period",
    "DROP TABLE observations",
    "ALTER TABLE observations_v11 RENAME TO observations",
    *(f"ALTER TABLE observations ALTER COLUMN {column} SET NOT NULL" for column in _OBSERVED),
]

# Migrations by the version they produce. Append; never edit a released one.
MIGRATIONS: dict[int, list[str]] = {1: _V1, 2: _V2, 3: _V3, 4: _V4, 5: _V5, 6: _V6, 7: _V7, 8: _V8, 9: _V9,
                                    10: _V10, 11: _V11}
LEVELLED = "levelled_settings"  # results_meta key: the settings JSON the stored results were levelled at
RESULTS_ID = "results_id"  # meta and results_meta key: the id binding a data file and its results file
# The tables moved to the journal by v8, with the sequence that numbered them.
_MOVED = {"episode_actions": "episode_action_ids", "events": "event_ids", "digest_sent": None,
          "digest_recipients": "recipients_ids"}
_IMPORTED = "imported_from_database"
CURRENT_VERSION = max(MIGRATIONS)


def version_of(con: duckdb.DuckDBPyConnection) -> int:
    """The schema version of an open database (0 when empty)."""
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta' AND table_catalog = current_database()"
    ).fetchall()[0][0]
    if not found:
        return 0
    rows = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    return int(rows[0][0]) if rows else 0


def _last_values(con) -> dict[str, int]:
    """Per sequence, the last value it handed out (its start minus one when none)."""
    rows = con.execute("SELECT sequence_name, start_value, last_value FROM duckdb_sequences() "
                       "WHERE database_name = current_database()").fetchall()
    return {name: (last if last is not None else start - 1) for name, start, last in rows}


def _into_journal(con: duckdb.DuckDBPyConnection, target: Callable) -> None:
    """v8: copy the reviews, episode actions, events and digest records into the journal, with their ids,
    in one journal transaction (skipped when a migration killed before publishing already did), and bind
    the journal to this database."""
    database_id = uuid.uuid4().hex
    con.execute("INSERT OR REPLACE INTO meta VALUES ('journal_id', $id)", {"id": database_id})
    last = _last_values(con)
    with target() as j:
        done = j.execute("SELECT value FROM meta WHERE key = ?", (_IMPORTED,)).fetchone()
        if done is None:
            cols = ", ".join(REVIEW_COLUMNS)
            reviews = con.execute(f"SELECT id AS episode_id, {cols} FROM episodes "  # noqa: S608
                                  "WHERE status <> 'open' OR status_by IS NOT NULL OR ack_level IS NOT NULL").df()
            journal.insert_rows(j, "reviews", reviews, replace=True)
            for table, sequence in _MOVED.items():
                journal.insert_rows(j, table, con.execute(f"SELECT * FROM {table}").df(), replace=True)  # noqa: S608
                if sequence:
                    journal.move_ids_past(j, table, last.get(sequence, 0))
            journal.move_audit_ids_past(j, max(last.get("audit_ids", 0),
                                               con.execute("SELECT coalesce(max(id), 0) FROM audit").fetchall()[0][0]))
            j.execute("INSERT INTO meta VALUES (?, '1')", (_IMPORTED,))
        j.execute("INSERT OR REPLACE INTO meta VALUES ('database_id', ?)", (database_id,))


def _settings_into_journal(con: duckdb.DuckDBPyConnection, target: Callable) -> None:
    """v10: copy the saved settings into the journal with their ids (by id, so a migration killed before
    publishing and run again copies the same rows), and record what the stored results were levelled at:
    the settings of the last scan or of the last save, whichever came later."""
    saved = con.execute("SELECT * FROM settings_log ORDER BY id").df()
    last = _last_values(con).get("settings_ids", 0)
    latest = con.execute(
        "SELECT settings FROM (SELECT settings, saved_at AS moment FROM settings_log UNION ALL "
        "SELECT settings, finished_at AS moment FROM runs WHERE settings IS NOT NULL AND finished_at IS NOT NULL) AS s "
        "ORDER BY moment DESC LIMIT 1").fetchall()
    if latest and con.execute("SELECT count(*) FROM results").fetchall()[0][0]:
        con.execute("INSERT OR REPLACE INTO meta VALUES ($k, $v)", {"k": LEVELLED, "v": latest[0][0]})
    with target() as j:
        journal.insert_rows(j, "settings_log", saved, replace=True)
        journal.move_ids_past(j, "settings_log", max(last, int(saved["id"].max()) if len(saved) else 0))


def _split_results(con: duckdb.DuckDBPyConnection) -> None:
    """v11: move the scan's tables and sequences into the results file attached to this write (emptied first:
    one left by a migration killed before publishing is made again from the data)."""
    data, target = con.execute("SELECT current_database()").fetchall()[0][0], db.results_catalog(con)
    if target is None:
        raise StoreError("cannot migrate the database to version 11: its results file is not open for writing")
    for (name,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = $c", {"c": target}).fetchall():
        con.execute(f'DROP TABLE {target}."{name}"')
    for (name,) in con.execute("SELECT sequence_name FROM duckdb_sequences() WHERE database_name = $c",
                               {"c": target}).fetchall():
        con.execute(f'DROP SEQUENCE {target}."{name}"')
    last = _last_values(con)
    for name in _RESULT_SEQUENCES:  # names are this module's constants, catalogs the writer's
        if name in last:
            con.execute(f"CREATE SEQUENCE {target}.{name} START {int(last[name]) + 1}")
            con.execute(f"DROP SEQUENCE {data}.{name}")
    for table in RESULT_TABLES:
        ddl = con.execute("SELECT sql FROM duckdb_tables() WHERE database_name = $c AND table_name = $t",
                          {"c": data, "t": table}).fetchall()[0][0]
        prefix = f"CREATE TABLE {table}("
        if not ddl.startswith(prefix):
            raise StoreError(f"cannot migrate the database to version 11: unexpected definition of {table}")
        con.execute(f"CREATE TABLE {target}.{table}(" + ddl[len(prefix):])
        con.execute(f"INSERT INTO {target}.{table} SELECT * FROM {data}.{table}")  # noqa: S608
        con.execute(f"DROP TABLE {data}.{table}")
    con.execute(f"CREATE TABLE {target}.results_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute(f"INSERT INTO {target}.results_meta SELECT * FROM {data}.meta WHERE key = $k", {"k": LEVELLED})  # noqa: S608
    con.execute(f"DELETE FROM {data}.meta WHERE key = $k", {"k": LEVELLED})  # noqa: S608
    bond = uuid.uuid4().hex
    con.execute(f"INSERT OR REPLACE INTO {data}.meta VALUES ($k, $v)", {"k": RESULTS_ID, "v": bond})  # noqa: S608
    con.execute(f"INSERT INTO {target}.results_meta VALUES ($k, $v)", {"k": RESULTS_ID, "v": bond})  # noqa: S608


def check_results(con: duckdb.DuckDBPyConnection, path) -> None:
    """The results file beside the database is its own (from schema v11): a missing one, or one of another
    database, is a ``StoreError``."""
    rows = con.execute("SELECT value FROM meta WHERE key = $k", {"k": RESULTS_ID}).fetchall()
    if not rows:
        return
    if db.results_catalog(con) is None:
        raise StoreError(
            f"the results file of this database is missing: {path} (it holds the levels, alert episodes and "
            "scan history); put it back beside the database, or restore a backup with `python -m indicators restore`")
    found = con.execute("SELECT value FROM results_meta WHERE key = $k", {"k": RESULTS_ID}).fetchall()
    if not found or found[0][0] != rows[0][0]:
        raise StoreError(
            f"the results file {path} belongs to another database; move it away and put this database's own "
            "results file beside it (or restore a backup with `python -m indicators restore`)")


def check_journal(con: duckdb.DuckDBPyConnection, target: Journal) -> None:
    """The journal beside the database is its own: a new, empty one is bound to it; one bound to another
    database, or a lost one (the database had a journal, this one is new), is a ``StoreError``."""
    rows = con.execute("SELECT value FROM meta WHERE key = 'journal_id'").fetchall()
    if not rows:
        return
    expected = rows[0][0]
    with target.read() as j:
        found = j.execute("SELECT value FROM meta WHERE key = 'database_id'").fetchone()
    if found is not None and found[0] == expected:
        restored = con.execute("SELECT value FROM meta WHERE key = 'restore_token'").fetchall()
        if restored:
            with target.read() as j:
                token = j.execute("SELECT value FROM meta WHERE key = 'restore_token'").fetchone()
            if token is None or token[0] != restored[0][0]:
                raise StoreError(
                    f"a restore of this database was interrupted after the database and before its journal "
                    f"{target.path.name} was restored; run the same restore again "
                    "(`python -m indicators restore FOLDER --yes`)")
        return
    if found is not None:
        raise StoreError(
            f"the journal {target.path} belongs to another database, not {target.path.name[:-len('.journal.sqlite')]}; "
            "move it away and put this database's own journal beside it (or restore a backup with "
            "`python -m indicators restore`)")
    raise StoreError(
        f"the journal of this database is missing: {target.path} (it holds the alert reviews, events and "
        "digest records); put it back beside the database, or restore a backup with "
        "`python -m indicators restore`")


def migrate(con: duckdb.DuckDBPyConnection, now, target: Journal | Callable) -> int:
    """Bring the database to CURRENT_VERSION; returns the version it had before. ``target`` is its journal,
    or (a restore) a function giving a journal connection in a write transaction."""
    before = version_of(con)
    if before > CURRENT_VERSION:
        raise StoreError(
            f"the database has schema version {before}, newer than this program's {CURRENT_VERSION}; "
            "upgrade the program"
        )
    for version in range(before + 1, CURRENT_VERSION + 1):
        if version == 8:
            _into_journal(con, target.write if isinstance(target, Journal) else target)
        if version == 10:
            _settings_into_journal(con, target.write if isinstance(target, Journal) else target)
        for statement in MIGRATIONS[version]:
            con.execute(statement)
        if version == 11:
            _split_results(con)
        if version == 1:
            for date, label in SEED_EVENTS:
                con.execute(
                    "INSERT INTO events (id, date, label, created_by, created_at, updated_at) "
                    "VALUES (nextval('event_ids'), $date, $label, 'system', $now, $now)",
                    {"date": date, "label": label, "now": now},
                )
        if version == 6:
            from indicators.store.episodes import convert_alert_log  # imports this module

            convert_alert_log(con)
        con.execute(
            "INSERT OR REPLACE INTO meta VALUES ('schema_version', $v)", {"v": str(version)}
        )
    return before
