"""``python -m monitoring digest`` and ``run``: the e-mail digest, and the whole cycle a scheduler calls
(fetch, load, scan, digest), with a log line per step and exit codes a scheduler can act on.
"""

from __future__ import annotations

import base64
import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from monitoring.narrative import episodes_text

# Exit codes (README "Scheduled runs"). When several steps fail, ERROR wins, else the highest code.
OK = 0  # every step done: the digest was sent, or there was nothing to send
ERROR = 1  # a database, settings or configuration problem: the step named in the log could not run
USAGE = 2  # wrong command-line arguments (argparse)
DATA = 3  # the fetch or a file load failed: nothing of it was loaded; the scan and digest used the stored data
MAIL = 4  # a digest mail was not accepted (server down or refusing): kept, and sent on the next run


def worst(codes) -> int:
    codes = list(codes)
    return ERROR if ERROR in codes else max(codes, default=OK)


def logger(stream=None) -> Callable[[str], None]:
    """A log line with the time, flushed at once (cron and systemd keep it)."""
    def log(message: str) -> None:
        print(f"{dt.datetime.now():%Y-%m-%d %H:%M:%S} {message}", file=stream or sys.stdout, flush=True)

    return log


def _inline_images(message) -> str:
    """The HTML part with its ``cid:`` images as data URIs, to open in a browser."""
    html_part = message.get_payload()[1]
    parts = html_part.get_payload() if html_part.is_multipart() else [html_part]
    text = parts[0].get_content()
    for image in parts[1:]:
        cid = image["Content-ID"].strip("<>")
        data = base64.b64encode(image.get_payload(decode=True)).decode()
        text = text.replace(f"cid:{cid}", f"data:image/png;base64,{data}")
    return text


def digest(store, catalogue, mail, *, lang=None, to=None, dry_run=False, out: Path | None = None,
           now: dt.datetime | None = None, send: Callable | None = None, chart: Callable | None = "default",
           log: Callable[[str], None] | None = None) -> int:
    """Build and send the digest mails; returns an exit code (OK, ERROR, MAIL)."""
    from indicators.store import digests as sent_log
    from monitoring.briefing.digest_message import charts_cache, compose
    from monitoring.briefing.exports import ExportError
    from monitoring.pipeline import digest as dg
    from monitoring.pipeline import mail as mailer

    log = log or logger()
    ctx = dg.context(store, catalogue, mail, now=now)
    audience = dg.audience_of(ctx.mail, lang=lang, to=to)
    if not any(audience.values()):
        log("digest: error: no recipients; list them under [recipients.<language>] in "
            f"{mail.path or mailer.mail_path()}, on the dashboard's Recipients page, or give --to")
        return ERROR
    batches = dg.plan(ctx.changes, audience, sent_log.sent_keys(store), last_sent=sent_log.last_sent(store),
                      all_quiet=ctx.mail.digest.all_quiet, now=ctx.now)
    if not batches:
        log(f"digest: nothing changed since the last digest ({len(ctx.changes)} recent change(s), all sent): "
            "no mail")
        return OK
    chart = charts_cache() if chart == "default" else chart

    def make(c, batch):
        return compose(c, batch, chart=chart)

    try:
        if dry_run:
            for batch in batches:
                message = make(ctx, batch)
                log(f"digest {batch.lang}: would send {message['Subject']!r} to {', '.join(batch.recipients)}")
                if out:
                    out.mkdir(parents=True, exist_ok=True)
                    (out / f"digest_{batch.lang}.eml").write_bytes(bytes(message))
                    (out / f"digest_{batch.lang}.html").write_text(_inline_images(message), encoding="utf-8")
                    (out / f"digest_{batch.lang}.txt").write_text(message.get_body(("plain",)).get_content(),
                                                                   encoding="utf-8")
                else:
                    print(message.get_body(("plain",)).get_content())
            log("digest: dry run: nothing sent, nothing recorded")
            return OK
        if send is None:
            secret = mailer.password(ctx.mail.smtp)

            def send(message, recipients):
                return mailer.send(message, recipients, ctx.mail.smtp, secret)

        outcome = dg.deliver(ctx, batches, make, send, log=log)
    except ExportError as exc:
        log(f"digest: error: the charts could not be drawn, nothing sent: {exc}")
        return ERROR
    if not outcome.ok:
        log(f"digest: {len(outcome.failed) + len(outcome.refused)} mail(s) not accepted; what they carried is "
            "kept and sent on the next run")
        return MAIL
    return OK


def _fetch_and_load(store, catalogue, args, today, log) -> int:
    from indicators import fetch
    from indicators.loaders import load_files
    from indicators.validation import LoadError

    code = OK
    if args.fetch:
        log("fetch: downloading Kosovo's series from Eurostat")
        try:
            got, reports = fetch.fetch(store, catalogue=catalogue, today=today.date(), who=args.who)
            for line in fetch.report_lines(got, reports):
                log(f"fetch: {line}")
        except (fetch.FetchError, LoadError) as exc:
            log(f"fetch: failed, nothing loaded (the scan uses the stored data): {exc}")
            code = DATA
    if args.load:
        log(f"load: {len(args.load)} file(s)")
        try:
            for report in load_files(store, args.load, catalogue=catalogue, today=today.date(), who=args.who):
                log(f"load: {report.summary()}")
        except LoadError as exc:
            log(f"load: failed, nothing loaded (the scan uses the stored data): {exc}")
            for line in exc.report().splitlines()[:20]:
                log(f"load:   {line}")
            code = DATA
    return code


def run(args, today: pd.Timestamp) -> int:
    """The whole cycle: [fetch] [load FILE...] scan [digest]; one log line per step; an exit code."""
    from indicators.catalogue import CatalogueError, load_catalogue
    from indicators.store import StoreError, open_store
    from monitoring.pipeline.mail import MailSettingsError, load_mail_settings
    from monitoring.pipeline.scan import scan
    from monitoring.settings import SettingsError, saved_settings

    log = logger()
    log(f"run: start (fetch: {'yes' if args.fetch else 'no'}, load: {len(args.load or [])} file(s), "
        f"digest: {'yes' if args.digest else 'no'})")
    try:
        store = open_store(args.db)
        catalogue = load_catalogue()
        codes = [_fetch_and_load(store, catalogue, args, today, log)]
        settings = saved_settings(store)
        report = scan(store, catalogue, settings, today=today, workers=args.workers, who=args.who)
        log(f"scan: run {report.run_id}: {report.series_total} series, {report.series_refitted} refitted; "
            f"{episodes_text(report.episodes)}")
        for why in report.skipped:
            log(f"scan: warning: not scored, kept as it was: {why}")
    except (StoreError, CatalogueError, SettingsError) as exc:
        log(f"run: error: {exc}")
        log(f"run: done, exit {ERROR}")
        return ERROR
    if args.digest:
        try:
            mail = load_mail_settings(args.mail)
            codes.append(digest(store, catalogue, mail, log=log))
        except (MailSettingsError, StoreError) as exc:
            log(f"digest: error: {exc}")
            codes.append(ERROR)
    code = worst(codes)
    log(f"run: done, exit {code}")
    return code
