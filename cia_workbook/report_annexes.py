"""Rendering stage of the NPNRU rehousing: the annexes of the charte de relogement as a Word file.

Input is a `relogement.RehousingBilan`; output `annexes-charte-relogement-<year>.docx`, on the
bilan's template and typography (the building blocks of `report_docx` are reused, not copied):
annexe 1, the follow-up table of every household (pseudonymous, landscape, by operation);
annexe 2, the annual rehousing bilan (progress, the charter's criteria for the year and since the
start, with charts) and the commission's validation block; annexe 3, the blocked cases the
commission examines (restricted diffusion only). The public version masks small counts as the
bilan does and shows counts per operation instead of households.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from babel.dates import format_date
from docx.shared import Cm

from cia_workbook import frformat
from cia_workbook.consolidate import SECRET, Col, IndicatorTable
from cia_workbook.convention import Convention
from cia_workbook.fileio import write_atomic
from cia_workbook.relogement import (
    STATUS_LABELS,
    Household,
    RehousingBilan,
    RestToPay,
    criteria_table,
    destination_label,
    origin_label,
    progress_table,
    rule_text,
)
from cia_workbook.report_docx import (
    DIFFUSIONS,
    KEY_FIGURE_STYLE,
    MARKING,
    MARKING_STYLE,
    NOTE_STYLE,
    _BilanDocument,
    _masked,
    _number,
)
from cia_workbook.schema import BLOCKING_REASONS, REHOUSING_STATUSES

ANNEX_TITLES = {
    1: "Annexe 1 – Tableau de suivi des relogements",
    2: "Annexe 2 – Bilan annuel des relogements",
    3: "Annexe 3 – Dossiers bloqués",
}
YES_NO = {"OUI": "Oui", "NON": "Non", None: "–"}
# Column widths in cm of the landscape tables (25.7 cm between the template's margins): the
# places and the commission's notes need room, yes/no columns do not.
HOUSEHOLD_WIDTHS = (1.9, 2.0, 1.7, 1.9, 1.7, 1.7, 3.0, 3.4, 1.3, 1.3, 1.4, 1.4, 1.4, 1.1)
STALE_WIDTHS = (2.4, 1.9, 2.8, 2.4, 7.2, 6.2, 1.8)
BLOCKED_WIDTHS = (2.0, 1.8, 2.2, 2.0, 2.0, 1.5, 1.6, 3.6, 4.5, 4.5)
# Portrait tables (17 cm): the first column names an operation or a criterion.
PROGRESS_WIDTHS = (3.8,) + (1.466,) * 9
CRITERIA_WIDTHS = (5.0,) + (2.0,) * 6
BLANK_LINE = "_" * 60


def annexes_docx_name(year: int, diffusion: str = "restreinte") -> str:
    suffix = "" if diffusion == "restreinte" else "-publique"
    return f"annexes-charte-relogement-{year}{suffix}.docx"


def write_annexes_docx(
    convention: Convention, rbilan: RehousingBilan, path: Path, diffusion: str = "restreinte"
) -> Path:
    """Write the charter's annexes of `rbilan.year` for one audience ("restreinte" | "publique")."""
    if diffusion not in DIFFUSIONS:
        raise ValueError(f"Diffusion inconnue : {diffusion!r} (restreinte ou publique).")
    doc = _AnnexesDocument(convention, rbilan, diffusion).build()
    return write_atomic(Path(path), lambda tmp: doc.save(str(tmp)))


# -- Tables (plain data, shared with the tests) ---------------------------------------------


