"""The households the convention names beside the objectives (issue 17, items 1 and 4).

Attention groups: « une attention particulière sera accordée aux personnes sans emploi, aux
familles nombreuses et aux personnes en situation de handicap et/ou âgées » — among the leases
signed in the year, per priority category and per contingent, the share of each group, the
households whose cell is not filled counted beside and kept in the universe.

Social mix in QPV (Action 5): the holder's age band, the household's composition and the
holder's employment among the attributions prononcées in QPV and outside, for every year of
the convention up to the bilan's.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from cia_workbook.consolidate.frames import (
    BAIL,
    CAL,
    HORS,
    INQ,
    OWN,
    ROWS,
    YOUNG_AGE,
    attribution_frame,
    counts,
)
from cia_workbook.consolidate.tables import Col, IndicatorTable, with_rates
from cia_workbook.convention.actions import AttentionGroups
from cia_workbook.convention.settings import Convention
from cia_workbook.intake.model import Campaign
from cia_workbook.schema.codes import CONTINGENT_OWN

DEFAULT = AttentionGroups()  # the thresholds of the social-mix bands when the convention sets none
ELDERLY_BAND_START = 50  # the band before the elderly one: 50 to 64 years with the default


@dataclass(frozen=True)
class Group:
    key: str
    label: str  # column header of the count
    short: str  # of the share: « Sans emploi (part) »
    unknown_label: str  # of the rows not filled in: « Emploi non renseigné »
    yes: pl.Expr
    unknown: pl.Expr


def children_expr() -> pl.Expr:
    """Children of the household: its persons who are not adults; null when either is unknown."""
    return pl.col("taille_menage") - pl.col("nb_adultes")


def groups(attention: AttentionGroups) -> list[Group]:
    """The four groups of the convention, each a yes and an unknown expression over the row."""
    n, age = attention.large_family_children, attention.elderly_age
    c = pl.col
    known_children = children_expr().is_not_null()
    # Without the adults, a count of children under 14 that reaches the threshold is enough.
    large = pl.when(known_children).then(children_expr() >= n).otherwise(c("nb_moins_14") >= n)
    return [
        Group("sans_emploi", "Sans emploi", "Sans emploi (part)", "Emploi non renseigné",
              c("emploi") == "CHOMAGE", c("emploi").is_null() | (c("emploi") == "INCONNU")),
        Group("familles_nombreuses", f"Familles nombreuses ({n} enfants ou plus)", "Familles nombreuses (part)",
              "Composition non renseignée", large, ~large.fill_null(False) & ~known_children),
        Group("handicap", "Personne handicapée", "Personne handicapée (part)", "Handicap non renseigné",
              c("handicap") == "OUI", c("handicap").is_null() | (c("handicap") == "INCONNU")),
        Group("ages", f"Titulaire de {age} ans ou plus", f"{age} ans ou plus (part)", "Âge non renseigné",
              c("age_titulaire") >= age, c("age_titulaire").is_null()),
    ]  # fmt: skip


def _columns(first: Col, universe: Col, gs: list[Group]) -> list[Col]:
    cols = [first, universe]
    for g in gs:
        cols += [
            Col(g.key, g.label),
            Col(f"{g.key}_part", g.short, "rate", of=(g.key, universe.key)),
            Col(f"{g.key}_nr", g.unknown_label),
        ]
    return cols


def _measures(gs: list[Group]) -> dict[str, pl.Expr]:
    out: dict[str, pl.Expr] = {"baux": ROWS}
    for g in gs:
        out |= {g.key: g.yes.fill_null(False), f"{g.key}_nr": g.unknown.fill_null(False)}
    return out


ATTENTION_NOTE = (
    "Univers : attributions suivies d'un bail signé dans l'année. Sans emploi : titulaire demandeur d'emploi. "
    "Famille nombreuse : ménage comptant au moins {n} enfants (personnes du ménage autres que les adultes ; à défaut "
    "du nombre d'adultes, enfants de moins de 14 ans). Personne handicapée : colonne « Personne handicapée dans le "
    "ménage ». Âgé : titulaire de {age} ans ou plus à la date de la CAL. Un ménage peut relever de plusieurs "
    "groupes. Les ménages non renseignés restent au dénominateur : chaque part est une part de tous les baux signés "
    "de la ligne."
)


def attention_tables(convention: Convention, frame: pl.DataFrame) -> list[IndicatorTable]:
    """Per priority category, then per contingent: the attention groups among the leases signed."""
    attention = convention.attention
    if attention is None:
        return []
    gs = groups(attention)
    measures = _measures(gs)
    leased = frame.lazy().filter(BAIL)
    cats = convention.priority_categories
    by_cat = counts(leased, measures, "categorie", [c.code for c in cats])
    rows = [{"perimetre": c.label, **by_cat[c.code]} for c in cats]
    rows.append({"perimetre": "Ensemble des baux signés", **counts(leased, measures)})
    note = ATTENTION_NOTE.format(n=attention.large_family_children, age=attention.elderly_age)
    universe = Col("baux", "Baux signés")
    by_category = IndicatorTable(
        "attention_categories",
        "attention",
        "Publics appelant une attention particulière, par catégorie de public prioritaire (baux signés)",
        _columns(Col("perimetre", "Catégorie", "text"), universe, gs),
        with_rates(_columns(Col("perimetre", "Catégorie", "text"), universe, gs), rows),
        note=note + " Catégorie : la plus haute du ménage.",
        total_row=True,
    )
    # One line per contingent of the convention (the State's two), as the bailleurs code them.
    res = convention.contingents
    by_contingent = counts(leased, measures, "contingent", [CONTINGENT_OWN, *(c.code for c in res)])
    rows = [{"perimetre": "Contingent propre des bailleurs", **by_contingent[CONTINGENT_OWN]}]
    rows += [{"perimetre": c.label, **by_contingent[c.code]} for c in res]
    rows.append({"perimetre": "Tous contingents", **counts(leased, measures)})
    cols = _columns(Col("perimetre", "Contingent", "text"), universe, gs)
    by_res = IndicatorTable(
        "attention_contingents",
        "attention",
        "Publics appelant une attention particulière, par contingent (baux signés)",
        cols,
        with_rates(cols, rows),
        note=note,
        total_row=True,
    )
    return [by_category, by_res]


def own_share(frame: pl.DataFrame, attention: AttentionGroups) -> dict[str, int]:
    """The groups among the leases of the bailleurs' own contingent (the bilan's sentence)."""
    return counts(frame.lazy().filter(BAIL & OWN), _measures(groups(attention)))


# -- Social mix in QPV over the years --------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    key: str  # table key
    title: str
    bands: tuple[tuple[str, str, pl.Expr], ...]  # (key, header, expression)
    unknown: pl.Expr
    note: str


def profiles(convention: Convention) -> list[Profile]:
    elderly = (convention.attention or DEFAULT).elderly_age
    age = pl.col("age_titulaire")
    kids = children_expr()
    size, adults = pl.col("taille_menage"), pl.col("nb_adultes")
    job = pl.col("emploi")
    mid = min(ELDERLY_BAND_START, elderly - 1)
    return [
        Profile(
            "mixite_age",
            "Âge du titulaire",
            (
                ("age_jeune", f"Moins de {YOUNG_AGE} ans", age < YOUNG_AGE),
                ("age_30", f"{YOUNG_AGE} à {mid - 1} ans", (age >= YOUNG_AGE) & (age < mid)),
                ("age_50", f"{mid} à {elderly - 1} ans", (age >= mid) & (age < elderly)),
                ("age_age", f"{elderly} ans ou plus", age >= elderly),
            ),
            age.is_null(),
            "Âge du titulaire à la date de la CAL.",
        ),
        Profile(
            "mixite_composition",
            "Composition des ménages",
            (
                ("seul", "Personne seule", size == 1),
                ("sans_enfant", "Adultes sans enfant", (size >= 2) & (kids == 0)),
                ("monoparentale", "Famille monoparentale", (adults == 1) & (kids >= 1)),
                ("couple_enfants", "Deux adultes ou plus avec enfants", (adults >= 2) & (kids >= 1)),
            ),
            size.is_null() | ((size >= 2) & kids.is_null()),
            "Enfants : personnes du ménage autres que les adultes.",
        ),
        Profile(
            "mixite_emploi",
            "Situation d'emploi du titulaire",
            (
                ("emploi", "En emploi", job == "EMPLOI"),
                ("chomage", "Demandeur d'emploi", job == "CHOMAGE"),
                ("retraite", "Retraité", job == "RETRAITE"),
                ("autre", "Étudiant ou autre situation", job.is_in(["ETUDIANT", "AUTRE"])),
            ),
            job.is_null() | (job == "INCONNU"),
            "En emploi : salarié, indépendant ou apprenti.",
        ),
    ]


def social_mix_tables(
    convention: Convention,
    campaigns: dict[int, Campaign],
    year: int,
    frame: pl.DataFrame,
    inside: str,
    outside: str,
) -> list[IndicatorTable]:
    """Per profile, rows year × (in QPV, outside): the share of each band among the attributions
    prononcées, with the rows not filled in counted beside (and kept in the universe).
    `frame`: the bilan year's flagged frame; `inside`, `outside`: the sectors' words."""
    years = [t for t in sorted(campaigns) if t <= year and t in convention.years]
    frames = {t: frame if t == year else attribution_frame(convention, campaigns[t], t) for t in years}
    out = []
    for p in profiles(convention):
        measures: dict[str, pl.Expr] = {"prononcees": ROWS, "nr": p.unknown.fill_null(False)}
        measures |= {key: expr.fill_null(False) for key, _h, expr in p.bands}
        cols = [
            Col("annee", "Année", "text"),
            Col("secteur", "Secteur", "text"),
            Col("prononcees", "Attributions prononcées"),
        ]
        for key, header, _e in p.bands:
            cols += [
                Col(key, f"{header} : ménages", visible=False),
                Col(f"{key}_part", header, "rate", of=(key, "prononcees")),
            ]
        cols.append(Col("nr", "Non renseigné"))
        rows = []
        for t in years:
            decided = frames[t].lazy().filter(CAL)
            for label, where in ((inside, INQ), (outside, HORS)):
                rows.append({"annee": str(t), "secteur": label, **counts(decided.filter(where), measures)})
        out.append(
            IndicatorTable(
                p.key,
                "mixite",
                f"{p.title} dans les attributions prononcées, en QPV et hors QPV, depuis {years[0] if years else year}",
                cols,
                with_rates(cols, rows),
                note=f"Univers : attributions prononcées (décision de CAL dans l'année). {p.note} Les ménages non "
                "renseignés restent au dénominateur : les parts d'une ligne ne font pas toujours 100 %.",
            )
        )
    return out
