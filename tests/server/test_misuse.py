"""Misuse flags (server/domain/misuse.py): each rule flags its case and leaves a normal day alone; the task flags
stored ratings and raises an alert; figures with and without flagged ratings match hand-computed values on the
API, the pages and the exports; a site's setting decides which are the official figures."""
from __future__ import annotations

import csv
import io
import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from server.domain import hours
from server.domain.misuse import (
    Rating,
    Settings,
    after_signin,
    beyond_served,
    binomial_tail,
    both_ways,
    bursts,
    outlier_clerks,
    outside_hours,
    top_runs,
)
from server.domain.participation import ON_DUTY_MS
from server.domain.passwords import hash_password
from server.followup.misuse import MisuseTask
from server.ingest.ingestor import Ingestor
from server.store import Served
from shared.timefmt import to_ms

from ..helpers import traced
from .events import event, msg
from .web import PASSWORD, As, api_reader

TZ = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 11, 20, tzinfo=TZ)  # a Friday, before now (2026-11-23 14:00)


def at(hh: int, mm: int = 0, ss: int = 0) -> int:
    return to_ms(DAY.replace(hour=hh, minute=mm, second=ss))


def r(i: int, when: int, score: int = 5, staff: str | None = "1024") -> Rating:
    return Rating(f"r{i}", when, score, 5, staff)


# ------------------------------------------------------------ each rule, by hand
def test_closed_hours():
    open_ = [(at(9), at(17))]
    flags = outside_hours([r(1, at(10)), r(2, at(20))], lambda t: any(a <= t < b for a, b in open_))
    assert [(f.id, f.rule) for f in flags] == [("r2", "hours")]


def test_right_after_a_sign_in():
    flags = after_signin([r(1, at(10, 0, 5)), r(2, at(10, 1, 0))], [at(10)], 20)
    assert [(f.id, f.detail) for f in flags] == [("r1", "5 s after a clerk signed in")]


@pytest.mark.parametrize("seed", range(20))
def test_after_a_sign_in_each_rating_counts_from_the_latest_one(seed):
    """Against the rule written out the slow way: every sign-in at or up to `seconds` before the rating, the
    nearest of them (sign-ins in any order, some at the rating's very moment or exactly `seconds` before it)."""
    rng = random.Random(seed)
    ratings = [r(i, at(10) + rng.randrange(0, 600_000, 500)) for i in range(rng.randint(0, 40))]
    ratings.sort(key=lambda x: x.at)
    signins = [rng.choice([x.at for x in ratings] or [at(10)]) - rng.choice([0, 1_000, 5_000, 20_000, 60_000])
               for _ in range(rng.randint(0, 12))]
    seconds = rng.choice([5, 20, 60])
    expected = []
    for x in ratings:
        since = [x.at - s for s in signins if 0 <= x.at - s <= seconds * 1000]
        if since:
            expected.append((x.id, f"{min(since) / 1000:.0f} s after a clerk signed in"))
    assert [(f.id, f.detail) for f in after_signin(ratings, signins, seconds)] == expected


def test_bursts_and_a_normal_pace():
    five = [r(i, at(10, 0, 10 * i)) for i in range(5)]        # 5 within 40 s
    assert sorted(f.id for f in bursts(five, 5, 60)) == ["r0", "r1", "r2", "r3", "r4"]
    spread = [r(i, at(10, 0, 0) + 20_000 * i) for i in range(5)]  # 5 over 80 s: 4 in any 60 s
    assert bursts(spread, 5, 60) == []


