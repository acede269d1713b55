"""Long lists at city size (one server, 50 halls, 5,000 windows): a site chosen first, then its rows a page
at a time.

A page that lists windows, kiosks or clerks asks `site_choice()` which site to show: the one in the query
string (`?site=`), or, when the user sees more windows than fit on one page (`page_size()`, the app's
`PAGE_SIZE`, default 100), the first of their sites; a hall of a few dozen windows sees everything at once
as before. `NO_SITE` is the windows (and their kiosks and clerks) in no site, for those who see every site.
`paging()` then cuts a list into pages (`?page=`). The templates' `_listing.html` draws both.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import abort, current_app, request, url_for
from flask_babel import gettext as _

from server.web.context import get_store
from server.web.scope import visible_sites

PAGE_SIZE = 100
NO_SITE = "_none"  # no site id has an underscore (server/domain/registry.py SITE_PATTERN)
ALL_SITES = "_all"  # every site, asked for where it is offered but not shown first


def page_size() -> int:
    return int(current_app.config.get("PAGE_SIZE", PAGE_SIZE))


def link(**changes) -> str:
    """This page's address with some query arguments changed (None drops one)."""
    args = {k: v for k, v in request.args.items() if k not in changes}
    args.update({k: v for k, v in changes.items() if v is not None})
    return url_for(request.endpoint, **(request.view_args or {}), **args)


@dataclass
class Paging:
    """Page `number` (from 1) of `total` rows, `size` a page."""
    number: int
    size: int
    total: int
    param: str = "page"

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def first(self) -> int:
        return min(self.total, self.offset + 1)

    @property
    def last(self) -> int:
        return min(self.total, self.offset + self.size)

    def url(self, number: int) -> str:
        return link(**{self.param: number if number > 1 else None})

    def cut(self, rows: list) -> list:
        return rows[self.offset:self.offset + self.size]


def paging(total: int, param: str = "page", size: int | None = None) -> Paging:
    """The page the query string asks for (`param`), within 1 .. the last page; anything else is page 1."""
    text = request.args.get(param, "")
    number = int(text) if text.isascii() and text.isdigit() and 0 < len(text) < 7 else 1
    page = Paging(1, size or page_size(), total, param)
    page.number = min(max(number, 1), page.pages)
    return page


@dataclass
class SiteChoice:
    """The sites a page offers (`options`: site, name; NO_SITE last, for those who see every site, when a
    window or clerk is in no site), the one shown (`site`: a site id, NO_SITE, or None for every site the user
    sees) and whether every site at once is offered (`all_allowed`)."""
    options: list[dict]
    site: str | None
    all_allowed: bool
    unscoped: bool = field(default=False)
    all_offered: bool = field(default=False)

    @property
    def sites(self) -> list[str | None] | None:
        """The `sites` argument of the store's listings: None for every site, else these (None: no site)."""
        if self.site is None:
            return visible_sites()
        return [None] if self.site == NO_SITE else [self.site]

    @property
    def kept(self) -> dict[str, str]:
        """The `site` argument the page's own links and forms carry: the site shown, or the whole city where it
        was asked for (`?site=_all`) and is not what the page shows first."""
        if self.site or (self.all_offered and not self.all_allowed):
            return {"site": self.site or ALL_SITES}
        return {}

    @property
    def shown(self) -> bool:
        """Whether the page draws the choice: more than one place to choose from."""
        return len(self.options) > 1

    @property
    def name(self) -> str | None:
        return next((o["name"] for o in self.options if o["site"] == self.site), None)


def site_choice(all_allowed: bool | None = None, site: str | None = None, all_offered: bool = False) -> SiteChoice:
    """The site the page shows. `?site=` names one of the user's sites (404 for another); without it, every
    site when the user sees no more windows than one page holds (or `all_allowed` says so), else the first
    site. `?site=` empty asks for every site, where that is allowed. `site`: the one to show whatever the query
    string says (a row's own: "" for no site). `all_offered`: every site at once may be asked for
    (`?site=_all`) even where it is not shown first (a city's ranking, a page at a time)."""
    store = get_store()
    scope = visible_sites()
    options = [{"site": s["site"], "name": s["name"]} for s in store.registry.sites(scope)]
    if scope is None and (store.reports.window_count([None]) or store.registry.clerk_count([None])):
        options.append({"site": NO_SITE, "name": _("未分配大厅")})
    if all_allowed is None:
        all_allowed = store.reports.window_count(scope) <= page_size()
    asked = request.args.get("site") if site is None else (site or NO_SITE)
    if asked == ALL_SITES and (all_offered or all_allowed):
        return SiteChoice(options, None, all_allowed, scope is None, True)
    if asked:
        if asked not in {o["site"] for o in options}:
            abort(404, _("大厅 %(site)s 不存在", site=asked[:32]))
        return SiteChoice(options, asked, all_allowed, scope is None, all_offered)
    if all_allowed or not options:
        return SiteChoice(options, None, True, scope is None)
    return SiteChoice(options, options[0]["site"], False, scope is None, all_offered)
