"""The e-mail digest: what changed since the last digest, one mail per language, sent at most once.

A *change* is a new alert episode, an escalation (watch -> alert), a resolution, or a new crossing of
the EU suspension criterion, at a period that ends within ``[digest] recent_months`` of the newest data
(older ones are history: the first digest of a database does not mail its past). Each change has a key
(``new:asylum_applications:FR:2026-09``); a recipient receives a change once, in their language, for the
indicator categories they are listed for. The store records a change as sent to a recipient only after
the mail server accepted that mail: a refused or unreachable server leaves it pending for the next run.

Pure planning (:func:`detect_changes`, :func:`plan`) is apart from the store and the SMTP call
(:func:`build_digests`, :func:`deliver`), which are passed in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import pandas as pd

from indicators.catalogue import Catalogue
from indicators.periods import to_period
from indicators.store import Store, digests, episodes, observations, results
from monitoring.pipeline.mail import LANGS, MailError, MailSettings, with_saved_recipients
from monitoring.statistics.derived import indicator_of
from monitoring.statistics.episodes import open_episodes

KINDS = ("new", "escalation", "resolution", "criterion")
_SEVERITY = {"alert": 3, "watch": 2, "criterion": 1, "normal": 0}


@dataclass(frozen=True)
class Change:
    """One change worth a line in the digest."""

    key: str
    kind: str
    indicator: str
    geo: str
    period: str  # when it happened: start, escalation, resolution or crossing period
    row_period: str  # the period whose result the sentence says
    level: str  # alert, watch, normal (a resolution) or criterion
    category: str
    start_period: str = ""
    peak_level: str = ""
    score: float = 0.0
    also: tuple[str, ...] = ()  # keys said by this line too (an escalation inside a new episode's line)

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.key, *self.also)

    def record(self) -> list[dict]:
        return [{"change_key": k, "kind": k.split(":", 1)[0], "indicator": self.indicator, "geo": self.geo,
                 "period": self.period} for k in self.keys]


def _recent(period: str, cutoff: pd.Timestamp) -> bool:
    return isinstance(period, str) and bool(period) and to_period(period).end_time >= cutoff


def _score(value) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if number != number else number


def detect_changes(res: pd.DataFrame, stored: pd.DataFrame, categories: Mapping[str, str],
                   recent_months: int = 3) -> list[Change]:
    """Every change at the recent data, most severe first (no store: results and episodes frames in)."""
    if res is None or res.empty:
        return []
    newest = pd.to_datetime(res["period_start"]).max()
    cutoff = newest - pd.DateOffset(months=recent_months)
    out: list[Change] = []
    for e in ([] if stored is None else stored.to_dict("records")):
        if e["state"] not in ("open", "resolved"):
            continue  # withdrawn: no longer raised at the current settings
        ind, geo, start = e["indicator"], e["geo"], e["start_period"]
        base = {"indicator": ind, "geo": geo, "category": categories.get(ind, ""), "start_period": start,
                "peak_level": e["peak_level"], "score": _score(e.get("peak_score"))}
        series = f"{ind}:{geo}:{start}"
        if _recent(start, cutoff):
            out.append(Change(f"new:{series}", "new", period=start, row_period=e["last_period"],
                              level=e["peak_level"], **base))
        if e["peak_level"] == "alert" and e["first_level"] == "watch" and _recent(e.get("peak_period"), cutoff):
            out.append(Change(f"escalation:{series}", "escalation", period=e["peak_period"],
                              row_period=e["last_period"], level="alert", **base))
        if e["state"] == "resolved" and _recent(e.get("resolved_period"), cutoff):
            out.append(Change(f"resolution:{series}", "resolution", period=e["resolved_period"],
                              row_period=e["resolved_period"], level="normal", **base))
    if "criterion_crossed" in res:
        crossed = res[res["criterion_crossed"].fillna(False).astype(bool)]
        for r in crossed.to_dict("records"):
            if _recent(r["period"], cutoff):
                out.append(Change(f"criterion:{r['indicator']}:{r['geo']}:{r['period']}:{r['criterion']}",
                                  "criterion", r["indicator"], r["geo"], r["period"], r["period"],
                                  r["level"] if r["level"] in ("watch", "alert") else "criterion",
                                  categories.get(r["indicator"], ""), score=_score(r.get("score"))))
    return sorted(out, key=lambda c: (-_SEVERITY.get(c.level, 0), -c.score, KINDS.index(c.kind), c.indicator,
                                      c.geo, c.period))


def merge(pending: Sequence[Change]) -> list[Change]:
    """One line per episode and per series' crossings: a new episode's line says its escalation; a
    resolution's line says an episode that began and ended unseen; a series' latest crossing says its
    earlier ones, and an anomaly's sentence says a crossing at its period. Order kept (most severe first)."""
    order = {c.key: n for n, c in enumerate(pending)}
    by_episode: dict[tuple[str, str, str], dict[str, Change]] = {}
    crossings: dict[tuple[str, str], list[Change]] = {}
    for c in pending:
        if c.kind == "criterion":
            crossings.setdefault((c.indicator, c.geo), []).append(c)
        else:
            by_episode.setdefault((c.indicator, c.geo, c.start_period), {})[c.kind] = c
    lines: list[Change] = []
    for kinds in by_episode.values():
        keep = kinds.get("resolution") or kinds.get("new") or kinds["escalation"]
        lines.append(replace(keep, also=tuple(c.key for c in kinds.values() if c is not keep)))
    for (indicator, geo), found in crossings.items():
        found = sorted(found, key=lambda c: to_period(c.period))
        keep, keys = found[-1], tuple(c.key for c in found)
        host = next((n for n, h in enumerate(lines) if h.kind in ("new", "escalation") and h.indicator == indicator
                     and h.geo == geo and h.row_period == keep.period), None)
        if host is not None:
            lines[host] = replace(lines[host], also=(*lines[host].also, *keys))
        else:
            lines.append(replace(keep, also=keys[:-1]))
    return sorted(lines, key=lambda c: order[c.key])


