"""Alert rules and the task that raises alerts from them.

A rule (table alert_rules) is one of five kinds, for one site or (site NULL) every site:

- `unsatisfied` (差评集中): in the last `minutes`, a window got at least `min_ratings` ratings and at least `share`
  of them were bad reviews (差评) by the follow-up rules (server/domain/cases.py: the ratings that open a case; by default
  the bottom two of five levels, 不满意 and 非常不满意), e.g. at least half of at least 4 ratings in 15 minutes. Ratings counted into an alert are not
  counted again: the same condition again needs `min_ratings` new ratings.
- `absence`: a window's away sign has been out for more than `minutes`.
- `unstaffed`: during the site's opening hours a window has had nobody on duty (away, no clerk signed in,
  or its kiosk offline) for `minutes`.
- `offline`: a window's kiosk has been offline for `minutes`.
- `gap`: a kiosk's stream has waited `minutes` for missing events, or the collector declared events lost.

Two more kinds have no rule, raised by the collector itself: `rate` (`raise_rate_alert`) when a kiosk sends more
events per minute than the server's quota allows (server/domain/quota.py), once per episode of rejections; `storage`
(`raise_storage_alert`) when a kiosk's status says its outbox stopped storing events (a full disk, or another
write failure), once per episode: until a status says it stores again (devices.storage).

Each condition carries a key (kind, rule, window or device) and the moment its occurrence began. An
occurrence already counted (the key's newest alert was raised or merged after it began) is skipped; a new
occurrence is merged into the key's alert (count + 1) while that alert is open or was acknowledged less than
`merge_minutes` ago, otherwise it raises a new alert. A new alert is queued for delivery to every enabled
target of its site or of every site; a merged one again only when none of its deliveries is pending and the
last one is `repeat_minutes` old (server/followup/delivery.py sends them).

The rules are pure functions of `Facts` read from the store; `AlertTask` reads, evaluates and writes.
"""
from __future__ import annotations

import bisect
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from server.domain import hours
from server.domain.cases import Rules, is_bad
from server.followup import cases as followup_cases
from server.store import Store
from shared.timefmt import to_ms

log = logging.getLogger(__name__)

MINUTE = 60_000


def N_(template: str) -> str:
    """Marks a text for the gettext catalog; pages translate it where they show it."""
    return template


# ---------------------------------------------------------------- kinds and their parameters
@dataclass(frozen=True)
class Param:
    name: str
    label: str
    default: float
    low: float
    high: float
    integer: bool = True
    percent: bool = False  # stored as a fraction, entered and shown as a percentage


_MINUTES = N_("分钟")
PARAMS: dict[str, tuple[Param, ...]] = {
    "unsatisfied": (Param("minutes", _MINUTES, 15, 1, 1440), Param("min_ratings", N_("至少评价数"), 4, 1, 1000),
                    Param("share", N_("差评占比"), 0.5, 0.01, 1.0, integer=False, percent=True)),
    "absence": (Param("minutes", _MINUTES, 15, 1, 1440),),
    "unstaffed": (Param("minutes", _MINUTES, 10, 1, 1440),),
    "offline": (Param("minutes", _MINUTES, 10, 1, 1440),),
    "gap": (Param("minutes", _MINUTES, 5, 1, 1440),),
}
KINDS = tuple(PARAMS)
KIND_LABELS = {
    "unsatisfied": N_("差评集中"),
    "absence": N_("离岗超时"),
    "unstaffed": N_("开放时间无人在岗"),
    "offline": N_("评价器离线"),
    "gap": N_("数据缺失"),
    "rate": N_("评价器发送超限"),  # raised by the collector, no rule (raise_rate_alert)
    "storage": N_("评价器存储故障"),  # raised by the collector, no rule (raise_storage_alert)
    "chain": N_("评价器签名记录"),  # raised by the collector, no rule (raise_chain_alert)
    "misuse": N_("疑似违规评价"),  # raised by the misuse task, no rule (raise_misuse_alert)
}
KIND_DESCRIPTIONS = {
    "unsatisfied": N_("%(minutes)s 分钟内至少 %(min_ratings)s 条评价，其中差评占 %(share)s 及以上"),
    "absence": N_("离岗超过 %(minutes)s 分钟"),
    "unstaffed": N_("开放时间内窗口无人在岗（离岗、未签到或评价器离线）达 %(minutes)s 分钟"),
    "offline": N_("评价器离线超过 %(minutes)s 分钟"),
    "gap": N_("评价器的数据缺口超过 %(minutes)s 分钟未补齐，或已确认丢失"),
}


