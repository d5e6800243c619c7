"""Flux reports → .xlsx for the partners: a bailleur's yearly report per réservataire (art.
R. 441-5-1 CCH), a réservataire's contribution to each objective; French, print-ready.

Written by `consolidate` into outputs/<année>/flux/: from the returns the bilan uses (no error),
so that a partner's report and the bilan always give the same figures; validate's retours/
holds the annotated copies, which it prunes, and stays theirs.
"""

from __future__ import annotations

import hashlib
import json
import textwrap
from importlib.metadata import version
from pathlib import Path

import xlsxwriter

from cia_workbook.consolidate.flux import MEASURES, BailleurFlux, ReservataireContribution
from cia_workbook.convention.settings import Convention
from cia_workbook.fileio import atomic_path, write_atomic
from cia_workbook.render.typography import fr
from cia_workbook.schema import sheets as schema

TEXT_WIDTH_MAX = 48  # characters; a longer name wraps
COUNT_HEADERS = (
    ("prononcees", "Attributions prononcées"),
    ("prononcees_qpv", "Dont en QPV"),
    ("prononcees_hors_qpv", "Dont hors QPV"),
    ("baux", "Baux signés"),
    ("baux_qpv", "Dont en QPV"),
    ("baux_hors_qpv", "Dont hors QPV"),
)
OBJECTIVE_HEADERS = {
    "hors_qpv_q1": "1er quartile ou relogés NPNRU, baux signés hors QPV",
    "qpv_q234": "Quartiles 2 à 4, attributions prononcées en QPV",
    "publics_prioritaires": "Publics prioritaires, baux signés",
}


def flux_file_name(year: int, partner_id: str) -> str:
    return f"flux-{year}-{partner_id}.xlsx"


def contribution_file_name(year: int, partner_id: str) -> str:
    return f"contribution-{year}-{partner_id}.xlsx"


class _Book:
    """A workbook of titled tables, one per sheet, landscape A4 one page wide, headers repeated."""

    def __init__(self, path: Path, title: str, footer: str):
        # In memory: a report is a few thousand cells, and a temporary file per sheet cost a
        # fifth of the writing of a national campaign's thousand reports.
        self.wb = xlsxwriter.Workbook(str(path), {"in_memory": True})
        self.wb.set_properties({"title": title, "comments": "Écrit par cia-workbook consolidate."})
        self.footer = footer.replace("&", "&&")
        add = self.wb.add_format
        self.f_title = add({"bold": True, "font_size": 14})
        self.f_note = add({"italic": True, "font_color": "#595959"})
        self.f_head = add({"bold": True, "text_wrap": True, "border": 1, "bg_color": "#DDEBF7", "valign": "vcenter",
                           "align": "center"})  # fmt: skip
        self.f_text = add({"border": 1, "text_wrap": True, "valign": "top"})
        self.f_count = add({"border": 1, "num_format": "# ##0"})
        self.f_rate = add({"border": 1, "num_format": "0.0 %"})
        self.f_target = add({"border": 1, "num_format": "0 %"})

    def sheet(
        self, name: str, title: str, note: str, headers: list[str], rows: list[list], kinds: list[str]
    ) -> None:
        ws = self.wb.add_worksheet(name)
        ws.write_string(0, 0, fr(title), self.f_title)
        ws.write_string(1, 0, fr(note), self.f_note)
        lines = 1
        for j, head in enumerate(headers):
            ws.write_string(3, j, fr(head), self.f_head)
            # A text column as wide as its longest text, within bounds: a contingent's name
            # wrapped on two lines overflowed its row in LibreOffice (rows keep their height).
            width = 13
            if kinds[j] == "text":
                longest = max((len(str(r[j])) for r in rows if r[j] is not None), default=0)
                width = min(TEXT_WIDTH_MAX, max(20, longest + 2))
            ws.set_column(j, j, width)
            lines = max(lines, len(textwrap.wrap(fr(head), width - 2)))
        ws.set_row(3, max(30, 13 * lines + 4))  # the header's tallest cell, its words wrapped
        formats = [{"text": self.f_text, "count": self.f_count, "rate": self.f_rate, "target": self.f_target}[k]
                   for k in kinds]  # fmt: skip
        texts: dict[object, str] = {}  # a contingent's or a commune's name comes back on many rows
        for i, row in enumerate(rows, start=4):
            for j, (value, kind, form) in enumerate(zip(row, kinds, formats, strict=True)):
                if value is None:
                    ws.write_blank(i, j, None, self.f_text)
                elif kind == "text":
                    text = texts.get(value)
                    if text is None:
                        text = texts[value] = fr(str(value))
                    ws.write_string(i, j, text, form)
                else:
                    ws.write_number(i, j, value, form)
        ws.freeze_panes(4, 1)
        ws.repeat_rows(3)
        ws.set_landscape()
        ws.set_paper(9)
        ws.fit_to_pages(1, 0)
        ws.set_footer(f"&L&8{self.footer}&R&8&A – page &P sur &N")

    def close(self) -> None:
        self.wb.close()