@dataclass(frozen=True)
class Batch:
    """One mail to write: a language, its recipients, its lines (empty: an "all quiet" mail)."""

    lang: str
    recipients: tuple[str, ...]
    changes: tuple[Change, ...]
    categories: tuple[str, ...]
    quiet_key: str = ""

    @property
    def quiet(self) -> bool:
        return not self.changes

    def record(self) -> list[dict]:
        if self.quiet:
            return [{"change_key": self.quiet_key, "kind": "quiet"}]
        return [row for c in self.changes for row in c.record()]


def recipient_categories(recipients: Mapping[str, Mapping[str, Sequence[str]]], lang: str
                         ) -> dict[str, tuple[str, ...]]:
    """address -> the categories it is listed for in ``lang`` (``all`` covers every one)."""
    out: dict[str, set[str]] = {}
    for cat, addresses in recipients.get(lang, {}).items():
        for a in addresses:
            out.setdefault(a, set()).add(cat)
    return {a: tuple(sorted(c)) for a, c in out.items()}


def plan(changes: Sequence[Change], audience: Mapping[str, Mapping[str, tuple[str, ...]]],
         sent: set[tuple[str, str, str]], *, last_sent: Mapping[tuple[str, str], dt.datetime] | None = None,
         all_quiet: str = "never", now: dt.datetime | None = None) -> list[Batch]:
    """The mails to send: per language, recipients with the same pending lines share one mail.

    ``audience``: lang -> address -> categories. ``sent``: (change_key, lang, address) already sent.
    With ``all_quiet = "weekly"``, a recipient with nothing pending who had no mail in that language for
    seven days gets an "all quiet" mail (once per ISO week).
    """
    batches: list[Batch] = []
    now = now or dt.datetime.now()
    week = "quiet:{}-W{:02d}".format(*now.isocalendar()[:2])
    for lang in LANGS:
        groups: dict[tuple[str, ...], tuple[list[str], list[Change], set[str]]] = {}
        quiet: list[str] = []
        for address, cats in sorted(audience.get(lang, {}).items()):
            mine = [c for c in changes if "all" in cats or c.category in cats]
            pending = merge([c for c in mine if (c.key, lang, address) not in sent])
            if pending:
                group = groups.setdefault(tuple(c.key for c in pending), ([], pending, set()))
                group[0].append(address)
                group[2].update(cats)
            elif all_quiet == "weekly" and (week, lang, address) not in sent:
                last = (last_sent or {}).get((lang, address))
                if last is None or pd.Timestamp(now) - pd.Timestamp(last) >= pd.Timedelta(days=7):
                    quiet.append(address)
        for addresses, pending, cats in groups.values():
            batches.append(Batch(lang, tuple(addresses), tuple(pending), tuple(sorted(cats))))
        if quiet:
            batches.append(Batch(lang, tuple(quiet), (), (), quiet_key=week))
    return batches


