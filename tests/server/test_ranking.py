"""Fair rankings (server/domain/ranking.py): the Wilson lower bound orders 三比 and the monthly report, and a row
below the minimum sample is shown, marked 样本不足 and not ranked, on the pages, in the API and in the exports."""
from __future__ import annotations

import csv
import io

import pytest

from server.domain.passwords import hash_password
from server.domain.ranking import rank, standing, wilson
from server.ingest.ingestor import Ingestor

from .events import event, msg
from .web import PASSWORD, As, api_reader

NOVEMBER = "from=2026-11-01&to=2026-11-22"


# ------------------------------------------------------------ the rule
@pytest.mark.parametrize(("satisfied", "n", "low", "high"), [
    (12, 12, 0.7575, 1.0),        # 12 / (12 + z²)
    (1164, 1200, 0.9587, 0.9783),
    (0, 5, 0.0, 0.4345),
    (1, 2, 0.0945, 0.9055),
])
def test_the_wilson_interval_by_hand(satisfied, n, low, high):
    got = wilson(satisfied, n)
    assert got == pytest.approx((low, high), abs=1e-4)


def test_no_ratings_no_interval_and_the_standing_counts_satisfied_by_the_scoring_rule():
    assert wilson(0, 0) is None and standing([]) == {"n": 0, "satisfied_lower": None, "satisfied_interval": None}
    # on a 5-scale 4 and 5 are satisfied, 3 is not; on a 3-scale 3 is
    assert standing([(5, 5, 6), (5, 4, 4), (5, 3, 2), (3, 3, 0)])["n"] == 12
    assert standing([(5, 5, 6), (5, 4, 4), (5, 3, 2)])["satisfied_lower"] == round(wilson(10, 12)[0], 3)


def test_rank_leaves_out_small_samples_and_shares_places_on_ties():
    rows = [{"k": "small", "n": 12, "satisfied_lower": 0.758, "index": 100.0},
            {"k": "big", "n": 1200, "satisfied_lower": 0.959, "index": 90.0},
            {"k": "tie", "n": 1200, "satisfied_lower": 0.959, "index": 90.0},
            {"k": "low", "n": 40, "satisfied_lower": 0.5, "index": 60.0},
            {"k": "none", "n": 0, "satisfied_lower": None, "index": None}]
    rank(rows, lambda r: r, "rank", "last", 30)
    assert [(r["k"], r["rank"], r["ranked"], r["last"]) for r in rows] == [
        ("small", None, False, False), ("big", 1, True, False), ("tie", 1, True, False), ("low", 3, True, True),
        ("none", None, False, False)]


# ------------------------------------------------------------ the pages, the API and the exports
@pytest.fixture
def seed_store(blank_store, clock):
    """w01: 12 ratings, all satisfied (100%); w02: 1,200 at 97%; w03: 40 at 90%."""
    s = blank_store
    s.accounts.create_user("root", hash_password(PASSWORD), "admin", None, 0)
    messages = []
    for window, good, bad in (("w01", 12, 0), ("w02", 1164, 36), ("w03", 36, 4)):
        stream = f"stream-{window}"
        messages += [msg(event(i + 1, stream=stream, window=window, score=5 if i < good else 1,
                               ts=f"2026-11-{i % 20 + 1:02d}T10:{i // 20 % 60:02d}:00.000+08:00"),
                         device=f"k-{window}") for i in range(good + bad)]
    for i in range(0, len(messages), 500):
        Ingestor(s, clock).handle(messages[i:i + 500])


@pytest.fixture
def root(app, store):
    return As(app, "root")


def test_a_window_of_12_at_100_percent_is_not_ranked_above_one_of_1200_at_97(store, app, root):
    body = api_reader(app, store)(f"/compare?{NOVEMBER}")
    rows = {r["window"]: r for r in body["rows"]}
    assert body["min_sample"] == 30
    assert rows["w01"]["current"]["satisfied_rate"] == 1.0 and rows["w02"]["current"]["satisfied_rate"] == 0.97
    assert rows["w02"]["rank"] == 1 and rows["w02"]["ranked"]
    assert rows["w02"]["current"]["satisfied_interval"] == [0.959, 0.978] and rows["w02"]["current"]["n"] == 1200
    assert rows["w03"]["rank"] == 2
    # 12 ratings: below the minimum sample, shown with its interval but not ranked, after the ranked rows
    assert rows["w01"]["rank"] is None and not rows["w01"]["ranked"]
    assert rows["w01"]["current"]["satisfied_interval"] == [0.758, 1.0]
    assert [r["window"] for r in body["rows"]] == ["w02", "w03", "w01"]

    page = root.text(f"/compare?{NOVEMBER}")
    w01 = page.split('data-key="w01"')[1].split("</tr>")[0]
    assert 'data-ranked="no"' in w01 and "样本不足" in w01 and "75.8–100.0%" in w01
    assert "样本不足" not in page.split('data-key="w02"')[1].split("</tr>")[0]
    exported = list(csv.reader(io.StringIO(root.get(f"/compare.csv?{NOVEMBER}").get_data(as_text=True))))
    places = {line[1]: line[0] for line in exported[1:] if len(line) > 1}
    assert places["w02"] == "1" and places["w03"] == "2" and places["w01"] == "样本不足"
    assert "满意率下限（95％ 置信）" in exported[0]


def test_the_monthly_report_ranks_alike_and_the_setting_moves_the_line(store, root):
    page = root.text("/reports/monthly?month=2026-11")
    ranking = page.split('id="ranking"')[1].split("</table>")[0]
    assert ranking.index('data-window="w02"') < ranking.index('data-window="w03"') < ranking.index('data-window="w01"')
    w01 = ranking.split('data-window="w01"')[1].split("</tr>")[0]
    assert 'data-ranked="no"' in w01 and "样本不足" in w01
    assert "样本不足：12 条评价，少于 30 条，不排名" in page
    exported = root.get("/reports/monthly.csv?month=2026-11").get_data(as_text=True)
    assert any(line.startswith("样本不足,w01,") for line in exported.splitlines())

    bad = root.post("/admin/reports/ranking", {"min_sample": "0"})
    assert bad.status_code == 400 and "1 到 100000" in bad.get_data(as_text=True)
    assert root.post("/admin/reports/ranking", {"min_sample": "10"}).status_code == 302
    assert store.settings.min_sample() == 10
    ranking = root.text("/reports/monthly?month=2026-11").split('id="ranking"')[1].split("</table>")[0]
    # ranked now, and still below w02 (its lower bound 0.758 < 0.959) though its rate is higher
    assert ranking.index('data-window="w02"') < ranking.index('data-window="w03"') < ranking.index('data-window="w01"')
    assert 'data-ranked="yes"' in ranking.split('data-window="w01"')[1].split("</tr>")[0]
