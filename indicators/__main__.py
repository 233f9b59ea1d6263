"""``python -m indicators``: load data files, fetch Kosovo's Eurostat data, list the catalogue with
coverage, add an indicator, delete a series or a period range, back up and restore the database, view
or export the audit log."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from indicators import catalogue as cat
from indicators import fetch
from indicators.excel import LAYOUTS, SheetMapping
from indicators.loaders import load_files
from indicators.periods import period_bounds
from indicators.store import Store, StoreError, audit, backup, default_db_path, deletion
from indicators.store.observations import coverage
from indicators.validation import LoadError

FREQ_NAMES = {"M": "monthly", "Q": "quarterly", "A": "annual"}


def _db_help() -> str:
    return "database file (default: MONITOR_DB or data/monitor.duckdb)"


def _today(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"found {text!r}; expected a date YYYY-MM-DD") from None


def _add_delete(sub) -> None:
    """The delete command: a series or a period range, listed first, deleted with --yes."""
    dele = sub.add_parser(
        "delete",
        help="delete a series or a range of its periods (audited, the old values kept as revisions)",
        description="Delete the values of one series, or of the periods from --from to --to, in one "
        "atomic write: the old values are kept as revisions, the deletion is in the load log and the audit "
        "log, the scan's results and episodes of those periods are withdrawn. Without --yes it only lists "
        "what it would delete. A value loaded again later is simply new.",
    )
    dele.add_argument("--indicator", required=True, help="the indicator id as stored, e.g. asylum_applications")
    dele.add_argument("--geo", required=True, help="the geo code as stored, e.g. DE")
    dele.add_argument("--from", dest="first", metavar="PERIOD",
                      help="the first period to delete (YYYY-MM, YYYY-Qn or YYYY; default: the series' first)")
    dele.add_argument("--to", dest="last", metavar="PERIOD",
                      help="the last period to delete (every period starting by its end; default: the series' last)")
    dele.add_argument("--db", type=Path, help=_db_help())
    dele.add_argument("--who", default="local", help="name recorded in the audit log (default: local)")
    dele.add_argument("--reason", default="", help="why, recorded in the audit log")
    dele.add_argument("--yes", action="store_true", help="delete: without it, the command only lists what it would")


def _add_load(sub) -> None:
    """The load command: data files, and how to read a wide Excel sheet."""
    load = sub.add_parser(
        "load",
        help="load tidy CSV, Eurostat TSV, SDMX-CSV or Excel (.xlsx) files (all or nothing)",
        description="Load data files. Every file is checked first; if any problem is found "
        "nothing is written and every problem is listed.",
    )
    load.add_argument("files", nargs="+", metavar="FILE", type=Path)
    load.add_argument("--db", type=Path, help=_db_help())
    load.add_argument(
        "--dataset",
        metavar="CODE",
        help="Eurostat dataset code for a TSV whose file name does not say it (e.g. migr_asyappctzm)",
    )
    wide = load.add_argument_group(
        "a wide Excel sheet", "read one sheet of an .xlsx workbook that is not tidy (see README, Excel workbooks)"
    )
    wide.add_argument("--sheet", help="the sheet's name")
    wide.add_argument("--indicator", help="the catalogue id its values are, e.g. border_exits")
    wide.add_argument("--layout", choices=LAYOUTS, help="rows: a row per period; columns: a column per period")
    wide.add_argument("--geo", help="one geo for every value (default XK for Kosovo's own series)")
    wide.add_argument("--geo-column", metavar="LETTER", help="columns layout: the column of geo codes (default A)")
    wide.add_argument("--period-column", metavar="LETTER", help="rows layout: the column of periods (default A)")
    wide.add_argument("--value-column", metavar="LETTER", help="rows layout with one geo: the value column")
    wide.add_argument("--header-row", type=int, metavar="N", help="the header row (default: the first with two cells)")
    load.add_argument("--who", default="local", help="name recorded in the load log (default: local)")
    load.add_argument("--today", type=_today, default=None, help=argparse.SUPPRESS)


def _add_fetch(sub) -> None:
    """The fetch command: Kosovo's slices of the mapped Eurostat datasets."""
    fet = sub.add_parser(
        "fetch",
        help="download Kosovo's rows of the mapped Eurostat datasets and load them (all or nothing)",
        description="Download the citizen=XK slice of every Eurostat dataset mapped in "
        "indicators/eurostat_map.toml (or of the --dataset ones) from Eurostat's dissemination API "
        f"({fetch.DEFAULT_URL}; {fetch.ENV_URL} overrides it), then load them all through the same loader "
        "as `load`. Nothing is loaded if any download or any file fails.",
    )
    fet.add_argument("--dataset", metavar="CODE", nargs="+", action="extend",
                     help="only these datasets (repeatable; default: every mapped dataset)")
    fet.add_argument("--since", metavar="YYYY-MM", help="only periods from this month on (the quarter or year "
                     "holding it for quarterly or annual datasets)")
    fet.add_argument("--db", type=Path, help=_db_help())
    fet.add_argument("--who", default="local", help="name recorded in the load log (default: local)")
    fet.add_argument("--today", type=_today, default=None, help=argparse.SUPPRESS)


