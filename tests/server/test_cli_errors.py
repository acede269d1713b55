"""`ceval` fails in one line with exit status 2 and the fix; `device add` always writes its kiosk file or
fails; `site list`, `window add|list`; a kiosk never heard from is "never" seen; the first-admin hint."""
from __future__ import annotations

import sqlite3

import pytest

from ceval.main import main
from ceval.serve import _first_admin_hint
from device.settings import load_settings
from server.ingest.ingestor import Ingestor
from server.store import Store
from server.store.db import open_db
from shared.clock import FakeClock

from ..helpers import ceval
from .events import event, msg
from .web import PASSWORD, log_in

BROKER = "mqtt://10.0.0.2:1883"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """main() as `ceval` runs it: an argparse error is its SystemExit."""
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    assert err.count("\n") == 1 and err.endswith("\n") and "Traceback" not in err, err
    return err


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "ceval.sqlite3"
    Store(open_db(path)).db.close()
    return path


# ---------------------------------------------------------------- one line, status 2, the fix
@pytest.mark.parametrize("argv,expected", [
    (["server", "--db", "{db}", "--broker", "127.0.0.1:18839"], "has no scheme: write mqtt://127.0.0.1:18839"),
    (["server", "--db", "{db}", "--broker", "mqtt://h:1", "--listen", "8080"], "is not HOST:PORT"),
    (["server", "--db", "{tmp}/no/such/folder/x.sqlite3", "--broker", "mqtt://h:1"], "mkdir -p"),
    (["server", "--db", "{tmp}", "--broker", "mqtt://h:1"], "is a folder"),
    (["server", "--db", "{db}", "--broker", "mqtt://h:1", "--client-id", "a/b"], "client id 'a/b'"),
    (["site", "add", "hq", "--name", "总部", "--hours", "1-5=9-17", "--db", "{db}"],
     '"9-17" is not a time range'),
    (["site", "list", "--db", "{tmp}/none.sqlite3"], "no database at"),
    (["window", "add", "W 1", "--db", "{db}"], "is not a-z or 0-9"),
    (["window", "add", "w01", "--site", "nowhere", "--db", "{db}"], "no site 'nowhere'"),
    (["window", "add", "w01", "--title", "x" * 33, "--db", "{db}"], "at most 32 characters"),
    (["device", "add", "k-1", "--window", "w01", "--db", "{db}", "--no-broker", "--out", "{tmp}/k.toml"],
     "give --broker"),
    (["device", "add", "k-1", "--window", "w01", "--db", "{db}", "--no-broker", "--broker", BROKER,
      "--out", "{tmp}/missing/k.toml"], "mkdir -p"),
    (["token", "list", "--db", "{tmp}/bad.sqlite3"], "cannot use the database"),
    (["user"], "the following arguments are required"),
    (["server", "--db", "{db}", "--broker", "mqtt://h:1", "--collectors", "9"], "from 1 to 8"),
    (["server", "--db", "{db}", "--broker", "mqtts://h:1", "--collectors", "2"], "over mqtts:// run one collector"),
    (["collector", "--db", "{db}", "--broker", "mqtt://h:1", "--member", "3", "--collectors", "2"],
     "--member 3 is not 1 to the group's size 2"),
])
def test_every_error_is_one_line_with_status_2(capsys, tmp_path, db, argv, expected):
    (tmp_path / "bad.sqlite3").write_text("this is no database, " * 100)
    argv = [a.format(db=db, tmp=tmp_path) for a in argv]
    code, out, err = run(capsys, *argv)
    assert code == 2, (argv, out, err)
    assert expected in one_line(err), err
    assert err.startswith("ceval "), err


def test_a_bad_argument_costs_no_traceback_as_a_process(tmp_path):
    result = ceval("server", "--db", str(tmp_path / "x.sqlite3"), "--broker", "127.0.0.1:18839")
    assert result.returncode == 2 and "mqtt://127.0.0.1:18839" in one_line(result.stderr)
    assert not (tmp_path / "x.sqlite3").exists(), "nothing was made"


