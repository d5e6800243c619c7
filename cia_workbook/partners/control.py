"""The officer's control workbook controle-<year>.xlsx (xlsxwriter): whom to chase and for what
(« Partenaires »), every file considered (« Fichiers »), every finding (« Constats »).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, NamedTuple

from cia_workbook.convention.settings import Convention
from cia_workbook.fileio import atomic_path
from cia_workbook.intake.model import Campaign, ReturnFile, replaced_by, verdict
from cia_workbook.partners import excel
from cia_workbook.partners.corrections import (
    ERROR_FILL,
    WARNING_FILL,
    copy_targets,
    cross_by_file,
    fixed_time,
    plain,
)
from cia_workbook.schema.findings import Finding

# Every sheet of controle-<year>.xlsx: a title, two lines saying what it holds, then its header.
SUMMARY_HEADER_ROW = 4
PARTNER_KINDS = {
    "bailleur": "Bailleur",
    "reservataire": "Réservataire",
    "operateur": "Opérateur de relogement",
}
# The situation of a partner's return, in the order the officer chases them: missing first,
# then the returns kept out of the bilan for errors.
SITUATIONS = ("Aucun retour", "Écarté (erreurs)", "Retenu, avec avertissements", "Retenu")
SITUATION_FILLS = ("#D9D9D9", "#" + ERROR_FILL, "#" + WARNING_FILL, "#C6EFCE")
# How many kinds of finding, and cells of each, a sentence of « À demander » names.
ASK_KINDS = 3
ASK_CELLS = 3
# Rows whose height is measured from their text (beyond, the spreadsheet's default height).
MEASURED_ROWS = 10_000
# Width of the printed columns of « Partenaires »: one landscape A4 page at 100 % (narrow margins).
PRINTED_WIDTH = 143


def write_summary(convention: Convention, campaign: Campaign, target: Path) -> Path:
    """controle-<year>.xlsx, the officer's control workbook: one line per partner to chase (the
    missing and the excluded first, with who answered, their e-mail and phone, what to ask), then
    every file considered and every finding, one per line; each sheet printed landscape, one page
    wide, its header repeated."""
    import xlsxwriter

    year = campaign.year
    with atomic_path(target) as tmp:
        wb = xlsxwriter.Workbook(
            str(tmp), {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
        )
        wb.set_properties(
            {"title": f"Contrôle des réponses {year}", "author": "cia-workbook",
             "created": fixed_time(year)}
        )  # fmt: skip
        book = _Book(wb)
        _partners_sheet(book, convention, campaign, Path(target).parent)
        _files_sheet(book, convention, campaign)
        _findings_sheet(book, convention, campaign)
        wb.close()
    return target


class _Column(NamedTuple):
    """A column of a control sheet: its header, its width (characters), its text wrapped or not."""

    header: str
    width: float
    wrap: bool = False
    small: bool = False  # set a size smaller (fingerprints)


class _Book:
    """The control workbook being written and its cell formats (added to it in this order)."""

    def __init__(self, wb):
        self.wb = wb
        base = {"font_name": "Calibri", "font_size": 11, "valign": "top"}
        grid = {**base, "border": 1, "border_color": "#BFBFBF"}
        self.title = wb.add_format({**base, "bold": True, "font_size": 14})
        self.note = wb.add_format({**base, "italic": True, "font_color": "#404040", "text_wrap": True})
        self.header = wb.add_format({**base, "bold": True, "bg_color": "#DDEBF7", "text_wrap": True,
                                     "border": 1, "valign": "vcenter"})  # fmt: skip
        self.cell = wb.add_format(grid)
        self.wrap = wb.add_format({**grid, "text_wrap": True})
        self.small = wb.add_format({**grid, "font_size": 8})
        self.date = wb.add_format({**grid, "num_format": "dd/mm/yyyy"})
        self.when = wb.add_format({**grid, "num_format": "dd/mm/yyyy hh:mm"})
        self.situation = [
            wb.add_format({**grid, "text_wrap": True, "bg_color": fill}) for fill in SITUATION_FILLS
        ]


def _sheet(book: _Book, name: str, title: str, notes: tuple[str, str], columns: list[_Column],
           rows: list[list[Any]], fills: list[Any] | None = None, more: str = "",
           print_cols: int | None = None) -> None:  # fmt: skip
    """A sheet of `rows` under a title and two lines of notes; beyond a sheet's rows, the last row
    says how many more (`more`, with the number of rows left out). `fills`: a format per row
    for its third cell (the situation); `print_cols`: the columns printed, when not all."""
    from cia_workbook.partners import sheet_layout as layout
    from cia_workbook.render.typography import fr

    hr = SUMMARY_HEADER_ROW - 1  # 0-based
    ws = book.wb.add_worksheet(name)
    widths = [c.width for c in columns]
    shown_width = sum(widths[:print_cols]) if print_cols else sum(widths)
    for c, col in enumerate(columns):
        ws.set_column(c, c, col.width)
    last = (print_cols or len(columns)) - 1
    ws.merge_range(0, 0, 0, last, fr(title), book.title)
    ws.set_row(0, layout.row_height([(title, shown_width)], 14, bold=True))
    for r, note in enumerate(notes, start=1):
        ws.merge_range(r, 0, r, last, fr(note), book.note)
        ws.set_row(r, layout.row_height([(note, shown_width)]))
    for c, col in enumerate(columns):
        ws.write_string(hr, c, col.header, book.header)
    ws.set_row(hr, layout.row_height([(c.header, c.width) for c in columns], bold=True))
    room = excel.MAX_ROWS - SUMMARY_HEADER_ROW
    if len(rows) > room:
        left = len(rows) - (room - 1)
        rows = [*rows[: room - 1], [""] * (len(columns) - 1) + [more.format(excel.count(left))]]
    for r, row in enumerate(rows, start=hr + 1):
        texts = []
        for c, value in enumerate(row):
            col = columns[c]
            fmt = book.small if col.small else (book.wrap if col.wrap else book.cell)
            if fills is not None and c == 2 and r - hr - 1 < len(fills):
                fmt = fills[r - hr - 1]
            if value is None or value == "":
                ws.write_blank(r, c, None, fmt)
            elif isinstance(value, bool):
                ws.write_string(r, c, "oui" if value else "non", fmt)
            elif isinstance(value, int | float):
                ws.write_number(r, c, value, fmt)
            elif isinstance(value, dt.datetime):
                ws.write_datetime(r, c, value, book.when)
            elif isinstance(value, dt.date):
                ws.write_datetime(r, c, dt.datetime.combine(value, dt.time()), book.date)
            else:
                text = excel.fit_cell(str(value))
                ws.write_string(r, c, text, fmt)
                if col.wrap and r < MEASURED_ROWS:
                    texts.append((text, col.width))
        if texts:
            ws.set_row(r, layout.row_height(texts))
    ws.freeze_panes(hr + 1, 1)
    ws.autofilter(hr, 0, hr + max(len(rows), 1), len(columns) - 1)
    ws.repeat_rows(hr)
    if print_cols:
        ws.print_area(0, 0, hr + max(len(rows), 1), print_cols - 1)
    ws.set_landscape()
    ws.set_paper(9)
    ws.set_margins(0.4, 0.4, 0.6, 0.6)
    ws.fit_to_pages(1, 0)
    ws.set_footer(f"&L&8{fr(title).replace('&', '&&')}&R&8&A – page &P sur &N")


def _partners_sheet(book: _Book, convention: Convention, campaign: Campaign, folder: Path) -> None:
    """« Partenaires »: whom to chase, and for what (the annotated copies are in `folder`/retours)."""
    from babel.dates import format_date

    from cia_workbook.partners import sheet_layout as layout
    from cia_workbook.render.typography import count, fr

    year, epci = campaign.year, convention.epci.name
    cross = cross_by_file(campaign)
    aside = campaign.set_aside()
    copies = copy_targets([rf.path for rf in campaign.files], folder)
    deadline = format_date(convention.campaign.deadline_for(year), format="long", locale="fr_FR")
    lines = []
    for i, p in enumerate(convention.partners):
        rf = campaign.used.get(p.id)
        findings = (rf.findings + cross.get(id(rf), [])) if rf else []
        who = (rf.forms.get("identification") or {}) if rf else {}
        situation = _situation(rf, findings)
        copy = copies[rf.path].name if rf and findings else ""
        lines.append((situation, i, [
            p.name, PARTNER_KINDS.get(p.kind, p.kind), SITUATIONS[situation],
            who.get("repondant"), who.get("courriel"), who.get("telephone"),
            fr(_ask(rf, findings, aside.get(p.id, []), deadline)),
            rf.name if rf else "", copy, sum(f.is_error for f in findings),
            sum(not f.is_error for f in findings),
            ", ".join(old.name for old in campaign.superseded.get(p.id, [])),
            ", ".join(aside.get(p.id, [])),
        ]))  # fmt: skip
    lines.sort(key=lambda line: line[:2])
    # The e-mail column as wide as the longest address (an address cut in two is misread).
    mail = min(max([20.0, *(layout.word_width(str(line[2][4] or "")) for line in lines)]), 30.0)
    tally = [sum(line[0] == k for line in lines) for k in range(len(SITUATIONS))]
    said = [f"{count(n, label.lower())}" for n, label in zip(tally, ("sans retour", "retour écarté pour erreurs",
            "retour retenu avec avertissements", "retour retenu sans remarque"), strict=True) if n]  # fmt: skip
    unattached = [rf for rf in campaign.files if rf.partner_id is None]
    summary = f"{count(len(lines), 'partenaire')} : {', '.join(said)}."
    if unattached:
        summary += (
            f" {count(len(unattached), 'fichier reçu')} sans partenaire reconnu "
            "(illisible ou qui n'est pas une réponse) : voir la feuille « Fichiers »."
        )
    _sheet(
        book,
        "Partenaires",
        f"Contrôle des réponses {year} – {epci}",
        (
            f"{summary} Date limite de retour : {deadline}.",
            "Une ligne par partenaire, à relancer dans cet ordre : sans retour, puis écartés pour erreurs. "
            "Le contact vient de la feuille Identification du fichier reçu. Colonnes H à M (non imprimées) : "
            "fichier retenu, copie annotée à lui envoyer (dossier « retours »), versions.",
        ),
        [_Column("Partenaire", 22, True), _Column("Type", 12, True), _Column("Situation", 14, True),
         _Column("Personne qui répond", 19, True), _Column("Courriel", mail, True),
         _Column("Téléphone", 13, True), _Column("À demander", PRINTED_WIDTH - 80 - mail, True),
         _Column("Fichier retenu", 30, True), _Column("Copie annotée à envoyer", 30, True),
         _Column("Erreurs", 8), _Column("Avertissements", 14), _Column("Versions remplacées", 30, True),
         _Column("Fichiers non retenus qui le désignent", 30, True)],
        [line[2] for line in lines],
        fills=[book.situation[line[0]] for line in lines],
        print_cols=7,
    )  # fmt: skip


def _files_sheet(book: _Book, convention: Convention, campaign: Campaign) -> None:
    """« Fichiers »: every file considered."""
    from cia_workbook.partners import sheet_layout as layout
    from cia_workbook.render.typography import count, text_width

    year, epci = campaign.year, convention.epci.name
    used = {id(rf) for rf in campaign.used.values()}
    replaced = replaced_by(campaign)
    names = {p.id: p.name for p in convention.partners}
    rows = [
        [rf.name, names.get(rf.partner_id or "", rf.partner_id), rf.identity.year if rf.identity else None,
         f"remplacé par {replaced[id(rf)].name}" if id(rf) in replaced else verdict(rf), id(rf) in used,
         rf.sha256, rf.size, _answered(rf), rf.modified, rf.reader]
        for rf in campaign.files
    ]  # fmt: skip
    _sheet(
        book,
        "Fichiers",
        f"Fichiers reçus pour {year} – {epci}",
        (
            f"{count(len(rows), 'fichier examiné')}, dont {count(len(used), 'version utilisée')} : la plus "
            "récente de chaque partenaire (date de réponse de sa feuille Identification), même avec des erreurs.",
            "L'empreinte SHA-256 identifie le contenu exact de chaque fichier : deux fichiers de même empreinte "
            "sont identiques ; un fichier modifié depuis le contrôle n'a plus la même.",
        ),
        [_Column("Fichier", 30, True), _Column("Partenaire", 22, True), _Column("Année", 7),
         _Column("Statut", 20, True), _Column("Version utilisée", 9, True),
         _Column("Empreinte SHA-256", layout.width_for(text_width("0" * 64, 8)), small=True),
         _Column("Taille (octets)", 10), _Column("Date de la réponse", 11, True), _Column("Modifié le", 15),
         _Column("Lu par", 10)],
        rows,
    )  # fmt: skip


def _findings_sheet(book: _Book, convention: Convention, campaign: Campaign) -> None:
    """« Constats »: every finding, one per line."""
    from cia_workbook.render.typography import count

    year, epci = campaign.year, convention.epci.name
    replaced = replaced_by(campaign)
    names = {p.id: p.name for p in convention.partners}
    rows = []
    for rf in campaign.files:
        if id(rf) in replaced:  # its findings no longer apply: the newer version's do
            continue
        for f in rf.findings:
            rows.append([rf.name, names.get(rf.partner_id or "", ""), f.sheet, f.cell, f.code,
                         f.severity, f.type.title, f.message])  # fmt: skip
    by_name = {rf.name: rf for rf in campaign.used.values()}
    for f in campaign.cross_findings:
        owner = names.get(by_name[f.file].partner_id or "", "") if f.file in by_name else ""
        rows.append([f.file, owner, f.sheet, f.cell, f.code, f.severity, f.type.title, f.message])
    errors = sum(row[5] == "erreur" for row in rows)
    _sheet(
        book,
        "Constats",
        f"Constats du contrôle {year} – {epci}",
        (
            f"{count(len(rows), 'constat')} : {count(errors, 'erreur')} (le fichier n'est pas retenu tant "
            f"qu'elles ne sont pas corrigées), {count(len(rows) - errors, 'avertissement')}.",
            "Un constat par ligne, avec sa feuille et sa cellule ; le code est stable d'une année à l'autre "
            "(filtrez la colonne « Code » pour retrouver les mêmes). Les versions remplacées n'y figurent pas.",
        ),
        [_Column("Fichier", 26, True), _Column("Partenaire", 20, True), _Column("Feuille", 14, True),
         _Column("Cellule", 9), _Column("Code", 26), _Column("Gravité", 13), _Column("Constat", 20, True),
         _Column("Message", 56, True)],
        rows,
        more=f"… et {{}} autres constats, que cette feuille ne peut pas tenir (une feuille Excel a au plus "
             f"{excel.count(excel.MAX_ROWS)} lignes) : la liste complète est donnée par "
             "« cia-workbook validate --json ».",
    )  # fmt: skip


def _situation(rf: ReturnFile | None, findings: list[Finding]) -> int:
    """Index in SITUATIONS of a partner's return and the findings of its annotated copy."""
    if rf is None:
        return 0
    if any(f.is_error for f in findings):
        return 1
    return 2 if findings else 3


