"""Scheduled daily and monthly reports: when they are made, catch-up after downtime, their figures, their
e-mail to a real local SMTP server, and the pages that list and run them."""
from __future__ import annotations

import email
import io
import socket
import threading
from datetime import date, datetime, timedelta
from email import policy
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from aiosmtpd.controller import Controller

from server.domain import hours
from server.domain.passwords import hash_password
from server.ingest.ingestor import Ingestor
from server.jobs import default_tasks
from server.ops.mailer import SmtpSettings
from server.reporting.scheduled import (
    MAX_DAILY_BACK,
    MAX_MAIL_TRIES,
    MAX_MAKE_TRIES,
    MAX_MONTHLY_BACK,
    Period,
    ReportTask,
    due_periods,
    report_file,
)
from server.store import Store
from server.store.db import open_db
from shared.timefmt import to_ms

from .events import event, msg
from .web import session

TZ = ZoneInfo("Asia/Shanghai")


def local(*args) -> datetime:
    return datetime(*args, tzinfo=TZ)


def ts(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def seed_day(store, clock, day: date, seq: int, window: str = "w01", device: str = "k1", stream: str = "stream-0001"):
    """A working day at a window: four ratings from two clerks, a 15-minute absence, a comment."""
    at = lambda h, m: ts(datetime.combine(day, datetime.min.time(), TZ).replace(hour=h, minute=m))  # noqa: E731
    Ingestor(store, clock).handle([
        msg(event(seq, score=5, ts=at(9, 0), staff="1024", window=window, stream=stream), device=device),
        msg(event(seq + 1, score=4, ts=at(9, 30), staff="1024", window=window, stream=stream), device=device),
        msg(event(seq + 2, score=1, ts=at(10, 0), staff="1024", window=window, stream=stream), device=device),
        msg(event(seq + 3, type="presence", state="away", ts=at(11, 0), staff="1024", window=window, stream=stream),
            device=device),
        msg(event(seq + 4, type="presence", state="present", ts=at(11, 15), staff="1024", window=window,
                  stream=stream), device=device),
        msg(event(seq + 5, type="feedback", text="办理很快", ts=at(11, 20), staff="2048", window=window, stream=stream),
            device=device),
        msg(event(seq + 6, score=3, ts=at(14, 0), staff="2048", window=window, stream=stream), device=device),
    ])
    return seq + 7


def runs(store):
    return list(store.db.query("SELECT id, kind, period, status, started_at FROM report_runs ORDER BY id"))


def task(smtp=None, make=report_file):
    return ReportTask(TZ, smtp, make)


# ---------------------------------------------------------------------------- when reports are due
def test_a_day_is_reported_after_half_past_midnight_not_before(store, clock):
    seed_day(store, clock, date(2026, 11, 23), 1)
    t = task()
    t.run(store, local(2026, 11, 24, 0, 29, 59))
    assert runs(store) == []
    t.run(store, local(2026, 11, 24, 0, 30))
    assert [(r["kind"], r["period"], r["status"]) for r in runs(store)] == [("daily", "2026-11-23", "done")]
    run = store.report_runs.report_run("daily", "2026-11-23")
    assert run["started_at"] == to_ms(local(2026, 11, 24, 0, 30)) and run["finished_at"] >= run["started_at"]
    assert run["emailed_to"] == "" and run["error"] == "没有设置收件人", "recorded as not e-mailed"
    store.settings.set_setting("reports", {"recipients": ["director@hall.example.cn"]})
    t.run(store, local(2026, 11, 25, 0, 30))
    run = store.report_runs.report_run("daily", "2026-11-24")
    assert run["status"] == "done" and run["emailed_to"] == "" and run["error"] == "没有配置 SMTP 服务器"


def test_catch_up_after_downtime_makes_each_missed_report_once_oldest_first(store, clock):
    seq = seed_day(store, clock, date(2026, 10, 28), 1)
    seq = seed_day(store, clock, date(2026, 10, 29), seq)
    t = task()
    t.run(store, local(2026, 10, 30, 1, 0))
    assert [(r["kind"], r["period"]) for r in runs(store)] == [("daily", "2026-10-28"), ("daily", "2026-10-29")]
    seed_day(store, clock, date(2026, 10, 30), seq)   # the kiosks go on while the server is down
    before = runs(store)
    t.run(store, local(2026, 11, 2, 9, 0))            # back after three days
    after = runs(store)
    assert after[:2] == before
    assert [(r["kind"], r["period"]) for r in after[2:]] == [
        ("daily", "2026-10-30"), ("daily", "2026-10-31"), ("monthly", "2026-10"), ("daily", "2026-11-01")]
    assert all(r["status"] == "done" for r in after)
    t.run(store, local(2026, 11, 2, 9, 1))
    task().run(store, local(2026, 11, 2, 10, 0))      # a second server, or a restart: nothing twice
    assert runs(store) == after


def test_due_periods_are_bounded_and_start_at_the_first_known_day():
    now = local(2026, 11, 2, 9, 0)
    long_ago = due_periods(now, date(2020, 1, 1))
    daily = [p for p in long_ago if p.kind == "daily"]
    monthly = [p for p in long_ago if p.kind == "monthly"]
    assert len(daily) == MAX_DAILY_BACK and daily[-1].name == "2026-11-01" and daily[0].name == "2026-10-02"
    assert len(monthly) == MAX_MONTHLY_BACK and monthly[0].name == "2025-11" and monthly[-1].name == "2026-10"
    assert long_ago == sorted(long_ago)
    assert [p.name for p in due_periods(now, date(2026, 10, 31))] == ["2026-10-31", "2026-10", "2026-11-01"]
    assert due_periods(local(2026, 11, 1, 0, 59), date(2026, 10, 31)) == [Period.day(date(2026, 10, 31))]
    assert due_periods(local(2026, 11, 1, 1, 0), date(2026, 10, 31))[-1] == Period.month(date(2026, 10, 1))


def test_the_server_runs_the_report_task():
    tasks = default_tasks({"TIMEZONE": "Asia/Urumqi", "SMTP_HOST": "mail.example.cn", "SMTP_PORT": "2525"})
    reports = [t for t in tasks if isinstance(t, ReportTask)]
    assert len(reports) == 1 and 30 <= reports[0].interval <= 120
    assert reports[0].tz == ZoneInfo("Asia/Urumqi") and reports[0].smtp.port == 2525


# ---------------------------------------------------------------------------- failures, retries and races
def test_a_failed_run_is_recorded_and_retried_a_few_times(store, clock):
    seed_day(store, clock, date(2026, 11, 22), 1)
    calls = []

    def flaky(store, period, tz, now_ms):
        calls.append(now_ms)
        if len(calls) <= 1:
            raise RuntimeError("disk full")
        return report_file(store, period, tz, now_ms)

    t = task(make=flaky)
    now = local(2026, 11, 23, 1, 0)
    t.run(store, now)
    run = store.report_runs.report_run("daily", "2026-11-22")
    assert run["status"] == "failed" and "disk full" in run["error"]
    t.run(store, now + timedelta(seconds=60))          # too soon to try again
    assert len(calls) == 1
    t.run(store, now + timedelta(minutes=6))
    run = store.report_runs.report_run("daily", "2026-11-22")
    assert run["status"] == "done" and run["emailed_to"] == ""
    assert len(calls) == 2 and store.report_runs.report_run_content(run["id"])[:2] == b"PK"


def test_a_run_that_keeps_failing_is_given_up_for_the_day(store, clock):
    seed_day(store, clock, date(2026, 11, 22), 1)
    calls = []

    def broken(store, period, tz, now_ms):
        calls.append(now_ms)
        raise ValueError("bad data")

    t = task(make=broken)
    now = local(2026, 11, 23, 1, 0)
    for minutes in range(0, 120, 6):
        t.run(store, now + timedelta(minutes=minutes))
    assert len(calls) == MAX_MAKE_TRIES
    assert store.report_runs.report_run("daily", "2026-11-22")["status"] == "failed"


def test_two_servers_racing_make_a_report_once(app, store, clock):
    seed_day(store, clock, date(2026, 11, 22), 1)
    started, release, made = threading.Event(), threading.Event(), []

    def slow(store, period, tz, now_ms):
        made.append(period.name)
        started.set()
        assert release.wait(20), "the test never let the first server finish"
        return report_file(store, period, tz, now_ms)

    now = local(2026, 11, 23, 1, 0)

    def first_server():
        own = Store(open_db(app.config["DATABASE"], migrate=False))
        try:
            task(make=slow).run(own, now)
        finally:
            own.db.close()

    thread = threading.Thread(target=first_server)
    thread.start()
    try:
        assert started.wait(20), "the first server never began the report"
        task(make=slow).run(store, now + timedelta(seconds=1))   # the second server finds it running
        assert store.report_runs.report_run("daily", "2026-11-22")["status"] == "running"
    finally:
        release.set()
        thread.join(20)
    assert made == ["2026-11-22"]
    assert store.report_runs.report_run("daily", "2026-11-22")["status"] == "done"


def test_a_run_left_running_by_a_dead_server_is_taken_over(store, clock):
    seed_day(store, clock, date(2026, 11, 22), 1)
    now = local(2026, 11, 23, 1, 0)
    assert store.report_runs.claim_report_run("daily", "2026-11-22", to_ms(now), to_ms(now)) is not None  # and then it died
    task().run(store, now + timedelta(minutes=10))
    assert store.report_runs.report_run("daily", "2026-11-22")["status"] == "running"
    task().run(store, now + timedelta(minutes=31))
    assert store.report_runs.report_run("daily", "2026-11-22")["status"] == "done"


# ---------------------------------------------------------------------------- the workbook
def sheet_rows(content: bytes, title: str) -> list[list]:
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return [list(row) for row in book[title].iter_rows(values_only=True)]


@pytest.fixture
def hall(store, clock):
    """Site hq open 09:00-17:00 every day; w01 and w02 in it, with a day's activity on the 22nd."""
    week = {d: [(9 * 60, 17 * 60)] for d in range(1, 8)}
    store.registry.create_site("hq", "市政务服务中心", "Asia/Shanghai", hours.dumps(week), False)
    seq = seed_day(store, clock, date(2026, 11, 22), 1)
    seed_day(store, clock, date(2026, 11, 22), 1, window="w02", device="k2", stream="stream-0002")
    for w, title in (("w01", "1号窗口"), ("w02", "2号窗口")):
        store.registry.update_window(w, title, "hq")
    return seq


def test_the_daily_workbook_has_the_apis_figures(app, store, clock, hall):
    token = store.accounts.create_token("tests", to_ms(clock.now()))
    task().run(store, clock.now())                       # 2026-11-23 14:00
    run = store.report_runs.report_run("daily", "2026-11-22")
    content = store.report_runs.report_run_content(run["id"])
    rows = sheet_rows(content, "汇总")
    head = rows[0]
    api = app.test_client().get("/api/v1/windows/w01/summary?from=2026-11-22&to=2026-11-22",
                                headers={"Authorization": f"Bearer {token}"}).json
    w01 = dict(zip(head, next(r for r in rows if r[0] == "w01")))
    assert w01["名称"] == "1号窗口" and w01["大厅"] == "hq"
    assert w01["评价数"] == api["ratings"]["total"] == 4
    assert [w01[f"{n}分"] for n in range(5, 0, -1)] == [api["ratings"]["by_score"][str(n)] for n in range(5, 0, -1)]
    assert w01["满意率"] == api["ratings"]["satisfied_rate"] and w01["满意指数"] == api["ratings"]["index"]
    assert w01["离岗次数"] == api["absences"]["count"] == 1
    assert w01["离岗总时长（秒）"] == api["absences"]["total_seconds"] == 900
    assert w01["在岗率"] == api["staffed"]["share"] and 0 < w01["在岗率"] < 1
    assert w01["留言数"] == api["feedback"]["count"] == 1
    total = dict(zip(head, rows[-1]))
    assert total["窗口"] == "合计" and total["评价数"] == 8 and total["离岗次数"] == 2 and total["留言数"] == 2
    assert total["满意率"] == api["ratings"]["satisfied_rate"]   # two windows with the same day
    opened, still_open = store.db.execute(  # bad ratings open follow-up cases (server/domain/cases.py)
        "SELECT count(*) FILTER (WHERE opened_at >= ?1), count(*) FILTER (WHERE status = 'open') "
        "FROM cases WHERE window = 'w01' AND opened_at < ?2",
        (to_ms(local(2026, 11, 22)), to_ms(local(2026, 11, 23)))).fetchone()
    assert (w01["本期新增回访件"], w01["生成时未结回访件"]) == (opened, still_open)
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    assert book.sheetnames == ["汇总", "1024", "2048"]
    clerk = sheet_rows(content, "1024")
    assert [r[0] for r in clerk[1:]] == ["w01", "w02", "合计"] and clerk[-1][2] == 6


def test_the_monthly_workbook_has_a_daily_sheet_and_case_counts(app, store, clock, hall):
    store.db.execute("DELETE FROM case_log")
    store.db.execute("DELETE FROM cases")
    period = Period.parse("monthly", "2026-11")
    content, _ = report_file(store, period, TZ, to_ms(local(2026, 12, 1, 1, 0)))
    assert "本期新增回访件" not in sheet_rows(content, "汇总")[0], "no case columns without any case"
    store.db.execute("INSERT INTO cases (rating_id, window, staff, score, scale, opened_at, due_date, status) "
                     "VALUES ('r1', 'w01', '1024', 1, 5, ?, '2026-11-20', 'open')",
                     (to_ms(local(2026, 11, 10, 10, 0)),))
    store.db.execute("INSERT INTO cases (rating_id, window, staff, score, scale, opened_at, due_date, status) "
                     "VALUES ('r2', 'w01', '1024', 1, 5, ?, '2026-12-20', 'open')",
                     (to_ms(local(2026, 11, 22, 10, 0)),))
    store.db.execute("INSERT INTO cases (rating_id, window, staff, score, scale, opened_at, due_date, status) "
                     "VALUES ('r3', 'w01', '1024', 1, 5, ?, '2026-11-25', 'open')",   # after the month
                     (to_ms(local(2026, 12, 1, 0, 30)),))
    content, totals = report_file(store, period, TZ, to_ms(local(2026, 12, 1, 1, 0)))
    assert totals["ratings"]["total"] == 8
    head, *rows = sheet_rows(content, "汇总")
    w01 = dict(zip(head, next(r for r in rows if r[0] == "w01")))
    assert (w01["本期新增回访件"], w01["生成时未结回访件"], w01["其中逾期"]) == (2, 2, 1)
    head, *daily = sheet_rows(content, "每日")
    assert len(daily) == 30 * 2 and daily[0][:2] == ["2026-11-01", "w01"]
    day22 = dict(zip(head, next(r for r in daily if r[0] == "2026-11-22" and r[1] == "w02")))
    assert day22["评价数"] == 4 and day22["离岗次数"] == 1
    clerk = sheet_rows(content, "1024")
    assert next(r for r in clerk if r[0] == "2026-11-22")[2] == 6   # both windows that day


# ---------------------------------------------------------------------------- e-mail
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """An aiosmtpd handler that keeps what it accepts; refuses while `refuse` is set."""

    def __init__(self):
        self.messages, self.refuse = [], False

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "451 4.3.0 mailbox busy, try later"
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture
def smtp():
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield box, SmtpSettings(host="127.0.0.1", port=controller.port, sender="reports@hall.example.cn", timeout=5)
    controller.stop()


def test_reports_are_emailed_with_the_workbook_attached(store, clock, hall, smtp):
    box, settings = smtp
    store.settings.set_setting("reports", {"recipients": ["director@hall.example.cn", "office@hall.example.cn"]})
    task(settings).run(store, clock.now())
    assert len(box.messages) == 1
    to, message = box.messages[0]
    assert to == ["director@hall.example.cn", "office@hall.example.cn"]
    assert message["Subject"] == "窗口服务评价日报 2026-11-22"
    assert "评价 8 条" in message.get_body(("plain",)).get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "daily-2026-11-22.xlsx"
    run = store.report_runs.report_run("daily", "2026-11-22")
    assert attachment.get_content() == store.report_runs.report_run_content(run["id"])
    assert run["emailed_to"] == "director@hall.example.cn, office@hall.example.cn" and run["error"] is None
    task(settings).run(store, clock.now() + timedelta(hours=1))
    assert len(box.messages) == 1, "sent once"


def test_a_failed_email_is_recorded_and_retried_apart_from_the_report(store, clock, hall, smtp):
    box, settings = smtp
    store.settings.set_setting("reports", {"recipients": ["director@hall.example.cn"]})
    box.refuse = True
    made = []

    def counting(store, period, tz, now_ms):
        made.append(period.name)
        return report_file(store, period, tz, now_ms)

    t = task(settings, make=counting)
    now = clock.now()
    t.run(store, now)
    run = store.report_runs.report_run("daily", "2026-11-22")
    assert run["status"] == "done" and run["emailed_to"] is None and "451" in run["error"]
    t.run(store, now + timedelta(minutes=1))       # too soon
    assert store.accounts.attempts(f"report-mail:{run['id']}", 0) == 1
    box.refuse = False
    t.run(store, now + timedelta(minutes=6))
    run = store.report_runs.report_run("daily", "2026-11-22")
    assert run["emailed_to"] == "director@hall.example.cn" and run["error"] is None
    assert len(box.messages) == 1 and made == ["2026-11-22"], "the file was made once, only the e-mail retried"


def test_an_email_that_keeps_failing_is_given_up(store, clock, hall):
    closed = SmtpSettings(host="127.0.0.1", port=free_port(), timeout=2)   # nobody listens there
    store.settings.set_setting("reports", {"recipients": ["director@hall.example.cn"]})
    t = task(closed)
    for n in range(MAX_MAIL_TRIES + 2):
        t.run(store, clock.now() + timedelta(minutes=6 * n))
    run = store.report_runs.report_run("daily", "2026-11-22")
    assert run["status"] == "done" and run["emailed_to"] == ""
    assert f"第 {MAX_MAIL_TRIES} 次" in run["error"]
    assert store.accounts.attempts(f"report-mail:{run['id']}", 0) == MAX_MAIL_TRIES


# ---------------------------------------------------------------------------- the pages
@pytest.fixture
def users(store):
    for role in ("viewer", "manager", "admin"):
        store.accounts.create_user(role, hash_password(f"{role} password"), role, None, 0)
    store.accounts.create_user("scoped", hash_password("scoped password"), "manager", ["hq"], 0)


def test_runs_page_lists_runs_and_downloads_the_stored_file(app, store, clock, hall, users):
    task().run(store, clock.now())
    run = store.report_runs.report_run("daily", "2026-11-22")
    manager, _ = session(app, "manager", "manager password")
    page = manager.get("/reports/runs")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "2026-11-22" in text and "已完成" in text and f"/reports/runs/{run['id']}.xlsx" in text
    download = manager.get(f"/reports/runs/{run['id']}.xlsx")
    assert download.status_code == 200 and download.data == store.report_runs.report_run_content(run["id"])
    assert download.headers["Content-Disposition"] == 'attachment; filename="daily-2026-11-22.xlsx"'
    assert manager.get("/reports/runs/999.xlsx").status_code == 404
    viewer, _ = session(app, "viewer", "viewer password")
    assert viewer.get("/reports/runs").status_code == 403
    assert viewer.get(f"/reports/runs/{run['id']}.xlsx").status_code == 403
    assert app.test_client().get("/reports/runs").status_code == 302


def test_a_user_limited_to_some_sites_downloads_the_report_of_their_windows(app, store, clock, hall, users):
    store.registry.create_site("east", "东区分中心", "Asia/Shanghai", "{}", False)
    at = ts(local(2026, 11, 22, 10, 0))
    Ingestor(store, clock).handle([  # w03 in another site: a clerk of its own, and 1024 for one rating
        msg(event(1, score=1, ts=at, staff="3096", window="w03", stream="stream-0003"), device="k3"),
        msg(event(2, score=5, ts=at, staff="1024", window="w03", stream="stream-0003"), device="k3")])
    store.registry.update_window("w03", "东区窗口", "east")
    task().run(store, clock.now())
    run = store.report_runs.report_run("daily", "2026-11-22")
    stored = store.report_runs.report_run_content(run["id"])
    assert [r[0] for r in sheet_rows(stored, "汇总")[1:]] == ["w01", "w02", "w03", "合计"]

    scoped, _ = session(app, "scoped", "scoped password")
    page = scoped.get("/reports/runs").get_data(as_text=True)
    assert f"/reports/runs/{run['id']}.xlsx" in page and 'id="scoped-note"' in page
    download = scoped.get(f"/reports/runs/{run['id']}.xlsx")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == 'attachment; filename="daily-2026-11-22-hq.xlsx"'
    rows = sheet_rows(download.data, "汇总")
    assert [r[0] for r in rows[1:]] == ["w01", "w02", "合计"]
    assert rows[1:3] == sheet_rows(stored, "汇总")[1:3], "each window's figures as in the stored report"
    total = dict(zip(rows[0], rows[-1]))
    assert (total["评价数"], total["离岗次数"], total["留言数"]) == (8, 2, 2), "w03 counts nowhere"
    assert total["本期新增回访件"] == sum(dict(zip(rows[0], r))["本期新增回访件"] for r in rows[1:3])
    assert openpyxl.load_workbook(io.BytesIO(download.data), read_only=True).sheetnames == ["汇总", "1024", "2048"]
    clerk = sheet_rows(download.data, "1024")
    assert [r[0] for r in clerk[1:]] == ["w01", "w02", "合计"] and clerk[-1][2] == 6, "1024's work at w03 left out"
    assert "w03" in [r[0] for r in sheet_rows(stored, "1024")]

    month, _hall = report_file(store, Period.month(date(2026, 11, 1)), TZ, to_ms(clock.now()), ["hq"])
    assert {r[1] for r in sheet_rows(month, "每日")[1:]} == {"w01", "w02"}
    assert sum(r[2] for r in sheet_rows(month, "1024")[1:] if str(r[0]).startswith("2026-11-")) == 6


def test_admin_sets_validated_recipients(app, store, users):
    admin, token = session(app, "admin", "admin password")
    assert admin.get("/admin/reports").status_code == 200
    bad = admin.post("/admin/reports", data={"csrf_token": token, "recipients": "director@hall.example.cn\nnot-mail"})
    assert bad.status_code == 400 and "not-mail" in bad.get_data(as_text=True)
    assert store.settings.setting("reports") is None, "nothing saved from a bad form"
    good = admin.post("/admin/reports", data={"csrf_token": token,
                                              "recipients": "director@hall.example.cn, office@hall.example.cn\n"
                                                            "Director@hall.example.cn"})
    assert good.status_code == 302
    assert store.settings.setting("reports") == {"recipients": ["director@hall.example.cn", "office@hall.example.cn"]}
    assert "office@hall.example.cn" in admin.get("/admin/reports").get_data(as_text=True)
    assert admin.post("/admin/reports", data={"recipients": "x@y.cn"}).status_code == 400, "no CSRF token"
    manager, manager_token = session(app, "manager", "manager password")
    assert manager.get("/admin/reports").status_code == 403
    assert manager.post("/admin/reports", data={"csrf_token": manager_token, "recipients": "a@b.cn"}).status_code == 403


def test_admin_runs_a_report_now_and_remakes_it(app, store, clock, hall, users, smtp):
    box, settings = smtp
    app.config.update(SMTP_HOST=settings.host, SMTP_PORT=settings.port)
    store.settings.set_setting("reports", {"recipients": ["director@hall.example.cn"]})
    admin, token = session(app, "admin", "admin password")
    made = admin.post("/admin/reports/run", data={"csrf_token": token, "kind": "daily", "period": "2026-11-21",
                                                  "mail": "1"})
    assert made.status_code == 302 and made.headers["Location"].endswith("/reports/runs")
    first = store.report_runs.report_run("daily", "2026-11-21")
    assert first["status"] == "done" and first["emailed_to"] == "director@hall.example.cn" and len(box.messages) == 1
    clock.advance(60)
    again = admin.post("/admin/reports/run", data={"csrf_token": token, "kind": "daily", "period": "2026-11-21"})
    assert again.status_code == 302
    second = store.report_runs.report_run("daily", "2026-11-21")
    assert second["id"] == first["id"] and second["started_at"] == first["started_at"] + 60_000
    assert second["emailed_to"] == "" and len(box.messages) == 1, "not e-mailed when unticked"
    month = admin.post("/admin/reports/run", data={"csrf_token": token, "kind": "monthly", "period": "2026-10"})
    assert month.status_code == 302 and store.report_runs.report_run("monthly", "2026-10")["status"] == "done"
    for kind, period in (("daily", "2026-11-23"), ("monthly", "2026-11"), ("daily", "2026-02-30"),
                         ("monthly", "2026-13"), ("weekly", "2026-11-01"), ("daily", "")):
        refused = admin.post("/admin/reports/run", data={"csrf_token": token, "kind": kind, "period": period})
        assert refused.status_code == 400 and 'role="alert"' in refused.get_data(as_text=True), (kind, period)
    assert store.report_runs.report_run("daily", "2026-11-23") is None
    assert admin.post("/admin/reports/run", data={"kind": "daily", "period": "2026-11-20"}).status_code == 400
    assert store.report_runs.report_run("daily", "2026-11-20") is None, "no CSRF token, nothing made"
    manager, manager_token = session(app, "manager", "manager password")
    assert manager.post("/admin/reports/run", data={"csrf_token": manager_token, "kind": "daily",
                                                    "period": "2026-11-20"}).status_code == 403
