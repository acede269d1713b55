"""The broker's side of provisioning: Mosquitto accounts, the ACL that pins each kiosk to its own topics,
and the kiosk config file an installer copies onto the Pi.

The broker directory (default /etc/mosquitto/ceval, or CEVAL_BROKER_DIR) holds two files that
deploy/mosquitto/ceval.conf names: `passwd` (Mosquitto's password file, PBKDF2-SHA512 entries in its `$7$`
format, as `mosquitto_passwd` writes them) and `acl`. A kiosk's broker user name is its device id; the ACL's
`pattern` lines (`%u`) let it write only its own event and status and read only its own ack, config and
invite. The collector, the server's MQTT client, has an account of its own (SERVICES), and so has each further
member of a group of collectors (`ceval server --collectors N`: the same name followed by -2, -3, ...). Mosquitto reads both files
again on SIGHUP (`systemctl reload mosquitto`); until then a change has no effect.
"""
from __future__ import annotations

import base64
import fcntl
import grp
import hashlib
import hmac
import logging
import os
import secrets
import tempfile
from contextlib import contextmanager
from pathlib import Path

from server.domain.collector_group import MAX_COLLECTORS, member_name
from shared.broker_url import parse_broker_url
from shared.topics import DEVICE_PATTERN, PREFIX

log = logging.getLogger(__name__)

DEFAULT_BROKER_DIR = "/etc/mosquitto/ceval"
BROKER_DIR_ENV = "CEVAL_BROKER_DIR"
RESERVED_PREFIX = "ceval-"  # user names of the server's own accounts; no device may take one
SERVICES = {"collector": "ceval-collector"}  # the server's MQTT client: the web app speaks no MQTT
ITERATIONS = 101  # what mosquitto_passwd 2.0 writes; the passwords are random, 192 bits
BROKER_GROUP = "mosquitto"  # Mosquitto runs as this user after it starts as root: it must read the files
KIOSK_DATA_DIR = "/var/lib/ceval-kiosk"
KIOSK_TLS_DIR = "/etc/ceval/tls"  # on the Pi: ca.crt, DEVICE.crt, DEVICE.key for an mqtts:// broker


class ProvisionError(ValueError):
    """A name, address or directory that provisioning cannot use; the message says which and why."""


def broker_dir(value: str | None = None) -> Path:
    """--broker-dir, else CEVAL_BROKER_DIR, else /etc/mosquitto/ceval."""
    return Path(value or os.environ.get(BROKER_DIR_ENV) or DEFAULT_BROKER_DIR)


def check_device(device: str) -> str:
    if not DEVICE_PATTERN.match(device):
        raise ProvisionError(f"device {device!r} must match {DEVICE_PATTERN.pattern}")
    if device.startswith(RESERVED_PREFIX):
        raise ProvisionError(f"device ids starting with {RESERVED_PREFIX!r} are the server's own broker accounts")
    return device


def new_password() -> str:
    return secrets.token_urlsafe(24)


def hash_password(password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """Mosquitto's `$7$ITERATIONS$SALT$HASH` (PBKDF2-HMAC-SHA512, 12-byte salt, base64)."""
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_password(hashed: str, password: str) -> bool:
    """True when `password` matches a `$7$` entry."""
    try:
        _, kind, iterations, salt, digest = hashed.split("$")
        if kind != "7":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), base64.b64decode(salt), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(expected, actual)


def service_accounts(service: str) -> list[str]:
    """The broker user names of a server account: the collector's, then its group's further members'."""
    return [member_name(SERVICES[service], k) for k in range(1, MAX_COLLECTORS + 1)]


