"""Bad-review follow-up as the server runs it: a case opened for each bad rating, due the rules' n-th working day
after the local day it was given, and each step of a case checked against the rules (server/domain/cases.py)
before the store (server/store/cases.py) keeps it with its audit trail."""
from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from server.domain.cases import LOGGED_AS, SETTING, Rules, check, due_date, is_bad, rules_from
from server.domain.workdays import Calendar
from server.store import Store

log = logging.getLogger(__name__)


class CaseSeed(NamedTuple):
    """A bad rating that opens a case."""
    rating_id: str
    window: str
    staff: str | None
    score: int
    scale: int
    case_no: str | None
    at: int  # ms, when the rating was given


def case_rules(store: Store) -> Rules:
    return rules_from(store.settings.setting(SETTING))


def set_case_rules(store: Store, rules: Rules) -> None:
    store.settings.set_setting(SETTING, rules.to_json())


def case_calendar(store: Store) -> Calendar:
    """The working-day calendar with the admin's corrections."""
    return Calendar.from_rows(store.cases.corrections())


# ------------------------------------------------------------ opening
def open_cases_for(store: Store, items: Sequence, now: int, default_zone: str) -> int:
    """Ingest's hook: open a case for each bad rating among newly stored events (StoredEvent).
    Good ratings cost a set lookup; the rules are read only when the batch has ratings."""
    rules: Rules | None = None
    seeds = []
    for item in items:
        e = item.event
        if e.type != "rating":
            continue
        if rules is None:
            rules = case_rules(store)
        if is_bad(e.score, e.scale, rules):
            seeds.append(CaseSeed(e.id, e.window, e.staff, e.score, e.scale, e.case, item.at))
    return open_cases(store, seeds, now, default_zone, rules) if seeds else 0


def open_cases(store: Store, seeds: Sequence[CaseSeed | tuple], now: int, default_zone: str,
               rules: Rules | None = None) -> int:
    """Open a case per bad rating (none for a rating that has one), each due the rules' n-th working
    day after the local day (the window's site's zone) it was given; logged as opened by the system.
    Runs in the caller's transaction. Returns how many were opened."""
    if not seeds:
        return 0
    seeds = [s if type(s) is CaseSeed else CaseSeed(*s) for s in seeds]
    rules = rules or case_rules(store)
    calendar = case_calendar(store)
    window_zone = store.cases.window_zones((s.window for s in seeds), default_zone)
    zones = {name: _zone(name, default_zone) for name in set(window_zone.values())}
    dues: dict[tuple[str, date], tuple[str, str]] = {}  # a batch's ratings mostly share their zone and day
    rows, details = [], {}
    for s in seeds:
        zone = window_zone[s.window]
        day = datetime.fromtimestamp(s.at / 1000, zones[zone]).date()
        due = dues.get((zone, day))
        if due is None:  # the due date, and the log's detail of it
            end = due_date(calendar, day, rules).isoformat()
            due = dues[zone, day] = end, json.dumps({"from": day.isoformat(), "days": rules.days, "due": end})
        rows.append((s.rating_id, s.window, s.staff, s.score, s.scale, s.case_no, s.at, due[0]))
        details[s.rating_id] = due[1]
    return store.cases.insert_cases(rows, details, now)


def _zone(name: str, default_zone: str) -> ZoneInfo:
    """A site's zone; a broken one (the registry checks them) must not stop ingestion."""
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        log.error("unknown time zone %r: counting a deadline in %s", name, default_zone)
        return ZoneInfo(default_zone)


# ------------------------------------------------------------ the workflow, each step checked and audited
def _act(store: Store, case_id: int, action: str, user: str, now: int, detail: str | None = None,
         changes: Mapping[str, object] = {}) -> bool:
    """Apply `action` if the case's status allows it (cases.check raises NotAllowed otherwise), set `changes`
    and log it, in one transaction. False when there is no such case."""
    return store.cases.apply(case_id, lambda row: check(row["status"], action, row), LOGGED_AS[action], user, now,
                             detail, changes)


def assign(store: Store, case_id: int, assignee: str, user: str, now: int) -> bool:
    return _act(store, case_id, "assign", user, now, assignee, {"assignee": assignee})


def note(store: Store, case_id: int, text: str, user: str, now: int) -> bool:
    return _act(store, case_id, "note", user, now, text)


def callback(store: Store, case_id: int, at: int, text: str, user: str, now: int) -> bool:
    return _act(store, case_id, "callback", user, now, json.dumps({"at": at, "note": text}, ensure_ascii=False),
                {"callback_at": at})


def verdict(store: Store, case_id: int, value: str, user: str, now: int) -> bool:
    return _act(store, case_id, "verdict", user, now, value, {"verdict": value})


def close(store: Store, case_id: int, user: str, now: int) -> bool:
    return _act(store, case_id, "close", user, now, None, {"closed_at": now})


def reopen(store: Store, case_id: int, user: str, now: int) -> bool:
    """Open again: the callback and the verdict are cleared (the trail keeps them), so a second close needs a new
    callback and verdict."""
    return _act(store, case_id, "reopen", user, now, None, {"closed_at": None, "callback_at": None, "verdict": None})


def reschedule_open_cases(store: Store, user: str, now: int) -> int:
    """After the calendar changed: every open case's due date counted again; returns how many moved."""
    return store.cases.reschedule_open_cases(case_calendar(store), user, now)
