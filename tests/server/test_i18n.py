"""The web app speaks Chinese by default and English from its gettext catalog, which covers every text."""
from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "server/translations/en/LC_MESSAGES"
METHODS = [("**.py", "python"), ("web/templates/**.html", "jinja2")]
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def source_texts() -> set[str]:
    found = set()
    keywords = {"_": None, "gettext": None, "lazy_gettext": None, "_l": None, "N_": None}
    for package in ("server", "ceval"):
        for _, _, message, _, _ in extract_from_dir(str(ROOT / package), METHODS, keywords=keywords):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_text_has_an_english_translation_with_the_same_placeholders():
    with open(CATALOG / "messages.po", "rb") as f:
        catalog = {m.id: m.string for m in read_po(f) if m.id}
    texts = source_texts()
    assert len(texts) > 50
    missing = sorted(t for t in texts if not catalog.get(t))
    assert not missing, f"untranslated (run scripts/i18n.sh and translate): {missing}"
    for text in texts:
        assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(catalog[text])), text
        # Jinja %-formats every text: any other % must be written %% or it eats a value ("% s" does)
        assert "%" not in PLACEHOLDER.sub("", catalog[text]).replace("%%", ""), catalog[text]


def test_the_compiled_catalog_is_the_po_file():
    with open(CATALOG / "messages.po", "rb") as f:
        po = {m.id: m.string for m in read_po(f) if m.id and m.string}
    with open(CATALOG / "messages.mo", "rb") as f:
        mo = {m.id: m.string for m in read_mo(f) if m.id}
    assert mo == po, "run scripts/i18n.sh to compile the catalog"


def test_chinese_by_default_and_english_on_request(app):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    assert "用户名" in page and 'lang="zh-CN"' in page
    switched = client.get("/lang/en?next=/login")
    assert switched.status_code == 302 and switched.headers["Location"] == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert "User name" in page and "用户名" not in page and '<html lang="en">' in page
    assert client.get("/lang/xx?next=https://evil.example/").headers["Location"] == "/"


def test_texts_outside_a_request_come_from_the_same_catalog():
    """server/catalogs.py: what the jobs thread and the command line translate with, without Flask."""
    from server.catalogs import texts

    assert texts("en")("评价 %(n)s 条", n=3) == "3 ratings"
    assert texts("zh")("评价 %(n)s 条", n=3) == "评价 3 条"  # the source texts are Chinese
    assert texts("en")("详见附件。") == "See the attachment for details."


def test_scheduled_reports_are_made_in_the_halls_language_on_any_thread():
    from server.reporting import scheduled

    assert scheduled.LANGUAGE == "zh"
    assert scheduled.mail_body(scheduled.Period.parse("daily", "2026-11-02"), None).endswith("详见附件。")
