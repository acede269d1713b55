"""The members of a group of collectors, as child processes of `ceval server --collectors N`.

Each member 1..N is a process of its own (`ceval collector`), so that the group's storing uses more than one
core and any one member may die while the others carry on; this supervisor starts them, starts again one
that ended (after RESTART_SECONDS, so a member that cannot start does not spin), and stops them with the
server. A member reads its standard input, which is a pipe from here: when the server ends, however it
ends, the pipe closes and the members stop too (systemd starts the whole server again).

Before the members start, the sessions of members above N (a group that was larger before) are ended,
so the broker no longer holds their share of the kiosks' messages for them: `retire()`.
"""
from __future__ import annotations

import logging
import os
import subprocess
import threading
from collections.abc import Callable

import paho.mqtt.client as mqtt

from server.domain.collector_group import MAX_COLLECTORS, member_name
from shared.broker_url import BrokerAddress

log = logging.getLogger(__name__)

SECRET_ENV = "CEVAL_SECRET_KEY"  # member 1 signs the kiosks' comment links with the web app's secret
TOKEN_SECONDS_ENV = "CEVAL_COMMENT_TOKEN_SECONDS"  # and gives them the web app's lifetime
RESTART_SECONDS = 1.0  # how long a member that ended waits before it is started again
STOP_SECONDS = 10.0    # how long a member has to finish its batch on stop before it is killed


class Members:
    """Members 1..`members` of the group; `command(k)` is the argv that runs member k, `env` what they get in
    their environment besides this process's."""

    def __init__(self, members: int, command: Callable[[int], list[str]], env: dict[str, str] | None = None):
        self.members = members
        self.command = command
        self.env = {**os.environ, **(env or {})}
        self.processes: dict[int, subprocess.Popen] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="collector-members", daemon=True)

    def start(self) -> None:
        for k in range(1, self.members + 1):
            self._spawn(k)
        self._thread.start()

    def _spawn(self, k: int) -> None:
        self.processes[k] = subprocess.Popen(self.command(k), stdin=subprocess.PIPE, env=self.env)

    def _watch(self) -> None:
        while not self._stop.wait(RESTART_SECONDS):
            for k, process in list(self.processes.items()):
                if process.poll() is not None and not self._stop.is_set():
                    log.error("collector member %d ended (exit status %s); starting it again", k, process.returncode)
                    process.stdin.close()  # its end of the pipe: one per start, or a member that keeps ending leaks
                    self._spawn(k)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(RESTART_SECONDS * 2)
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for k, process in self.processes.items():
            try:
                process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                log.error("collector member %d did not stop within %.0f s; killed", k, STOP_SECONDS)
                process.kill()
                process.wait()
            if process.stdin:
                process.stdin.close()


def retire(broker: BrokerAddress, base: str, members: int, username: str | None, password: str | None,
           timeout: float = 3.0) -> list[str]:
    """End the broker sessions of members above `members` (MQTT 5: a clean start with a session expiry of 0
    ends the old session, and this one with the disconnect). Returns the client ids let in, whose sessions
    are gone now. A member the broker does not let in (no such account) has no session: nothing to end.
    Over mqtt:// only: the group needs an account per member (service.py)."""
    ended = []
    for k in range(members + 1, MAX_COLLECTORS + 1):
        name = member_name(base, k)
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv5)
        if username:
            client.username_pw_set(member_name(username, k), password)
        answered = threading.Event()
        result: dict[str, bool] = {}

        def on_connect(client, userdata, flags, reason_code, properties, result=result, answered=answered):
            result["in"] = not reason_code.is_failure
            answered.set()

        client.on_connect = on_connect
        try:
            client.connect(broker.host, broker.port, keepalive=10, clean_start=True)
        except OSError as exc:
            log.warning("could not reach %s to retire collector sessions: %s", broker, exc)
            return ended
        client.loop_start()
        try:
            if answered.wait(timeout) and result["in"]:
                ended.append(name)
                client.disconnect()
        finally:
            client.loop_stop()
    return ended