def test_the_hours_error_is_english_in_the_cli_and_changes_nothing(capsys, db):
    code, _, err = run(capsys, "site", "add", "hq", "--name", "总部", "--hours", "1-5=09:00-08:00", "--db", str(db))
    assert code == 2 and "the end time must be later than the start time" in one_line(err), err
    assert "“" not in err and "应" not in err, "no Chinese from the web's wording"
    assert Store(open_db(db)).registry.site("hq") is None


def test_help_shows_the_defaults(capsys):
    for argv, shown in ((["server"], "(default: 127.0.0.1:8080)"), (["server"], "(default: ceval-collector)"),
                        (["demo"], "(default: demo-data)"), (["site", "add"], "(default: Asia/Shanghai)")):
        with pytest.raises(SystemExit):
            main([*argv, "--help"])
        assert "".join(shown.split()) in "".join(capsys.readouterr().out.split()), (argv, shown)  # wrapped


# ---------------------------------------------------------------- device add always writes its file or fails
def test_device_add_without_broker_accounts_still_writes_the_kiosk_file(capsys, tmp_path, db, monkeypatch):
    monkeypatch.delenv("CEVAL_BROKER_DIR", raising=False)
    out = tmp_path / "k-1.toml"
    code, stdout, err = run(capsys, "device", "add", "k-1", "--window", "w01", "--db", str(db), "--no-broker",
                            "--broker", BROKER, "--out", str(out))
    assert code == 0, err
    settings = load_settings(out)
    assert (settings.device, settings.window, settings.broker, settings.password) == ("k-1", "w01", BROKER, None)
    assert f"kiosk config written to {out}" in stdout
    # the default accounts folder missing: the same
    monkeypatch.setattr("server.ops.provision.DEFAULT_BROKER_DIR", str(tmp_path / "no-broker-dir"))
    out.unlink()
    code, stdout, err = run(capsys, "device", "add", "k-1", "--window", "w01", "--db", str(db), "--broker", BROKER,
                            "--out", str(out))
    assert code == 0 and load_settings(out).device == "k-1", err


def test_device_add_that_cannot_write_its_file_registers_nothing(capsys, tmp_path, db):
    code, _, err = run(capsys, "device", "add", "k-1", "--window", "w01", "--db", str(db), "--no-broker",
                       "--out", str(tmp_path / "k-1.toml"))
    assert code == 2 and "--broker" in one_line(err)
    assert Store(open_db(db)).registry.device("k-1") is None
    assert not (tmp_path / "k-1.toml").exists()


# ---------------------------------------------------------------- site list, window add|list
def test_site_list_and_window_add_and_list(capsys, db):
    assert run(capsys, "site", "add", "hq", "--name", "市民服务中心", "--hours", "1-5=09:00-12:00,13:30-17:00",
               "--db", str(db))[0] == 0
    code, out, err = run(capsys, "site", "list", "--db", str(db))
    assert code == 0, err
    header, row = out.splitlines()
    assert header.split()[:4] == ["SITE", "NAME", "TIMEZONE", "PUBLIC"]
    assert row.split()[:6] == ["hq", "市民服务中心", "Asia/Shanghai", "no", "0", "0"]
    assert "1=09:00-12:00, 13:30-17:00" in row

    store = Store(open_db(db))
    store.registry.create_clerk("1024", "张敏", "hq", None)
    code, out, err = run(capsys, "window", "add", "w03", "--title", "3号窗口 · 社保", "--site", "hq", "--clerk",
                         "1024", "--db", str(db))
    assert code == 0 and out == "window w03 added (3号窗口 · 社保, site hq, clerk 1024)\n", err
    assert run(capsys, "window", "add", "w04", "--db", str(db))[0] == 0
    code, _, err = run(capsys, "window", "add", "w03", "--db", str(db))
    assert code == 2 and "exists already" in one_line(err)
    code, _, err = run(capsys, "window", "add", "w05", "--clerk", "9999", "--db", str(db))
    assert code == 2 and "no active clerk" in one_line(err)

    code, out, err = run(capsys, "window", "list", "--db", str(db))
    assert code == 0, err
    rows = [line.split() for line in out.splitlines()]
    assert rows[0] == ["WINDOW", "TITLE", "SITE", "CLERK", "KIOSK"]
    assert rows[1] == ["w03", "3号窗口", "·", "社保", "hq", "1024", "-"]
    assert rows[2] == ["w04", "4号窗口", "-", "-", "-"]
    assert store.reports.window("w03")["clerk"] == "1024"


