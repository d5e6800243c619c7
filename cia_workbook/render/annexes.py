"""Rendering stage of the NPNRU rehousing: the annexes of the charte de relogement as a Word file.

Input is a `relogement.RehousingBilan`; output `annexes-charte-relogement-<year>.docx`, on the
bilan's template and typography (the building blocks of `report_docx` are reused, not copied).
The order is the commission's: page 1 says what it is asked to validate (the key figures, the
charter's criteria with their verdicts, the returns they rest on) and holds the validation block;
annexe 1 is the annual rehousing bilan in detail (progress, criteria for the year and since the
start, with charts, reste à charge, sources); annexe 2 the blocked cases it examines, with room
for its decisions; annexe 3 the follow-up of every household (pseudonymous, landscape, by
operation). The public version shows counts only, masked as the bilan masks them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from babel.dates import format_date
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Emu, Pt

from cia_workbook.consolidate import NO_UNIVERSE, SECRET, Col, IndicatorTable, Rate
from cia_workbook.consolidate.rehousing import (
    CRITERIA,
    IN_PROGRESS,
    STATUS_LABELS,
    Household,
    Progress,
    RehousingBilan,
    RestToPay,
    criteria_table,
    destination_label,
    households,
    origin_label,
    progress_table,
    rule_text,
)
from cia_workbook.convention.settings import CRITERION_CODES, Convention
from cia_workbook.fileio import write_atomic
from cia_workbook.render import frformat
from cia_workbook.render.bilan import (
    CAUTION_MARK,
    CELL_DETAIL_STYLE,
    CELL_HEADER_STYLE,
    DIFFUSIONS,
    KEY_FIGURE_STYLE,
    NOTE_STYLE,
    SYMBOL,
    TABLE_FONT_PT,
    TABLE_STYLE,
    VERDICT_STYLE,
    _BilanDocument,
    _cant_split,
    _column_needs,
    _masked,
    _number,
    _repeat_header,
    _shade,
    _style_fill,
    fit_columns,
)
from cia_workbook.render.commission import commission_section
from cia_workbook.render.typography import NBSP, count, join, plural
from cia_workbook.schema.sheets import BLOCKING_REASONS

if TYPE_CHECKING:
    from cia_workbook.render.charts import ChartCache

ANNEX_TITLES = {
    1: "Annexe 1 – Bilan annuel des relogements",
    2: "Annexe 2 – Dossiers bloqués",
    3: "Annexe 3 – Tableau de suivi des relogements",
}
YES_NO = {"OUI": "Oui", "NON": "Non", None: "–"}
# The commission writes its decision on each blocked case in the session: its column gets this
# width and each row this height at least.
DECISION_WIDTH_CM = 6.5
DECISION_ROW_CM = 2.2
NB_HYPHEN = "\u2011"
# The public version's statuses, grouped so that small counts keep a meaning (in progress,
# left), each column a part of the households followed.
STATUS_GROUPS = (
    ("en_cours", "En cours (à reloger, proposition faite, relogé temporairement)", IN_PROGRESS),
    ("reloges", "Relogés définitivement", ("RELOGE_DEFINITIF",)),
    ("sortis", "Partis hors partenariat ou autre", ("PARTI", "AUTRE")),
)


def write_annexes_docx(
    convention: Convention,
    rbilan: RehousingBilan,
    path: Path,
    diffusion: str = "restreinte",
    template: Path | None = None,
    charts: ChartCache | None = None,
) -> Path:
    """Write the charter's annexes of `rbilan.year` for one audience ("restreinte" | "publique"),
    on the EPCI's Word template when given (the bilan's), else the packaged one; `charts`: the
    charts drawn before."""
    if diffusion not in DIFFUSIONS:
        raise ValueError(f"Diffusion inconnue : {diffusion!r} (restreinte ou publique).")
    document = _AnnexesDocument(convention, rbilan, diffusion, template)
    document.chart_cache = charts
    doc = document.build()
    return write_atomic(Path(path), lambda tmp: doc.save(str(tmp)))


# -- Tables (plain data, shared with the tests) ---------------------------------------------


def rehoused_table(r: RehousingBilan, households: list[Household]) -> IndicatorTable:
    """Annexe 3, restricted: the households rehoused definitively, one pseudonymous row each,
    with what the charter's criteria look at (where to, new or recent, reste à charge)."""
    names = r.partner_names
    cols = [
        Col("id", "Identifiant", "text"),
        Col("suivi", "Suivi par", "text"),
        Col("menage", "Ménage", "text"),
        Col("entree", "Entrée", "text"),
        Col("relogement", "Relogement", "text"),
        Col("origine", "Origine", "text"),
        Col("destination", "Destination", "text"),
        Col("hors_quartier", "Hors quartier", "text"),
        Col("recent", "Neuf ou < 5 ans", "text"),
        Col("rac_avant", "Reste à charge avant", "number"),
        Col("rac_apres", "Reste à charge après", "number"),
        Col("propositions", "Propositions / refus", "text"),
    ]
    rows = [
        _household_row(r, h)
        | {
            "destination": _place(
                destination_label(h, names), h.get("destination_commune"), h.get("destination_qpv"), r
            ),
            "hors_quartier": YES_NO[_flip(h.get("destination_meme_quartier"))],
            "recent": YES_NO[h.get("destination_recent")],
            "rac_apres": _euros(h.rest_to_pay("destination")),
        }
        for h in households
    ]
    return IndicatorTable("relogement_suivi_reloges", "relogement", "", cols, rows, restricted=True)


