"""Fair rankings (server/domain/ranking.py): the Wilson lower bound orders 三比 and the monthly report, and a row
below the minimum sample is shown, marked 样本不足 and not ranked, on the pages, in the API and in the exports."""
from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from server.domain.figures import rating_summary
from server.domain.passwords import hash_password
from server.domain.ranking import enough, rank, standing, wilson
from server.ingest.ingestor import Ingestor

from .events import event, msg
from .web import PASSWORD, As, api_reader

NOVEMBER = "from=2026-11-01&to=2026-11-22"


# ------------------------------------------------------------ the rule
@pytest.mark.parametrize(("satisfied", "n", "low", "high"), [
    (12, 12, 0.7575, 1.0),        # 12 / (12 + z²)
    (1164, 1200, 0.9587, 0.9783),  # (0.97 + z²/2400 ∓ z·√(0.97·0.03/1200 + z²/5 760 000)) / (1 + z²/1200)
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


def test_the_standing_counts_satisfied_as_the_satisfied_rate_does():
    counts = [(5, 5, 7), (5, 4, 3), (5, 3, 2), (5, 1, 1), (4, 3, 2), (4, 2, 1), (3, 3, 1), (3, 2, 4)]
    rate, got = rating_summary(counts), standing(counts)
    assert got["n"] == rate["total"] == 21
    assert got["satisfied_interval"][0] <= rate["satisfied_rate"] <= got["satisfied_interval"][1]
    assert got["satisfied_interval"] == [round(b, 3) for b in wilson(13, 21)]  # 7 + 3 + 2 + 1 satisfied


def test_the_minimum_sample_rule():
    assert enough(30, 30) and not enough(29, 30) and enough(1, 1) and not enough(0, 1) and not enough(0, 0)


def test_rank_leaves_out_small_samples_and_shares_places_on_ties():
    rows = [{"k": "small", "n": 12, "satisfied_lower": 0.758, "index": 100.0},
            {"k": "big", "n": 1200, "satisfied_lower": 0.959, "index": 90.0},
            {"k": "tie", "n": 1200, "satisfied_lower": 0.959, "index": 90.0},
            {"k": "low", "n": 40, "satisfied_lower": 0.5, "index": 60.0},
            {"k": "none", "n": 0, "satisfied_lower": None, "index": None}]
    rank(rows, lambda r: r, "rank", "last", 30, ranked="ranked")
    assert [(r["k"], r["rank"], r["ranked"], r["last"]) for r in rows] == [
        ("small", None, False, False), ("big", 1, True, False), ("tie", 1, True, False), ("low", 3, True, True),
        ("none", None, False, False)]
    rank(rows, lambda r: r, "prev_rank", "prev_last", 1)  # the lower bound first: 12 at 100% below 1,200 at 97%
    assert [r["prev_rank"] for r in rows] == [3, 1, 1, 4, None] and "prev_ranked" not in rows[0]


# ------------------------------------------------------------ the pages, the API and the exports
@pytest.fixture
def seed_store(blank_store, clock):
    """w01: 12 ratings, all satisfied (100%); w02: 1,200 at 97%; w03: 40 at 90%; each window's ratings by one
    clerk (1024, 2048, 3072 in turn)."""
    s = blank_store
    s.accounts.create_user("root", hash_password(PASSWORD), "admin", None, 0)
    s.accounts.create_user("boss", hash_password(PASSWORD), "manager", None, 0)
    messages = []
    for window, staff, good, bad in (("w01", "1024", 12, 0), ("w02", "2048", 1164, 36), ("w03", "3072", 36, 4)):
        stream = f"stream-{window}"
        messages += [msg(event(i + 1, stream=stream, window=window, staff=staff, score=5 if i < good else 1,
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


def test_the_cover_counts_only_the_ranked_windows_places(store, root):
    page = root.text("/reports/monthly?month=2026-11")
    assert "排名 1 / 2" in page and "排名 2 / 2" in page and "/ 3" not in page
    assert "95.9–97.8%" in page.split('id="ranking"')[1].split('data-window="w03"')[0]


def test_clerks_below_the_minimum_sample_are_marked_and_unranked_alike(store, app, root):
    body = api_reader(app, store)(f"/compare?{NOVEMBER}&by=staff")
    assert [(r["staff"], r["rank"], r["ranked"], r["current"]["n"]) for r in body["rows"]] == [
        ("2048", 1, True, 1200), ("3072", 2, True, 40), ("1024", None, False, 12)]
    page = root.text(f"/compare?{NOVEMBER}&by=staff")
    assert "样本不足" in page.split('data-key="1024"')[1].split("</tr>")[0]
    book = load_workbook(io.BytesIO(root.get(f"/compare.xlsx?{NOVEMBER}&by=staff").get_data()))
    sheet = book.worksheets[0]
    headers = [c.value for c in sheet[1]]
    low, high = headers.index("满意率下限（95％ 置信）"), headers.index("满意率上限（95％ 置信）")
    lines = {row[1][:4]: row for row in sheet.iter_rows(min_row=2, values_only=True)}  # "1024（未核实）": no roster
    assert lines["1024"][0] == "样本不足" and (lines["1024"][low], lines["1024"][high]) == (0.758, 1.0)
    assert lines["2048"][0] == 1 and (lines["2048"][low], lines["2048"][high]) == (0.959, 0.978)


def test_the_setting_ranks_a_small_sample_on_the_page_in_the_api_and_in_the_export(store, app, root):
    assert root.post("/admin/reports/ranking", {"min_sample": "12"}).status_code == 302
    body = api_reader(app, store)(f"/compare?{NOVEMBER}")
    assert body["min_sample"] == 12
    # ranked now, yet still below both others: its lower bound (0.758) is the lowest
    assert [(r["window"], r["rank"], r["ranked"], r["last"]) for r in body["rows"]] == [
        ("w02", 1, True, False), ("w03", 2, True, False), ("w01", 3, True, True)]
    page = root.text(f"/compare?{NOVEMBER}")
    assert "样本不足" not in page.split("<tbody>")[1] and "少于 12 条评价的不排名" in page
    exported = list(csv.reader(io.StringIO(root.get(f"/compare.csv?{NOVEMBER}").get_data(as_text=True))))
    assert {line[1]: line[0] for line in exported[1:] if len(line) > 1} == {"w02": "1", "w03": "2", "w01": "3"}
    assert root.post("/admin/reports/ranking", {"min_sample": "13"}).status_code == 302
    assert not {r["window"]: r for r in api_reader(app, store)(f"/compare?{NOVEMBER}")["rows"]}["w01"]["ranked"]


@pytest.mark.parametrize("text", ["0", "100001", "-5", "1.5", "abc", "", "１２", "12 ratings"])
def test_the_setting_takes_a_whole_number_from_1_to_100000(store, root, text):
    answer = root.post("/admin/reports/ranking", {"min_sample": text})
    assert answer.status_code == 400 and "排名所需的最少评价数应为 1 到 100000 之间的整数。" in answer.get_data(as_text=True)
    assert store.settings.min_sample() == 30
    root.client.set_cookie("lang", "en")
    answer = root.post("/admin/reports/ranking", {"min_sample": text})
    assert answer.status_code == 400
    assert "The fewest ratings for a ranking must be a whole number from 1 to 100000." in answer.get_data(as_text=True)


def test_only_an_admin_sets_it_and_the_settings_page_says_where(store, app, root):
    assert As(app, "boss").post("/admin/reports/ranking", {"min_sample": "5"}).status_code == 403
    assert store.settings.min_sample() == 30
    assert "最少评价数" in root.text("/admin")
    assert root.post("/admin/reports/ranking", {"min_sample": "100000"}).status_code == 302
    assert 'value="100000"' in root.text("/admin/reports") and store.settings.min_sample() == 100_000
