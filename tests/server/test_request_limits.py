"""Request bodies are bounded: above MAX_CONTENT_LENGTH a request is refused with 413 before anything reads it,
on a page in the reader's language (the phone form's own on a phone), as JSON on the API; nothing is echoed or
stored. The largest legitimate upload, the holiday file, stays well within the limit."""
from __future__ import annotations

import io
import json
import re

import pytest

from server.domain.comment_token import make_token
from server.domain.passwords import hash_password
from server.ingest.ingestor import Ingestor
from server.web.security import MAX_BODY_BYTES

from .events import event, msg
from .web import PASSWORD, As, token_of

MB = 1024 * 1024


@pytest.fixture
def seed_store(blank_store, clock):
    s = blank_store
    s.accounts.create_user("root", hash_password(PASSWORD), "admin", None, 0)
    Ingestor(s, clock).handle([msg(event(1, score=1, staff="1024", id="rating-low"))])


def phone_comments(store) -> int:
    return store.db.execute("SELECT count(*) FROM feedback WHERE channel = 'phone'").fetchone()[0]


def test_a_50_mb_phone_comment_is_refused_and_not_echoed(app, store, clock):
    client = app.test_client()
    page = client.get(f"/c/w01?t={make_token(app.config['SECRET_KEY'], 'w01', clock.now())}")
    html = page.get_data(as_text=True)
    form = {"csrf_token": token_of(html), "t": re.search(r'name="t" value="([^"]+)"', html)[1],
            "text": "好" * (50 * MB // 3)}
    response = client.post("/c/w01", data=form)
    assert response.status_code == 413
    body = response.get_data(as_text=True)
    assert len(body) < 20_000, "the comment is not sent back"
    assert "好好好" not in body
    assert "提交的内容超过了 1024 KB 的上限" in body and "button.send" in body, "the phone form's own page"
    assert phone_comments(store) == 0


def test_a_body_over_the_limit_gets_a_page_in_the_readers_language(app, store):
    root = As(app, "root")
    big = {"rating": "rating-low", "reason": "x" * (MAX_BODY_BYTES + 1)}
    response = root.post("/appeals", big)
    assert response.status_code == 413
    body = response.get_data(as_text=True)
    assert "提交的内容太大" in body and 'role="alert"' in body and "xxxx" not in body
    root.client.get("/lang/en")
    response = root.post("/appeals", big)
    assert response.status_code == 413 and "Request too large" in response.get_data(as_text=True)
    assert store.db.execute("SELECT count(*) FROM appeals").fetchone()[0] == 0


def test_the_api_answers_413_in_json(app, store):
    bearer = {"Authorization": "Bearer " + store.accounts.create_token("erp", 0)}
    body = json.dumps({"case": "A" * (2 * MB)})
    response = app.test_client().post("/api/v1/windows/w01/invite", data=body, headers=bearer,
                                      content_type="application/json")
    assert response.status_code == 413 and response.is_json
    assert response.json == {"error": f"the request body is larger than {MAX_BODY_BYTES // 1024} KiB"}
    assert store.db.execute("SELECT count(*) FROM invites").fetchone()[0] == 0


def test_the_holiday_file_stays_within_the_limit(app, store):
    """The largest form a user sends: its own 64 KB check answers, not the body limit."""
    root = As(app, "root")
    too_big = io.BytesIO(b"2026-10-01,off,National Day\n" * 3000)  # 84 KB
    response = root.post("/admin/holidays/upload", {"year": "2026", "file": (too_big, "holidays.csv")},
                         content_type="multipart/form-data")
    assert response.status_code == 400 and "文件太大" in response.get_data(as_text=True)
    good = io.BytesIO(b"2026-10-01,off,National Day\n")
    response = root.post("/admin/holidays/upload", {"year": "2026", "file": (good, "holidays.csv")},
                         content_type="multipart/form-data")
    assert response.status_code == 302