def _lower_first(text: str) -> str:
    """« Valeur hors liste » → « valeur hors liste », but « QPV hors de la commune » kept."""
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def _kinds(findings: list[Finding]) -> str:
    """« valeur hors liste (Attributions D5, D9 et 2 autres cellules) ; date invalide (…) »: the
    kinds of `findings` in sheet order, each with the cells where it is."""
    from cia_workbook.render.typography import count, join

    by_kind: dict[str, list[Finding]] = {}
    for f in sorted(findings, key=Finding.sort_key):
        by_kind.setdefault(f.code, []).append(f)
    parts = []
    for items in list(by_kind.values())[:ASK_KINDS]:
        title = _lower_first(items[0].type.title)
        places: dict[str, list[str]] = {}
        for f in items:
            if f.sheet and f.cell:
                places.setdefault(plain(f.sheet), []).append(f.cell)
        where = []
        for sheet, cells in places.items():
            shown = cells[:ASK_CELLS]
            more = len(cells) - len(shown)
            where.append(f"{sheet} " + join(shown + ([count(more, "autre cellule")] if more else [])))
        n = len(items)
        parts.append(
            f"{title} ({' ; '.join(where)})" if where else title if n == 1 else f"{title} ({n} fois)"
        )
    left = len(by_kind) - len(parts)
    if left:
        parts.append(
            f"{count(left, 'autre sorte de constat', 'autres sortes de constats')} (feuille « Constats »)"
        )
    return " ; ".join(parts)