def household_table(r: RehousingBilan, households: list[Household]) -> IndicatorTable:
    """Annexe 1, restricted: one pseudonymous row per household."""
    names = r.partner_names
    cols = [
        Col("id", "Identifiant", "text"),
        Col("suivi", "Suivi par", "text"),
        Col("menage", "Ménage", "text"),
        Col("statut", "Statut", "text"),
        Col("entree", "Entrée", "number"),
        Col("relogement", "Relogement", "number"),
        Col("origine", "Origine", "text"),
        Col("destination", "Destination", "text"),
        Col("hors_quartier", "Hors quartier", "text"),
        Col("recent", "Neuf ou < 5 ans", "text"),
        Col("rac_avant", "Reste à charge avant", "number"),
        Col("rac_apres", "Reste à charge après", "number"),
        Col("propositions", "Propositions / refus", "text"),
        Col("bloque", "Bloqué", "text"),
    ]
    rows = []
    for h in households:
        housed = h.get("destination_parc") is not None
        rows.append(
            {
                "id": h.id,
                "suivi": f"{names.get(h.partner, h.partner)} – retour {h.year}",
                "menage": _household_text(h),
                "statut": STATUS_LABELS.get(h.status, "–"),
                "entree": _short_date(h.entered_on),
                "relogement": _short_date(h.rehoused_on),
                "origine": _place(origin_label(h, names), h.get("origine_commune"), h.get("origine_qpv"), r),
                "destination": _place(
                    destination_label(h, names), h.get("destination_commune"), h.get("destination_qpv"), r
                )
                if housed
                else "–",  # fmt: skip
                "hors_quartier": YES_NO[_flip(h.get("destination_meme_quartier"))] if housed else "–",
                "recent": YES_NO[h.get("destination_recent")] if housed else "–",
                "rac_avant": _euros(h.rest_to_pay("origine")),
                "rac_apres": _euros(h.rest_to_pay("destination")),
                "propositions": f"{_int(h.get('propositions'))} / {_int(h.get('refus'))}",
                "bloque": "Oui" if h.blocked else "Non",
            }
        )
    return IndicatorTable("relogement_suivi", "relogement", "", cols, rows, restricted=True)


def stale_table(r: RehousingBilan) -> IndicatorTable:
    """Annexe 1, restricted: the households with no state of the year, each with its last known
    state, the date and the return it comes from, and why there is nothing newer."""
    names = r.partner_names
    cols = [
        Col("id", "Identifiant", "text"),
        Col("operation", "Opération", "text"),
        Col("statut", "Dernier état connu", "text"),
        Col("au", "Situation au", "text"),
        Col("retour", "Retour", "text"),
        Col("motif", "Motif", "text"),
        Col("bloque", "Bloqué à cette date", "text"),
    ]
    rows = [
        {
            "id": h.id,
            "operation": h.operation or "–",
            "statut": STATUS_LABELS.get(h.status, "–"),
            "au": _short_date(dt.date(h.year, 12, 31)),
            "retour": f"{names.get(h.partner, h.partner)} – retour {h.year} ({h.file})",
            "motif": h.stale.reason(names) if h.stale else "–",
            "bloque": YES_NO.get(h.get("bloque"), "–"),
        }
        for h in r.stale
    ]
    return IndicatorTable(
        "relogement_non_actualises",
        "relogement",
        f"Ménages en situation non actualisée en {r.year} ({frformat.integer(len(rows))})",
        cols,
        rows,
        restricted=True,
    )


def status_table(r: RehousingBilan) -> IndicatorTable:
    """Annexe 1, public: households per operation and status (small counts masked)."""
    cols = [Col("operation", "Opération", "text")]
    cols += [Col(c.code, c.label, part_of="total") for c in REHOUSING_STATUSES.codes]
    cols.append(Col("non_actualises", "Situation non actualisée", part_of="total"))
    cols.append(Col("total", "Ménages suivis"))
    rows = []
    for p in [*r.operations, r.total]:
        row: dict[str, Any] = {"operation": p.label}
        row |= {code: p.by_status.get(code, 0) for code in STATUS_LABELS}
        row["non_actualises"] = p.stale
        row["total"] = p.followed
        rows.append(row)
    return IndicatorTable(
        "relogement_statuts",
        "relogement",
        f"Ménages suivis par opération et statut au 31 décembre {r.year}",
        cols,
        rows,
        total_row=True,
        note="Version publique : le détail par ménage figure dans la version de travail de la commission de coordination. "
        f"Situation non actualisée : ménages en cours à leur dernier retour, qu'aucun retour {r.year} utilisé ne "
        "mentionne ; ils ne sont comptés dans aucun statut de l'année.",
    )