def _add_list(sub) -> None:
    """The list command: the catalogue with coverage."""
    lst = sub.add_parser(
        "list",
        help="the catalogue with coverage per series",
        description="Print the indicator catalogue and, per series, the first and last "
        "period, number of values, missing periods and provisional values.",
    )
    lst.add_argument("--db", type=Path, help=_db_help())


def _add_add_indicator(sub) -> None:
    """The add-indicator command."""
    add = sub.add_parser(
        "add-indicator",
        help="append an indicator to the catalogue file",
        description="Append an indicator to the catalogue file (no code changes needed).",
    )
    add.add_argument("--id", required=True, help="lower-case id used in data files, e.g. visa_refusals")
    add.add_argument("--name", required=True)
    add.add_argument("--frequency", required=True, choices=cat.FREQUENCIES)
    add.add_argument("--category", required=True, choices=cat.CATEGORIES)
    add.add_argument("--bad-direction", required=True, choices=cat.DIRECTIONS)
    add.add_argument("--unit", required=True)
    add.add_argument("--source", required=True)
    add.add_argument("--dataset", default="", help="source dataset code, if any")
    add.add_argument("--description", default="")
    add.add_argument(
        "--catalogue", type=Path, help="catalogue file (default: MONITOR_CATALOGUE or the shipped one)"
    )


def _add_backup(sub) -> None:
    """The backup command."""
    bak = sub.add_parser(
        "backup",
        help="export the database into a new folder (DuckDB EXPORT DATABASE)",
        description="Export a consistent snapshot of the database into DIR (new or empty): Parquet files, "
        "the schema and a manifest. Loads and scans may run meanwhile.",
    )
    bak.add_argument("dir", metavar="DIR", type=Path)
    bak.add_argument("--db", type=Path, help=_db_help())


def _add_restore(sub) -> None:
    """The restore command (listed first, restored with --yes)."""
    res = sub.add_parser(
        "restore",
        help="replace the database with a backup (audited)",
        description="Replace the database with the backup in DIR, atomically, after backing up the current one; without --yes it only lists what would be undone. The audit rows logged since "
        "the backup are kept, ids are never reused, and the restore itself is logged.",
    )
    res.add_argument("dir", metavar="DIR", type=Path)
    res.add_argument("--db", type=Path, help=_db_help())
    res.add_argument("--who", default="local", help="name recorded in the audit log (default: local)")
    res.add_argument("--yes", action="store_true",
                     help="restore: without it, the command only lists what the restore would undo")


