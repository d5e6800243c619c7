"""The tables of the charter's annexes, as plain data (`IndicatorTable`, shared with the tests):
the follow-up of each household (rehoused, in progress, not updated), the households per
operation and status for the public version (operations grouped where a count would be masked),
the blocked cases and the charter's criteria as the public version publishes them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from babel.dates import format_date

from cia_workbook.consolidate import SECRET, Col, IndicatorTable
from cia_workbook.consolidate.rehousing import (
    IN_PROGRESS,
    STATUS_LABELS,
    Household,
    Progress,
    RehousingBilan,
    destination_label,
    origin_label,
)
from cia_workbook.consolidate.rehousing_tables import progress_table
from cia_workbook.render import frformat
from cia_workbook.render.typography import NBSP
from cia_workbook.schema.sheets import BLOCKING_REASONS

YES_NO = {"OUI": "Oui", "NON": "Non", None: "–"}
# The public version's statuses, grouped so that small counts keep a meaning (in progress,
# left), each column a part of the households followed.
STATUS_GROUPS = (
    ("en_cours", "En cours (à reloger, proposition faite, relogé temporairement)", IN_PROGRESS),
    ("reloges", "Relogés définitivement", ("RELOGE_DEFINITIF",)),
    ("sortis", "Partis hors partenariat ou autre", ("PARTI", "AUTRE")),
)


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
            "rac_apres": euros(h.rest_to_pay("destination")),
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
                + (f", depuis le {short_date(h.rehoused_on)}" if h.rehoused_on else "")
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
        "entree": short_date(h.entered_on),
        "relogement": short_date(h.rehoused_on),
        "origine": _place(origin_label(h, names), h.get("origine_commune"), h.get("origine_qpv"), r),
        "rac_avant": euros(h.rest_to_pay("origine")),
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
            "au": short_date(dt.date(h.year, 12, 31)),
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
            "entree": short_date(h.entered_on),
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


def short_date(value: dt.date | None) -> str:
    """« 23/10/2020 »: the long form of the bilan would make the follow-up table twice as tall."""
    return "–" if value is None else format_date(value, format="short", locale=frformat.LOCALE)


def _flip(value: str | None) -> str | None:
    return {"OUI": "NON", "NON": "OUI"}.get(value) if value is not None else None


def euros(value: float | None) -> str:
    return "–" if value is None else frformat.euros(value)


def signed_euros(value: float) -> str:
    """« +12 € », « −30 € » (the typographic minus sign)."""
    text = frformat.euros(abs(value))
    return ("+" if value > 0 else "\u2212" if value < 0 else "") + text


def _int(value: Any) -> str:
    return "–" if value is None else frformat.integer(value)


def _months(start: dt.date | None, end: dt.date) -> int | None:
    if start is None:
        return None
    return max((end.year - start.year) * 12 + end.month - start.month, 0)