def _contingent_names(convention: Convention) -> dict[str, str]:
    return {
        schema.CONTINGENT_OWN: "Contingent propre du bailleur",
        **{c.code: c.label for c in convention.contingents},
    }


def write_flux_report(convention: Convention, year: int, flux: BailleurFlux, path: Path) -> Path:
    names = _contingent_names(convention)
    communes = {c.insee: c.name for c in convention.epci.communes}
    title = f"Bilan annuel {year} des attributions par réservataire – {flux.name}"
    source = (
        f"Établi à partir de votre fichier {flux.file} tel que retenu pour le bilan {year} de la CIA ; logements mis à "
        "disposition : déclaration de chaque réservataire (vide sans retour). Art. R. 441-5-1 du CCH."
    )
    heads = [h for _, h in COUNT_HEADERS]
    keys = [k for k, _ in COUNT_HEADERS]
    at = [list(MEASURES).index(k) for k in keys]  # where each column's count is in a group's tuple
    with atomic_path(path) as tmp:
        book = _Book(tmp, title, f"{flux.name} – bilan {year}")
        rows = [
            [names.get(c, c), v["mis_a_disposition"], *(v[k] for k in keys)]
            for c, v in flux.by_contingent.items()
        ]
        if rows:
            rows.append(
                ["Total", _sum(r[1] for r in rows), *(sum(r[2 + i] for r in rows) for i in range(len(keys)))]
            )
        book.sheet("Par réservataire", title, source, ["Contingent", "Logements mis à disposition", *heads], rows,
                   ["text", "count", *["count"] * len(keys)])  # fmt: skip
        order = list(names)
        typ = sorted(flux.by_typology.items(), key=lambda kv: (_rank(order, kv[0][0]), kv[0][1]))
        book.sheet("Par typologie", f"{title} : par typologie", source, ["Contingent", "Typologie", *heads],
                   [[names.get(c, c), t, *(v[i] for i in at)] for (c, t), v in typ],
                   ["text", "text", *["count"] * len(keys)])  # fmt: skip
        com = sorted(
            flux.by_commune.items(), key=lambda kv: (_rank(order, kv[0][0]), communes.get(kv[0][1], ""))
        )
        book.sheet("Par commune", f"{title} : par commune", source, ["Contingent", "Commune", *heads],
                   [[names.get(c, c), communes.get(m, m), *(v[i] for i in at)] for (c, m), v in com],
                   ["text", "text", *["count"] * len(keys)])  # fmt: skip
        book.close()
    return path


def write_contribution_report(
    convention: Convention, year: int, c: ReservataireContribution, bailleur_names: dict[str, str], path: Path
) -> Path:
    title = f"Contribution {year} de votre contingent aux objectifs de la CIA – {c.name}"
    note = (
        "Calculée à partir des lignes des bailleurs sur votre contingent (fichiers retenus pour le bilan), "
        "indépendamment de votre propre retour."
    )
    heads, kinds = ["Bailleur"], ["text"]
    for label in OBJECTIVE_HEADERS.values():
        heads += [f"{label} : univers", f"{label} : ménages", f"{label} : taux", f"{label} : cible"]
        kinds += ["count", "count", "rate", "target"]
    rows = []
    for scope, by_objective in c.rates.items():
        if (
            scope
            and not by_objective["hors_qpv_q1"].denominator
            and not by_objective["qpv_q234"].denominator
            and not by_objective["publics_prioritaires"].denominator
        ):
            continue  # a bailleur with nothing on this contingent
        row = [bailleur_names.get(scope, scope) if scope else "Ensemble des bailleurs"]
        for code in OBJECTIVE_HEADERS:
            rate = by_objective[code]
            target = rate.target / 100 if rate.target is not None else None
            row += [rate.denominator, rate.numerator, rate.value, target]
        rows.append(row)
    with atomic_path(path) as tmp:
        book = _Book(tmp, title, f"{c.name} – bilan {year}")
        book.sheet("Contribution", title, note, heads, rows, kinds)
        book.close()
    return path


