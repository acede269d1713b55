"""`ceval demo`: the parser of the demo command; the demo itself (ceval/demo/hall.py) is imported when it runs."""
from __future__ import annotations

from ceval.args import listen_address, public_url


def cmd_demo(args) -> int:
    from ceval.demo.hall import run_demo

    return run_demo(args)


def add_commands(sub) -> None:
    """Register `demo` on the `ceval` parser's subcommands."""
    p = sub.add_parser("demo", help="run broker, server and simulated kiosks on this machine",
                       description="Start a broker, the server and simulated kiosks, and print the dashboard URL.")
    p.add_argument("--dir", default="demo-data", help="folder for the demo's database, broker, kiosks and logs; "
                   "kept between runs (delete it to start afresh)")
    p.add_argument("--listen", type=listen_address, default="127.0.0.1:8080",
                   help="HOST:PORT of the web app; 0.0.0.0:8080 lets phones and other machines reach it")
    p.add_argument("--public-url", type=public_url, help="the address phones reach the demo at, for the QR "
                   "codes (default: from --listen, with this machine's network address for 0.0.0.0)")
    p.add_argument("--kiosks", type=int, default=6, help="how many simulated kiosks")
    p.add_argument("--pace", type=float, default=1.0, help="speed of the simulated hall (2 = twice as busy)")
    p.add_argument("--embedded-broker", action="store_true",
                   help="use the embedded amqtt broker even where Mosquitto is installed")
    p.set_defaults(func=cmd_demo)
