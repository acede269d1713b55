"""Sending alerts: plain JSON webhooks, WeCom and DingTalk group robots, e-mail over SMTP.

`DeliveryTask` runs on the jobs thread (server/jobs.py), never on the collector's, so a slow or broken
target cannot hold up ingestion. Each due delivery is tried once per run with a short timeout; a failure is
tried again after 30 s, 1 min, 2 min ... up to 1 h, and given up after `max_attempts`. A target takes at most
`per_minute` sends a minute (the rest wait their turn), and a target that failed in a run is not tried again in
that run, and its other deliveries wait as long as its failed one, so it cannot starve the others.
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import logging
import smtplib
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from server.domain.zones import DEFAULT_ZONE
from server.followup.alerts import KIND_LABELS as _KINDS
from server.ops.mailer import SmtpSettings, send_mail
from server.store import Store
from shared.timefmt import format_ts, from_ms, local_text, to_ms

log = logging.getLogger(__name__)

TIMEOUT = 5.0
BACKOFF_FIRST = 30_000       # ms before the first retry
BACKOFF_MAX = 3_600_000      # ms: retries never wait longer than an hour
MAX_ATTEMPTS = 10
KIND_LABELS = {**_KINDS, "test": "测试"}
PER_MINUTE = 10


class DeliveryError(Exception):
    """A send that did not go through; the message says why (kept as the delivery's last_error)."""


class Hopeless(DeliveryError):
    """A send that cannot go through by retrying (no SMTP server configured): given up at once."""


def backoff_ms(attempts: int) -> int:
    """The wait after the `attempts`-th failed attempt: 30 s doubling, at most an hour."""
    return min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** max(0, attempts - 1))


# ---------------------------------------------------------------- what is sent
def alert_text(alert: Mapping, tz: ZoneInfo) -> str:
    """The alert as one text, for robots and e-mail (Chinese: the halls' groups read it)."""
    first, last = local_text(alert["first_at"], tz, "minute"), local_text(alert["last_at"], tz, "minute")
    lines = [f"【窗口服务评价告警】{KIND_LABELS.get(alert['kind'], alert['kind'])}", alert["message"],
             f"首次：{first}　最近：{last}　累计：{alert['count']} 次"]
    if alert.get("site"):
        lines.insert(2, f"大厅：{alert['site']}")
    return "\n".join(lines)


def alert_json(alert: Mapping, tz: ZoneInfo) -> dict:
    """The plain webhook's body."""
    return {"alert": {
        "id": alert["alert_id"], "kind": alert["kind"], "site": alert["site"], "window": alert["window"],
        "title": alert.get("title"), "device": alert["device"], "message": alert["message"],
        "first_at": format_ts(from_ms(alert["first_at"], tz)), "last_at": format_ts(from_ms(alert["last_at"], tz)),
        "count": alert["count"], "acknowledged": alert["acked_at"] is not None, "text": alert_text(alert, tz)}}


def robot_json(alert: Mapping, tz: ZoneInfo) -> dict:
    """A WeCom or DingTalk group robot's text message."""
    return {"msgtype": "text", "text": {"content": alert_text(alert, tz)}}