class ParamError(ValueError):
    """A bad parameter: `template % params` in Chinese; `translated(gettext)` in the reader's language."""

    def __init__(self, template: str, **params):
        super().__init__(template % params)
        self.template, self.params = template, params

    def translated(self, gettext) -> str:
        return gettext(self.template, **{k: gettext(v) if k == "label" else v for k, v in self.params.items()})


@dataclass(frozen=True)
class Text:
    """An alert's text as a catalog template and its values, some of them texts in turn. str() is Chinese,
    the halls' language, which deliveries send and `alerts.message` keeps; `translated(gettext)` is the
    reader's, for the pages. Stored as JSON beside the message (`alerts.text`)."""
    template: str
    params: Mapping[str, str | int | Text] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.template % {k: str(v) for k, v in self.params.items()}

    def translated(self, gettext) -> str:
        return gettext(self.template, **{k: v.translated(gettext) if isinstance(v, Text) else v
                                         for k, v in self.params.items()})

    def to_json(self) -> str:
        return json.dumps(self._plain(), ensure_ascii=False)

    def _plain(self) -> dict:
        return {"t": self.template, "p": {k: v._plain() if isinstance(v, Text) else v for k, v in self.params.items()}}

    @classmethod
    def from_json(cls, text: str) -> Text:
        return cls._from_plain(json.loads(text))

    @classmethod
    def _from_plain(cls, plain: dict) -> Text:
        return cls(plain["t"], {k: cls._from_plain(v) if isinstance(v, dict) else v for k, v in plain["p"].items()})


def defaults(kind: str) -> dict:
    return {p.name: p.default for p in PARAMS[kind]}


def params_of(rule: Mapping) -> dict:
    """The rule's parameters with the defaults for those it lacks."""
    return {**defaults(rule["kind"]), **{k: v for k, v in (rule.get("params") or {}).items()
                                         if k in defaults(rule["kind"])}}


def parse_params(kind: str, form: Mapping[str, str]) -> dict:
    """The parameters of a rule of `kind` from text fields (a blank one takes the default); raises
    ParamError for an unknown kind or a value that is not a number in range. Percentages are entered as such."""
    if kind not in PARAMS:
        raise ParamError(N_("未知的告警类型“%(kind)s”"), kind=kind)
    out = {}
    for p in PARAMS[kind]:
        text = (form.get(p.name) or "").strip().rstrip("%％")
        if not text:
            out[p.name] = p.default
            continue
        try:
            value = float(text)
        except ValueError:
            raise ParamError(N_("%(label)s应是数字"), label=p.label) from None
        if p.percent:
            value /= 100
        if p.integer and value != int(value):
            raise ParamError(N_("%(label)s应是整数"), label=p.label)
        low, high = (p.low * 100, p.high * 100) if p.percent else (p.low, p.high)
        if not p.low <= value <= p.high:
            raise ParamError(N_("%(label)s应在 %(low)s 到 %(high)s 之间"), label=p.label,
                             low=_number(low), high=_number(high))
        out[p.name] = int(value) if p.integer else round(value, 4)
    return out


def shown_params(kind: str, params: Mapping) -> dict[str, str]:
    """The parameters as the admin enters them (percentages as percentages)."""
    out = {}
    for p in PARAMS[kind]:
        value = params.get(p.name, p.default)
        out[p.name] = _number(value * 100) if p.percent else _number(value)
    return out


def _number(value: float) -> str:
    return str(int(value)) if float(value) == int(value) else f"{value:g}"


