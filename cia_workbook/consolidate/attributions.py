"""The indicator tables of one year's attributions: each a few measures over the campaign frame.

A measure is a flag expression (see `frames`), counted per bailleur, per contingent, per
sector…; the tables give those counts their labels and the rates their columns define
(`tables.with_rates`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from cia_workbook.consolidate.frames import (  # fmt: skip
    BAIL,
    CAL,
    DALO,
    EMPLOYED_NR,
    EMPLOYED_YES,
    FAMILY_NR,
    FAMILY_YES,
    HORS,
    IN_YEAR,
    INQ,
    MUTATION_NR,
    MUTATION_YES,
    OUT_QPV,
    PARTNER,
    Q1U,
    Q234,
    REFUS,
    ROWS,
    UNKNOWN,
    YOUNG_AGE,
    YOUNG_NR,
    YOUNG_YES,
    campaign_frame,
    counts,
)
from cia_workbook.consolidate.tables import (
    FAMILY_COMMUNE,
    Block,
    Col,
    IndicatorTable,
    Rate,
    fraction,
    with_rates,
)
from cia_workbook.convention.settings import Convention
from cia_workbook.intake.model import Campaign
from cia_workbook.schema.codes import HORS_QPV
from cia_workbook.schema.sheets import PATRIMOINE

TERRITORY = "territoire"
TERRITORY_LABEL = "Territoire"

# (objective code, column prefix, short label) of the tables with one group of columns per objective.
OBJECTIVE_COLUMNS = (
    ("hors_qpv_q1", "hq", "1er quartile hors QPV"),
    ("qpv_q234", "qpv", "Quartiles 2-4 en QPV"),
    ("publics_prioritaires", "pp", "Publics prioritaires"),
)


@dataclass(frozen=True)
class ZoneWords:
    """The QPV and the convention's local zones, as sentences and headers name them."""

    outside: str  # « hors QPV et hors Quartier des Promelles »
    inside: str  # « en QPV ou dans le quartier des Promelles »
    inside_short: str  # « en QPV ou Quartier des Promelles » (column headers)
    names: str  # « Quartier des Promelles »


def zone_words(convention: Convention) -> ZoneWords:
    zones = convention.local_zones
    names = " et ".join(z.name for z in zones)
    if not zones:
        return ZoneWords("hors QPV", "en QPV", "en QPV", "")
    return ZoneWords(
        "hors QPV" + "".join(f" et hors {z.name}" for z in zones),
        "en QPV ou " + " ou ".join(z.inside for z in zones),
        "en QPV ou " + " ou ".join(z.name for z in zones),
        names,
    )


def objective_names(convention: Convention) -> dict[str, str]:
    """Objective code → its short name, with the local zones named (titles, headers, charts)."""
    z = zone_words(convention)
    return {
        "hors_qpv_q1": f"1er quartile ou relogés NPNRU, baux signés {z.outside}",
        "qpv_q234": f"Quartiles 2 à 4, attributions prononcées {z.inside_short}",
        "publics_prioritaires": "Publics prioritaires, baux signés sur le contingent",
    }


@dataclass
class Year:
    """What every table of the year is computed from: the flagged attribution frame and its scopes."""

    convention: Convention
    year: int
    campaign: Campaign
    frame: pl.DataFrame
    bailleurs: list[str]  # ids of the bailleurs whose return is used, in the convention's order
    names: dict[str, str]
    z: ZoneWords = field(init=False)

    def __post_init__(self) -> None:
        self.z = zone_words(self.convention)

    def by_scope(self, label: str, **measures: pl.Expr) -> list[dict[str, Any]]:
        """One row per bailleur, then the territory's, each measure counted on its rows."""
        per = counts(self.frame, measures, PARTNER, self.bailleurs)
        rows = [{label: self.names[b], **per[b]} for b in self.bailleurs]
        return rows + [{label: TERRITORY_LABEL, **counts(self.frame, measures)}]


def table(key: str, section: str, title: str, cols: list[Col], rows: list[dict], **kw: Any) -> IndicatorTable:
    return IndicatorTable(key, section, title, cols, with_rates(cols, rows), **kw)