def dingtalk_url(address: str, now_ms: int) -> str:
    """A DingTalk robot's address; with its signing secret after `#` (…access_token=X#SECxxx), signed."""
    url, _, secret = address.partition("#")
    if not secret:
        return url
    sign = hmac.new(secret.encode(), f"{now_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return f"{url}&timestamp={now_ms}&sign={urllib.parse.quote_plus(base64.b64encode(sign))}"


# ---------------------------------------------------------------- how it is sent
def post_json(url: str, body: dict, timeout: float = TIMEOUT) -> bytes:
    """POST `body` as JSON; the answer's body, or DeliveryError."""
    request = urllib.request.Request(url, data=json.dumps(body, ensure_ascii=False).encode(), method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8",
                                              "User-Agent": "counter-eval"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read(65536)
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise DeliveryError(f"无法连接：{exc.reason}") from None
    except TimeoutError:
        raise DeliveryError(f"{timeout:g} 秒内无应答") from None
    except OSError as exc:
        raise DeliveryError(f"连接出错：{exc}") from None


def _robot_answer(raw: bytes) -> None:
    """WeCom and DingTalk answer HTTP 200 with {"errcode": 0, ...} on success, another errcode otherwise."""
    try:
        answer = json.loads(raw or b"{}")
    except ValueError:
        raise DeliveryError("机器人的应答不是 JSON") from None
    if not isinstance(answer, dict) or answer.get("errcode", 0) != 0:
        raise DeliveryError(f"机器人拒绝：errcode {answer.get('errcode')} {answer.get('errmsg', '')}".strip())


class Sender:
    """The real way out: HTTP with urllib, mail with server/ops/mailer.py."""

    def __init__(self, smtp: SmtpSettings | None, tz: ZoneInfo, timeout: float = TIMEOUT):
        self.smtp, self.tz, self.timeout = smtp, tz, timeout

    def __call__(self, kind: str, address: str, alert: Mapping, now_ms: int) -> None:
        if kind == "webhook":
            post_json(address, alert_json(alert, self.tz), self.timeout)
        elif kind == "wecom":
            _robot_answer(post_json(address, robot_json(alert, self.tz), self.timeout))
        elif kind == "dingtalk":
            _robot_answer(post_json(dingtalk_url(address, now_ms), robot_json(alert, self.tz), self.timeout))
        elif kind == "email":
            self._mail(address, alert)
        else:
            raise Hopeless(f"未知的接收方式 {kind}")

    def _mail(self, address: str, alert: Mapping) -> None:
        if self.smtp is None:
            raise Hopeless("未配置 SMTP 服务器（CEVAL_SMTP_HOST），无法发送邮件")
        settings = dataclasses.replace(self.smtp, timeout=self.timeout)
        subject = f"【告警】{KIND_LABELS.get(alert['kind'], alert['kind'])}：{alert['message']}"[:150]
        try:
            send_mail(settings, [address], subject, alert_text(alert, self.tz))
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"邮件发送失败：{exc}") from None


Send = Callable[[str, str, Mapping, int], None]  # (target kind, address, alert row, now ms); raises DeliveryError


class DeliveryTask:
    """Sends the deliveries that are due (see the module's docstring)."""

    name = "deliveries"

    def __init__(self, send: Send, interval: float = 2.0, per_minute: int = PER_MINUTE,
                 max_attempts: int = MAX_ATTEMPTS, batch: int = 50):
        self.send, self.interval = send, float(interval)
        self.per_minute, self.max_attempts, self.batch = per_minute, max_attempts, batch

    @classmethod
    def from_config(cls, config: Mapping) -> DeliveryTask:
        sender = Sender(SmtpSettings.from_config(config), ZoneInfo(config.get("TIMEZONE", DEFAULT_ZONE)))
        return cls(sender, float(config.get("DELIVERY_INTERVAL", 2)),
                   int(config.get("DELIVERY_PER_MINUTE", PER_MINUTE)))

    def run(self, store: Store, now: datetime) -> dict[str, int]:
        """One pass over the due deliveries; how many were sent, failed (to retry), given up and postponed."""
        now_ms = to_ms(now)
        tally = {"sent": 0, "retry": 0, "failed": 0, "postponed": 0}
        broken: set[int] = set()
        recent: dict[int, list[int]] = {}
        for d in store.alerts.due_deliveries(now_ms, self.batch):
            target = d["target_id"]
            if target in broken:
                continue  # failed already in this run: its other deliveries wait for the next
            if not d["target_enabled"]:
                store.alerts.delivery_failed(d["id"], "接收方已停用", None)
                tally["failed"] += 1
                continue
            sent = recent.get(target)
            if sent is None:  # once a target in a run (setdefault would read it again for each delivery)
                sent = recent[target] = store.alerts.sent_times(target, now_ms - 60_000)
            if len(sent) >= self.per_minute:
                store.alerts.delivery_postponed(d["id"], sent[-self.per_minute] + 60_000)
                tally["postponed"] += 1
                continue
            try:
                self.send(d["target_kind"], d["address"], d, now_ms)
            except Exception as exc:  # a DeliveryError, or a fault of ours: either way the others go on
                attempts = d["attempts"] + 1
                hopeless = isinstance(exc, Hopeless) or attempts >= self.max_attempts
                error = str(exc) if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}"
                store.alerts.delivery_failed(d["id"], error, None if hopeless else now_ms + backoff_ms(attempts))
                if not isinstance(exc, Hopeless):  # its other deliveries wait instead of timing out one by one
                    store.alerts.target_postponed(target, now_ms + backoff_ms(attempts))
                tally["failed" if hopeless else "retry"] += 1
                broken.add(target)
                log.warning("alert %s to %s %s: attempt %d failed: %s%s", d["alert_id"], d["target_kind"],
                            target, attempts, error, " (given up)" if hopeless else "")
                continue
            store.alerts.delivery_sent(d["id"], now_ms)
            sent.append(now_ms)
            tally["sent"] += 1
        return tally