def _add_audit(sub) -> None:
    """The audit command."""
    aud = sub.add_parser(
        "audit",
        help="print the audit log, or export it as CSV",
        description="Every change people made (loads, threshold changes, acknowledgements, event edits, "
        "restores) with who, when, what, before and after. Append-only.",
    )
    aud.add_argument("--db", type=Path, help=_db_help())
    aud.add_argument("--out", type=Path, metavar="FILE.csv", help="write the whole log as CSV instead")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m indicators", description=__doc__.strip("`\n"))
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_load, _add_fetch, _add_list, _add_add_indicator, _add_backup, _add_restore, _add_delete,
                _add_audit):
        add(sub)
    return parser


def _backup(args, out) -> int:
    store = Store(args.db or default_db_path())
    manifest = backup.backup(store, args.dir)
    tables = {**manifest["tables"], **manifest.get("results_tables", {}),
              **{f"journal.{t}": n for t, n in manifest.get("journal_tables", {}).items()}}
    rows = sum(tables.values())
    print(
        f"backed up {store.path} into {args.dir.resolve()}: {len(tables)} tables, {rows} rows",
        file=out,
    )
    return 0


def _restore(args, out) -> int:
    store = Store(args.db or default_db_path())
    if not args.yes:
        undone = backup.changes_since(store, args.dir)
        print(f"Restoring {Path(args.dir).resolve()} would replace {store.path} and undo "
              f"{len(undone)} change{'s' if len(undone) != 1 else ''} made since the backup"
              + (":" if undone else "."), file=out)
        for line in undone:
            print(f"  {line}", file=out)
        print("Nothing was changed. Run again with --yes to restore (the current database is backed up first).",
              file=out)
        return 1
    report = backup.restore(store, args.dir, who=args.who)
    print(
        f"restored {store.path} from {report.folder} (backup of {report.created_at}, {report.rows} rows); "
        f"{report.audit_rows_kept} audit row{'s' if report.audit_rows_kept != 1 else ''} logged since the backup kept",
        file=out,
    )
    if report.saved_to:
        print(f"the database it replaced is backed up in {report.saved_to}", file=out)
    for line in report.undone:
        print(f"  undone: {line}", file=out)
    if report.note:
        print(f"note: {report.note}", file=out)
    return 0


def _delete(args, out, err) -> int:
    try:
        since, until = period_bounds(args.first, args.last)
    except ValueError as exc:
        print(f"error: {exc}", file=err)
        return 2
    store = Store(args.db or default_db_path())
    span = "" if not (args.first or args.last) else f" from {args.first or 'its first period'} to {args.last or 'its last'}"
    plan = deletion.preview(store, args.indicator, args.geo, since=since, until=until)
    if plan.count == 0:
        print(f"Nothing to delete: {store.path} holds no value of {args.indicator} {args.geo}{span}.", file=err)
        return 1
    values = f"{plan.count} value{'s' if plan.count != 1 else ''}"
    whole = " (the whole series)" if plan.whole_series else ""
    if not args.yes:
        print(f"Deleting would remove {values} of {plan.what}{whole} from {store.path}; the old values are "
              "kept as revisions.", file=out)
        print("Nothing was changed. Run again with --yes to delete.", file=out)
        return 1
    done = deletion.delete(store, args.indicator, args.geo, who=args.who, since=since, until=until,
                           reason=args.reason)
    withdrawn = f"; {done.episodes_withdrawn} episode{'s' if done.episodes_withdrawn != 1 else ''} withdrawn" \
        if done.episodes_withdrawn else ""
    print(f"deleted {values} of {done.what}{whole} (deletion {done.deletion_id}, old values kept as "
          f"revisions){withdrawn}", file=out)
    print("run `python -m monitoring scan` to rescore what is left and the totals built from it", file=out)
    return 0


def _audit(args, out) -> int:
    store = Store(args.db or default_db_path())
    if args.out:
        n = audit.export_audit(store, args.out)
        print(f"wrote {n} audit rows to {args.out}", file=out)
        return 0
    for r in audit.read_audit(store).itertuples():
        what = " ".join(str(x) for x in (r.action, r.target) if isinstance(x, str) and x)
        line = f"{r.id:>6}  {r.logged_at:%Y-%m-%d %H:%M:%S}  {r.who}  {what}"
        if isinstance(r.reason, str) and r.reason:
            line += f"  reason: {r.reason!r}"
        print(line, file=out)
    return 0


def _load(args, out, err) -> int:
    catalogue = cat.load_catalogue()
    store = Store(args.db or default_db_path())
    today = args.today or dt.date.today()
    mapping = None
    if args.sheet or args.indicator or args.layout:
        if not (args.sheet and args.indicator and args.layout):
            print("error: a wide sheet needs --sheet, --indicator and --layout together", file=err)
            return 2
        mapping = SheetMapping(args.sheet, args.indicator, args.layout, geo=args.geo, geo_column=args.geo_column,
                               period_column=args.period_column, header_row=args.header_row,
                               value_column=args.value_column)
    try:
        reports = load_files(
            store, args.files, catalogue=catalogue, today=today, who=args.who, dataset=args.dataset,
            sheet_mappings=[mapping] if mapping else None,
        )
    except LoadError as exc:
        print(f"Nothing was loaded: {exc.count} problem{'s' if exc.count != 1 else ''} found.", file=err)
        print(exc.report(), file=err)
        return 1
    for report in reports:
        print(report.summary(), file=out)
    print(f"database: {store.path}", file=out)
    return 0


def _fetch(args, out, err) -> int:
    catalogue = cat.load_catalogue()
    store = Store(args.db or default_db_path())
    today = args.today or dt.date.today()

    def progress(done: int, total: int, dataset: str) -> None:
        if dataset:
            print(f"downloading {dataset} ({done + 1} of {total})…", file=err, flush=True)

    try:
        got, reports = fetch.fetch(store, catalogue=catalogue, today=today, who=args.who,
                                   datasets=args.dataset, since=args.since, progress=progress)
    except fetch.FetchError as exc:
        print(f"Nothing was loaded: {exc}", file=err)
        return 1
    except LoadError as exc:
        print(f"Nothing was loaded: {exc.count} problem{'s' if exc.count != 1 else ''} found in Eurostat's "
              "files.", file=err)
        print(exc.report(), file=err)
        return 1
    for line in fetch.report_lines(got, reports):
        print(line, file=out)
    print(f"database: {store.path}", file=out)
    return 0


def _list(args, out) -> int:
    catalogue = cat.load_catalogue()
    store = Store(args.db or default_db_path())
    cov = None
    if store.path.exists():
        cov = coverage(store)
    for ind in catalogue.indicators:
        print(
            f"{ind.id}  {ind.name} [{FREQ_NAMES[ind.frequency]}, {ind.unit}; bad direction "
            f"{ind.bad_direction}; "
            f"{ind.source_line}]",
            file=out,
        )
        rows = cov[cov["indicator"] == ind.id] if cov is not None else None
        if rows is None or rows.empty:
            print("    no data loaded", file=out)
            continue
        for r in rows.itertuples():
            print(
                f"    {r.geo:<10} {r.first_period} .. {r.last_period}  {r.count} values, {r.missing} "
                "missing, "
                f"{r.provisional} provisional",
                file=out,
            )
    if cov is None:
        print(
            f"(database {store.path} does not exist yet: run `python -m indicators load FILE...`)", file=out
        )
    return 0


def _add_indicator(args, out) -> int:
    ind = cat.Indicator(
        id=args.id,
        name=args.name,
        unit=args.unit,
        frequency=args.frequency,
        category=args.category,
        bad_direction=args.bad_direction,
        source=args.source,
        description=args.description or args.name,
        dataset=args.dataset,
    )
    new = cat.add_indicator(ind, args.catalogue)
    print(f"added {ind.id} to {new.path} ({len(new.indicators)} indicators)", file=out)
    return 0


def main(argv: list[str] | None = None, out=None, err=None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    args = build_parser().parse_args(argv)
    try:
        if args.command == "load":
            return _load(args, out, err)
        if args.command == "fetch":
            return _fetch(args, out, err)
        if args.command == "list":
            return _list(args, out)
        if args.command == "delete":
            return _delete(args, out, err)
        if args.command in ("backup", "restore", "audit"):
            return {"backup": _backup, "restore": _restore, "audit": _audit}[args.command](args, out)
        return _add_indicator(args, out)
    except (cat.CatalogueError, StoreError, OSError) as exc:
        print(f"error: {exc}", file=err)
        return 1


if __name__ == "__main__":
    sys.exit(main())