def acl_text() -> str:
    """The whole ACL: every kiosk pinned to its own topics, then the server's two accounts."""
    kiosk = f"{PREFIX}/%u"
    return "\n".join([
        "# counter-eval broker ACL, written by `ceval device add` / `ceval broker account`: do not edit.",
        "# Kiosks: the broker user name is the device id (%u). Anything not granted here is refused.",
        f"pattern write {kiosk}/event",
        f"pattern write {kiosk}/status",
        f"pattern read {kiosk}/ack",
        f"pattern read {kiosk}/config",
        f"pattern read {kiosk}/invite",
        "",
        "# The collector and the further members of its group: read every kiosk's events and status, write acks,",
        "# configs and invites.",
        *[line for user in service_accounts("collector")
          for line in (f"user {user}", f"topic readwrite {PREFIX.split('/')[0]}/#")],
        "",
    ])


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def kiosk_config_text(device: str, window: str, broker_url: str, password: str | None,
                      data_dir: str = KIOSK_DATA_DIR, tls_dir: str = KIOSK_TLS_DIR) -> str:
    """The kiosk's TOML (device/settings.py), with its broker account (none when `password` is None: a broker
    without accounts); see deploy/kiosk.example.toml.
    For an mqtts:// broker it names the files of deploy/tls/make-certs.sh as they are copied into `tls_dir`."""
    tls = parse_broker_url(broker_url).tls  # ValueError with the reason
    lines = [
        f"# counter-eval kiosk {device} at window {window}: copy to /etc/ceval/kiosk.toml on the Pi",
        "# (owner root, group of the kiosk user, mode 0640): it may hold the kiosk's broker password.",
        "# Other settings (timings, GPIO, screen size): see deploy/kiosk.example.toml.",
        f"device = {_toml_string(device)}",
        f"window = {_toml_string(window)}",
        f"broker = {_toml_string(broker_url)}",
        *([f"username = {_toml_string(device)}", f"password = {_toml_string(password)}"] if password is not None
          else ["# no broker account: the broker lets kiosks in without one"]),
        f"data_dir = {_toml_string(data_dir)}",
        "fullscreen = true",
    ]
    if tls:
        lines += ["", "# the broker's CA and this kiosk's certificate (deploy/tls/make-certs.sh device DIR DEVICE)",
                  "[tls]",
                  f"ca_file = {_toml_string(f'{tls_dir}/ca.crt')}",
                  f"cert_file = {_toml_string(f'{tls_dir}/{device}.crt')}",
                  f"key_file = {_toml_string(f'{tls_dir}/{device}.key')}"]
    return "\n".join(lines) + "\n"


def write_private(path: Path, text: str, mode: int = 0o600) -> None:
    """Write `text` to `path` atomically, readable by its owner only (it holds a password)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            os.fchmod(out.fileno(), mode)
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class BrokerAccounts:
    """The password file and the ACL in one broker directory. Every change holds a lock and replaces the
    file atomically, so the broker never reads half a file."""

    def __init__(self, directory: str | Path):
        self.dir = Path(directory)
        self.passwd = self.dir / "passwd"
        self.acl = self.dir / "acl"

    def exists(self) -> bool:
        return self.dir.is_dir()

    def users(self) -> dict[str, str]:
        """User name -> `$7$` hash, as the password file has them now."""
        if not self.passwd.exists():
            return {}
        accounts = {}
        for line in self.passwd.read_text(encoding="utf-8").splitlines():
            name, sep, hashed = line.partition(":")
            if sep and name and not name.startswith("#"):
                accounts[name] = hashed
        return accounts

    def set_password(self, user: str, password: str, *also: str) -> None:
        """Create the account (and the accounts `also`, with the same password), or give it a new password (the
        old one works until the broker reloads); all of them in one change of the files."""
        for name in (user, *also):
            if not name or ":" in name or any(c.isspace() for c in name):
                raise ProvisionError(f"broker user name {name!r} is not usable")
        with self._locked():
            accounts = self.users()
            for name in (user, *also):
                accounts[name] = hash_password(password)
            self._write(accounts)
        log.info("broker account %s set in %s", ", ".join((user, *also)), self.passwd)

    def remove(self, user: str) -> bool:
        """Delete the account; False when there was none."""
        with self._locked():
            accounts = self.users()
            if accounts.pop(user, None) is None:
                return False
            self._write(accounts)
        log.info("broker account %s removed from %s", user, self.passwd)
        return True

    def _write(self, accounts: dict[str, str]) -> None:
        self._replace(self.passwd, "".join(f"{name}:{hashed}\n" for name, hashed in sorted(accounts.items())))
        if not self.acl.exists() or self.acl.read_text(encoding="utf-8") != acl_text():
            self._replace(self.acl, acl_text())

    def _replace(self, path: Path, text: str) -> None:
        write_private(path, text, 0o640)
        gid = _broker_gid()
        if gid is not None:
            os.chown(path, 0, gid)

    @contextmanager
    def _locked(self):
        if not self.dir.is_dir():
            raise ProvisionError(f"broker directory {self.dir} does not exist (the server setup makes it; "
                                 f"or give --broker-dir / {BROKER_DIR_ENV})")
        with open(self.dir / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _broker_gid() -> int | None:
    """The mosquitto group when we are root and it exists: the broker, no longer root, must read the files."""
    if os.geteuid() != 0:
        return None
    try:
        return grp.getgrnam(BROKER_GROUP).gr_gid
    except KeyError:
        return None
