"""Provisioning without a broker: the password file, the ACL, the kiosk config and the registry rows that
`ceval device add|revoke|list` and `ceval broker account` make. tests/e2e/test_broker_security.py runs
them on a real Mosquitto."""
from __future__ import annotations

import base64
import shutil
import stat
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ceval.main import main
from device.settings import load_settings
from server.ingest.ingestor import Ingestor
from server.ops.provision import (
    BrokerAccounts,
    ProvisionError,
    acl_text,
    check_password,
    hash_password,
    kiosk_config_text,
)
from server.store import Store
from server.store.db import open_db
from shared.clock import FakeClock
from shared.timefmt import format_ts

from .events import event, msg

ROOT = Path(__file__).resolve().parents[2]
BROKER = "mqtt://10.0.0.2:1883"


@pytest.fixture
def paths(tmp_path):
    (tmp_path / "broker").mkdir()
    return tmp_path / "ceval.sqlite3", tmp_path / "broker"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def add(capsys, paths, device: str, window: str | None, *extra: str) -> tuple[int, str, str]:
    db, broker_dir = paths
    argv = ["device", "add", device, "--db", str(db), "--broker-dir", str(broker_dir), "--broker", BROKER,
            "--out", str(db.parent / f"{device}.toml"), *extra]
    return run(capsys, *argv, *(["--window", window] if window else []))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ---------------------------------------------------------------- the files
def test_password_entries_are_mosquitto_passwd_compatible(tmp_path):
    hashed = hash_password("s3cret")
    assert hashed.startswith("$7$101$") and check_password(hashed, "s3cret") and not check_password(hashed, "x")
    assert hash_password("s3cret") != hashed, "a new salt every time"
    mosquitto_passwd = shutil.which("mosquitto_passwd")
    assert mosquitto_passwd, "mosquitto_passwd is not installed (scripts/bootstrap.sh installs mosquitto)"
    pwfile = tmp_path / "passwd"
    subprocess.run([mosquitto_passwd, "-c", "-b", str(pwfile), "k-w01", "s3cret"], check=True)
    theirs = BrokerAccounts(tmp_path).users()["k-w01"]
    assert check_password(theirs, "s3cret") and not check_password(theirs, "s3cret!")
    _, _, iterations, salt, _ = theirs.split("$")
    assert hash_password("s3cret", base64.b64decode(salt), int(iterations)) == theirs


def test_the_acl_pins_kiosks_to_their_own_topics_and_names_the_server_accounts():
    lines = [line for line in acl_text().splitlines() if line and not line.startswith("#")]
    assert lines[:5] == ["pattern write ceval/v1/%u/event", "pattern write ceval/v1/%u/status",
                         "pattern read ceval/v1/%u/ack", "pattern read ceval/v1/%u/config",
                         "pattern read ceval/v1/%u/invite"]
    members = ["ceval-collector", *(f"ceval-collector-{k}" for k in range(2, 9))]
    assert lines[5:] == [line for user in members for line in (f"user {user}", "topic readwrite ceval/#")], \
        "the collector and the further members of its group, nothing else"
    assert not any(line.startswith("topic") for line in lines[:5]), "nothing for clients outside a user block"


def test_accounts_are_replaced_and_removed_atomically_and_readable_by_the_broker_only(tmp_path):
    accounts = BrokerAccounts(tmp_path)
    accounts.set_password("k-w01", "one")
    accounts.set_password("k-w02", "two")
    first = accounts.users()["k-w01"]
    accounts.set_password("k-w01", "three")
    users = accounts.users()
    assert sorted(users) == ["k-w01", "k-w02"] and users["k-w01"] != first
    assert check_password(users["k-w01"], "three") and check_password(users["k-w02"], "two")
    assert accounts.acl.read_text() == acl_text()
    assert mode(accounts.passwd) == 0o640 and mode(accounts.acl) == 0o640
    assert accounts.remove("k-w01") and not accounts.remove("k-w01")
    assert list(accounts.users()) == ["k-w02"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".passwd.")], "no temporary file left"
    with pytest.raises(ProvisionError, match="does not exist"):
        BrokerAccounts(tmp_path / "missing").set_password("k-w01", "x")