def objective_tables(y: Year, objectives: dict[str, dict[str, Rate]]) -> list[IndicatorTable]:
    tables = []
    names = objective_names(y.convention)
    for code in objectives:
        quartile = code != "publics_prioritaires"
        cols = [
            Col("perimetre", "Bailleur", "text"),
            Col("univers", "Baux signés" if code != "qpv_q234" else "Attributions prononcées"),
            Col("menages", "Ménages visés"),
            *([Col("inconnu", "Dont quartile inconnu (au dénominateur)")] if quartile else []),
            Col("taux", "Taux", "rate", of=("menages", "univers")),
            Col("cible", "Cible", "target"),
            Col("statut", "Objectif", "status", of=("menages", "univers")),
        ]
        rows = []
        for scope, rate in objectives[code].items():
            row = {
                "perimetre": TERRITORY_LABEL if scope == TERRITORY else y.names[scope],
                "univers": rate.denominator,
                "menages": rate.numerator,
                "taux": rate.value,
                "cible": fraction(rate.target),
                "statut": rate.status,
            }
            rows.append(row | ({"inconnu": rate.unknown} if quartile else {}))
        tables.append(
            table(
                f"objectif_{code}",
                f"objectif_{code}",
                y.convention.objective(code).label,
                cols,
                rows,
                total_row=True,
                chart=("taux", "cible"),
                chart_title=f"{names[code]} : taux par bailleur et cible {y.year}",
                note=_objective_notes(y.z)[code],
                blocks=(Block("univers", ("menages",), ("inconnu",) if quartile else ()),),
            )
        )
    return tables


def dalo(y: Year) -> IndicatorTable:
    cols = [
        Col("perimetre", "Bailleur", "text"),
        Col("dalo", "Ménages DALO relogés (baux signés)"),
        Col("hors_qpv", "Dont hors QPV"),
        Col("part", "Part hors QPV", "rate", of=("hors_qpv", "dalo")),
    ]
    return table(
        "dalo",
        "dalo",
        "Ménages reconnus DALO relogés et part relogée hors QPV",
        cols,
        y.by_scope("perimetre", dalo=BAIL & DALO, hors_qpv=BAIL & DALO & OUT_QPV),
        total_row=True,
        note="Hors QPV : logement situé hors de tout quartier prioritaire de la géographie en vigueur"
        + (f" ({y.z.names} n'est pas un QPV)." if y.z.names else "."),
        blocks=(Block("dalo", ("hors_qpv",)),),
    )


# Counted in each quarter (QPV or local zone) of the zoom by quarter.
SECTOR = {"prononcees": CAL, "q234": CAL & Q234, "inconnu": CAL & UNKNOWN, "baux": BAIL, "refus": CAL & REFUS}


def zoom_qpv(y: Year) -> IndicatorTable:
    geo = y.convention.geography(y.year)
    cols = [
        Col("secteur", "Quartier", "text"),
        Col("prononcees", "Attributions prononcées"),
        Col("q234", "Dont quartiles 2 à 4"),
        Col("inconnu", "Dont quartile inconnu"),
        Col("taux", "Taux quartiles 2 à 4", "rate", of=("q234", "prononcees")),
        Col("cible", "Cible", "target"),
        Col("baux", "Baux signés"),
        Col("refus", "Refus"),
    ]
    target = fraction(y.convention.target("qpv_q234", y.year))
    by_qpv = counts(y.frame, SECTOR, "qpv", [q.code for q in geo.qpvs])
    zones = y.convention.local_zones
    by_zone = counts(y.frame.lazy().filter(OUT_QPV), SECTOR, "zone_locale", [z.code for z in zones])
    rows = [{"secteur": f"{q.name} ({q.code})", **by_qpv[q.code]} for q in geo.qpvs]
    rows += [{"secteur": z.name, **by_zone[z.code]} for z in zones]
    everywhere = "Ensemble des QPV" + (f" et {y.z.names}" if y.z.names else "")
    rows.append({"secteur": everywhere, **counts(y.frame.lazy().filter(INQ), SECTOR)})
    return table(
        "zoom_qpv",
        "zooms",
        "Attributions prononcées par QPV" + (f" et {y.z.names}" if y.z.names else "") + f" ({geo.label})",
        cols,
        [row | {"cible": target} for row in rows],
        total_row=True,
        chart=("taux", "cible"),
        chart_title="Part des quartiles 2 à 4 dans les attributions prononcées, par quartier",
    )


