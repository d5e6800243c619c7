"""French typography of every generated text, in one place (Word bilan, annexes, commentary file).

`fr` puts the no-break spaces French asks for (before « : » and inside « », a narrow one
before « ; ! ? % »), whatever the text was typed with; `plural` writes « 3 ménages » rather
than « ménage(s) »; `text_width` measures a text in the template's font (Calibri, whose
metrics Carlito shares) so that tables get columns wide enough for their words.
Numbers, percentages and dates themselves are written by `frformat` (Babel).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources

NBSP = "\u00a0"  # before « : », inside « », before « € »
NNBSP = "\u202f"  # narrow: before « ; ! ? % » (Imprimerie nationale), between thousands (Babel)

# What `fr` changes: ordinary spaces (or none) before « : ; ! ? % » and inside « ». A colon
# between digits (10:30) or in an address (https://) is left alone, as is « ?x=1 » in a link.
_COLON = re.compile(r"[ \t]+:(?!//)|(?<=[\w»)%]):(?=\s|$)")
_TALL = re.compile(r"[ \t]+([;!?])|(?<=[\w»)%])([;!?])(?=\s|$|[»)])")
_PERCENT = re.compile(r"(?<=\d)[ \t]*%|[ \t]+%")
_OPEN_QUOTE = re.compile(r"«[ \t\u00a0\u202f]*")
_CLOSE_QUOTE = re.compile(r"[ \t\u00a0\u202f]*»")


def fr(text: str) -> str:
    """French spacing of `text`: « Taux : 25 % ; cible « atteinte » ! »."""
    if not text:
        return text
    if ":" in text:
        text = _COLON.sub(NBSP + ":", text)
    if ";" in text or "!" in text or "?" in text:
        text = _TALL.sub(lambda m: NNBSP + (m.group(1) or m.group(2)), text)
    if "%" in text:
        text = _PERCENT.sub(NBSP + "%", text)
    if "«" in text:
        text = _OPEN_QUOTE.sub("«" + NBSP, text)
    if "»" in text:
        text = _CLOSE_QUOTE.sub(NBSP + "»", text)
    return text


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    """The word for `n` things, in French: 0 and 1 take the singular (« 1 ménage », « 0 erreur »)."""
    return singular if abs(n) < 2 else (plural_form or _plural(singular))


def count(n: int, singular: str, plural_form: str | None = None, number: str | None = None) -> str:
    """« 3 ménages », « 1 dossier bloqué » (`number`: the figure already written, e.g. masked)."""
    from cia_workbook.render import frformat

    return f"{number if number is not None else frformat.integer(n)}{NBSP}{plural(n, singular, plural_form)}"


_INVARIABLE = frozenset({"non", "hors", "très", "plus", "moins"})
_LINKS = frozenset(
    {"de", "du", "des", "d'", "à", "au", "aux", "en", "sur", "par", "pour", "dans", "avec", "sans"}
)


def _plural(words: str) -> str:
    # Every word of a short noun phrase agrees (« dossier bloqué » → « dossiers bloqués »,
    # « non atteint » → « non atteints ») up to a linking word (« écart par bailleur »).
    out = words.split(" ")
    for i, word in enumerate(out):
        if word in _LINKS:
            break
        if word in _INVARIABLE or word.endswith(("s", "x", "z")):
            continue
        if word.endswith(("au", "eu")):
            out[i] = word + "x"
        elif word.endswith("al"):
            out[i] = word[:-2] + "aux"
        else:
            out[i] = word + "s"
    return " ".join(out)


def capitalize(text: str) -> str:
    """The first letter in capital, the rest as it is (unlike `str.capitalize`)."""
    return text[:1].upper() + text[1:]


def lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def join(items: list[str], last: str = "et") -> str:
    """« A », « A et B », « A, B et C »."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {last} " + items[-1]


# -- Widths ----------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _widths() -> dict[str, dict[str, int]]:
    text = resources.files("cia_workbook.data").joinpath("font-widths.json").read_text("utf-8")
    data = json.loads(text)
    return {"regular": data["regular"], "bold": data["bold"]}


def text_width(text: str, size_pt: float, bold: bool = False) -> float:
    """Width of `text` in points, set in Calibri (Carlito) at `size_pt`."""
    table = _widths()["bold" if bold else "regular"]
    space = table[" "]
    total = 0
    for ch in text:
        w = table.get(ch)
        if w is None:
            w = space if ch in (NBSP, NNBSP, "\u2009") else 600  # a symbol from another font
        total += w
    return total * size_pt / 1000


def longest_word_width(text: str, size_pt: float, bold: bool = False) -> float:
    """Width in points of the widest word of `text` (a cell can be no narrower)."""
    words = re.split(r"[ \n\t-]+", text)
    return max((text_width(w, size_pt, bold) for w in words if w), default=0.0)