def test_the_kiosk_config_loads_as_the_kiosk_reads_it(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text(kiosk_config_text("k-w03", "w03", BROKER, 'pa"ss\\word', data_dir="data"))
    settings = load_settings(path)
    assert (settings.device, settings.window, settings.broker) == ("k-w03", "w03", BROKER)
    assert (settings.username, settings.password) == ("k-w03", 'pa"ss\\word')
    assert settings.data_dir == tmp_path / "data" and settings.fullscreen
    (tmp_path / "tls").mkdir()
    for name in ("ca.crt", "k-w03.crt", "k-w03.key"):
        (tmp_path / "tls" / name).write_text("x")
    path.write_text(kiosk_config_text("k-w03", "w03", "mqtts://broker.hall:8883", "pw", "data", str(tmp_path / "tls")))
    tls = load_settings(path).tls
    assert (tls.ca_file, tls.cert_file, tls.key_file) == tuple(
        str(tmp_path / "tls" / name) for name in ("ca.crt", "k-w03.crt", "k-w03.key"))
    with pytest.raises(ValueError, match="broker URL"):
        kiosk_config_text("k-w03", "w03", "http://broker", "pw")


def test_the_shipped_broker_config_refuses_anonymous_clients_and_names_the_files():
    conf = (ROOT / "deploy" / "mosquitto" / "ceval.conf").read_text().splitlines()
    options = [line for line in conf if line and not line.startswith("#")]
    assert "allow_anonymous false" in options and "allow_anonymous true" not in options
    assert "password_file /etc/mosquitto/ceval/passwd" in options
    assert "acl_file /etc/mosquitto/ceval/acl" in options
    assert options.index("per_listener_settings false") < options.index("listener 1883")
    main_conf = (ROOT / "deploy" / "mosquitto" / "mosquitto.conf").read_text().splitlines()
    keys = [line.split()[0] for line in main_conf + conf if line and not line.startswith("#")]
    assert sorted(k for k in set(keys) if keys.count(k) > 1) == ["log_type"], "Mosquitto refuses a repeated option"
    assert {"persistence_location /var/lib/mosquitto/", "log_dest file /var/log/mosquitto/mosquitto.log",
            "user mosquitto", "include_dir /etc/mosquitto/conf.d"} <= set(main_conf)


# ---------------------------------------------------------------- ceval device add
def test_device_add_registers_makes_the_account_and_writes_the_kiosk_config(capsys, paths):
    db, broker_dir = paths
    code, out, err = add(capsys, paths, "k-w03", "w03")
    assert code == 0, err
    assert "systemctl reload mosquitto" in out
    config = db.parent / "k-w03.toml"
    assert mode(config) == 0o600, "it holds the password"
    settings = load_settings(config)
    assert (settings.device, settings.window, settings.broker, settings.username) == ("k-w03", "w03", BROKER,
                                                                                       "k-w03")
    assert settings.data_dir == Path("/var/lib/ceval-kiosk")
    accounts = BrokerAccounts(broker_dir)
    assert check_password(accounts.users()["k-w03"], settings.password)
    assert accounts.acl.read_text() == acl_text()
    store = Store(open_db(db))
    assert (store.registry.device("k-w03")["confirmed"], store.registry.device("k-w03")["window"]) == (1, "w03")
    assert next(store.db.query("SELECT device FROM windows WHERE window = 'w03'"))["device"] == "k-w03"


def test_a_kiosk_moved_to_another_window_keeps_its_history_and_gets_a_new_password(capsys, paths):
    db, broker_dir = paths
    assert add(capsys, paths, "k-1", "w03")[0] == 0
    old_password = load_settings(db.parent / "k-1.toml").password
    store = Store(open_db(db))
    now = datetime.now(UTC)  # `ceval device add` confirms the kiosk now: its events count from then on
    Ingestor(store, FakeClock(now)).handle([msg(event(1, window="w03", ts=format_ts(now)), device="k-1")])
    assert add(capsys, paths, "k-1", "w05")[0] == 0
    settings = load_settings(db.parent / "k-1.toml")
    assert settings.window == "w05" and settings.password != old_password
    assert check_password(BrokerAccounts(broker_dir).users()["k-1"], settings.password)
    assert [tuple(r.values()) for r in store.db.query("SELECT window, score FROM ratings")] == [("w03", 5)]
    windows = {r["window"]: r["device"] for r in store.db.query("SELECT window, device FROM windows")}
    assert windows == {"w03": None, "w05": "k-1"}
    assert store.registry.device("k-1")["window"] == "w05"
    # run again without --window: the window it has
    assert add(capsys, paths, "k-1", None)[0] == 0
    assert load_settings(db.parent / "k-1.toml").window == "w05"


@pytest.mark.parametrize("device, window, extra, message", [
    ("ceval-collector", "w03", (), "server's own broker accounts"),
    ("K 1", "w03", (), "must match"),
    ("k-1", "W 3", (), "window"),
    ("k-new", None, (), "give --window"),
    ("k-1", "w03", ("--broker", "http://x"), "broker URL"),
    ("k-1", "w03", ("--out", "/nonexistent/k.toml"), "no folder"),
])
def test_device_add_refuses_bad_input_and_changes_nothing(capsys, paths, device, window, extra, message):
    db, broker_dir = paths
    code, out, err = add(capsys, paths, device, window, *extra)
    assert code == 2 and message in err
    assert not (broker_dir / "passwd").exists()
    assert Store(open_db(db)).registry.devices() == []


def test_device_add_needs_the_broker_address_for_a_kiosk_config(capsys, paths, monkeypatch):
    db, broker_dir = paths
    monkeypatch.delenv("CEVAL_KIOSK_BROKER", raising=False)
    code, _, err = run(capsys, "device", "add", "k-1", "--window", "w01", "--db", str(db),
                       "--broker-dir", str(broker_dir))
    assert code == 2 and "--broker" in err
    monkeypatch.setenv("CEVAL_KIOSK_BROKER", BROKER)
    monkeypatch.chdir(db.parent)
    code, _, err = run(capsys, "device", "add", "k-1", "--window", "w01", "--db", str(db),
                       "--broker-dir", str(broker_dir))
    assert code == 0, err
    assert load_settings(db.parent / "k-1.toml").broker == BROKER, "DEVICE.toml in the current folder"


def test_a_broker_dir_given_but_missing_is_an_error_and_no_broker_only_registers(capsys, paths, monkeypatch):
    db, broker_dir = paths
    code, _, err = run(capsys, "device", "add", "k-1", "--window", "w01", "--db", str(db), "--broker", BROKER,
                       "--broker-dir", str(broker_dir / "nope"))
    assert code == 2 and "does not exist" in err
    monkeypatch.setenv("CEVAL_BROKER_DIR", str(broker_dir / "nope"))
    code, _, err = run(capsys, "device", "add", "k-1", "--window", "w01", "--db", str(db), "--broker", BROKER)
    assert code == 2 and "does not exist" in err
    code, out, err = run(capsys, "device", "add", "k-1", "--window", "w01", "--db", str(db), "--no-broker")
    assert code == 0 and out == "device k-1 registered at window w01\n"
    assert Store(open_db(db)).registry.device("k-1")["confirmed"] == 1


# ---------------------------------------------------------------- revoke, list, broker account
def test_revoke_removes_the_account_and_the_confirmation_but_not_the_history(capsys, paths):
    db, broker_dir = paths
    assert add(capsys, paths, "k-1", "w01")[0] == 0
    assert add(capsys, paths, "k-2", "w02")[0] == 0
    code, out, err = run(capsys, "device", "revoke", "k-1", "--db", str(db), "--broker-dir", str(broker_dir))
    assert code == 0, err
    assert "broker account removed" in out and "systemctl reload mosquitto" in out
    assert list(BrokerAccounts(broker_dir).users()) == ["k-2"]
    store = Store(open_db(db))
    assert (store.registry.device("k-1")["confirmed"], store.registry.device("k-1")["window"]) == (0, "w01")
    assert next(store.db.query("SELECT device FROM windows WHERE window = 'w01'"))["device"] is None
    code, _, err = run(capsys, "device", "revoke", "k-9", "--db", str(db), "--broker-dir", str(broker_dir))
    assert code == 2 and "no device 'k-9'" in err


def test_list_shows_window_confirmation_account_and_last_seen(capsys, paths):
    db, broker_dir = paths
    assert add(capsys, paths, "k-1", "w01")[0] == 0
    assert add(capsys, paths, "k-2", "w02")[0] == 0
    assert run(capsys, "device", "revoke", "k-2", "--db", str(db), "--broker-dir", str(broker_dir))[0] == 0
    BrokerAccounts(broker_dir).set_password("k-3", "pw")  # an account the database does not know
    assert run(capsys, "broker", "account", "collector", "--broker-dir", str(broker_dir))[0] == 0
    code, out, err = run(capsys, "device", "list", "--db", str(db), "--broker-dir", str(broker_dir))
    assert code == 0, err
    rows = [line.split() for line in out.splitlines()]
    assert rows[0] == ["DEVICE", "WINDOW", "CONFIRMED", "ACCOUNT", "ONLINE", "LAST", "SEEN"]
    assert rows[1][:5] == ["k-2", "w02", "no", "no", "no"]  # unconfirmed first
    assert rows[2] == ["k-1", "w01", "yes", "yes", "no", "never"]  # registered, never connected
    assert rows[3] == ["k-3", "-", "no", "yes", "-", "never"]
    assert out.splitlines()[-1].startswith("server accounts: ceval-collector")


def test_broker_account_prints_or_writes_the_service_environment(capsys, paths):
    db, broker_dir = paths
    code, out, err = run(capsys, "broker", "account", "collector", "--broker-dir", str(broker_dir))
    assert code == 0 and "systemctl reload mosquitto" in err
    env = dict(line.split("=", 1) for line in out.splitlines())
    assert env["CEVAL_MQTT_USERNAME"] == "ceval-collector"
    assert check_password(BrokerAccounts(broker_dir).users()["ceval-collector"], env["CEVAL_MQTT_PASSWORD"])
    out_file = db.parent / "collector.env"
    code, out, _ = run(capsys, "broker", "account", "collector", "--broker-dir", str(broker_dir), "--out", str(out_file))
    assert code == 0 and mode(out_file) == 0o600 and "CEVAL_MQTT_PASSWORD" not in out
    env = dict(line.split("=", 1) for line in out_file.read_text().splitlines())
    assert check_password(BrokerAccounts(broker_dir).users()["ceval-collector"], env["CEVAL_MQTT_PASSWORD"])
    users = BrokerAccounts(broker_dir).users()
    assert sorted(users) == sorted(["ceval-collector", *(f"ceval-collector-{k}" for k in range(2, 9))])
    assert all(check_password(hashed, env["CEVAL_MQTT_PASSWORD"]) for hashed in users.values()), \
        "a group's members log in with the collector's password, each under its own name"
    with pytest.raises(SystemExit) as refused:  # the web app speaks no MQTT: no account for it
        run(capsys, "broker", "account", "web", "--broker-dir", str(broker_dir))
    assert refused.value.code == 2 and "invalid choice: 'web'" in capsys.readouterr().err