# ---------------------------------------------------------------- what the rules see
@dataclass
class Facts:
    now: int
    titles: dict[str, str] = field(default_factory=dict)
    window_site: dict[str, str | None] = field(default_factory=dict)
    sites: dict[str, tuple[str, str]] = field(default_factory=dict)      # site -> (time zone, hours JSON)
    # window -> [(at, score, scale), ...] up to `now`, in time order; the windows in the order of their first rating
    ratings: dict[str, list[tuple[int, int, int]]] = field(default_factory=dict)
    absences: list[tuple[str, str | None, int]] = field(default_factory=list)  # (window, site, start)
    states: list[dict] = field(default_factory=list)                      # store.alerts.window_states()
    no_clerk_since: dict[str, int] = field(default_factory=dict)          # window -> first seen with no clerk
    offline: list[tuple[str, str | None, str | None, int]] = field(default_factory=list)
    gaps: list[tuple] = field(default_factory=list)                       # store.alerts.stream_gaps()
    last_fired: dict[str, int] = field(default_factory=dict)              # key -> newest alert's last_at
    bad: Rules = field(default_factory=Rules)                             # what a 差评 is (server/domain/cases.py)


@dataclass(frozen=True)
class Condition:
    kind: str
    rule_id: int | None
    site: str | None
    window: str | None
    device: str | None
    key: str
    since: int       # when this occurrence began
    message: Text


def key_of(kind: str, rule_id: int | None, subject: str | None) -> str:
    return f"{kind}:{rule_id}:{subject or ''}"


def _applies(rule: Mapping, site: str | None) -> bool:
    return rule["site"] is None or rule["site"] == site


def _name(facts: Facts, window: str | None) -> Text | str:
    return _named(window, facts.titles.get(window) if window else None)


def _named(window: str | None, title: str | None) -> Text | str:
    if not window:
        return Text(N_("未分配窗口"))
    return Text(N_("%(title)s（%(window)s）"), {"title": title, "window": window}) if title and title != window \
        else window


def _condition(rule: Mapping, site, window, device, since: int, message: Text) -> Condition:
    subject = window if rule["kind"] in ("unsatisfied", "absence", "unstaffed") else device
    return Condition(rule["kind"], rule["id"], site, window, device, key_of(rule["kind"], rule["id"], subject),
                     since, message)


def unsatisfied(rule: Mapping, facts: Facts) -> list[Condition]:
    p = params_of(rule)
    start = facts.now - p["minutes"] * MINUTE
    by_window: list[tuple[int, str, list[tuple[int, int, int]]]] = []  # (first rating's at, window, its ratings)
    for window, rated in facts.ratings.items():  # each rule its windows' ratings of its span, not every rating
        if not _applies(rule, facts.window_site.get(window)):
            continue
        fired = facts.last_fired.get(key_of("unsatisfied", rule["id"], window), -1)  # counted into an alert already
        ratings = rated[bisect.bisect_left(rated, (max(start, fired + 1),)):]  # read up to now (AlertTask.facts)
        if ratings:
            by_window.append((ratings[0][0], window, ratings))
    out = []
    for _, window, ratings in sorted(by_window, key=lambda found: found[0]):  # stable: ties keep the windows' order
        n = len(ratings)
        bad = sum(1 for _, score, scale in ratings if is_bad(score, scale, facts.bad))
        if n >= p["min_ratings"] and bad >= p["share"] * n - 1e-9:
            message = Text(N_("%(name)s：%(minutes)s 分钟内 %(n)s 条评价中 %(bad)s 条差评（%(share)s%%）"),
                           {"name": _name(facts, window), "minutes": p["minutes"], "n": n, "bad": bad,
                            "share": round(bad * 100 / n)})
            out.append(_condition(rule, facts.window_site.get(window), window, None,
                                  min(at for at, _, _ in ratings), message))
    return out


