"""Command line: ``python -m monitoring scan`` (and ``brief``, ``digest``, ``run``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from indicators.catalogue import CatalogueError, load_catalogue
from indicators.store import StoreError, default_db_path, open_store
from monitoring.narrative import episodes_text

# The 13 columns of the anomaly level (``level``: statistical channels only, named in ``channels``),
# then the EU suspension criterion's: its status, the legal ratios (vs a year earlier, vs Nov-Dec 2023),
# the seasonally adjusted ratio beside them, and since when the status holds.
OUT_COLUMNS = ["indicator", "geo", "period", "observed", "expected", "lower", "upper", "score", "p_value",
               "level", "channels", "provisional", "reason",
               "criterion", "change_yoy", "change_ref", "change_adjusted", "criterion_since"]


def _progress_bar(stream):
    """A one-line text progress bar, drawn only on a terminal."""
    if not stream.isatty():
        return None

    def draw(done: int, total: int, label: str) -> None:
        width = 30
        filled = int(width * done / max(total, 1))
        stream.write(f"\rscanning [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label[:30]:<30}")
        if done >= total:
            stream.write("\n")
        stream.flush()

    return draw


def _period(text: str) -> pd.Period:
    try:
        return pd.Period(text, freq="M")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month; expected YYYY-MM") from None


def cmd_scan(args, today: pd.Timestamp) -> int:
    from monitoring.pipeline.scan import current_results, scan
    from monitoring.settings import SettingsError, load_settings, saved_settings

    try:
        store = open_store(args.db)
        catalogue = load_catalogue()
        settings = load_settings(args.settings) if args.settings else saved_settings(store)
    except (SettingsError, CatalogueError, StoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    report = scan(store, catalogue, settings, today=today, workers=args.workers, progress=_progress_bar(sys.stderr))
    print(f"run {report.run_id}: {report.series_total} series, {report.series_refitted} refitted, "
          f"{report.periods_scored} periods scored; {episodes_text(report.episodes)}")
    for why in report.skipped:
        print(f"warning: not scored, kept as it was: {why}", file=sys.stderr)
    if len(report.by_indicator):
        print(report.by_indicator.to_string())
    if args.out:
        rows = current_results(store, levels=None if args.all else ("alert", "watch"), since=args.since,
                               criterion_crossed=not args.all)
        rows[OUT_COLUMNS].to_csv(args.out, index=False)
        print(f"wrote {len(rows)} rows to {args.out}")
    return 0


def cmd_brief(args, today: pd.Timestamp) -> int:
    """Write the briefing deck (.pptx) or note (.pdf) for a month, in a language."""
    from monitoring.briefing.contents import BriefingError, build_briefing
    from monitoring.briefing.exports import ExportError
    from monitoring.i18n import t
    from monitoring.settings import SettingsError, saved_settings

    suffix = args.out.suffix.lower()
    if suffix not in (".pptx", ".pdf"):
        print(f"error: {t('brief.bad_suffix', args.lang, suffix=args.out.suffix or args.out.name)}",
              file=sys.stderr)
        return 2
    try:
        store = open_store(args.db)
        _warn_if_levels_pending(store, args.lang)
        briefing = build_briefing(store, load_catalogue(), saved_settings(store), period=args.period,
                                  lang=args.lang, today=today.date())
        if suffix == ".pptx":
            from monitoring.briefing.deck import write_deck

            slides = write_deck(briefing, args.out, which=args.alerts)
            print(t("brief.wrote_deck", args.lang, path=args.out, slides=slides, alerts=briefing.alerts,
                    watches=briefing.watches, period=briefing.period_label))
        else:
            from monitoring.briefing.note import write_note

            write_note(briefing, args.out)
            print(t("brief.wrote_note", args.lang, path=args.out, period=briefing.period_label))
    except (BriefingError, ExportError, SettingsError, CatalogueError, StoreError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _warn_if_levels_pending(store, lang: str) -> None:
    """A briefing or digest from stored levels that a threshold save has not reached yet says so."""
    from indicators.validation import printable
    from monitoring.i18n import t
    from monitoring.pipeline import levelling

    pending = levelling.pending(store)
    if pending is not None:
        who = printable(pending.saved_by) if pending.saved_by else "—"
        at = pending.saved_at.strftime("%Y-%m-%d %H:%M") if pending.saved_at else "—"
        print(t("brief.levels_pending", lang, who=who, at=at), file=sys.stderr)


def cmd_digest(args, today: pd.Timestamp) -> int:
    """Mail what changed since the last digest (monitoring/cycle.py)."""
    from monitoring import cycle
    from monitoring.pipeline.mail import MailSettingsError, bad_addresses, load_mail_settings

    if args.to and (bad := bad_addresses(args.to)):
        print(f"error: --to: not an e-mail address: {', '.join(bad)}", file=sys.stderr)
        return cycle.USAGE
    try:
        store = open_store(args.db)
        mail = load_mail_settings(args.mail)
        _warn_if_levels_pending(store, args.lang or "en")
        return cycle.digest(store, load_catalogue(), mail, lang=args.lang, to=args.to, dry_run=args.dry_run,
                            out=args.out)
    except (MailSettingsError, CatalogueError, StoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return cycle.ERROR


def _digest_parsers(sub, db_help: str) -> None:
    digest = sub.add_parser("digest", help="e-mail what changed since the last digest, one mail per language",
                            description="Mail new alert episodes, escalations, resolutions and new EU-criterion "
                                        "crossings since the last digest, one mail per language, each change at "
                                        "most once per recipient. Exit 0: sent or nothing to send; 1: settings or "
                                        "database problem; 4: a mail was not accepted (kept for the next run).")
    digest.add_argument("--db", type=Path, default=None, help=db_help)
    digest.add_argument("--mail", type=Path, default=None,
                        help="mail settings file (default: MONITOR_MAIL or mail.toml beside dashboard.py)")
    digest.add_argument("--lang", choices=("en", "sq", "sr"), help="only this language (default: every language)")
    digest.add_argument("--to", nargs="+", metavar="ADDR",
                        help="send to these addresses (every category) instead of the configured recipients")
    digest.add_argument("--dry-run", action="store_true",
                        help="print the mails (plain-text part) instead of sending; nothing is recorded")
    digest.add_argument("--out", type=Path, help="with --dry-run: write digest_<lang>.eml, .html and .txt here")
    run = sub.add_parser("run", help="the whole cycle for a scheduler: [fetch] [load] scan [digest]",
                         description="Fetch Eurostat's data (--fetch), load files (--load), scan, and mail the "
                                     "digest (--digest), one log line per step. Exit codes: 0 done; 1 database "
                                     "or settings problem; 2 usage; 3 fetch or load failed (the scan and digest "
                                     "used the stored data); 4 a digest mail was not accepted (kept for the "
                                     "next run).")
    run.add_argument("--db", type=Path, default=None, help=db_help)
    run.add_argument("--fetch", action="store_true", help="download Kosovo's series from Eurostat first")
    run.add_argument("--load", type=Path, nargs="+", metavar="FILE", help="load these files before the scan")
    run.add_argument("--digest", action="store_true", help="mail the digest after the scan")
    run.add_argument("--mail", type=Path, default=None, help="with --digest: the mail settings file")
    run.add_argument("--workers", type=int, default=2, help="worker processes of the scan (default 2)")
    run.add_argument("--who", default="scheduler", help="name in the load log and runs (default scheduler)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m monitoring",
                                     description="Score the indicator series and report alarms.")
    sub = parser.add_subparsers(dest="command", required=True)
    scan = sub.add_parser("scan", help="fit, score and store every series; summarise the open alert episodes",
                          description="Fit the baselines, score every series with enough history, store the run, "
                                      "its per-period results and alert episodes, and print the open episodes "
                                      "(alert, watch) by indicator.")
    scan.add_argument("--db", type=Path, default=None,
                      help=f"database file (default: MONITOR_DB or {default_db_path()})")
    scan.add_argument("--settings", type=Path, help="settings TOML file (default: the saved settings)")
    scan.add_argument("--since", type=_period, help="with --out: the rows of periods from this month on (YYYY-MM; a "
                      "quarter or year counts when it ends in or after it); the stored results stay complete")
    scan.add_argument("--out", type=Path, help="write anomalies (watch, alert) and new EU-criterion crossings "
                                                  "to this CSV file")
    scan.add_argument("--all", action="store_true", help="with --out: every scored period, not only alarms")
    scan.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    brief = sub.add_parser("brief", help="write the briefing deck (.pptx) or one-page note (.pdf) for a month",
                           description="Assemble the briefing for a month from the stored results (no refit) "
                                       "and write it as a PPTX deck or a one-page PDF note, by the file suffix.")
    brief.add_argument("--db", type=Path, default=None,
                       help=f"database file (default: MONITOR_DB or {default_db_path()})")
    brief.add_argument("--period", type=_period, help="reporting month YYYY-MM (default: the latest scored)")
    brief.add_argument("--lang", choices=("en", "sq", "sr"), default="en", help="language (default en)")
    brief.add_argument("--alerts", choices=("top", "all", "alert"), default="top",
                       help="signals with a slide of their own: the alerts that matter most (top, default: at "
                            "most 5), every alert and watch (all) or every alert (alert); the others go into "
                            "the annex table")
    brief.add_argument("--out", type=Path, required=True, help="output file: FILE.pptx (deck) or FILE.pdf (note)")
    _digest_parsers(sub, f"database file (default: MONITOR_DB or {default_db_path()})")
    return parser


def main(argv: list[str] | None = None, today: pd.Timestamp | None = None) -> int:
    args = build_parser().parse_args(argv)
    today = pd.Timestamp.today().normalize() if today is None else pd.Timestamp(today)
    if args.command == "scan":
        return cmd_scan(args, today)
    if args.command == "brief":
        return cmd_brief(args, today)
    if args.command == "digest":
        return cmd_digest(args, today)
    if args.command == "run":
        from monitoring.cycle import run

        return run(args, today)
    return 2


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except BrokenPipeError:  # output piped into head & co.
        sys.stderr.close()
        raise SystemExit(0) from None
