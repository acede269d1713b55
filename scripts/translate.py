"""Fill English translations into the web app's catalog: `python scripts/translate.py '中文=English' ...`.

For texts that scripts/i18n.sh reports untranslated; then run scripts/i18n.sh again to compile.
"""
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

PO = Path(__file__).resolve().parents[1] / "server/translations/en/LC_MESSAGES/messages.po"


def main(pairs: list[str]) -> None:
    with open(PO, "rb") as f:
        catalog = read_po(f)
    for pair in pairs:
        source, _, english = pair.partition("=")
        if source not in catalog:
            sys.exit(f"not in the catalog: {source}")
        catalog[source].string = english
    with open(PO, "wb") as f:
        write_po(f, catalog, omit_header=False, sort_output=True)


if __name__ == "__main__":
    main(sys.argv[1:])
