"""The server's texts in each language, from the gettext catalogs in `server/translations` (Chinese source texts,
English translations). The web app reads them through Flask-Babel; reports made on the jobs thread and the
command line read them here, with no request to take a language from."""
from __future__ import annotations

import gettext
from collections.abc import Callable
from pathlib import Path

DIRECTORY = Path(__file__).with_name("translations")
DOMAIN = "messages"


def translation(language: str) -> gettext.NullTranslations:
    """The catalog of `language` ("zh" gives the source texts themselves)."""
    return gettext.translation(DOMAIN, DIRECTORY, [language], fallback=True)


def texts(language: str) -> Callable[..., str]:
    """A gettext of `language` taking Flask-Babel's %(name)s parameters: `texts("en")("评价 %(n)s 条", n=3)`."""
    catalog = translation(language)

    def gettext(text: str, **params) -> str:
        translated = catalog.gettext(text)
        return translated % params if params else translated

    return gettext