@pytest.mark.parametrize("seed", range(40))
def test_bursts_flag_each_rating_with_the_largest_stretch_it_is_in(seed):
    """Against the rule written out the slow way: every stretch of ratings within the span, each rating with
    the largest one that holds it (time order, same-moment ratings included)."""
    rng = random.Random(seed)
    moment = at(10)
    ratings = []
    for i in range(rng.randint(0, 60)):
        moment += rng.choice([0, 1_000, 5_000, 20_000, 61_000, 300_000])
        ratings.append(r(i, moment))
    count, seconds = rng.randint(2, 8), rng.choice([10, 60, 120])
    largest: dict[str, int] = {}
    for first in range(len(ratings)):
        for last in range(first, len(ratings)):
            if ratings[last].at - ratings[first].at <= seconds * 1000 and last - first + 1 >= count:
                for x in ratings[first:last + 1]:
                    largest[x.id] = max(largest.get(x.id, 0), last - first + 1)
    expected = [(x.id, f"{largest[x.id]} ratings within {seconds} s") for x in ratings if x.id in largest]
    assert [(f.id, f.detail) for f in bursts(ratings, count, seconds)] == expected


def test_runs_of_top_scores_far_above_the_usual_pace():
    fast = [r(i, at(10) + 75_000 * i) for i in range(8)]  # 8 tops in 8 3/4 minutes: 48 an hour
    assert len(top_runs(fast, 8, 3.0, usual_per_hour=4.0)) == 8
    assert top_runs(fast, 8, 3.0, usual_per_hour=20.0) == [], "48 is not 3 times 20"
    slow = [r(i, at(9) + 1_500_000 * i) for i in range(8)]  # 8 tops over 2 h 55 min
    assert top_runs(slow, 8, 3.0, usual_per_hour=4.0) == []
    broken = fast[:4] + [r(9, at(10, 6), score=3)] + fast[4:]
    assert top_runs(broken, 8, 3.0, usual_per_hour=4.0) == [], "a lower score breaks the run"


def test_more_ratings_than_served():
    day = [r(i, at(10, i)) for i in range(6)]
    assert [f.id for f in beyond_served(day, 4)] == ["r4", "r5"]
    assert beyond_served(day, None) == [] and beyond_served(day, 6) == []


def test_the_binomial_tail_and_outlier_clerks_by_hand():
    assert binomial_tail(3, 3, 0.5) == pytest.approx(0.125)
    assert binomial_tail(0, 10, 0.3) == 1.0
    assert binomial_tail(2, 4, 0.5) == pytest.approx(11 / 16)
    tops = {"1024": (100, 100), "2048": (150, 250), "3072": (150, 250), "4096": (40, 40)}
    found = outlier_clerks(tops, minimum=50, alpha=0.001)
    assert list(found) == ["1024"], "100 of 100 against 340 of 540 (63%): p = 0.63^100; 4096 is below the minimum"
    assert found["1024"] == pytest.approx((340 / 540) ** 100)


def test_figures_with_and_without_flagged_ratings_by_hand():
    official = [(5, 5, 8), (5, 4, 2), (5, 1, 2)]   # 12 ratings, 10 satisfied
    flagged = [(5, 5, 3)]
    with_flagged, without = both_ways(official, flagged, unflagged_only=False)
    assert with_flagged == official and without == [(5, 1, 2), (5, 4, 2), (5, 5, 5)]
    with_flagged, without = both_ways([(5, 5, 5), (5, 4, 2), (5, 1, 2)], flagged, unflagged_only=True)
    assert with_flagged == [(5, 1, 2), (5, 4, 2), (5, 5, 8)]


def test_settings_are_bounded():
    assert Settings.parse({"burst_count": 7, "official": "unflagged"}).burst_count == 7
    for bad in ({"burst_count": 1}, {"run_pace": 0.5}, {"hours": "yes"}, {"official": "some"}, {"signin_seconds": 1.5}):
        with pytest.raises(ValueError):
            Settings.parse(bad)


