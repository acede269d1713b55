"""The server's own secret: made once beside the database (mode 0600), shared by the web app
(session cookies) and the collector (the signed tokens in the kiosks' comment links)."""
from __future__ import annotations

import os
import secrets
from pathlib import Path


def instance_secret(db_path: str | Path) -> str:
    """The key in `secret_key` beside the database; made on first use, atomically, so two
    processes starting together end up with the same key."""
    folder = os.path.dirname(os.path.abspath(db_path))
    path = os.path.join(folder, "secret_key")
    try:
        with open(path) as f:
            return f.read().strip()
    except FileNotFoundError:
        pass
    os.makedirs(folder, exist_ok=True)
    tmp = f"{path}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32))
    try:
        os.link(tmp, path)  # fails if another process made it first: theirs is the key
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
    with open(path) as f:
        return f.read().strip()