def report_names(
    year: int, fluxes: list[BailleurFlux], contributions: list[ReservataireContribution]
) -> list[str]:
    """The file names of the reports, in the order of `fluxes` then `contributions`."""
    return [flux_file_name(year, f.bailleur) for f in fluxes] + [
        contribution_file_name(year, c.reservataire) for c in contributions
    ]


def stale_reports(convention: Convention, year: int, folder: Path, names: list[str]) -> list[Path]:
    """The reports of the year's partners in `folder` that are not among `names` (this run's):
    a bailleur whose return the bilan no longer uses (excluded, withdrawn) still had the report
    an earlier run wrote."""
    ours = {flux_file_name(year, b.id) for b in convention.bailleurs}
    ours |= {contribution_file_name(year, r.id) for r in convention.reservataires}
    return [folder / name for name in sorted(ours - set(names)) if (folder / name).is_file()]


def write_flux_reports(
    convention: Convention, year: int, fluxes: list[BailleurFlux], contributions: list[ReservataireContribution],
    folder: Path,
) -> list[Path]:  # fmt: skip
    """Each bailleur's flux report, then each réservataire's contribution, in `folder` (n
    processes write a share each: see `shares`)."""
    folder.mkdir(parents=True, exist_ok=True)
    names = {b.id: b.name for b in convention.bailleurs}
    writes = [
        *(lambda f=f: write_flux_report(convention, year, f, folder / flux_file_name(year, f.bailleur)) for f in fluxes),
        *(lambda c=c: write_contribution_report(convention, year, c, names, folder / contribution_file_name(year, c.reservataire))
          for c in contributions),
    ]  # fmt: skip
    return [write() for write in writes]


def shares(
    fluxes: list[BailleurFlux], contributions: list[ReservataireContribution], n: int
) -> list[tuple[list[BailleurFlux], list[ReservataireContribution]]]:
    """The reports split n ways for `write_flux_reports`: share k the k-th of every n of them,
    flux reports then contributions."""
    return [(fluxes[k::n], contributions[(k - len(fluxes)) % n :: n]) for k in range(n)]


def _sum(values) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _rank(order: list[str], code: str) -> int:
    return order.index(code) if code in order else len(order)


class Stamps:
    """What each report of `folder` was last written from, kept in the file `path` (beside the
    returns' cache): a report whose inputs are those it was written from, and whose file is as
    it was left (same size, same modification time), is not written again. After one late return,
    a national campaign's thousand reports took some 12 s to write again for the one or two that
    changed.

    A report's inputs are its figures and the names it shows (its digest), the convention, the
    year and the package's code (`cache.context_digest`), and xlsxwriter's version. A stamp that
    cannot be read or written costs time, never a report: the report is written."""

    def __init__(self, path: Path, folder: Path, convention: Convention, year: int):
        from cia_workbook.intake.cache import context_digest

        self.path, self.folder = path, folder
        self.salt = f"{context_digest(convention, year)} {version('xlsxwriter')} "
        try:
            known = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            known = {}
        self.known: dict = known if isinstance(known, dict) else {}
        self.now: dict[str, str] = {}  # every report of this run → its digest

    def due(self, name: str, report: BailleurFlux | ReservataireContribution) -> bool:
        """Whether report `name` of the folder is to be written (again)."""
        digest = hashlib.sha256((self.salt + _canonical(report)).encode()).hexdigest()
        self.now[name] = digest
        try:
            stat = (self.folder / name).stat()
        except OSError:
            return True
        return self.known.get(name) != [digest, stat.st_size, stat.st_mtime_ns]

    def save(self) -> None:
        """Every report of this run as its file is now (to call once they are all written)."""
        stamps = {}
        for name, digest in self.now.items():
            try:
                stat = (self.folder / name).stat()
            except OSError:
                continue
            stamps[name] = [digest, stat.st_size, stat.st_mtime_ns]
        try:
            write_atomic(self.path, lambda tmp: tmp.write_text(json.dumps(stamps), "utf-8"))
        except OSError:
            pass


def _canonical(report: BailleurFlux | ReservataireContribution) -> str:
    """A report's figures as text, the same whatever the order its groups were counted in."""
    if isinstance(report, BailleurFlux):
        return repr((report.bailleur, report.name, report.file, report.by_contingent,
                     sorted(report.by_typology.items(), key=repr), sorted(report.by_commune.items(), key=repr)))  # fmt: skip
    return repr(report)