def blocked_table(r: RehousingBilan) -> IndicatorTable:
    """Annexe 3: what blocks each case and the proposals already made; the last column is for the commission."""
    reasons = BLOCKING_REASONS.by_code
    names = r.partner_names
    cols = [
        Col("id", "Identifiant", "text"),
        Col("operation", "Opération", "text"),
        Col("suivi", "Suivi par", "text"),
        Col("statut", "Statut", "text"),
        Col("entree", "Entrée dans le dispositif", "date"),
        Col("duree", "Mois dans le dispositif", "number"),
        Col("propositions", "Propositions / refus", "text"),
        Col("motif", "Ce qui bloque", "text"),
        Col("commentaire", "Commentaire du partenaire", "text"),
        Col("suite", "Suite décidée par la commission", "text"),
    ]
    end = dt.date(r.year, 12, 31)
    rows = [
        {
            "id": h.id,
            "operation": h.operation or "–",
            "suivi": names.get(h.partner, h.partner),
            "statut": STATUS_LABELS.get(h.status, "–"),
            "entree": h.entered_on,
            "duree": _months(h.entered_on, end),
            "propositions": f"{_int(h.get('propositions'))} / {_int(h.get('refus'))}",
            "motif": reasons[h.get("motif_blocage")].label
            if h.get("motif_blocage") in reasons
            else "Non précisé",
            "commentaire": h.get("commentaire") or "",
            "suite": "",
        }
        for h in r.blocked
    ]
    return IndicatorTable(
        "relogement_bloques",
        "relogement",
        f"Dossiers bloqués au 31 décembre {r.year}",
        cols,
        rows,
        restricted=True,
        note="Dossiers marqués bloqués par le partenaire qui suit le ménage, hors ménages relogés définitivement ou "
        "partis. Mois dans le dispositif : depuis l'entrée jusqu'au 31 décembre.",
    )


def _household_text(h: Household) -> str:
    size = h.get("taille_menage")
    if size is None:
        return "–"
    text = f"{size} pers."
    under14 = h.get("nb_moins_14")
    if under14:
        text += f" dont {under14} enf."
    return text


def _place(who: str, commune: str | None, qpv: str | None, r: RehousingBilan) -> str:
    parts = [who]
    if commune:
        parts.append(r.commune_names.get(commune, commune))
    if qpv is not None:
        parts.append("QPV" if qpv == "OUI" else "hors QPV")
    return ", ".join(parts)


def _short_date(value: dt.date | None) -> str:
    """« 23/10/2020 »: the long form of the bilan would make the follow-up table twice as tall."""
    return "–" if value is None else format_date(value, format="short", locale=frformat.LOCALE)


def _flip(value: str | None) -> str | None:
    return {"OUI": "NON", "NON": "OUI"}.get(value) if value is not None else None


def _euros(value: float | None) -> str:
    return "–" if value is None else frformat.euros(value)


def _int(value: Any) -> str:
    return "–" if value is None else frformat.integer(value)


def _months(start: dt.date | None, end: dt.date) -> int | None:
    if start is None:
        return None
    return max((end.year - start.year) * 12 + end.month - start.month, 0)


# -- The document ---------------------------------------------------------------------------