def absence(rule: Mapping, facts: Facts) -> list[Condition]:
    limit = params_of(rule)["minutes"] * MINUTE
    return [_condition(rule, site, window, None, start,
                       Text(N_("%(name)s：离岗已 %(minutes)s 分钟"),
                            {"name": _name(facts, window), "minutes": (facts.now - start) // MINUTE}))
            for window, site, start in facts.absences
            if _applies(rule, site) and facts.now - start >= limit]


def opening_since(week: hours.Week, tz: ZoneInfo, now: int) -> int | None:
    """When the opening period that `now` falls in began (adjoining spans count as one); None when closed."""
    spans = hours.opening_spans(week, tz, now - 2 * 24 * 60 * MINUTE, now + 1)
    if not spans or spans[-1][1] != now + 1:
        return None
    begin = spans[-1][0]
    for a, b in reversed(spans[:-1]):
        if b != begin:
            break
        begin = a
    return begin


def unstaffed(rule: Mapping, facts: Facts) -> list[Condition]:
    limit = params_of(rule)["minutes"] * MINUTE
    weeks: dict[str, int | None] = {}
    out = []
    for st in facts.states:
        site = st["site"]
        if not site or not _applies(rule, site):
            continue
        if site not in weeks:
            weeks[site] = _open_since(facts.sites.get(site), facts.now, site)
        open_since = weeks[site]
        if open_since is None:
            continue
        if not st["online"]:
            since, why = st["last_seen"] or facts.now, N_("评价器离线")
        elif st["presence"] == "away":
            since, why = st["away_since"] or facts.now, N_("离岗")
        elif not st["staff"]:
            since, why = facts.no_clerk_since.get(st["window"], facts.now), N_("无人签到")
        else:
            continue
        since = max(since, open_since)
        if facts.now - since >= limit:
            out.append(_condition(rule, site, st["window"], st["device"], since,
                                  Text(N_("%(name)s：开放时间内无人在岗已 %(minutes)s 分钟（%(why)s）"),
                                       {"name": _name(facts, st["window"]),
                                        "minutes": (facts.now - since) // MINUTE, "why": Text(why)})))
    return out


def _open_since(site_row: tuple[str, str] | None, now: int, site: str) -> int | None:
    if not site_row:
        return None
    try:
        week, tz = hours.loads(site_row[1]), ZoneInfo(site_row[0])
    except (ValueError, TypeError, KeyError, ZoneInfoNotFoundError) as exc:
        log.warning("site %s has unusable opening hours or time zone: %s", site, exc)
        return None
    return opening_since(week, tz, now) if week else None


def offline(rule: Mapping, facts: Facts) -> list[Condition]:
    limit = params_of(rule)["minutes"] * MINUTE
    return [_condition(rule, site, window, device, last_seen,
                       Text(N_("评价器 %(device)s（%(name)s）离线已 %(minutes)s 分钟"),
                            {"device": device, "name": _name(facts, window),
                             "minutes": (facts.now - last_seen) // MINUTE}))
            for device, window, site, last_seen in facts.offline
            if _applies(rule, site) and facts.now - last_seen >= limit]


def gap(rule: Mapping, facts: Facts) -> list[Condition]:
    limit = params_of(rule)["minutes"] * MINUTE
    out = []
    for device, window, site, stream, since, lost, seqs in facts.gaps:
        if not _applies(rule, site):
            continue
        where = Text(N_("评价器 %(device)s（%(name)s）的数据流 %(stream)s"),
                     {"device": device, "name": _name(facts, window), "stream": stream})
        if lost:
            out.append(_condition(rule, site, window, device, since,
                                  Text(N_("%(where)s 丢失事件 %(seqs)s，已无法补传"), {"where": where, "seqs": seqs})))
        elif facts.now - since >= limit:
            out.append(_condition(rule, site, window, device, since,
                                  Text(N_("%(where)s 自第 %(seqs)s 号起缺少事件已 %(minutes)s 分钟"),
                                       {"where": where, "seqs": seqs, "minutes": (facts.now - since) // MINUTE})))
    return out


EVALUATE = {"unsatisfied": unsatisfied, "absence": absence, "unstaffed": unstaffed, "offline": offline, "gap": gap}


def evaluate(rules: Iterable[Mapping], facts: Facts) -> list[Condition]:
    """Every condition the rules find, one per key (the latest occurrence when a key has several)."""
    found: dict[str, Condition] = {}
    for rule in rules:
        for condition in EVALUATE[rule["kind"]](rule, facts):
            kept = found.get(condition.key)
            if kept is None or condition.since > kept.since:
                found[condition.key] = condition
    return list(found.values())


# ---------------------------------------------------------------- raising alerts
def raise_alerts(store: Store, conditions: Iterable[Condition], now: int, merge_ms: int,
                 repeat_ms: int) -> dict[str, list[int]]:
    """New alerts and merges for the conditions; {"raised": [alert ids], "merged": [alert ids]}."""
    conditions = list(conditions)
    latest = store.alerts.latest_alerts([c.key for c in conditions])
    out: dict[str, list[int]] = {"raised": [], "merged": []}
    for c in conditions:
        prev = latest.get(c.key)
        if prev and prev["last_at"] >= c.since:
            continue  # this occurrence was counted already
        with store.db.atomic():
            if prev and (prev["acked_at"] is None or now - prev["acked_at"] < merge_ms):
                store.alerts.merge_alert(prev["id"], str(c.message), now, c.message.to_json())
                pending, last = store.alerts.last_notice(prev["id"])
                if not pending and (last is None or now - last >= repeat_ms):
                    store.alerts.enqueue_deliveries(prev["id"], c.site, now)
                out["merged"].append(prev["id"])
                log.info("alert %s again (%s): %s", prev["id"], c.key, c.message)
            else:
                alert_id = store.alerts.insert_alert(c.rule_id, c.kind, c.site, c.window, c.device, c.key, str(c.message),
                                              now, c.message.to_json())
                store.alerts.enqueue_deliveries(alert_id, c.site, now)
                out["raised"].append(alert_id)
                log.warning("alert %s raised (%s): %s", alert_id, c.key, c.message)
    return out


MERGE_MINUTES = REPEAT_MINUTES = 30  # defaults of ALERT_MERGE_MINUTES and ALERT_REPEAT_MINUTES


def raise_rate_alert(store: Store, device: str, limit: int, now: int) -> dict[str, list[int]]:
    """A kiosk's events went beyond the quota of `limit` per minute (a new episode of rejections, server/domain/quota.py):
    one alert, or counted into the device's open one, for the site of the window it serves."""
    window, title, site = store.alerts.device_place(device)
    message = Text(N_("评价器 %(device)s（%(name)s）每分钟发送的事件超过 %(limit)s 条，超出的已拒收"),
                   {"device": device, "name": _named(window, title), "limit": limit})
    condition = Condition("rate", None, site, window, device, key_of("rate", None, device), now, message)
    return raise_alerts(store, [condition], now, MERGE_MINUTES * MINUTE, REPEAT_MINUTES * MINUTE)


STORAGE_TEXTS = {
    "full": N_("评价器 %(device)s（%(name)s）存储已满：评价暂不能保存，请清理或更换存储卡"),
    "error": N_("评价器 %(device)s（%(name)s）存储出错：评价暂不能保存，请查看评价器日志"),
}


def raise_storage_alert(store: Store, device: str, storage: str, now: int) -> dict[str, list[int]]:
    """A kiosk's outbox stopped storing events (`storage`: "full" or "error", a new episode as its status says):
    one alert, or counted into the device's open one, for the site of the window it serves."""
    window, title, site = store.alerts.device_place(device)
    message = Text(STORAGE_TEXTS[storage], {"device": device, "name": _named(window, title)})
    condition = Condition("storage", None, site, window, device, key_of("storage", None, device), now, message)
    return raise_alerts(store, [condition], now, MERGE_MINUTES * MINUTE, REPEAT_MINUTES * MINUTE)


CHAIN_TEXTS = {
    "new": N_("评价器 %(device)s（%(name)s）开始了新的签名记录链（流 %(stream)s）：存储卡或评价器已更换"),
    "refused": N_("评价器 %(device)s（%(name)s）的事件因签名或记录链不符被拒收：%(reason)s"),
}


def raise_chain_alert(store: Store, device: str, what: str, now: int, **details: str) -> dict[str, list[int]]:
    """A kiosk with a pinned key began a new chain (`what` "new": its storage or the kiosk was replaced), or
    sent events the collector refused for their signature or chain ("refused"): one alert per episode."""
    window, title, site = store.alerts.device_place(device)
    message = Text(CHAIN_TEXTS[what], {"device": device, "name": _named(window, title), **details})
    condition = Condition("chain", None, site, window, device, key_of("chain", None, f"{device}:{what}"), now, message)
    return raise_alerts(store, [condition], now, MERGE_MINUTES * MINUTE, REPEAT_MINUTES * MINUTE)


def raise_misuse_alert(store: Store, window: str, flagged: int, now: int) -> dict[str, list[int]]:
    """Ratings at `window` were flagged as suspected misuse (server/domain/misuse.py): one alert per episode."""
    title, site = store.alerts.window_place(window)
    message = Text(N_("%(name)s：%(n)s 条评价疑似违规（非营业时间、集中刷评、超出服务人数等），请核查"),
                   {"name": _named(window, title), "n": flagged})
    condition = Condition("misuse", None, site, window, None, key_of("misuse", None, window), now, message)
    return raise_alerts(store, [condition], now, MERGE_MINUTES * MINUTE, REPEAT_MINUTES * MINUTE)


GAP_LOOKBACK = 60 * MINUTE  # gaps declared lost this recently still raise an alert


class AlertTask:
    """Evaluates the enabled rules every `interval` seconds on the jobs thread (server/jobs.py)."""

    name = "alerts"

    def __init__(self, interval: float = 10.0, merge_minutes: float = MERGE_MINUTES,
                 repeat_minutes: float = REPEAT_MINUTES):
        self.interval = float(interval)
        self.merge_ms = int(merge_minutes * MINUTE)
        self.repeat_ms = int(repeat_minutes * MINUTE)
        self._no_clerk_since: dict[str, int] = {}  # seen without a clerk since; kept while the server runs

    @classmethod
    def from_config(cls, config: Mapping) -> AlertTask:
        return cls(float(config.get("ALERT_INTERVAL", 10)), float(config.get("ALERT_MERGE_MINUTES", MERGE_MINUTES)),
                   float(config.get("ALERT_REPEAT_MINUTES", REPEAT_MINUTES)))

    def run(self, store: Store, now: datetime) -> None:
        now_ms = to_ms(now)
        rules = store.alerts.alert_rules(enabled_only=True)
        if not rules:
            return
        facts = self.facts(store, rules, now_ms)
        raise_alerts(store, evaluate(rules, facts), now_ms, self.merge_ms, self.repeat_ms)

    def facts(self, store: Store, rules: list[dict], now: int) -> Facts:
        """Only what the rules need, each read once."""
        kinds = {r["kind"] for r in rules}
        facts = Facts(now, titles=store.reports.window_titles(), window_site=store.alerts.window_sites_all())
        if "unsatisfied" in kinds:
            longest = max(params_of(r)["minutes"] for r in rules if r["kind"] == "unsatisfied")
            for window, at, score, scale in store.alerts.ratings_between(now - longest * MINUTE, now):
                facts.ratings.setdefault(window, []).append((at, score, scale))
            facts.last_fired = store.alerts.last_fired([  # of the windows just rated, not every alert ever
                key_of("unsatisfied", r["id"], window) for r in rules if r["kind"] == "unsatisfied"
                for window in facts.ratings if _applies(r, facts.window_site.get(window))])
            facts.bad = followup_cases.case_rules(store)
        if "absence" in kinds:
            facts.absences = store.alerts.open_absences()
        if "unstaffed" in kinds:
            facts.sites = store.reports.site_hours()
            facts.states = store.alerts.window_states()
            no_clerk = {s["window"] for s in facts.states if s["online"] and s["presence"] != "away" and not s["staff"]}
            self._no_clerk_since = {w: self._no_clerk_since.get(w, now) for w in no_clerk}
            facts.no_clerk_since = dict(self._no_clerk_since)
        if "offline" in kinds:
            facts.offline = store.alerts.offline_kiosks()
        if "gap" in kinds:
            facts.gaps = store.alerts.stream_gaps(now - GAP_LOOKBACK)
        return facts