# Counted in each area (a zoom's communes, a commune).
AREA = {
    "prononcees": CAL,
    "baux": BAIL,
    "qpv_prononcees": CAL & INQ,
    "q234": CAL & INQ & Q234,
    "hors_baux": BAIL & HORS,
    "q1": BAIL & HORS & Q1U,
}


def _area_columns(y: Year, first: Col) -> list[Col]:
    return [
        first,
        Col("prononcees", "Attributions prononcées"),
        Col("baux", "Baux signés"),
        Col("qpv_prononcees", f"Prononcées {y.z.inside_short}"),
        Col("q234", "Dont quartiles 2 à 4"),
        Col("taux_q234", "Taux quartiles 2 à 4", "rate", of=("q234", "qpv_prononcees")),
        Col("hors_baux", f"Baux signés {y.z.outside}"),
        Col("q1", "Dont 1er quartile ou NPNRU"),
        Col("taux_q1", "Taux 1er quartile hors QPV", "rate", of=("q1", "hors_baux")),
    ]


def zooms(y: Year) -> IndicatorTable:
    rows = [
        {"secteur": zoom.name, **counts(y.frame.lazy().filter(pl.col("commune").is_in(zoom.communes)), AREA)}
        for zoom in y.convention.zooms
    ]
    return table(
        "zooms",
        "zooms",
        "Zooms par secteur examinés par la commission de coordination",
        _area_columns(y, Col("secteur", "Secteur", "text")),
        rows,
        note="Chaque zoom regroupe les communes indiquées dans le fichier de convention ; une commune peut figurer dans plusieurs zooms.",
    )


def communes(y: Year) -> IndicatorTable:
    members = y.convention.epci.communes
    by_commune = counts(y.frame, AREA | {"_lignes": ROWS}, "commune", [c.insee for c in members])
    rows = []
    for commune in members:
        n = by_commune[commune.insee]
        if n.pop("_lignes"):
            # In public, a commune is grouped when either of its counts is small.
            volume = min((v for v in (n["prononcees"], n["baux"]) if v), default=0)
            rows.append(
                {
                    "commune": f"{commune.name} ({commune.insee})",
                    **n,
                    "famille": FAMILY_COMMUNE,
                    "_volume": volume,
                }
            )
    rows.append({"commune": "Ensemble des communes", **counts(y.frame, AREA)})
    return table(
        "communes",
        "annexes",
        "Attributions par commune",
        _area_columns(y, Col("commune", "Commune", "text")),
        rows,
        total_row=True,
        note="Seules les communes ayant au moins une attribution ou un bail dans les retours figurent ici.",
        blocks=(Block("_volume", counts=tuple(AREA)),),
        family="famille",
        drop_grouped=True,
    )


def qpv_publics(y: Year) -> IndicatorTable:
    cols = [Col("secteur", "Secteur", "text"), Col("prononcees", "Attributions prononcées")]
    profile = (
        ("jeunes", f"Jeunes (titulaire de moins de {YOUNG_AGE} ans)", "Jeunes", YOUNG_YES, YOUNG_NR),
        ("familles", "Familles (au moins un enfant de moins de 14 ans)", "Familles", FAMILY_YES, FAMILY_NR),
        ("emploi", "Ménages en emploi", "En emploi", EMPLOYED_YES, EMPLOYED_NR),
    )
    measures = {"prononcees": ROWS}
    for key, label, short, yes, not_filled in profile:
        cols += [
            Col(key, label),
            Col(f"{key}_part", f"{short} : part", "rate", of=(key, "prononcees")),
            Col(f"{key}_nr", f"{short} : non renseigné"),
        ]
        measures |= {key: yes, f"{key}_nr": not_filled}
    decided = y.frame.lazy().filter(CAL)
    rows = [
        {"secteur": label, **counts(decided.filter(where), measures)}
        for label, where in (
            (_capital(y.z.inside), INQ),
            (_capital(y.z.outside), HORS),
            ("Ensemble", pl.lit(True)),
        )
    ]
    return table(
        "publics_qpv",
        "actions",
        "Profil des ménages des attributions prononcées, en QPV et hors QPV",
        cols,
        rows,
        total_row=True,
        note=(
            f"Jeune ménage : titulaire de moins de {YOUNG_AGE} ans à la date de la CAL. Famille : ménage comptant au moins "
            "un enfant de moins de 14 ans. Ménage en emploi : titulaire salarié, indépendant ou apprenti. "
            "Les ménages non renseignés restent au dénominateur."
        ),
    )