class _AnnexesDocument(_BilanDocument):
    """The bilan's building blocks (styles, tables, charts, sections) on the rehousing figures."""

    def __init__(self, convention: Convention, rbilan: RehousingBilan, diffusion: str):
        super().__init__(convention, None, diffusion)  # type: ignore[arg-type]
        self.r = rbilan
        self.tables = {
            "avancement": progress_table(rbilan),
            "annee": criteria_table(rbilan, cumulative=False),
            "cumul": criteria_table(rbilan, cumulative=True),
        }

    def shown(self, table: IndicatorTable) -> IndicatorTable:
        return table.masked(self.threshold) if self.public else table

    def chart_specs(self) -> dict[str, Any]:
        from cia_workbook.charts import Spec

        specs = {}
        for key, table in self.tables.items():
            data = self.shown(table)
            rate_key, target_key = table.chart
            labels = [str(row[table.columns[0].key]) for row in data.rows]
            rates = [_number(row.get(rate_key)) for row in data.rows]
            targets = [_number(row.get(target_key)) if target_key else None for row in data.rows]
            masked = [_masked(row.get(rate_key)) for row in data.rows]
            specs[key] = Spec("rate_bars", (table.chart_title, labels, rates, targets, masked))
        return specs

    def body(self) -> None:
        self.annex_1()
        self.annex_2()
        if not self.public:
            self.annex_3()
        self.orient(False)

    def widths(self, widths_cm: tuple[float, ...]) -> None:
        """Fixed column widths for the last table (Word and LibreOffice otherwise split the page evenly)."""
        grid = self.doc.tables[-1]
        grid.autofit = False
        for col, width in zip(grid.columns, widths_cm, strict=True):
            col.width = Cm(width)
        for row in grid.rows:
            for cell, width in zip(row.cells, widths_cm, strict=True):
                cell.width = Cm(width)

    def footer_text(self) -> str:
        return f"{self.r.epci} – annexes de la charte de relogement, bilan {self.r.year}"

    def cover(self) -> None:
        r = self.r
        self.para(r.epci, "Subtitle")
        self.para(f"Annexes de la charte de relogement du NPNRU – bilan {r.year}", "Title")
        self.para(r.convention_title, "Subtitle")
        self.para(
            "Actions 1 et 2 de la convention : la charte de relogement est annexée à la convention ; la commission "
            "de coordination valide le bilan annuel des relogements et examine les dossiers bloqués."
        )
        annexes = [ANNEX_TITLES[1], ANNEX_TITLES[2]] + ([] if self.public else [ANNEX_TITLES[3]])
        for title in annexes:
            self.para(title, "List Bullet")
        self.para(
            f"Situation au 31 décembre {r.year}. Document établi le {frformat.date(dt.date.today())} avec cia-workbook."
        )
        self.year_sources()
        self.para(MARKING[self.diffusion].format(threshold=self.threshold), MARKING_STYLE)

    def year_sources(self) -> None:
        """First page: on which return of the year each partner's households rest, and the
        households whose state of the year is unknown (excluded or missing return…)."""
        r = self.r
        names = r.partner_names
        stale = {(rs.partner, rs.state): n for rs, n in r.stale_by_return()}
        self.para(f"Retours {r.year} des partenaires de la charte (feuille « Relogements NPNRU ») :")
        for rs in r.year_returns:
            name = names.get(rs.partner, rs.partner)
            answered = f", réponse du {frformat.date(rs.answered)}" if rs.answered else ""
            if rs.state == "utilise":
                text = f"{name} : retour {r.year} utilisé ({rs.file}{answered})"
                absent = stale.get((rs.partner, "absent"), 0)
                if absent:
                    text += (
                        f" ; {self.count(absent)} ménage(s) en cours à son retour précédent n'y figurent pas "
                        "(situation non actualisée)"
                    )
            else:
                text = f"{name} : {rs.what()}"
                if rs.state == "ecarte":
                    text += f" ({rs.file}, {frformat.integer(rs.errors)} erreur(s) : aucun de ses chiffres n'est compté)"
                n = stale.get((rs.partner, rs.state), 0)
                text += f" ; {self.count(n)} ménage(s) en situation non actualisée" if n else ""
                unknown = r.unknown_in_excluded.get(rs.partner, 0)
                if unknown:
                    text += (
                        f" ; {self.count(unknown)} autre(s) ménage(s) de ce fichier, absent(s) de tout retour utilisé, "
                        "ne sont comptés nulle part"
                    )
            self.para(text + ".", "List Bullet")
        if r.stale:
            self.para(
                f"Situation non actualisée : {self.count(len(r.stale))} ménages dont aucun retour {r.year} utilisé ne "
                f"donne la situation ({r.stale_details(self.count)}). Ils sont présentés à part en annexe 1, dans l'état et à la date de "
                f"leur dernier retour utilisé, et ne sont comptés ni en cours ni bloqués en {r.year}.",
                KEY_FIGURE_STYLE,
            )

    # Annexe 1 ------------------------------------------------------------------------------

    def annex_1(self) -> None:
        r = self.r
        self.heading(ANNEX_TITLES[1], landscape=True)
        if self.public:
            self.table(self.shown(status_table(r)), chart=False)
            if r.stale:
                self.para(
                    f"Situation non actualisée en {r.year} : {self.count(len(r.stale))} ménages (voir la première page).",
                    NOTE_STYLE,
                )
            return
        self.para(
            "Un ménage par ligne, sous son identifiant pseudonyme (jamais de nom ni d'adresse), dans l'état du dernier "
            f"retour utilisé où il figure (au plus tard {r.year}), au 31 décembre de l'année de ce retour (colonne "
            "« Suivi par »). Reste à charge : loyer + charges − aide au logement, par mois."
            + (
                f" Les ménages en situation non actualisée en {r.year} sont présentés à part, à la fin de l'annexe."
                if r.stale
                else ""
            )
        )
        by_op: dict[str | None, list[Household]] = {}
        for h in r.households:
            if h.stale is not None:
                continue
            by_op.setdefault(h.operation if h.operation in r.operation_names else None, []).append(h)
        for code, name in r.operation_names.items():
            self.heading(f"{code} – {name}", 2, landscape=True)
            households = by_op.get(code, [])
            if not households:
                self.para("Aucun ménage déclaré pour cette opération.", NOTE_STYLE)
                continue
            table = household_table(r, households)
            table.title = f"Ménages de l'opération {code} ({frformat.integer(len(households))})"
            self.table(table, chart=False)
            self.widths(HOUSEHOLD_WIDTHS)
        if by_op.get(None):
            self.heading("Opération non reconnue", 2, landscape=True)
            table = household_table(r, by_op[None])
            table.title = "Ménages dont l'opération n'est pas dans la charte"
            self.table(table, chart=False)
            self.widths(HOUSEHOLD_WIDTHS)
        if r.stale:
            self.heading(f"Situation non actualisée en {r.year}", 2, landscape=True)
            self.para(
                f"Ménages en cours à leur dernier retour utilisé, qu'aucun retour {r.year} utilisé ne mentionne : leur "
                f"situation {r.year} n'est pas connue. Ils sont montrés dans leur dernier état, à sa date et avec le "
                f"retour dont il vient ; ils ne sont comptés ni en cours ni bloqués en {r.year}."
            )
            self.table(stale_table(r), chart=False)
            self.widths(STALE_WIDTHS)

    # Annexe 2 ------------------------------------------------------------------------------

    def annex_2(self) -> None:
        r = self.r
        t = r.total
        self.heading(ANNEX_TITLES[2])
        lines = [
            f"Ménages à reloger sur la durée du programme : {frformat.integer(t.planned)} "
            f"(parc social : {frformat.integer(r.sectors['social'].planned)}, parc privé : "
            f"{frformat.integer(r.sectors['prive'].planned)}).",
            f"Relogés définitivement en {r.year} : {self.count(t.rehoused_in_year)} ; depuis {r.first_year} : "
            f"{self.count(t.rehoused)} ({self.rate_text(t.rehoused, t.planned)} du programme)."
            + (
                " Ces nombres ne reposent que sur les retours utilisés : un relogement déclaré seulement dans un retour "
                "écarté ou manquant n'y figure pas."
                if r.stale or r.earlier_gaps or any(rs.state != "utilise" for rs in r.year_returns)
                else ""
            ),
            f"En cours au 31 décembre {r.year} : {self.count(t.in_progress)} ménages, dont "
            f"{self.count(t.blocked)} dossiers bloqués"
            + (
                f" ; situation non actualisée en {r.year} : {self.count(t.stale)} ménages (voir la première page)"
                if t.stale
                else ""
            )
            + f" ; ménages pas encore identifiés : {frformat.integer(t.not_yet_followed)}.",
        ]
        for line in lines:
            self.para(line, KEY_FIGURE_STYLE)
        self.heading("Avancement du programme", 2)
        self.table(self.shown(self.tables["avancement"]), chart=False)
        self.widths(PROGRESS_WIDTHS)
        self.picture("avancement")
        self.heading("Critères de qualité de la charte", 2)
        self.para(
            "Critères locaux de qualité des relogements fixés par la charte (action 1) : relogement hors QPV, hors du "
            "quartier d'origine, dans un logement social neuf ou conventionné depuis moins de 5 ans, et maîtrise du reste "
            f"à charge. Règle du reste à charge retenue : {rule_text(self.c)}."
        )
        for key in ("annee", "cumul"):
            self.table(self.shown(self.tables[key]), chart=False)
            self.widths(CRITERIA_WIDTHS)
            self.picture(key)
        self.heading("Reste à charge", 2)
        self.rest_to_pay_table()
        self.heading("Sources et méthode", 2)
        self.sources()
        self.validation_block()

    def rest_to_pay_table(self) -> None:
        r = self.r
        cols = [
            Col("periode", "Relogements", "text"),
            Col("menages", "Ménages (montants connus)"),
            Col("avant", "Reste à charge moyen avant", "number"),
            Col("apres", "Reste à charge moyen après", "number"),
            Col("ecart", "Écart moyen", "number"),
        ]
        rows = []
        for label, value in (
            (f"En {r.year}", r.year_rest_to_pay),
            (f"Depuis {r.first_year}", r.cumulative_rest_to_pay),
        ):
            rows.append({"periode": label, "menages": value.households, **self._rest_to_pay_cells(value)})
        table = IndicatorTable(
            "relogement_reste_a_charge",
            "relogement",
            "Reste à charge mensuel moyen avant et après relogement",
            cols,
            rows,
            note="Loyer + charges − aide au logement, en euros par mois, sur les ménages relogés définitivement dont les "
            "montants avant et après sont connus.",
        )
        self.table(self.shown(table), chart=False)

    def _rest_to_pay_cells(self, value: RestToPay) -> dict[str, Any]:
        if self.public and 1 <= value.households < self.threshold:
            return {"avant": SECRET, "apres": SECRET, "ecart": SECRET}
        gap = None if value.before is None or value.after is None else value.after - value.before
        return {
            "avant": _euros(value.before),
            "apres": _euros(value.after),
            "ecart": "–" if gap is None else ("+" if gap > 0 else "") + frformat.euros(gap),
        }

    def sources(self) -> None:
        r = self.r
        used = ", ".join(r.partner_names[p] for p in r.returns_used) or "aucun"
        missing = [r.partner_names[p] for p in r.returns_expected if p not in r.returns_used]
        self.para(
            f"Retours {r.year} utilisés (feuille « Relogements NPNRU ») : {used}."
            + (f" Sans retour utilisable : {', '.join(missing)}." if missing else "")
        )
        self.para(
            f"Chaque ménage garde son identifiant d'une année à l'autre : tous les retours de {r.first_year} à {r.year} "
            "sont lus, et la situation d'un ménage est celle du dernier retour où il figure. Un relogement compte dans "
            "l'année de sa date de relogement."
        )
        if r.stale:
            self.para(
                f"{self.count(len(r.stale))} ménage(s) en cours à leur dernier retour n'apparaissent dans aucun retour "
                f"{r.year} utilisé : ils forment un groupe à part (situation non actualisée), compté ni en cours ni "
                "bloqué."
                + ("" if self.public else " Identifiants : " + ", ".join(h.id for h in r.stale) + "."),
                NOTE_STYLE,
            )
        if r.earlier_gaps:
            self.para(
                f"Retours des années précédentes écartés ou manquants (les cumuls depuis {r.first_year} ne comptent que "
                "les retours utilisés) : "
                + ", ".join(
                    f"{rs.year} : {r.partner_names.get(rs.partner, rs.partner)} "
                    + ("(écarté)" if rs.state == "ecarte" else "(manquant)")
                    for rs in r.earlier_gaps
                )
                + ".",
                NOTE_STYLE,
            )
        if r.duplicates and not self.public:
            self.para(
                "Ménages déclarés par deux partenaires la même année (la ligne du premier est retenue) : "
                + ", ".join(f"{d.id} ({d.year})" for d in r.duplicates)
                + ".",
                NOTE_STYLE,
            )
        if r.unknown_operation:
            self.para(
                f"{self.count(len(r.unknown_operation))} ménage(s) rattaché(s) à une opération absente de la charte ne "
                "sont comptés dans aucun indicateur.",
                NOTE_STYLE,
            )
        self.para(
            "NPNRU et objectifs de la convention : un ménage relogé dans le parc social avec un bail signé dans l'année "
            "est déclaré dans la feuille « Attributions » du bailleur avec « Oui » dans la colonne « Relogé NPNRU », quelle "
            "que soit sa catégorie prioritaire (un ménage DALO relogé NPNRU reste « DALO ») ; hors QPV et "
            "hors zone locale, il compte au numérateur de l'objectif hors QPV du bilan annuel de la convention.",
            NOTE_STYLE,
        )

    def validation_block(self) -> None:
        self.heading("Validation par la commission de coordination", 2)
        self.para(
            f"Bilan annuel des relogements {self.r.year} examiné par la commission de coordination (action 2)."
        )
        self.para("Date de la séance : ____ / ____ / ________")
        self.para("Décision :  ☐ bilan validé    ☐ validé avec réserves    ☐ ajourné")
        self.para("Observations et réserves :")
        for _ in range(3):
            self.para(BLANK_LINE)
        self.para("Pour la commission, nom et qualité du signataire : ______________________________")

    # Annexe 3 ------------------------------------------------------------------------------

    def annex_3(self) -> None:
        r = self.r
        self.heading(ANNEX_TITLES[3], landscape=True)
        self.para(
            "Cas que la commission de coordination examine (action 2) : le partenaire qui suit le ménage n'a pas trouvé "
            "de solution satisfaisante. Pour chaque dossier : ce qui bloque, les propositions déjà faites et refusées ; "
            "la dernière colonne est à remplir en séance."
        )
        self.para(f"Dossiers bloqués : {frformat.integer(len(r.blocked))}.", KEY_FIGURE_STYLE)
        table = blocked_table(r)
        self.table(table, chart=False)
        if table.rows:
            self.widths(BLOCKED_WIDTHS)
        earlier = [h for h in r.stale if h.get("bloque") == "OUI"]
        if earlier:
            names = r.partner_names
            self.para(
                f"Dossiers marqués bloqués dans un retour antérieur, sans situation {r.year} connue (ils ne sont pas "
                "comptés ci-dessus ; à vérifier auprès du partenaire) : "
                + ", ".join(
                    f"{h.id} (bloqué au {_short_date(dt.date(h.year, 12, 31))}, retour {h.year} de "
                    f"{names.get(h.partner, h.partner)} ; {h.stale.reason(names) if h.stale else ''})"
                    for h in earlier
                )
                + ".",
                NOTE_STYLE,
            )
