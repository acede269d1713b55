"""API tokens and the web app's accounts."""
from __future__ import annotations

import hashlib
import json
import secrets

from server.store.base import StoreBase
from shared.timefmt import DAY_MS

ATTEMPTS_KEPT_MS = DAY_MS  # longer than any rate limit's period


def new_session_token() -> str:
    return secrets.token_hex(24)


class AccountQueries(StoreBase):
    # ------------------------------------------------------------ API tokens
    def create_token(self, name: str, now: int) -> str:
        token = secrets.token_urlsafe(32)
        self.db.execute("INSERT INTO tokens (name, token_hash, created_at) VALUES (?, ?, ?)",
                        (name, _hash(token), now))
        return token

    def token_name(self, token: str) -> str | None:
        """The name of a token that is ours and not revoked."""
        row = self.db.execute("SELECT name FROM tokens WHERE token_hash = ? AND revoked_at IS NULL",
                              (_hash(token),)).fetchone()
        return row[0] if row else None

    def tokens(self) -> list[dict]:
        return list(self.db.query("SELECT id, name, created_at, revoked_at FROM tokens ORDER BY id"))

    def token_by_id(self, token_id: int) -> dict | None:
        return next(iter(self.db.query("SELECT id, name, created_at, revoked_at FROM tokens WHERE id = ?",
                                       [token_id])), None)

    def tokens_named(self, name_or_id: str) -> list[dict]:
        """The tokens an operator means by `name_or_id`: the one with that id, else those with that name."""
        by_id = self.token_by_id(int(name_or_id)) if name_or_id.isdigit() else None
        if by_id:
            return [by_id]
        return list(self.db.query("SELECT id, name, created_at, revoked_at FROM tokens WHERE name = ? ORDER BY id",
                                  [name_or_id]))

    def revoke_token(self, token_id: int, now: int) -> bool:
        """True when the token was valid until now; a revoked token stays listed."""
        return self.db.execute("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                               (now, token_id)).rowcount == 1

    # ------------------------------------------------------------ web app accounts
    def create_user(self, username: str, password_hash: str, role: str, sites: list[str] | None, now: int) -> int:
        return self.db.execute(
            "INSERT INTO users (username, password_hash, role, sites, created_at, session_token) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (username, password_hash, role, json.dumps(sites) if sites is not None else None, now,
             new_session_token())).lastrowid

    def users(self) -> list[dict]:
        return list(self.db.query("SELECT id, username, role, sites, disabled FROM users ORDER BY username"))

    def user_by_name(self, username: str) -> dict | None:
        return next(iter(self.db.query("SELECT * FROM users WHERE username = ?", [username])), None)

    def user_by_id(self, uid: int) -> dict | None:
        return next(iter(self.db.query("SELECT * FROM users WHERE id = ?", [uid])), None)

    def end_sessions(self, uid: int) -> str:
        """Every session of the user ends (their cookies carry the old token); the new token is returned."""
        token = new_session_token()
        self.db.execute("UPDATE users SET session_token = ? WHERE id = ?", (token, uid))
        return token

    def set_password(self, uid: int, password_hash: str) -> str:
        """A new password ends every session of the user; the new session token is returned."""
        token = new_session_token()
        self.db.execute("UPDATE users SET password_hash = ?, session_token = ? WHERE id = ?",
                        (password_hash, token, uid))
        return token

    def disable_user(self, uid: int) -> bool:
        """Disable the user and end their sessions, unless that would leave no active admin (False then).
        One statement, so two admins disabling each other at once cannot both succeed."""
        return self.db.execute(
            "UPDATE users SET disabled = 1, session_token = ? WHERE id = ? AND (role != 'admin' OR EXISTS "
            "(SELECT 1 FROM users AS other WHERE other.role = 'admin' AND other.disabled = 0 AND other.id != ?))",
            (new_session_token(), uid, uid)).rowcount == 1

    def enable_user(self, uid: int) -> None:
        self.db.execute("UPDATE users SET disabled = 0 WHERE id = ?", (uid,))

    # ------------------------------------------------------------ timed attempts (scheduled reports' retries)
    def record_attempt(self, key: str, now: int) -> None:
        """One counted attempt under a key such as `report-mail:12`."""
        self.db.execute("DELETE FROM attempts WHERE at < ?", (now - ATTEMPTS_KEPT_MS,))
        self.db.execute("INSERT INTO attempts (key, at) VALUES (?, ?)", (key, now))

    def attempts(self, key: str, since: int) -> int:
        return self.db.execute("SELECT count(*) FROM attempts WHERE key = ? AND at >= ?",
                               (key, since)).fetchone()[0]

    def clear_attempts(self, key: str) -> None:
        self.db.execute("DELETE FROM attempts WHERE key = ?", (key,))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