# ------------------------------------------------------------ the task, the figures, the pages
@pytest.fixture
def seed_store(blank_store, clock):
    """hq open 09:00-17:00 on weekdays; w01 on Friday: 2 ordinary ratings, one at 20:00 (closed), 5 within 40 s
    at 11:00 (a burst), one 5 s after a clerk signed in at 14:00; w02 on Friday: 4 ordinary ratings."""
    s = blank_store
    s.accounts.create_user("root", hash_password(PASSWORD), "admin", None, 0)
    s.registry.create_site("hq", "市政务服务中心", "Asia/Shanghai",
                           hours.dumps({d: [(540, 1020)] for d in range(1, 6)}), False)

    def ts(hh, mm=0, ss=0):
        return DAY.replace(hour=hh, minute=mm, second=ss).isoformat(timespec="milliseconds")

    w01 = [(ts(9, 30), 4), (ts(10, 15), 1), (ts(20), 5)] + [(ts(11, 0, 10 * i), 5) for i in range(5)]
    messages = [msg(event(i + 1, score=score, staff="1024", ts=when)) for i, (when, score) in enumerate(w01)]
    messages += [msg(event(9, type="staff", staff="2048", ts=ts(14))),
                 msg(event(10, score=5, staff="2048", ts=ts(14, 0, 5)))]
    messages += [msg(event(i + 1, stream="stream-w02", window="w02", score=score, staff="3072",
                           ts=ts(10 + i)), device="k2") for i, score in enumerate((5, 4, 2, 5))]
    Ingestor(s, clock).handle(messages)
    s.registry.update_window("w01", "1号窗口", "hq")
    s.registry.update_window("w02", "2号窗口", "hq")


FRIDAY = "from=2026-11-20&to=2026-11-20"


def test_the_task_flags_each_case_leaves_the_rest_and_raises_an_alert(store, clock):
    MisuseTask().run(store, clock.now())
    flags = {rule: sorted(ids) for rule, ids in _flags(store).items()}
    assert flags == {"hours": ["stream-0001-000003"],
                     "burst": [f"stream-0001-00000{i}" for i in range(4, 9)],
                     "signin": ["stream-0001-000010"]}
    assert store.db.execute("SELECT count(*) FROM ratings WHERE window = 'w02' AND flagged = 1").fetchone() == (0,)
    alerts = store.db.execute("SELECT kind, window, message FROM alerts WHERE kind = 'misuse'").fetchall()
    assert [(k, w) for k, w, _ in alerts] == [("misuse", "w01")] and "7 条评价疑似违规" in alerts[0][2]
    MisuseTask().run(store, clock.now())  # nothing new: nothing twice
    assert sum(len(v) for v in _flags(store).values()) == 7


def test_a_day_checked_again_writes_only_its_new_flags(store, clock):
    """A new rating has its day checked again; the flags that day had are not written again (a kiosk at its quota
    gives a day of thousands of flagged ratings, every one of them rewritten on every run before)."""
    MisuseTask().run(store, clock.now())

    def written(statements: list[str]) -> list[str]:
        return [s for s in statements if s.startswith(("INSERT INTO rating_flags", "UPDATE ratings"))]

    ts = DAY.replace(hour=15).isoformat(timespec="milliseconds")
    Ingestor(store, clock).handle([msg(event(11, score=4, staff="1024", ts=ts))])  # an ordinary one: no flag
    with traced(store) as statements:
        MisuseTask().run(store, clock.now())
    assert written(statements) == []
    ts = DAY.replace(hour=11, minute=0, second=45).isoformat(timespec="milliseconds")
    Ingestor(store, clock).handle([msg(event(12, score=5, staff="1024", ts=ts))])  # the burst's sixth
    with traced(store) as statements:
        MisuseTask().run(store, clock.now())
    assert [s.split(" VALUES")[0].split(" WHERE")[0] for s in written(statements)] == [
        "INSERT INTO rating_flags (event_id, rule, detail, flagged_at)", "UPDATE ratings SET flagged = 1, counted = 1"]
    assert "'stream-0001-000012', 'burst', '6 ratings within 60 s'" in written(statements)[0]
    assert sorted(_flags(store)["burst"]) == [f"stream-0001-00000{i}" for i in range(4, 9)] + ["stream-0001-000012"]
    assert store.db.execute("SELECT detail FROM rating_flags WHERE event_id = 'stream-0001-000004' "
                            "AND rule = 'burst'").fetchone() == ("5 ratings within 60 s",), "a flag stays as it was"


def _flags(store) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for event_id, rule in store.db.execute("SELECT event_id, rule FROM rating_flags"):
        found.setdefault(rule, []).append(event_id)
    return found


