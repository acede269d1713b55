"""Finding a font that draws Chinese: Kivy's default font has no CJK glyphs (it draws boxes)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

KNOWN_CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",      # Debian/Raspberry Pi OS: fonts-wqy-microhei
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",        # fonts-wqy-zenhei
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # fonts-noto-cjk
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)


class FontMissing(RuntimeError):
    pass


def find_cjk_font(configured: str | None = None) -> str:
    """The configured font, else a known CJK font on this system, else FontMissing."""
    if configured:
        if os.path.isfile(configured):
            return configured
        raise FontMissing(f"the configured font {configured} does not exist")
    for path in KNOWN_CJK_FONTS:
        if os.path.isfile(path):
            return path
    if shutil.which("fc-match"):
        found = subprocess.run(["fc-match", "-f", "%{file}", ":lang=zh-cn"], capture_output=True, text=True).stdout
        if found and Path(found).is_file() and Path(found).suffix.lower() in (".ttf", ".ttc", ".otf"):
            return found
    raise FontMissing("no font that draws Chinese was found: install one (Debian: apt-get install "
                      "fonts-wqy-microhei) or set font = \"/path/to/font.ttc\" in the kiosk config")
