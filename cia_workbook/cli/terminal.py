"""The officer's terminal: what partners typed (cells, sheet and file names) is shown as text.

A cell may hold escape sequences (ESC [2J clears the screen, OSC sets the window title), a
carriage return or backspaces that overwrite the line, C1 controls (U+009B is a one-character
CSI), or bidirectional overrides (U+202E shows the rest of the line reversed). Every line the
CLI prints goes through `visible` (or `visible_json` for the JSON output), which turns each
such character into a visible escape (`\\x1b`, `\\r`, `\\u202e`), so a line shows exactly what
the file holds and nothing can rewrite the screen. The outputs written to files (Word, Excel)
keep the partner's text as it is: they are not a terminal. `ReadingBar` is the progress shown
while a campaign is read.
"""

from __future__ import annotations

import sys
import time

import click

# Characters a terminal acts on or that change how a line reads: the C0 and C1 controls and
# DEL (category Cc), the bidirectional marks, embeddings, overrides and isolates, the zero-width
# characters, and the Unicode line and paragraph separators.
_FORMAT = [0x061C, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2028, 0x2029, 0x2060, 0xFEFF]
_FORMAT += list(range(0x202A, 0x202F)) + list(range(0x2066, 0x206A))
_UNSAFE = list(range(0x20)) + list(range(0x7F, 0xA0)) + _FORMAT  # Cc is exactly 0-1F, 7F-9F
_NAMED = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}


def _escape(c: int) -> str:
    if c in _NAMED:
        return _NAMED[c]
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


_TEXT = {c: _escape(c) for c in _UNSAFE}
_TEXT_LINES = {c: e for c, e in _TEXT.items() if c != 0x0A}
_JSON = {c: f"\\u{c:04x}" for c in _UNSAFE if c != 0x0A}


def visible(text: str, keep_newlines: bool = False) -> str:
    """`text` with every control, bidirectional or zero-width character shown as an escape.

    A console line holds no newline of its own: one inside it came from the data and is shown
    as `\\n` too, unless `keep_newlines` (a message of several lines)."""
    return text.translate(_TEXT_LINES if keep_newlines else _TEXT)


def visible_json(text: str) -> str:
    """A JSON document (from `json.dumps`, which escapes C0 controls but neither C1 controls nor
    bidirectional characters) with those characters as JSON escapes (`\\u009b`): the same data
    for programs, nothing a terminal acts on."""
    return text.translate(_JSON)


class ReadingBar:
    """« Lecture des classeurs » on stderr: files read and rows checked.

    Shown at once for a campaign of many files, otherwise only once reading has lasted a couple
    of seconds, so that the usual yearly run of fifteen partners stays quiet. One bar per
    campaign read (consolidate reads every year up to the one asked).
    """

    SHOW_FILES = 50
    SHOW_AFTER = 2.0  # seconds
    LABEL = "Lecture des classeurs"

    def __init__(self) -> None:
        self._bar = None
        self._start = time.monotonic()
        self._done = 0
        self.rows = 0

    def __call__(self, rf, done: int, total: int) -> None:
        if done <= self._done:  # the next campaign starts
            self.close()
            self._start, self.rows = time.monotonic(), 0
        self._done = done
        self.rows += rf.row_count
        if self._bar is None:
            if total < self.SHOW_FILES and time.monotonic() - self._start < self.SHOW_AFTER:
                return
            self._bar = click.progressbar(
                length=total,
                label=visible(self.LABEL),
                file=sys.stderr,
                show_pos=True,
                item_show_func=self._rows_text,
            )
            self._bar.__enter__()
        self._bar.update(done - self._bar.pos, self.rows)

    @staticmethod
    def _rows_text(rows: int | None) -> str | None:
        if rows is None:
            return None
        from cia_workbook.render.frformat import integer

        return visible(f"{integer(rows)} ligne{'s' if rows > 1 else ''} contrôlée{'s' if rows > 1 else ''}")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None