def ongoing_table(r: RehousingBilan, households: list[Household]) -> IndicatorTable:
    """Annexe 3, restricted: the households not rehoused definitively (in progress, left, other),
    one pseudonymous row each, with where their case stands."""
    names = r.partner_names
    cols = [
        Col("id", "Identifiant", "text"),
        Col("suivi", "Suivi par", "text"),
        Col("menage", "Ménage", "text"),
        Col("statut", "Statut", "text"),
        Col("entree", "Entrée", "text"),
        Col("origine", "Origine", "text"),
        Col("temporaire", "Logement temporaire", "text"),
        Col("rac_avant", "Reste à charge avant", "number"),
        Col("propositions", "Propositions / refus", "text"),
        Col("bloque", "Bloqué", "text"),
        Col("commentaire", "Commentaire du partenaire", "text"),
    ]
    rows = []
    for h in households:
        housed = h.get("destination_parc") is not None
        rows.append(
            _household_row(r, h)
            | {
                "statut": STATUS_LABELS.get(h.status, "–"),
                "temporaire": _place(
                    destination_label(h, names), h.get("destination_commune"), h.get("destination_qpv"), r
                )
                + (f", depuis le {_short_date(h.rehoused_on)}" if h.rehoused_on else "")
                if housed
                else "–",  # fmt: skip
                "bloque": "Oui" if h.blocked else "Non",
                "commentaire": h.get("commentaire") or "",
            }
        )
    return IndicatorTable("relogement_suivi_en_cours", "relogement", "", cols, rows, restricted=True)


def _household_row(r: RehousingBilan, h: Household) -> dict[str, Any]:
    """What every follow-up table says of a household."""
    names = r.partner_names
    return {
        "id": h.id,
        "suivi": f"{names.get(h.partner, h.partner)} – retour {h.year}",
        "menage": _household_text(h),
        "entree": _short_date(h.entered_on),
        "relogement": _short_date(h.rehoused_on),
        "origine": _place(origin_label(h, names), h.get("origine_commune"), h.get("origine_qpv"), r),
        "rac_avant": _euros(h.rest_to_pay("origine")),
        "propositions": f"{_int(h.get('propositions'))} / {_int(h.get('refus'))}",
    }


