"""Sizes of the cells of every workbook the tool writes (templates, annotated copies, the
officer's control workbook): row heights from the text they hold, column widths from their words.

Neither Excel nor xlsxwriter sizes a row to its wrapped text (Excel only when the row is edited,
never for merged cells), and LibreOffice keeps the height it reads: a header whose words wrap on
four lines in a row sized for three is cut. Texts are measured in Calibri's metrics (Carlito
shares them; `typography.text_width`) and wrapped as a spreadsheet wraps them, word by word.
"""

from __future__ import annotations

from collections.abc import Iterable

from cia_workbook.render.typography import longest_word_width, text_width

# Excel's column width unit is the width of a digit of the default font (7 px at 96 dpi for
# Calibri 11), plus 5 px of padding; a cell keeps about 2 px inside each border.
DIGIT_PX = 7
PADDING_PX = 5
INSIDE_PX = 4
PT_PER_PX = 0.75
# Screen rendering rounds each glyph: measured text is given this much room to spare.
SAFETY = 1.03
# Height of one line of text, in points, by font size (Excel's own for Calibri 11 is 15).
LINE_FACTOR = 15 / 11
ROW_PADDING = 3


def column_points(width: float) -> float:
    """Room for text, in points, in a column `width` characters wide."""
    return max((width * DIGIT_PX + PADDING_PX - INSIDE_PX) * PT_PER_PX, 1.0)


def width_for(points: float) -> float:
    """The column width (in characters) that leaves `points` of room for text."""
    return round((points / PT_PER_PX - PADDING_PX + INSIDE_PX) / DIGIT_PX + 0.5, 1)


def word_width(text: str, size: float = 11, bold: bool = False) -> float:
    """The column width (in characters) that the longest word of `text` needs on one line."""
    return width_for(longest_word_width(text, size, bold) * SAFETY)


def lines(text: str, width: float, size: float = 11, bold: bool = False) -> int:
    """How many lines `text` takes in a column (or merged range) `width` characters wide,
    wrapped between words as a spreadsheet does (a word wider than the cell is broken)."""
    room = column_points(width)
    space = text_width(" ", size, bold) * SAFETY
    total = 0
    for paragraph in str(text).split("\n"):
        count, used = 1, 0.0
        for word in paragraph.split():
            w = text_width(word, size, bold) * SAFETY
            if used and used + space + w > room:
                count, used = count + 1, 0.0
            if w > room:  # broken over as many lines as it needs
                extra = int(w // room)
                count += extra
                w -= extra * room
            used += (space if used else 0.0) + w
        total += count
    return total


def line_height(size: float = 11) -> float:
    return size * LINE_FACTOR


def row_height(
    cells: Iterable[tuple[str, float]], size: float = 11, bold: bool = False, minimum: int = 1
) -> float:
    """Height in points of a row whose cells hold these (text, column width) pairs."""
    most = max((lines(text, width, size, bold) for text, width in cells if text), default=1)
    return round(max(most, minimum) * line_height(size) + ROW_PADDING, 1)