def _ask(rf: ReturnFile | None, findings: list[Finding], aside: list[str], deadline: str) -> str:
    """What to ask the partner, as the officer says it on the phone."""
    from cia_workbook.render.typography import count, join, plural

    out = []
    if rf is None:
        out.append(f"Relancer : aucun fichier reçu (date limite : {deadline}).")
    errors = [f for f in findings if f.is_error]
    warnings = [f for f in findings if not f.is_error]
    if errors:
        out.append(f"Corriger {count(len(errors), 'erreur')} puis renvoyer le fichier : {_kinds(errors)}.")
    if warnings:
        also = "aussi " if errors else ""
        out.append(f"Vérifier {also}{count(len(warnings), 'avertissement')} : {_kinds(warnings)}.")
    if aside:
        files = join([f"« {name} »" for name in aside])
        out.append(
            f"Examiner {plural(len(aside), 'le fichier', 'les fichiers')} {files}, non "
            f"{plural(len(aside), 'retenu')}, qui {plural(len(aside), 'le désigne', 'le désignent')} "
            "(identification contradictoire)."
        )
    return " ".join(out) or "Rien à demander."


def _answered(rf: ReturnFile) -> dt.date | None:
    """The date of the answer the partner typed in its Identification sheet."""
    answered = (rf.forms.get("identification") or {}).get("date_reponse")
    return answered if isinstance(answered, dt.date) else None
