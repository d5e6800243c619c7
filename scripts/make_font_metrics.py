"""Build cia_workbook/data/font-widths.json: advance widths of Carlito (metric-compatible with
Calibri, the template's font) for the characters the bilan writes.

Column widths of the Word tables are computed from the text they hold (no header cell narrower
than its longest word); the widths come from this table so that the result does not depend on
the fonts installed where the bilan is made. Run once when the character set or the template's
font changes: `.venv/bin/python scripts/make_font_metrics.py [Regular.ttf Bold.ttf]`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from fontTools.ttLib import TTFont

TARGET = Path(__file__).resolve().parent.parent / "cia_workbook" / "data" / "font-widths.json"
FONTS = {
    "regular": "/usr/share/fonts/truetype/crosextra/Carlito-Regular.ttf",
    "bold": "/usr/share/fonts/truetype/crosextra/Carlito-Bold.ttf",
}
CHARS = (
    [chr(c) for c in range(0x20, 0x7F)]
    + [chr(c) for c in range(0xA0, 0x100)]
    + list("ŒœŸ‘’“”«»–—…€−≤≥•\u202f\u2009✓✗≈†")
)


def widths(path: str) -> dict[str, int]:
    font = TTFont(path)
    per_em = font["head"].unitsPerEm
    cmap = font.getBestCmap()
    metrics = font["hmtx"].metrics
    out = {}
    for ch in CHARS:
        glyph = cmap.get(ord(ch))
        if glyph is not None:
            out[ch] = round(1000 * metrics[glyph][0] / per_em)  # thousandths of an em
    return out


def build(regular: str = FONTS["regular"], bold: str = FONTS["bold"], target: Path = TARGET) -> Path:
    data = {"font": "Carlito", "unit": "1/1000 em", "regular": widths(regular), "bold": widths(bold)}
    target.write_text(json.dumps(data, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    return target


if __name__ == "__main__":
    print(build(*sys.argv[1:3]))
