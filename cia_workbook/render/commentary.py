"""Rendering helper: the officer's commentary, a small Word file written once and read back.

`consolidate` writes `commentaires-<année>.docx` the first time, with one heading per section
of the bilan and the section's key figures as prompts (style « Repère », left out when read
back), and never writes it again: the officer's words survive every regeneration. Each
`consolidate` reads it back (`read_commentary`) and the bilan places each section's text after
the section. The paths come from the caller (the CLI knows the folder layout).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from docx import Document
from docx.oxml.ns import qn

from cia_workbook.fileio import write_atomic
from cia_workbook.render.typography import fr

PROMPT_STYLE = "Repère"  # defined by scripts/make_docx_template.py


def commentary_docx_name(year: int) -> str:
    return f"commentaires-{year}.docx"


@dataclass(frozen=True)
class Section:
    """A section of the bilan that takes a commentary: its key, its heading, its prompts."""

    key: str
    title: str
    prompts: tuple[str, ...] = ()


@dataclass
class Run:
    text: str
    bold: bool = False
    italic: bool = False


@dataclass
class CommentParagraph:
    runs: list[Run] = field(default_factory=list)
    bullet: bool = False

    @property
    def text(self) -> str:
        return "".join(r.text for r in self.runs)


Commentary = dict[str, list[CommentParagraph]]


def write_commentary_docx(template: Path, path: Path, epci: str, year: int, sections: list[Section]) -> Path:
    """The officer's file for `year`: a heading per section, its prompts, room to write."""
    doc = Document(str(template))
    body = doc.element.body
    for child in list(body):  # the template's title block: this file has its own
        if child.tag != qn("w:sectPr"):
            body.remove(child)
    for part in _header_footer_parts(doc):
        for p in part.paragraphs:
            for r in list(p.runs):
                r._r.getparent().remove(r._r)
    doc.add_paragraph(fr(f"Commentaires du bilan {year} – {epci}"), "Title")
    for line in (
        "Écrivez sous chaque titre le commentaire de la section du bilan qui porte ce titre : il est repris tel "
        "quel dans le bilan à chaque « cia-workbook consolidate », dans la version restreinte comme dans la "
        "version publique (n'y citez donc pas de petit effectif).",
        "Ne modifiez pas les titres. Les paragraphes en gris (repères chiffrés au moment où ce fichier a été "
        "écrit) ne sont pas repris : gardez-les, effacez-les ou écrivez en dessous. Une section laissée vide "
        "montre un encadré « commentaire à rédiger » dans la version restreinte et rien dans la version publique.",
        "Ce fichier n'est jamais réécrit par l'outil : pour repartir de zéro, supprimez-le.",
    ):
        doc.add_paragraph(fr(line), PROMPT_STYLE)
    for section in sections:
        doc.add_heading(fr(section.title), 1)
        for prompt in section.prompts:
            doc.add_paragraph(fr(prompt), PROMPT_STYLE)
        doc.add_paragraph("")
    return write_atomic(Path(path), lambda tmp: doc.save(str(tmp)))


def read_commentary(path: Path, sections: list[Section]) -> Commentary:
    """Section key → the officer's paragraphs (prompts and empty paragraphs left out).

    Headings are matched to the sections by their text, ignoring case, accents, spaces and
    punctuation, so that a heading retyped in Word still finds its section; text under an
    unknown heading is ignored.
    """
    by_title = {_normal(s.title): s.key for s in sections}
    out: Commentary = {}
    current: str | None = None
    doc = Document(str(path))
    for p in doc.paragraphs:
        style = p.style.name if p.style is not None else ""
        if style.startswith("Heading") or style.startswith("Titre"):
            current = by_title.get(_normal(p.text))
            continue
        if current is None or style == PROMPT_STYLE or not p.text.strip():
            continue
        runs = [Run(r.text, bool(r.bold), bool(r.italic)) for r in p.runs if r.text]
        if runs:
            out.setdefault(current, []).append(
                CommentParagraph(runs, bullet="List" in style or "Liste" in style)
            )
    return out


def _normal(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[\W_]+", "", text)


def _header_footer_parts(doc):
    for section in doc.sections:
        yield from (section.header, section.footer)
