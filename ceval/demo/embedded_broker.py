"""The demo's fallback broker where Mosquitto cannot be had: amqtt, in a process of its own.

amqtt speaks MQTT 3.1.1 only, keeps nothing across restarts and queues for
offline clients only when they connect with a user name; it is for a demo on
a machine without Mosquitto, never for a hall.

    python -m ceval.demo.embedded_broker PORT
"""
from __future__ import annotations

import asyncio
import logging
import sys


async def serve(port: int) -> None:
    from amqtt.broker import Broker

    broker = Broker({
        "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    })
    await broker.start()
    await asyncio.Event().wait()


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(serve(int(sys.argv[1])))


if __name__ == "__main__":
    main()