def audience_of(mail: MailSettings, *, lang: str | None = None, to: Sequence[str] | None = None
                ) -> dict[str, dict[str, tuple[str, ...]]]:
    """lang -> address -> categories: the settings' recipients, or ``to`` (every category) instead."""
    langs = [lang] if lang else list(LANGS)
    if to:
        return {lg: {a: ("all",) for a in to} for lg in langs}
    return {lg: recipient_categories(mail.recipients, lg) for lg in langs}


@dataclass(frozen=True)
class DigestContext:
    """What the mails are written from: the store's results and episodes, read once."""

    store: Store
    catalogue: Catalogue
    mail: MailSettings
    results: pd.DataFrame
    changes: tuple[Change, ...]
    open_count: object
    synthetic: bool
    now: dt.datetime = field(default_factory=dt.datetime.now)


def context(store: Store, catalogue: Catalogue, mail: MailSettings, *, now: dt.datetime | None = None
            ) -> DigestContext:
    """Read the results and episodes once; the recipients saved on the Recipients page win over the file."""
    saved = digests.latest_recipients(store)
    mail = with_saved_recipients(mail, saved[1] if saved else None)
    res = results.read_results(store)
    stored = episodes.read_episodes(store)
    ids = set(res["indicator"]) if len(res) else set()
    categories = {i: (ind.category if (ind := indicator_of(catalogue, i)) else "") for i in ids}
    found = detect_changes(res, stored, categories, mail.digest.recent_months)
    return DigestContext(store, catalogue, mail, res, tuple(found), open_episodes(stored),
                         observations.synthetic_in_use(store), now or store.clock())


@dataclass(frozen=True)
class Outcome:
    """What a digest did: mails accepted, recipients refused, failures (kept for the next run)."""

    sent: tuple[tuple[str, tuple[str, ...], str], ...] = ()  # (lang, recipients, subject)
    refused: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failed and not self.refused


def deliver(ctx: DigestContext, batches: Sequence[Batch], compose: Callable, send: Callable, *,
            who: str = "system", log: Callable[[str], None] = print) -> Outcome:
    """Send each batch (``compose(ctx, batch) -> EmailMessage``; ``send(message, recipients) -> refused``)
    and record it as sent for the recipients the server accepted, right after it accepted them."""
    sent, refused, failed = [], [], []
    for batch in batches:
        message = compose(ctx, batch)
        try:
            rejected = send(message, list(batch.recipients))
        except MailError as exc:
            failed.append(f"{batch.lang}: {exc}")
            log(f"digest {batch.lang}: not sent, kept for the next run: {exc}")
            continue
        accepted = [a for a in batch.recipients if a not in rejected]
        digests.record_sent(ctx.store, batch.record(), lang=batch.lang, recipients=accepted,
                            subject=str(message["Subject"]), who=who)
        refused += [f"{batch.lang}: {a} ({why})" for a, why in rejected.items()]
        sent.append((batch.lang, tuple(accepted), str(message["Subject"])))
        what = "all quiet" if batch.quiet else f"{len(batch.changes)} change(s)"
        log(f"digest {batch.lang}: sent {what} to {', '.join(accepted)}")
        for a, why in rejected.items():
            log(f"digest {batch.lang}: {a} refused by the mail server ({why}), kept for the next run")
    return Outcome(tuple(sent), tuple(refused), tuple(failed))