def stale_table(r: RehousingBilan) -> IndicatorTable:
    """Annexe 3, restricted: the households with no state of the year, each with its last known
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


def status_table(
    r: RehousingBilan, rows: list[Progress] | None = None, merged: frozenset[str] = frozenset()
) -> IndicatorTable:
    """Annexe 3, public: households per operation (or the `rows` given) and status; the statuses
    of each group named in `merged` (in progress, left) share one column."""
    cols = [Col("operation", "Opération", "text")]
    for key, label, statuses in STATUS_GROUPS:
        if key in merged or len(statuses) == 1:
            cols.append(Col(key, label, part_of="total"))
        else:
            cols += [Col(s, STATUS_LABELS[s], part_of="total") for s in statuses]
    cols.append(Col("non_actualises", "Situation non actualisée", part_of="total"))
    cols.append(Col("total", "Ménages suivis"))
    out = []
    for p in [*(r.operations if rows is None else rows), r.total]:
        row: dict[str, Any] = {"operation": p.label}
        row |= {s: p.by_status.get(s, 0) for s in STATUS_LABELS}
        row |= {key: sum(p.by_status.get(s, 0) for s in statuses) for key, _, statuses in STATUS_GROUPS}
        row["non_actualises"] = p.stale
        row["total"] = p.followed
        out.append(row)
    return IndicatorTable(
        "relogement_statuts",
        "relogement",
        f"Ménages suivis par opération et statut au 31 décembre {r.year}",
        cols,
        out,
        total_row=True,
        note="Version publique : le détail par ménage figure dans la version de travail de la commission de "
        f"coordination. Situation non actualisée : ménages en cours à leur dernier retour, qu'aucun retour {r.year} "
        "utilisé ne mentionne ; ils ne sont comptés dans aucun statut de l'année.",
    )


def public_rows(r: RehousingBilan, threshold: int) -> list[Progress]:
    """The rows of the public progress and status tables: each operation, except that the
    operations of a sector are grouped into one line when one of them would show a masked count
    (a small count, or one hidden so that it cannot be recomputed), as the public bilan groups
    the partners with small universes."""
    masked = [
        {
            i
            for i, row in enumerate(table.masked(threshold).rows[:-1])
            if any(_is_masked(v) for v in row.values())
        }
        for table in (progress_table(r), status_table(r, merged=frozenset(k for k, _, _ in STATUS_GROUPS)))
    ]
    leaking = set().union(*masked)
    sectors = [o.sector for o in r.charter.operations]
    grouped = {sector for i, sector in enumerate(sectors) if i in leaking and sectors.count(sector) > 1}
    rows: list[Progress] = []
    for sector, p in zip(sectors, r.operations, strict=True):
        if sector not in grouped:
            rows.append(p)
        elif not any(q.label.startswith(r.sectors[sector].label) for q in rows):
            rows.append(
                dataclasses.replace(
                    r.sectors[sector], label=f"{r.sectors[sector].label}, opérations regroupées"
                )
            )
    return rows


def public_statuses(r: RehousingBilan, rows: list[Progress], threshold: int) -> IndicatorTable:
    """The public status table: a group of statuses shares one column when one of its statuses
    would show a small count."""
    detailed = status_table(r, rows).masked(threshold)
    merged = frozenset(
        key
        for key, _, statuses in STATUS_GROUPS
        if len(statuses) > 1 and any(_is_masked(row.get(s)) for row in detailed.rows for s in statuses)
    )
    return status_table(r, rows, merged).masked(threshold)


def _is_masked(value: Any) -> bool:
    return isinstance(value, str) and (value == SECRET or value.startswith("< "))


def blocked_table(r: RehousingBilan) -> IndicatorTable:
    """Annexe 2: what blocks each case and the proposals already made; the last column is for the commission."""
    reasons = BLOCKING_REASONS.by_code
    names = r.partner_names
    cols = [
        Col("id", "Identifiant", "text"),
        Col("operation", "Opération", "text"),
        Col("suivi", "Suivi par", "text"),
        Col("statut", "Statut", "text"),
        Col("entree", "Entrée dans le dispositif", "text"),
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
            "entree": _short_date(h.entered_on),
            "duree": _months(h.entered_on, end),
            "propositions": f"{_int(h.get('propositions'))} / {_int(h.get('refus'))}",
            "motif": reasons[h.get("motif_blocage")].label
            if h.get("motif_blocage") in reasons
            else "Non précisé",
            "commentaire": h.get("commentaire") or "",
            # The decisions already taken on the case (the commission's workbooks read back).
            "suite": r.commission.suite(h.id) if r.commission is not None else "",
        }
        for h in r.blocked
    ]
    return IndicatorTable(
        "relogement_bloques",
        "relogement",
        f"Dossiers bloqués au 31 décembre {r.year} ({frformat.integer(len(rows))})",
        cols,
        rows,
        restricted=True,
        note="Dossiers marqués bloqués par le partenaire qui suit le ménage, hors ménages relogés définitivement ou "
        "partis. Mois dans le dispositif : depuis l'entrée jusqu'au 31 décembre.",
    )


def public_criteria(table: IndicatorTable, threshold: int) -> IndicatorTable:
    """A criteria table as the public bilan publishes rates: a rate and its verdict stand on a
    universe of at least `threshold` households, without the count of households that meet it."""
    rows = []
    for row in table.rows:
        row = dict(row)
        den = row.get("den")
        if isinstance(den, int) and 1 <= den < threshold:
            row |= {"den": SECRET, "taux": SECRET, "statut": SECRET}
        if isinstance(row.get("nc"), int) and 1 <= row["nc"] < threshold:
            row["nc"] = f"< {threshold}"
        rows.append(row)
    columns = [dataclasses.replace(c, visible=False) if c.key == "num" else c for c in table.columns]
    return dataclasses.replace(table, columns=columns, rows=rows)


def _household_text(h: Household) -> str:
    """« 3 pers. dont 1 enf. », a figure never parted from its word."""
    size = h.get("taille_menage")
    if size is None:
        return "–"
    text = f"{size}{NBSP}pers."
    under14 = h.get("nb_moins_14")
    if under14:
        text += f" dont {under14}{NBSP}enf."
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


def _signed_euros(value: float) -> str:
    """« +12 € », « −30 € » (the typographic minus sign)."""
    text = frformat.euros(abs(value))
    return ("+" if value > 0 else "\u2212" if value < 0 else "") + text


def _int(value: Any) -> str:
    return "–" if value is None else frformat.integer(value)


def _months(start: dt.date | None, end: dt.date) -> int | None:
    if start is None:
        return None
    return max((end.year - start.year) * 12 + end.month - start.month, 0)


def _no_break_hyphens(doc) -> None:
    """Every U+2011 of the document becomes Word's non-breaking hyphen (w:noBreakHyphen), which
    Word and LibreOffice draw as a hyphen in the text's own font and read back as « - »."""
    for t in list(doc.element.body.iter(qn("w:t"))):
        if not t.text or NB_HYPHEN not in t.text:
            continue
        parts = t.text.split(NB_HYPHEN)
        run, at = t.getparent(), t.getparent().index(t)
        run.remove(t)
        for k, part in enumerate(parts):
            if k:
                run.insert(at, OxmlElement("w:noBreakHyphen"))
                at += 1
            if part:
                new = OxmlElement("w:t")
                new.set(qn("xml:space"), "preserve")
                new.text = part
                run.insert(at, new)
                at += 1