def test_figures_with_and_without_flagged_and_the_sites_choice(app, store, clock):
    MisuseTask().run(store, clock.now())
    api = api_reader(app, store)
    # w01: 9 ratings (4, 1, 5, 5 x5, 5): 8 satisfied. Flagged 7 (the 20:00 5, the burst's five 5s, the 14:00 5):
    # without them 2 ratings (4 and 1): 1 satisfied.
    body = api(f"/windows/w01/summary?{FRIDAY}")
    assert body["ratings"]["total"] == 9 and body["ratings"]["satisfied_rate"] == round(8 / 9, 3)
    assert body["misuse"]["flagged"] == 7 and body["misuse"]["official"] == "all"
    assert body["misuse"]["with_flagged"]["total"] == 9
    assert (body["misuse"]["without_flagged"]["total"], body["misuse"]["without_flagged"]["satisfied_rate"]) == (2, 0.5)

    root = As(app, "root")
    form = {**Settings().to_dict(), "official": "unflagged"}
    form = {k: ("1" if v is True else "" if v is False else str(v)) for k, v in form.items()}
    assert root.post("/admin/misuse", {**form, "site": "hq"}).status_code == 302
    body = api(f"/windows/w01/summary?{FRIDAY}")
    assert (body["ratings"]["total"], body["ratings"]["satisfied_rate"]) == (2, 0.5), "the official figures now"
    assert body["misuse"]["official"] == "unflagged" and body["misuse"]["with_flagged"]["total"] == 9
    compare = {row["window"]: row for row in api(f"/compare?{FRIDAY}")["rows"]}
    assert compare["w01"]["current"]["total"] == 2 and compare["w02"]["current"]["total"] == 4

    page = root.text(f"/windows/w01?{FRIDAY}")
    assert 'data-flagged="7"' in page and 'data-official="unflagged"' in page and 'id="flagged-ratings"' in page
    sheet = root.get(f"/windows/w01.csv?{FRIDAY}").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(sheet)))
    total = next(row for row in rows if row and row[0] == "合计" and len(row) == 7)
    assert total[3:6] == ["7", str(round(8 / 9, 3)), "0.5"]
    assert sum(1 for row in rows if len(row) == 7 and "集中评价（5 ratings within 60 s）" in row[6]) == 5


def test_a_bad_setting_is_refused_with_a_message_and_changes_nothing(app, store):
    root = As(app, "root")
    form = {k: ("1" if v is True else "" if v is False else str(v)) for k, v in Settings().to_dict().items()}
    response = root.post("/admin/misuse", {**form, "burst_count": "1"})
    assert response.status_code == 400 and "条数应为 2 到 1000 之间的数" in response.get_data(as_text=True)
    assert store.misuse.site_settings(None) == {}
    assert root.get("/admin/misuse?site=nowhere").status_code == 404


def test_more_ratings_than_served_and_an_outlier_clerk_are_flagged(store, clock):
    store.served.add("w02", [Served(to_ms(DAY.replace(hour=9)), 3, None)], "test", 0, ON_DUTY_MS)
    MisuseTask().run(store, clock.now())
    assert _flags(store).get("served") == ["stream-w02-000004"], "4 ratings for 3 served: the last one"
    # a clerk with 60 top scores of 60 at w02 this month, against the others' share
    base = datetime(2026, 11, 2, 10, tzinfo=TZ)
    extra = [msg(event(100 + i, stream="stream-w02b", window="w02", score=5, staff="5120",
                       ts=(base + timedelta(hours=i * 5)).isoformat(timespec="milliseconds")), device="k2b")
             for i in range(60)]
    extra += [msg(event(200 + i, stream="stream-w02c", window="w02", score=(5 if i % 2 else 3), staff="6144",
                        ts=(base + timedelta(hours=i * 5, minutes=30)).isoformat(timespec="milliseconds")),
                  device="k2c") for i in range(60)]
    Ingestor(store, clock).handle(extra)
    MisuseTask().run(store, clock.now())
    outliers = _flags(store).get("outlier", [])
    assert len(outliers) == 60 and all(i.startswith("stream-w02b") for i in outliers)
