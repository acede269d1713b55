"""The kiosk's sd_notify: datagrams on a real unix socket standing in for systemd's NOTIFY_SOCKET."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import pytest

from device.watchdog import DEFAULT_INTERVAL, Notifier, Watchdog

from ..helpers import ROOT, write_kiosk_config


@pytest.fixture
def notify_socket(tmp_path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = tmp_path / "notify"
    sock.bind(str(path))
    yield str(path), sock
    sock.close()


def receive(sock: socket.socket, timeout: float = 10.0) -> list[str]:
    sock.settimeout(timeout)
    return sock.recv(4096).decode().split("\n")


def receive_until(sock: socket.socket, wanted: str, timeout: float) -> list[list[str]]:
    """Datagrams until one holds `wanted`, within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {wanted} within {timeout} s; got {seen}")
        try:
            seen.append(receive(sock, left))
        except TimeoutError:
            continue
        if wanted in seen[-1]:
            return seen


def test_notifier_sends_to_a_socket_path(notify_socket):
    path, sock = notify_socket
    notifier = Notifier(path)
    assert notifier.notify("READY=1", "STATUS=up")
    assert receive(sock) == ["READY=1", "STATUS=up"]


def test_notifier_sends_to_the_abstract_namespace():
    name = f"ceval-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        assert Notifier(f"@{name}").notify("WATCHDOG=1")
        assert receive(sock) == ["WATCHDOG=1"]


def test_without_systemd_nothing_is_sent_and_nothing_fails():
    notifier = Notifier.from_environ({})
    assert not notifier.enabled and not notifier.notify("READY=1")
    watchdog = Watchdog(notifier)
    watchdog.ready()
    watchdog.beat()
    watchdog.stopping()
    assert watchdog.beats == 0


def test_a_missing_socket_is_reported_not_raised(tmp_path):
    assert Notifier(str(tmp_path / "gone")).notify("READY=1") is False


def test_interval_is_half_the_watchdog_timeout():
    assert Notifier.from_environ({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "30000000"}).interval == 15.0
    assert Notifier.from_environ({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "soon"}).interval == DEFAULT_INTERVAL
    assert Notifier.from_environ({"NOTIFY_SOCKET": "/x"}).interval == DEFAULT_INTERVAL


def test_watchdog_beats_once_per_interval_with_a_one_line_status(notify_socket):
    path, sock = notify_socket
    now = [100.0]
    status = ["broker\nconnected"]
    watchdog = Watchdog(Notifier(path, watchdog_usec=2_000_000), lambda: status[0], monotonic=lambda: now[0])
    watchdog.ready()
    assert receive(sock) == ["READY=1", "STATUS=broker connected"]
    assert receive(sock) == ["WATCHDOG=1", "STATUS=broker connected"]
    now[0] += 0.5
    watchdog.beat()  # within the interval (1 s): nothing
    now[0] += 0.6
    status[0] = "broker not connected"
    watchdog.beat()
    assert receive(sock) == ["WATCHDOG=1", "STATUS=broker not connected"]
    assert watchdog.beats == 2
    watchdog.stopping()
    assert receive(sock) == ["STOPPING=1", "STATUS=stopping"]


def _kiosk(tmp_path, path: str, *args: str) -> subprocess.Popen:
    config = write_kiosk_config(tmp_path / "kiosk" / "kiosk.toml", "mqtt://127.0.0.1:1", "k-wd", "w01")
    env = {**os.environ, "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000", "KIVY_NO_ARGS": "1",
           "KIVY_LOG_MODE": "PYTHON", "KIVY_HOME": str(tmp_path / "kivy")}
    env.pop("DISPLAY", None)
    return subprocess.Popen([sys.executable, "-m", "ceval.main", "kiosk", "--config", str(config), *args], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _stop(kiosk: subprocess.Popen) -> str:
    kiosk.send_signal(signal.SIGTERM)
    try:
        _, err = kiosk.communicate(timeout=30)
    finally:
        kiosk.kill()
    return err


def test_headless_kiosk_beats_from_its_loop_and_stops_when_the_loop_stops(tmp_path, notify_socket):
    path, sock = notify_socket
    kiosk = _kiosk(tmp_path, path, "--headless")
    try:
        first = receive_until(sock, "READY=1", 60)[-1]
        assert "STATUS=kiosk k-wd at window w01, broker not connected" in first
        receive_until(sock, "WATCHDOG=1", 5)
        receive_until(sock, "WATCHDOG=1", 5)  # beats every 0.2 s (half of WATCHDOG_USEC)
        kiosk.send_signal(signal.SIGSTOP)  # the loop hangs
        drained_until = time.monotonic() + 0.5
        while time.monotonic() < drained_until:  # what was already in flight
            try:
                receive(sock, 0.1)
            except TimeoutError:
                break
        with pytest.raises(TimeoutError):
            receive(sock, 1.5)  # more than three watchdog intervals: systemd would restart it
        kiosk.send_signal(signal.SIGCONT)
        receive_until(sock, "WATCHDOG=1", 10)
        err = _stop(kiosk)
        assert kiosk.returncode == 0, err
        receive_until(sock, "STOPPING=1", 5)
    finally:
        kiosk.kill()


def test_screen_kiosk_is_ready_after_its_first_frame_and_beats_from_the_kivy_clock(tmp_path, notify_socket):
    path, sock = notify_socket
    kiosk = _kiosk(tmp_path, path)
    try:
        receive_until(sock, "READY=1", 120)
        receive_until(sock, "WATCHDOG=1", 10)
        receive_until(sock, "WATCHDOG=1", 10)
        err = _stop(kiosk)
        assert kiosk.returncode == 0, err
        receive_until(sock, "STOPPING=1", 5)
    finally:
        kiosk.kill()