def refusals(y: Year) -> IndicatorTable:
    cols = [
        Col("perimetre", "Bailleur", "text"),
        Col("qpv_dec", f"Décisions CAL {y.z.inside_short}"),
        Col("qpv_refus", "Refus en QPV"),
        Col("qpv_taux", "Taux de refus en QPV", "rate", of=("qpv_refus", "qpv_dec")),
        Col("hors_dec", "Décisions CAL hors QPV"),
        Col("hors_refus", "Refus hors QPV"),
        Col("hors_taux", "Taux de refus hors QPV", "rate", of=("hors_refus", "hors_dec")),
    ]
    rows = y.by_scope(
        "perimetre",
        qpv_dec=CAL & INQ,
        qpv_refus=CAL & INQ & REFUS,
        hors_dec=CAL & HORS,
        hors_refus=CAL & HORS & REFUS,
    )
    return table(
        "refus",
        "actions",
        "Refus des ménages parmi les attributions prononcées, en QPV et hors QPV",
        cols,
        rows,
        total_row=True,
        blocks=(Block("qpv_dec", ("qpv_refus",)), Block("hors_dec", ("hors_refus",))),
    )


def vacancy(y: Year) -> IndicatorTable:
    cols = [
        Col("perimetre", "Bailleur", "text"),
        Col("logements", "Logements", "count"),
        Col("vacants", "Vacants", "count"),
        Col("taux", "Taux de vacance", "rate", of=("vacants", "logements")),
        Col("vacants_3_mois", "Vacants depuis plus de 3 mois", "count"),
        Col("taux_3_mois", "Taux de vacance de plus de 3 mois", "rate", of=("vacants_3_mois", "logements")),
        Col("qpv_logements", f"Logements {y.z.inside_short}", "count"),
        Col("qpv_vacants", f"Vacants {y.z.inside_short}", "count"),
        Col("qpv_taux", "Taux de vacance en QPV", "rate", of=("qpv_vacants", "qpv_logements")),
    ]
    # Dwellings are not households, but a small count of vacant dwellings in a public table
    # is masked all the same: one simple rule for the reader ("no figure from 1 to 10").
    in_qpv = pl.col("secteur").is_not_null() & (pl.col("secteur") != HORS_QPV)
    logements, vacants = pl.col("logements"), pl.col("vacants")
    measures = {
        "logements": logements,
        "vacants": vacants,
        "vacants_3_mois": pl.col("vacants_3_mois"),
        "qpv_logements": logements.filter(in_qpv),
        "qpv_vacants": vacants.filter(in_qpv),
    }
    usable = y.campaign.usable()
    frame = campaign_frame(y.campaign, "patrimoine", PATRIMOINE)
    with_stock = [b for b in y.bailleurs if "patrimoine" in usable[b].tables]
    per = counts(frame, measures, PARTNER, with_stock)
    rows = [{"perimetre": y.names[b], **per[b]} for b in with_stock]
    rows.append({"perimetre": TERRITORY_LABEL, **counts(frame, measures)})
    return table(
        "vacance",
        "actions",
        "Vacance au 31 décembre (feuilles Patrimoine des bailleurs)",
        cols,
        rows,
        total_row=True,
        blocks=(Block("logements", ("vacants", "vacants_3_mois")), Block("qpv_logements", ("qpv_vacants",))),
    )


