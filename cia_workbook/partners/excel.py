"""Excel's limits, kept by every workbook and CSV file the tool writes.

A cell holds at most 32,767 characters (a comment too), a sheet 1,048,576 rows, a hyperlink
location 255 characters and a sheet name 31. A text beyond a limit is never cut in silence: it
is shortened visibly, its end replaced by « … » and its full length, so that a reader sees that
something was left out. A partner's value quoted inside a message is shortened the same way,
much shorter, so that the message's end (how to fix) always survives.
"""

from __future__ import annotations

MAX_CELL_TEXT = 32_767
MAX_ROWS = 1_048_576
MAX_LINK_LOCATION = 255
MAX_SHEET_NAME = 31
# A partner's value quoted in a message: enough to recognise it, never the whole message.
MAX_QUOTED = 200


def count(n: int) -> str:
    """1048576 → « 1 048 576 », with the narrow no-break space of French typography (as Babel
    writes it: this module is imported where Babel is not)."""
    return f"{n:,}".replace(",", "\u202f")


def shortened(text: str, limit: int = MAX_QUOTED, length: int | None = None) -> str:
    """`text` when it has at most `limit` characters, else its beginning and a visible mark,
    `limit` characters in all. `length`: the text's length when `text` was already cut (by a
    library that read it)."""
    length = max(length or 0, len(text))
    if length <= limit:
        return text
    mark = f"… [texte de {count(length)} caractères raccourci]"
    return text[: max(limit - len(mark), 0)] + mark


def fit_cell(text: str) -> str:
    """A text as a cell can hold it (`shortened` to MAX_CELL_TEXT)."""
    return text if len(text) <= MAX_CELL_TEXT else shortened(text, MAX_CELL_TEXT)
