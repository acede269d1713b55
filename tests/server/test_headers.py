"""What every response says about its own safety: a script policy without inline script but the page's own, frame
denial except the public board, nosniff, no referrer to other sites; Secure cookies whenever the app is reached
over HTTPS."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from server.domain.passwords import hash_password
from server.ingest.ingestor import Ingestor
from server.web.app import create_app

from .events import event, msg
from .web import PASSWORD, As

TEMPLATES = Path(__file__).resolve().parents[2] / "server" / "web" / "templates"
PAGES = ("/", "/windows/w01?from=2026-11-01&to=2026-11-23", "/staff/1024", "/compare", "/reports/monthly",
         "/comments", "/admin/windows", "/appeals")


@pytest.fixture
def seed_store(blank_store, clock):
    s = blank_store
    s.accounts.create_user("root", hash_password(PASSWORD), "admin", None, 0)
    Ingestor(s, clock).handle([msg(event(1, score=4, staff="1024"))])
    s.registry.create_site("hq", "市政务服务中心", "Asia/Shanghai", "{}", True)
    s.registry.update_window("w01", "1号窗口", "hq")


def policy(response) -> dict[str, str]:
    return {d.split()[0]: d.partition(" ")[2] for d in response.headers["Content-Security-Policy"].split("; ")}


def inline_scripts(html: str) -> list[str]:
    """The opening tags of the scripts a browser would run from the page itself."""
    return [tag for tag in re.findall(r"<script\b[^>]*>", html)
            if "src=" not in tag and 'type="application/json"' not in tag]


def test_every_page_denies_frames_and_runs_only_its_own_scripts(app, store):
    root = As(app, "root")
    for path in PAGES + ("/login",):
        response = root.get(path)
        assert response.status_code == 200, path
        csp = policy(response)
        nonce = re.fullmatch(r"'self' 'nonce-([A-Za-z0-9_-]{20,})'", csp["script-src"])[1]
        assert csp["default-src"] == "'self'" and csp["object-src"] == "'none'" and csp["base-uri"] == "'none'"
        assert csp["frame-ancestors"] == "'none'" and response.headers["X-Frame-Options"] == "DENY", path
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        html = response.get_data(as_text=True)
        assert all(f'nonce="{nonce}"' in tag for tag in inline_scripts(html)), path
    nonces = {policy(root.get("/")).get("script-src") for _ in range(3)}
    assert len(nonces) == 3, "a fresh nonce for every response"


def test_no_template_has_an_inline_handler_or_a_script_without_its_nonce():
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"\son[a-z]+\s*=", text), template.name
        assert "javascript:" not in text, template.name
        for tag in inline_scripts(text):
            assert 'nonce="{{ csp_nonce() }}"' in tag, (template.name, tag)


def test_errors_api_and_downloads_carry_the_headers_too(app, store):
    root = As(app, "root")
    for response in (root.get("/windows/nowhere"), root.get("/windows/w01.csv"),
                     app.test_client().get("/api/v1/windows")):
        assert response.headers["X-Frame-Options"] == "DENY"
        assert policy(response)["frame-ancestors"] == "'none'"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_public_board_may_be_framed_as_configured(app, store, tmp_path, clock):
    response = app.test_client().get("/public/hq")
    assert response.status_code == 200
    assert policy(response)["frame-ancestors"] == "*" and "X-Frame-Options" not in response.headers
    assert all("nonce=" in tag for tag in inline_scripts(response.get_data(as_text=True)))
    assert app.test_client().get("/public/hq.json").headers["X-Frame-Options"] == "DENY", "only the page is framed"

    hall = create_app({"DATABASE": app.config["DATABASE"], "CLOCK": clock, "TESTING": True, "SECRET_KEY": "s",
                       "BOARD_FRAME_ANCESTORS": "'self' https://www.hall.example.gov.cn"})
    response = hall.test_client().get("/public/hq")
    assert policy(response)["frame-ancestors"] == "'self' https://www.hall.example.gov.cn"
    for bad in ("'self'; script-src *", "https://a.example,https://b.example", ""):
        with pytest.raises(ValueError, match="BOARD_FRAME_ANCESTORS"):
            create_app({"DATABASE": str(tmp_path / "x.sqlite3"), "SECRET_KEY": "s", "BOARD_FRAME_ANCESTORS": bad})


def _cookies(response) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in response.headers.getlist("Set-Cookie")}


def _app(tmp_path, clock, **config):
    return create_app({"DATABASE": str(tmp_path / "server.sqlite3"), "CLOCK": clock, "TESTING": True,
                       "SECRET_KEY": "test-secret", **config})


@pytest.mark.parametrize("config, headers, secure", [
    ({}, {}, False),
    ({}, {"X-Forwarded-Proto": "https"}, False),              # no proxy trusted: the header is anyone's
    ({"PUBLIC_URL": "https://hall.example.gov.cn"}, {}, True),
    ({"PUBLIC_URL": "http://10.0.0.2:8080"}, {}, False),
    ({"TLS": True}, {}, True),
    ({"PROXIES": 1}, {"X-Forwarded-Proto": "https"}, True),
    ({"PROXIES": 1}, {"X-Forwarded-Proto": "http"}, False),
])
def test_cookies_are_secure_whenever_the_app_is_reached_over_https(tmp_path, clock, config, headers, secure):
    """The session cookie (the log-in form's token starts it) and the language cookie."""
    client = _app(tmp_path, clock, **config).test_client()
    session = _cookies(client.get("/login", headers=headers))["session"]
    assert "HttpOnly" in session and "SameSite=Lax" in session
    assert ("Secure" in session) is secure
    lang = _cookies(client.get("/lang/en", headers=headers))["lang"]
    assert ("Secure" in lang) is secure