def _min_height(tr, cm: float) -> None:
    """A row at least `cm` high (room to write by hand)."""
    tr_pr = tr.get_or_add_trPr()
    el = OxmlElement("w:trHeight")
    el.set(qn("w:val"), str(round(cm / 2.54 * 1440)))
    el.set(qn("w:hRule"), "atLeast")
    tr_pr.append(el)


# -- The document ---------------------------------------------------------------------------


class _AnnexesDocument(_BilanDocument):
    """The bilan's building blocks (template, styles, tables, charts, sections) on the rehousing figures."""

    def __init__(
        self, convention: Convention, rbilan: RehousingBilan, diffusion: str, template: Path | None = None
    ):
        super().__init__(convention, None, diffusion, template=template)  # type: ignore[arg-type]
        self.r = rbilan
        # In public, operations with small counts are grouped by sector (see `public_rows`).
        self.rows = public_rows(rbilan, self.threshold) if self.public else None
        self.tables = {
            "avancement": progress_table(rbilan, self.rows),
            "annee": criteria_table(rbilan, cumulative=False),
            "cumul": criteria_table(rbilan, cumulative=True),
        }

    def build(self):
        doc = super().build()
        _no_break_hyphens(doc)
        return doc

    def _texts(self, table: IndicatorTable, cols: list[Col]) -> list[list[str]]:
        """A household's identifier is never broken at its hyphens (« PRIVE-FBG-|017 »): its
        hyphens are non-breaking, measured as such, and written as Word's (`_no_break_hyphens`)."""
        texts = super()._texts(table, cols)
        for j, col in enumerate(cols):
            if col.key == "id":
                for row in texts:
                    row[j] = row[j].replace("-", NB_HYPHEN)
        return texts

    def shown(self, table: IndicatorTable) -> IndicatorTable:
        if not self.public:
            return table
        if table.key.startswith("relogement_criteres"):
            return public_criteria(table, self.threshold)
        return table.masked(self.threshold)

    def table_note(self, table: IndicatorTable) -> str:
        """The note of a public table whose rows group operations says which ones."""
        note = super().table_note(table)
        grouped = [p for p in self.rows or () if p not in self.r.operations]
        if not grouped or table.key not in ("relogement_avancement", "relogement_statuts"):
            return note
        sectors = {p.label: s for s, p in self.r.sectors.items()}
        parts = []
        for p in grouped:
            sector = next(s for label, s in sectors.items() if p.label.startswith(label))
            names = [o.name for o in self.r.charter.operations if o.sector == sector]
            parts.append(f"{p.label} : {join(names)}")
        return (
            note
            + f" Secret statistique : une opération dont une case serait masquée est regroupée avec les autres "
            f"opérations de son parc ; {' ; '.join(parts)}."
        )

    def chart_specs(self) -> dict[str, Any]:
        from cia_workbook.render.charts import Spec

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

    def counted(self, n: int, singular: str, plural_form: str | None = None) -> str:
        """« 3 dossiers bloqués », masked like the tables in public (« < 11 dossiers bloqués »)."""
        number = self.count(n)
        shown = n if number == frformat.integer(n) else 2  # a masked count reads as a plural
        return count(shown, singular, plural_form, number=number)

    def households(self, n: int) -> str:
        return households(n, self.count)

    def many(self, n: int) -> bool:
        """Whether a count reads as a plural (a masked one, « < 11 », does)."""
        return n > 1 or self.count(n) != frformat.integer(n)

    def template_fields(self) -> dict[str, str]:
        r = self.r
        fields = super().template_fields()
        return fields | {
            "epci": r.epci,
            "annee": str(r.year),
            "titre": f"Bilan {r.year} des relogements du NPNRU",
            "sous_titre": f"Annexes de la charte de relogement · {r.convention_title} · document établi le "
            f"{fields['date']}",
        }

    def footer_text(self) -> str:
        return f"{self.r.epci} – annexes de la charte de relogement, bilan {self.r.year}"

    def body(self) -> None:
        self.first_page()
        self.annex_1()
        self.annex_2()
        self.annex_3()
        self.orient(False)

    def annex_heading(self, number: int, landscape: bool = False, new_page: bool = True) -> None:
        """An annex starts a page (a new section when the orientation changes, else a break),
        unless `new_page` is False (a few lines of the public version)."""
        turns = landscape != self.landscape
        heading = self.heading(ANNEX_TITLES[number], landscape=landscape)
        if new_page and not turns:
            heading.paragraph_format.page_break_before = True

    def action_of(self, indicator: str, suffix: str = "") -> str:
        """« (action 2) »: the convention's action that reports `indicator`, or nothing when no
        action of the convention does (convention.actions)."""
        action = self.c.action_reporting(indicator)
        return f" (action {action.number}{suffix})" if action is not None else ""

    # Page 1: what the commission is asked to validate -------------------------------------

    def first_page(self) -> None:
        r, t = self.r, self.r.total
        blocked = self.counted(t.blocked, "dossier bloqué")
        follow = (
            "l'annexe 3 donne les ménages suivis par opération et statut"
            if self.public
            else "l'annexe 3 donne le suivi de chaque ménage"
        )
        asked = (
            f"La commission de coordination valide le bilan annuel {r.year} des relogements du NPNRU"
            if self.public
            else f"La commission de coordination est invitée à valider le bilan annuel {r.year} des relogements du NPNRU"
        )
        self.para(
            f"{asked}{self.action_of('bilan_relogements', ' de la convention')} : l'avancement du programme et les critères de qualité de la charte, "
            f"résumés ci-dessous et détaillés en annexe 1. Elle examine aussi les dossiers bloqués (annexe 2 : "
            f"{blocked}) ; {follow}."
        )
        for line in self.key_figures():
            self.para(line, KEY_FIGURE_STYLE)
        self.criteria_dashboard()
        self.year_sources()
        self.validation_block()

    def key_figures(self) -> list[str]:
        r, t = self.r, self.r.total
        rehoused = (
            f"Relogés définitivement en {r.year} : {self.households(t.rehoused_in_year)} ; depuis {r.first_year} : "
            f"{self.count(t.rehoused)} sur {frformat.integer(t.planned)} à reloger "
            f"({self.rate_text(t.rehoused, t.planned)} du programme ; parc social : "
            f"{frformat.integer(r.sectors['social'].planned)}, parc privé : {frformat.integer(r.sectors['prive'].planned)})."
        )
        if r.stale or r.earlier_gaps or any(rs.state != "utilise" for rs in r.year_returns):
            rehoused += " Un relogement déclaré seulement dans un retour écarté ou manquant n'y figure pas."
        ongoing = (
            f"En cours au 31 décembre {r.year} : {self.households(t.in_progress)}, dont "
            f"{self.counted(t.blocked, 'dossier bloqué')}"
            + (f" ; situation non actualisée en {r.year} : {self.households(t.stale)}" if t.stale else "")
            + f" ; ménages pas encore identifiés : {frformat.integer(t.not_yet_followed)}."
        )
        return [rehoused, ongoing]

    def criteria_dashboard(self) -> None:
        """The charter's criteria, in the year and since the start: rate, target and verdict in
        colour and symbol, as the bilan's dashboard shows the objectives."""
        r = self.r
        self.n_tables += 1
        self.para(
            f"Tableau {self.n_tables} – Critères de qualité de la charte, relogements définitifs de {r.year} et "
            f"depuis {r.first_year}",
            "Caption",
        )
        available = Emu(self.available_width(False)).pt
        widths = [Pt(w * available) for w in (0.40, 0.12, 0.24, 0.24)]
        grid = self.fixed_grid(widths)
        header = grid.rows[0]
        heads = ("Critère de la charte", "Cible", f"Relogés en {r.year}", f"Depuis {r.first_year} (cumul)")
        for cell, text, width in zip(header.cells, heads, widths, strict=True):
            self.cell_para(cell, text, CELL_HEADER_STYLE, first=True)
            cell.width = width
        for code in CRITERION_CODES:
            row = grid.add_row()
            _cant_split(row._tr)
            cells = row.cells
            for cell, width in zip(cells, widths, strict=True):
                cell.width = width
            year, since = r.year_criteria[code], r.cumulative_criteria[code]
            self.cell_para(cells[0], CRITERIA[code], first=True)
            self.cell_para(cells[1], frformat.target(year.target), first=True)
            self.criterion_cell(cells[2], year)
            self.criterion_cell(cells[3], since)
        gap = frformat.points(self.c.campaign.close_gap_points)
        note = (
            f"✓ atteint : le taux atteint la cible ; ≈ proche : moins de {gap} sous la cible ; ✗ non atteint ; "
            "– sans objet : aucun ménage relogé. Univers : ménages relogés définitivement ; un critère non "
            "renseigné reste dans l'univers et ne compte jamais comme conforme."
        )
        if self.caution:
            note += f" {CAUTION_MARK} Moins de {self.caution} ménages relogés : à interpréter avec prudence."
        if self.public:
            note += f" Un taux n'est publié que sur au moins {self.threshold} ménages relogés."
        self.para(note, NOTE_STYLE)

    def criterion_cell(self, cell, rate: Rate) -> None:
        first = cell.paragraphs[0]
        status, den = rate.status, rate.denominator
        if self.public and 1 <= den < self.threshold:
            self.set_style(first, VERDICT_STYLE[SECRET])
            first.add_run(SECRET)
            self.cell_para(cell, f"moins de {self.threshold} ménages relogés", CELL_DETAIL_STYLE)
            return
        self.set_style(first, VERDICT_STYLE[status])
        if first.style is not None:
            _shade(cell, _style_fill(first.style))
        if status == NO_UNIVERSE:
            first.add_run(f"{SYMBOL[status]} sans objet")
            self.cell_para(cell, "aucun ménage relogé", CELL_DETAIL_STYLE)
            return
        first.add_run(f"{SYMBOL[status]} {frformat.percent(rate.value)} ")
        first.add_run(status).bold = False
        relogés = plural(den, "ménage relogé")
        detail = (
            f"sur {frformat.integer(den)} {relogés}"
            if self.public
            else f"{frformat.integer(rate.numerator)} sur {frformat.integer(den)} {relogés}"
        )
        if rate.unknown:
            detail += f", dont {frformat.integer(rate.unknown)} non {plural(rate.unknown, 'renseigné')}"
        if 0 < den < self.caution:
            detail += f" {CAUTION_MARK}"
        self.cell_para(cell, detail, CELL_DETAIL_STYLE)

    def year_sources(self) -> None:
        """On which return of the year each partner's households rest, said plainly, and the
        households whose state of the year is unknown (excluded or missing return…)."""
        r = self.r
        names = r.partner_names
        stale = {(rs.partner, rs.state): n for rs, n in r.stale_by_return()}
        self.para(
            f"Ce bilan repose sur les retours {r.year} des partenaires de la charte (feuille « Relogements NPNRU ») :"
        )
        for rs in r.year_returns:
            name = names.get(rs.partner, rs.partner)
            answered = f"réponse du {frformat.date(rs.answered)}" if rs.answered else ""
            source = ", ".join(x for x in (None if self.public else rs.file, answered) if x)
            if rs.state == "utilise":
                text = f"{name} : retour {r.year} utilisé" + (f" ({source})" if source else "")
                absent = stale.get((rs.partner, "absent"), 0)
                if absent:
                    text += (
                        f" ; {self.households(absent)} en cours à son retour précédent "
                        f"{'n’y figurent' if self.many(absent) else 'n’y figure'} pas (situation non actualisée)"
                    )
            else:
                text = f"{name} : {rs.what()}"
                if rs.state == "ecarte":
                    text += (
                        f" pour {count(rs.errors, 'erreur')} à corriger"
                        + (f" ({source})" if source else "")
                        + " : aucun de ses chiffres n'est compté"
                    )
                n = stale.get((rs.partner, rs.state), 0)
                text += f" ; {self.households(n)} en situation non actualisée" if n else ""
                unknown = r.unknown_in_excluded.get(rs.partner, 0)
                if unknown:
                    many = self.many(unknown)
                    text += (
                        f" ; {self.counted(unknown, 'autre ménage')} de ce fichier, "
                        f"{'inconnus' if many else 'inconnu'} des retours utilisés, "
                        f"{'ne sont comptés' if many else 'n’est compté'} nulle part"
                    )
            self.para(text + ".", "List Bullet")
        if r.stale:
            self.para(
                f"Situation non actualisée : {self.households(len(r.stale))} dont aucun retour {r.year} utilisé ne "
                f"donne la situation ({r.stale_details(self.count)}). "
                + (
                    "Ils sont comptés à part (annexes 1 et 3)"
                    if self.public
                    else "Ils sont présentés à part en annexe 3, dans l'état et à la date de leur dernier retour utilisé"
                )
                + f", et ne sont comptés ni en cours ni bloqués en {r.year}."
            )

    def validation_block(self) -> None:
        """The commission's decision, written in the session (restricted), or the date of the
        session that validated it (public)."""
        r = self.r
        if self.public:
            self.para(
                f"Bilan annuel des relogements {r.year} validé par la commission de coordination lors de sa séance "
                "du ____ / ____ / ________.",
                NOTE_STYLE,
            )
            return
        available = Emu(self.available_width(False)).pt
        grid = self.doc.add_table(rows=2, cols=1)
        grid.style = self.doc.styles[TABLE_STYLE]
        grid.alignment = WD_TABLE_ALIGNMENT.CENTER
        grid.autofit = False
        grid.columns[0].width = Pt(available)
        for row in grid.rows:
            _cant_split(row._tr)
            row.cells[0].width = Pt(available)
        _repeat_header(grid.rows[0])
        self.cell_para(
            grid.rows[0].cells[0],
            f"Validation du bilan annuel des relogements {r.year} par la commission de coordination"
            + self.action_of("bilan_relogements"),
            CELL_HEADER_STYLE,
            first=True,
        )
        cell = grid.rows[1].cells[0]
        lines = [
            "Séance du ____ / ____ / ________",
            "Décision :   ☐ bilan validé     ☐ validé avec réserves     ☐ ajourné",
            "Observations et réserves :",
            "",
            "",
            "Pour la commission, nom, qualité et signature :",
            "",
        ]
        for i, line in enumerate(lines):
            p = self.cell_para(cell, line, "Normal", first=i == 0)
            p.paragraph_format.space_after = Pt(4)

    # Annexe 1: the annual rehousing bilan ---------------------------------------------------

    def annex_1(self) -> None:
        self.annex_heading(1)
        self.heading("Avancement du programme", 2)
        self.table(self.shown(self.tables["avancement"]), chart=False)
        self.picture("avancement")
        self.heading("Critères de qualité de la charte", 2)
        self.para(
            f"Critères locaux de qualité des relogements fixés par la charte{self.action_of('criteres_relogement')} : "
            "relogement hors QPV, hors du "
            "quartier d'origine, dans un logement social neuf ou conventionné depuis moins de 5 ans, et maîtrise du reste "
            f"à charge. Règle du reste à charge retenue : {rule_text(self.c)}."
        )
        for key in ("annee", "cumul"):
            self.table(self.shown(self.tables[key]), chart=False)
            self.picture(key)
        self.heading("Reste à charge", 2)
        self.rest_to_pay_table()
        self.heading("Sources et méthode", 2)
        self.sources()

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
            "ecart": "–" if gap is None else _signed_euros(gap),
        }

    def sources(self) -> None:
        r = self.r
        used = join([r.partner_names[p] for p in r.returns_used]) or "aucun"
        missing = [r.partner_names[p] for p in r.returns_expected if p not in r.returns_used]
        self.para(
            f"Retours {r.year} utilisés (feuille « Relogements NPNRU ») : {used}."
            + (f" Sans retour utilisable : {join(missing)}." if missing else "")
        )
        self.para(
            f"Chaque ménage garde son identifiant d'une année à l'autre : tous les retours de {r.first_year} à {r.year} "
            "sont lus, et la situation d'un ménage est celle du dernier retour où il figure. Un relogement compte dans "
            "l'année de sa date de relogement."
        )
        if r.stale:
            many = self.many(len(r.stale))
            self.para(
                f"{self.households(len(r.stale))} en cours à leur dernier retour "
                f"{'n’apparaissent' if many else 'n’apparaît'} dans aucun retour {r.year} utilisé : "
                f"{'ils forment' if many else 'il forme'} un groupe à part (situation non actualisée), compté ni en "
                "cours ni bloqué" + ("." if self.public else " ; leur liste est à la fin de l'annexe 3."),
                NOTE_STYLE,
            )
        if r.earlier_gaps:
            self.para(
                f"Retours des années précédentes écartés ou manquants (les cumuls depuis {r.first_year} ne comptent que "
                "les retours utilisés) : "
                + join(
                    [
                        f"{rs.year} : {r.partner_names.get(rs.partner, rs.partner)} "
                        + ("(écarté)" if rs.state == "ecarte" else "(manquant)")
                        for rs in r.earlier_gaps
                    ]
                )
                + ".",
                NOTE_STYLE,
            )
        if r.duplicates and not self.public:
            self.para(
                "Ménages déclarés par deux partenaires la même année (la ligne du premier est retenue) : "
                + join([f"{d.id} ({d.year})" for d in r.duplicates])
                + ".",
                NOTE_STYLE,
            )
        if r.unknown_operation:
            n = len(r.unknown_operation)
            many = self.many(n)
            self.para(
                f"{self.households(n)} {'rattachés' if many else 'rattaché'} à une opération absente de la charte "
                f"{'ne sont comptés' if many else 'n’est compté'} dans aucun indicateur.",
                NOTE_STYLE,
            )
        self.para(
            "Relogements et objectifs de la convention : un ménage relogé dans le parc social avec un bail signé dans "
            "l'année figure aussi dans la feuille « Attributions » du bailleur (colonne « Relogé NPNRU » à « Oui », "
            "quelle que soit sa catégorie prioritaire) ; relogé hors QPV, il compte au numérateur de l'objectif hors "
            "QPV du bilan annuel de la convention.",
            NOTE_STYLE,
        )

    # Annexe 2: the blocked cases -----------------------------------------------------------

    def annex_2(self) -> None:
        r = self.r
        if self.public:
            self.annex_heading(2)
            self.para(
                f"Dossiers bloqués au 31 décembre {r.year} : {self.count(len(r.blocked))}. La commission de "
                "coordination examine chaque dossier sur la version de travail de ces annexes (diffusion restreinte) ; "
                "aucun ménage n'est décrit ici."
            )
            commission_section(self)
            return
        table = blocked_table(r)
        # Landscape when there are cases: the commission's column needs room to write in.
        self.annex_heading(2, landscape=bool(table.rows))
        self.para(
            f"Cas que la commission de coordination examine{self.action_of('dossiers_bloques')} : le partenaire qui "
            "suit le ménage n'a pas trouvé "
            "de solution satisfaisante. Pour chaque dossier : ce qui bloque, les propositions déjà faites et refusées. "
            "La dernière colonne reprend les décisions déjà prises et se complète en séance ; la décision est reportée "
            f"au relevé de décisions de la commission, le classeur commission-{r.year}.xlsx écrit à côté de ces "
            "annexes, et le partenaire en rend compte dans son retour suivant."
        )
        self.table(table, chart=False)
        if table.rows:
            self.decision_room(table)
        commission_section(self)
        earlier = [h for h in r.stale if h.get("bloque") == "OUI"]
        if earlier:
            names = r.partner_names
            self.para(
                f"Dossiers marqués bloqués dans un retour antérieur, sans situation {r.year} connue (ils ne sont pas "
                "comptés ci-dessus ; à vérifier auprès du partenaire) :"
            )
            for h in earlier:
                self.para(
                    f"{h.id} (bloqué au {_short_date(dt.date(h.year, 12, 31))}, retour {h.year} de "
                    f"{names.get(h.partner, h.partner)} ; {h.stale.reason(names) if h.stale else ''}).",
                    "List Bullet",
                )

    def decision_room(self, table: IndicatorTable) -> None:
        """The commission's column as wide as `DECISION_WIDTH_CM`, the others fitted to their
        content in the room left, and every case row tall enough to write in."""
        grid = self.doc.tables[-1]
        cols = [c for c in table.columns if c.visible]
        texts = self._texts(table, cols)
        available = Emu(self.available_width()).pt
        decision = Cm(DECISION_WIDTH_CM).pt
        need, _ = _column_needs(cols, texts, TABLE_FONT_PT)
        decision = max(decision, need[-1])
        widths = fit_columns(cols[:-1], [row[:-1] for row in texts], available - decision, TABLE_FONT_PT)
        if widths is None:
            return  # no room: the table keeps the widths its content asked for
        widths.append(decision)
        for column, width in zip(grid.columns, widths, strict=True):
            column.width = Pt(width)
        for i, row in enumerate(grid.rows):
            for cell, width in zip(row.cells, widths, strict=True):
                cell.width = Pt(width)
            if i:
                _min_height(row._tr, DECISION_ROW_CM)

    # Annexe 3: the follow-up of each household ----------------------------------------------

    def annex_3(self) -> None:
        r = self.r
        if self.public:
            self.annex_heading(3, new_page=False)
            self.table(public_statuses(r, self.rows or r.operations, self.threshold), chart=False)
            return
        self.annex_heading(3, landscape=True)
        self.para(
            "Un ménage par ligne, sous son identifiant pseudonyme (jamais de nom ni d'adresse), dans l'état du dernier "
            f"retour utilisé où il figure (au plus tard {r.year}), au 31 décembre de l'année de ce retour (colonne "
            "« Suivi par »). Reste à charge : loyer + charges − aide au logement, par mois. Toutes les colonnes des "
            f"retours figurent dans le classeur de consolidation {r.year} (feuille « Données relogements »)."
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
            found = by_op.get(code, [])
            if not found:
                self.para("Aucun ménage déclaré pour cette opération.", NOTE_STYLE)
                continue
            self.households_of(code, found)
        if by_op.get(None):
            self.heading("Opération non reconnue", 2, landscape=True)
            self.households_of("hors charte", by_op[None])
        if r.stale:
            self.heading(f"Situation non actualisée en {r.year}", 2, landscape=True)
            self.para(
                f"Ménages en cours à leur dernier retour utilisé, qu'aucun retour {r.year} utilisé ne mentionne : leur "
                f"situation {r.year} n'est pas connue. Ils sont montrés dans leur dernier état, à sa date et avec le "
                f"retour dont il vient ; ils ne sont comptés ni en cours ni bloqués en {r.year}."
            )
            self.table(stale_table(r), chart=False)

    def households_of(self, operation: str, found: list[Household]) -> None:
        """One operation's households in two tables, the rehoused and the others; an origin
        shared by every household of a table is said once, under it."""
        r = self.r
        rehoused = [h for h in found if h.rehoused]
        others = [h for h in found if not h.rehoused]
        for table, group, title in (
            (rehoused_table(r, rehoused), rehoused, "ménages relogés définitivement"),
            (ongoing_table(r, others), others, "ménages en cours, partis ou autre"),
        ):
            if not group:
                continue
            table.title = f"{operation} : {title} ({frformat.integer(len(group))})"
            origins = {row["origine"] for row in table.rows}
            if len(origins) == 1:
                table.columns = [
                    dataclasses.replace(c, visible=False) if c.key == "origine" else c for c in table.columns
                ]
                table.note = f"Logement d'origine de chacun de ces ménages : {origins.pop()}."
            self.table(table, chart=False)
