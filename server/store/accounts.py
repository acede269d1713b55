"""API tokens and the web app's accounts."""
from __future__ import annotations

import hashlib
import json
import secrets

from .base import StoreBase

ATTEMPTS_KEPT_MS = 24 * 3600 * 1000  # longer than any rate limit's period


class AccountQueries(StoreBase):
    # ------------------------------------------------------------ API tokens
    def create_token(self, name: str, now: int) -> str:
        token = secrets.token_urlsafe(32)
        self.db.execute("INSERT INTO tokens (name, token_hash, created_at) VALUES (?, ?, ?)",
                        (name, _hash(token), now))
        return token

    def token_name(self, token: str) -> str | None:
        row = self.db.execute("SELECT name FROM tokens WHERE token_hash = ?", (_hash(token),)).fetchone()
        return row[0] if row else None

    # ------------------------------------------------------------ web app accounts
    def create_user(self, username: str, password_hash: str, role: str, sites: list[str] | None, now: int) -> int:
        return self.db.execute(
            "INSERT INTO users (username, password_hash, role, sites, created_at) VALUES (?, ?, ?, ?, ?)",
            (username, password_hash, role, json.dumps(sites) if sites is not None else None, now)).lastrowid

    def users(self) -> list[dict]:
        return list(self.db.query("SELECT id, username, role, sites, disabled FROM users ORDER BY username"))

    def user_by_name(self, username: str) -> dict | None:
        return next(iter(self.db.query("SELECT * FROM users WHERE username = ?", [username])), None)

    def user_by_id(self, uid: int) -> dict | None:
        return next(iter(self.db.query("SELECT * FROM users WHERE id = ?", [uid])), None)

    # ------------------------------------------------------------ rate limits
    def record_attempt(self, key: str, now: int) -> None:
        """One counted attempt (a failed log-in, a comment sent) under a key such as `address:1.2.3.4`."""
        self.db.execute("DELETE FROM attempts WHERE at < ?", (now - ATTEMPTS_KEPT_MS,))
        self.db.execute("INSERT INTO attempts (key, at) VALUES (?, ?)", (key, now))

    def attempts(self, key: str, since: int) -> int:
        return self.db.execute("SELECT count(*) FROM attempts WHERE key = ? AND at >= ?",
                               (key, since)).fetchone()[0]

    def clear_attempts(self, key: str) -> None:
        self.db.execute("DELETE FROM attempts WHERE key = ?", (key,))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
