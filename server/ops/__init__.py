"""Running a server: backup and restore, retention of raw payloads, the broker's accounts and ACL, the
server's secret, e-mail."""