# ---------------------------------------------------------------- never seen
def test_a_kiosk_registered_but_never_heard_from_is_never_seen(capsys, db):
    assert run(capsys, "device", "add", "k-1", "--window", "w01", "--db", str(db), "--no-broker")[0] == 0
    assert run(capsys, "device", "add", "k-2", "--window", "w02", "--db", str(db), "--no-broker")[0] == 0
    store = Store(open_db(db))
    Ingestor(store, FakeClock()).handle([msg(event(1, window="w02"), device="k-2")])
    code, out, err = run(capsys, "device", "list", "--db", str(db), "--broker-dir", str(db.parent))
    assert code == 0, err
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert rows["k-1"][-1] == "never"
    assert rows["k-2"][-2:] == ["2026-11-23", "17:00"], "heard from: the time it was"


def test_the_migration_marks_only_registrations_never_heard_from(tmp_path):
    path = tmp_path / "old.sqlite3"
    store = Store(open_db(path))
    store.ingest.register_device("k-new", "w01", 1000)
    store.ingest.seen_device("k-seen", 2000)
    store.db.execute("UPDATE devices SET heard = 1")  # as before the column existed
    store.db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm019_cli'")
    store.db.execute("ALTER TABLE devices DROP COLUMN heard")
    store.db.close()
    rows = dict(Store(open_db(path)).db.execute("SELECT device, heard FROM devices").fetchall())
    assert rows == {"k-new": 0, "k-seen": 1}


def test_fleet_shows_never_for_a_kiosk_never_heard_from(app, tmp_path):
    from server.domain.passwords import hash_password

    store = Store(open_db(app.config["DATABASE"]))
    store.accounts.create_user("boss", hash_password(PASSWORD), "admin", None, 0)
    store.registry.assign_device("k-quiet", "w01", 1_000)
    client = app.test_client()
    assert log_in(client, "boss", PASSWORD).status_code == 302
    page = client.get("/fleet").get_data(as_text=True)
    row = page.split('data-device="k-quiet"', 1)[1].split("</tr>", 1)[0]
    assert 'class="l seen">从未<' in row


# ---------------------------------------------------------------- the first admin
def test_an_empty_database_says_how_to_add_the_first_admin(capsys, app, db):
    _first_admin_hint(str(db), "ceval.sqlite3")
    assert "ceval user add NAME --role admin --db ceval.sqlite3" in capsys.readouterr().out
    page = app.test_client().get("/login").get_data(as_text=True)
    assert 'id="first-admin"' in page and "ceval user add NAME --role admin" in page
    from server.domain.passwords import hash_password

    store = Store(open_db(app.config["DATABASE"]))
    store.accounts.create_user("boss", hash_password(PASSWORD), "admin", None, 0)
    assert 'id="first-admin"' not in app.test_client().get("/login").get_data(as_text=True)
    Store(open_db(db)).accounts.create_user("boss", hash_password(PASSWORD), "admin", None, 0)
    _first_admin_hint(str(db), "ceval.sqlite3")
    assert capsys.readouterr().out == ""


def test_a_database_that_is_no_database_is_one_line(capsys, tmp_path):
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"x" * 4096)
    with pytest.raises(sqlite3.DatabaseError):
        open_db(bad)
    code, _, err = run(capsys, "user", "list", "--db", str(bad))
    assert code == 2 and "cannot use the database" in one_line(err)