def mutations(y: Year) -> IndicatorTable:
    cols = [
        Col("perimetre", "Bailleur", "text"),
        Col("baux", "Baux signés"),
        Col("mutations", "Dont mutations internes"),
        Col("taux", "Part des mutations", "rate", of=("mutations", "baux")),
        Col("nr", "Non renseigné"),
    ]
    rows = y.by_scope("perimetre", baux=BAIL, mutations=BAIL & MUTATION_YES, nr=BAIL & MUTATION_NR)
    return table(
        "mutations",
        "actions",
        "Mutations internes parmi les baux signés",
        cols,
        rows,
        total_row=True,
        blocks=(Block("baux", ("mutations",), ("nr",)),),
    )


def objective_columns(first: Col, shown: bool = True, target: bool = False, status: bool = True) -> list[Col]:
    """`first`, then per objective: households, universe (`shown` or kept for masking only), rate,
    target and met / close / not met, each when asked."""
    cols = [first]
    for _code, short, label in OBJECTIVE_COLUMNS:
        of = (f"{short}_num", f"{short}_den")
        cols += [
            Col(of[0], f"{label} : ménages", visible=shown),
            Col(of[1], f"{label} : univers", visible=shown),
            Col(f"{short}_taux", f"{label} : taux", "rate", of=of),
            *([Col(f"{short}_cible", f"{label} : cible", "target")] if target else []),
            *([Col(f"{short}_statut", f"{label} : objectif", "status", of=of)] if status else []),
        ]
    return cols


def rate_cells(rates: dict[str, Rate]) -> dict[str, Any]:
    """The cells of the three objectives' rates, columns named by `OBJECTIVE_COLUMNS`."""
    out: dict[str, Any] = {}
    for code, short, _label in OBJECTIVE_COLUMNS:
        r = rates[code]
        out |= {f"{short}_num": r.numerator, f"{short}_den": r.denominator, f"{short}_taux": r.value,
                f"{short}_statut": r.status}  # fmt: skip
    return out


OBJECTIVE_BLOCKS = tuple(Block(f"{short}_den", (f"{short}_num",)) for _c, short, _l in OBJECTIVE_COLUMNS)


def quality(y: Year) -> IndicatorTable:
    cols = [
        Col("perimetre", "Bailleur", "text"),
        Col("lignes", "Lignes utilisées"),
        Col("hors_annee", "Lignes sans décision ni bail dans l'année"),
        Col("inconnu", "Quartile inconnu (décision ou bail dans l'année)"),
        Col("part_inconnu", "Part de quartiles inconnus", "rate", of=("inconnu", "dans_annee")),
        Col("dans_annee", "Lignes de l'année"),
    ]
    rows = y.by_scope(
        "perimetre", lignes=ROWS, hors_annee=~IN_YEAR, inconnu=IN_YEAR & UNKNOWN, dans_annee=IN_YEAR
    )
    return table(
        "qualite",
        "qualite",
        "Qualité des données des bailleurs",
        cols,
        rows,
        total_row=True,
        blocks=(Block("dans_annee", ("inconnu",), ("lignes", "hors_annee")),),
    )


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _objective_notes(z: ZoneWords) -> dict[str, str]:
    return {
        "hors_qpv_q1": (
            f"Univers : attributions suivies d'un bail signé dans l'année, logement {z.outside}. "
            "Ménages visés : 1er quartile ou relogés dans le cadre du NPNRU, quelle que soit leur catégorie "
            "prioritaire (comptés une fois). "
            "Les ménages au quartile inconnu restent au dénominateur et ne sont jamais comptés au 1er quartile."
        ),
        "qpv_q234": (
            "Univers : attributions prononcées (décision de CAL dans l'année, quelle qu'en soit la suite), logement "
            f"{z.inside}. Ménages visés : quartiles 2, 3 et 4. Les quartiles inconnus restent au dénominateur."
        ),
        "publics_prioritaires": (
            "Univers : attributions suivies d'un bail signé dans l'année sur le contingent propre du bailleur "
            "(non réservé). Ménages visés : publics prioritaires de l'article L. 441-1 du CCH."
        ),
    }
