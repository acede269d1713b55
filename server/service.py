"""The server as one process: the web app, the collector and the background jobs, started in the order that
keeps a second server from disturbing a running one, and stopped together. `ceval server` runs it. With
`collectors` above 1 the collectors are a group of child processes (server/ingest/members.py)."""
from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

from server.domain.collector_group import check_size
from server.domain.comment_token import token_lifetime
from server.domain.zones import DEFAULT_ZONE
from server.ingest.collector import Collector
from server.ingest.collector_guard import DatabaseLock, GuardError, check_client_id, describe, live_collector
from server.ingest.members import SECRET_ENV, TOKEN_SECONDS_ENV, Members, retire
from server.jobs import Jobs, default_tasks
from server.web.app import create_app
from shared.broker_url import parse_broker_url, tls_from_env


class ServiceError(Exception):
    """Why the server cannot start, in one line that says what to do."""


@dataclass(frozen=True)
class Options:
    db: str
    broker: str
    listen: tuple[str, int] = ("127.0.0.1", 8080)
    strict: bool = False
    timezone: str = DEFAULT_ZONE
    client_id: str = "ceval-collector"
    take_over: bool = False
    gap_timeout: float = 600.0
    public_url: str | None = None
    collectors: int = 1


class Service:
    """`open()` takes, in this order, the lock beside the database, the web port and the broker's word that no
    collector with this client id is live (collector_guard.py); `run()` then connects the collector, starts the
    jobs and serves the web app until `stop` is set; `close()` gives back what `open()` took."""

    def __init__(self, options: Options, member_command: Callable[[int], list[str]] | None = None):
        """`member_command(k)`: the argv that runs member k of the collectors' group (`collectors` above 1)."""
        self.options = options
        self.member_command = member_command
        self.app = None
        self._web = None
        self._lock = DatabaseLock(options.db)
        try:
            self._tls = tls_from_env(os.environ)  # CEVAL_MQTT_CA_FILE / _CERT_FILE / _KEY_FILE for mqtts://
            check_client_id(options.client_id)
            check_size(options.collectors)
            if options.collectors > 1 and member_command is None:
                raise ValueError("collectors above 1 need the command that runs a member")
            if options.collectors > 1 and parse_broker_url(options.broker).tls:
                # Each member needs a broker identity of its own; over mqtts:// that is a client certificate per
                # member, which `ceval` does not make yet.
                raise ValueError("--collectors above 1 needs an mqtt:// broker (one account per member); "
                                 "over mqtts:// run one collector")
        except ValueError as exc:
            raise ServiceError(str(exc)) from None

    def open(self) -> Service:
        from waitress import create_server

        o = self.options
        try:
            self._lock.acquire()
        except GuardError as exc:
            raise ServiceError(str(exc)) from None
        try:
            self.app = create_app(settings={"DATABASE": o.db, "TIMEZONE": o.timezone, "PUBLIC_URL": o.public_url})
            host, port = o.listen
            try:
                self._web = create_server(self.app, host=host, port=port, threads=8)
            except OSError as exc:
                raise ServiceError(f"cannot listen on {host}:{port}: {exc.strerror or exc}: stop what uses it, "
                                   "or give another --listen HOST:PORT") from None
            broker = parse_broker_url(o.broker)
            holder = None if o.take_over else live_collector(broker, o.client_id, self._tls)
            if holder:
                raise ServiceError(f"a collector with client id {o.client_id} is connected to {broker} "
                                   f"({describe(holder)}): stop it first, or give --take-over if it must go")
        except BaseException:
            self.close()
            raise
        return self

    def run(self, stop: threading.Event, started: Callable[[str], None] = lambda url: None) -> None:
        """Serve until `stop` is set; `started(url)` is called with the web app's address once everything runs."""
        o, config = self.options, self.app.config
        username, password = os.environ.get("CEVAL_MQTT_USERNAME"), os.environ.get("CEVAL_MQTT_PASSWORD")
        broker = parse_broker_url(o.broker)
        if not broker.tls:  # over mqtts:// no group runs (see __init__), and the certificate names the client
            retire(broker, o.client_id, o.collectors, username, password)
        # A lone collector runs in this process; a group's members are each a process of their own, so that any
        # one of them may die while the others carry on (the configs' secret and token lifetime go to member 1,
        # which pushes the kiosks' configs, in its environment: not on its command line).
        collector = members = None
        if o.collectors == 1:
            collector = Collector(o.db, o.broker, strict=o.strict, tls=self._tls, username=username,
                                  password=password, client_id=o.client_id, gap_timeout=o.gap_timeout,
                                  timezone=o.timezone, public_url=o.public_url, secret_key=config["SECRET_KEY"],
                                  token_lifetime=token_lifetime(config))
            collector.start()
        else:
            members = Members(o.collectors, self.member_command, {
                SECRET_ENV: config["SECRET_KEY"], TOKEN_SECONDS_ENV: str(token_lifetime(config))})
            members.start()
        jobs = Jobs(o.db, default_tasks(config))
        jobs.start()
        web, self._web = self._web, None  # run() closes it when `stop` is set
        threading.Thread(target=lambda: (stop.wait(), web.close()), daemon=True).start()
        started(f"http://{o.listen[0]}:{web.effective_port}/")
        try:
            web.run()
        except OSError:
            if not stop.is_set():
                raise
        finally:
            jobs.stop()
            for part in (members, collector):
                if part is not None:
                    part.stop()

    def close(self) -> None:
        if self._web is not None:
            self._web.close()
        self._lock.release()
