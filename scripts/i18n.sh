#!/usr/bin/env bash
# Refresh the web app's English catalog from the Chinese source texts, then compile it.
#   scripts/i18n.sh          extract, merge into server/translations/en, compile
# New texts arrive in the .po with an empty msgstr: translate them, then run this again.
set -euo pipefail
cd "$(dirname "$0")/.."
PYBABEL=.venv/bin/pybabel
POT=server/translations/messages.pot
mkdir -p server/translations
"$PYBABEL" extract -F babel.cfg -k _ -k gettext -k lazy_gettext -k _l -k N_ --no-location --sort-output \
  --project counter-eval -o "$POT" server ceval
if [ -f server/translations/en/LC_MESSAGES/messages.po ]; then
  "$PYBABEL" update -i "$POT" -d server/translations -l en --no-fuzzy-matching --ignore-obsolete
else
  "$PYBABEL" init -i "$POT" -d server/translations -l en
fi
"$PYBABEL" compile -d server/translations -l en
