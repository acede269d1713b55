"""Six days of a hall for the browser tests: ratings by three clerks at three windows, reasons, a comment, an
absence, opening hours and a roster, written into a server's database before the server starts."""
from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from server.ingest.ingestor import Ingestor
from server.store import Store
from server.store.db import open_db
from shared.clock import SystemClock
from shared.timefmt import format_ts

from ..server.events import event, msg

TZ = ZoneInfo("Asia/Shanghai")
# Open round the clock: the ratings of a minute ago fall in opening hours whenever the tests run (at 18:10 the
# misuse rule of closed hours flagged them and raised alerts, which the navigation's badge then counted).
HOURS = json.dumps({str(day): [["00:00", "24:00"]] for day in range(1, 8)})


def seed(db_path) -> tuple[str, str]:
    """Six days of ratings by three clerks at three windows, reasons, a comment, an absence, a roster;
    returns the range."""
    store = Store(open_db(str(db_path)))
    now = datetime.now(TZ)
    messages, seqs = [], {}
    plan = [("k-a", "w51", "1024", [5, 4, 5, 1]), ("k-b", "w52", "2048", [3, 5]), ("k-c", "w53", "3072", [2, 2, 5])]

    def add(device, window, staff, moment, **fields):
        seq = seqs[device] = seqs.get(device, 0) + 1
        messages.append(msg(event(seq, stream=f"stream-{device}", window=window, staff=staff, ts=format_ts(moment),
                                  **fields), device=device))

    for device, window, staff, scores in plan:
        add(device, window, staff, now - timedelta(minutes=1), score=scores[0])
        for day in range(1, 6):
            morning = datetime.combine(now.date() - timedelta(days=day), time(9, 10), TZ)
            for n, score in enumerate(scores):
                if (day + n) % 3 != 2:
                    add(device, window, staff, morning + timedelta(hours=2 * n, minutes=7 * day), score=score,
                        **({"reasons": ["slow", "unclear"][:day % 2 + 1]} if score <= 2 else {}))
    yesterday = datetime.combine(now.date() - timedelta(days=1), time(10, 0), TZ)
    add("k-a", "w51", "1024", yesterday, type="feedback", text="办理很快，讲解也清楚，谢谢！")
    add("k-b", "w52", "2048", yesterday, type="presence", state="away")
    add("k-b", "w52", "2048", yesterday + timedelta(minutes=40), type="presence", state="present")
    Ingestor(store, SystemClock()).handle(messages)
    store.db["sites"].insert({"site": "hall", "name": "政务服务中心", "timezone": "Asia/Shanghai", "hours": HOURS})
    store.db.execute("UPDATE windows SET site = 'hall'")
    store.db["staff"].insert_all([{"staff": "1024", "name": "王芳", "site": "hall"},
                                  {"staff": "2048", "name": "李雷", "site": "hall"},
                                  {"staff": "3072", "name": "赵敏", "site": "hall"}])
    store.db.conn.commit()
    store.db.close()
    return (now.date() - timedelta(days=5)).isoformat(), now.date().isoformat()
