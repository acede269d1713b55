"""Logging in through the web app's log-in page in the browser."""
from __future__ import annotations


def log_in(page, server, username, password):
    page.goto(server.url + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
