"""The Synthèse sheet of a bailleur's template: its three objectives computed live from its
Attributions sheet (formulas of `synthese.py`) against the year's targets, beside the rates of
its validated return of the year before (or why there is none), and the convention's definitions.
"""

from __future__ import annotations

from babel.dates import format_date

from cia_workbook.consolidate import Rate, objective_rates
from cia_workbook.convention.settings import OBJECTIVE_CODES, Convention
from cia_workbook.intake.model import ReturnFile
from cia_workbook.partners import sheet_layout as layout
from cia_workbook.partners.synthese import objective_formulas, range_names
from cia_workbook.partners.template_sheets import LOCALE, Template, header_height
from cia_workbook.schema.sheets import Sheet

# Synthèse layout, read back by the tests: one row per objective from SYNTHESE_FIRST_ROW.
SYNTHESE_HEADER_ROW = 4
SYNTHESE_FIRST_ROW = 5
# The minimal widths of its columns (objective, then the figures of the year and the year before).
WIDTHS = (46, 12, 14, 10, 10, 10, 16, 14, 10, 12, 12, 10)


def previous_rates(
    previous_return: ReturnFile | None, convention: Convention, year: int
) -> dict[str, Rate] | None:
    """The previous year's objectives of a bailleur from its validated return, or None."""
    if previous_return is None or "attributions" not in previous_return.tables:
        return None
    return objective_rates(convention, previous_return.tables["attributions"], year - 1)


def write_synthese(t: Template, ws, sheet: Sheet) -> None:
    year = t.year
    headers = (
        "Objectif",
        f"Numérateur {year}",
        f"Univers {year} (dénominateur)",
        f"Taux {year}",
        f"Cible {year}",
        "Écart (points)",
        "Situation",
        "Dont quartile inconnu (dans l'univers)",
        f"Taux {year - 1}",
        f"Numérateur {year - 1}",
        f"Univers {year - 1}",
        f"Cible {year - 1}",
    )
    widths = [max(w, layout.word_width(h, bold=True)) for w, h in zip(WIDTHS, headers, strict=True)]
    for col, width in enumerate(widths):
        ws.set_column(col, col, width)
    ws.write_string(0, 0, f"Synthèse {year} – {t.partner.name}", t.f.title)
    ws.set_row(0, layout.row_height([], 14))
    hint = f"{sheet.purpose} Calcul à partir de la feuille « Attributions »."
    ws.merge_range(1, 0, 1, len(widths) - 1, hint, t.f.hint)
    ws.set_row(1, layout.row_height([(hint, sum(widths))]))
    hr = SYNTHESE_HEADER_ROW - 1
    ws.set_row(hr, header_height(list(zip(headers, widths, strict=True))))
    for col, text in enumerate(headers):
        ws.write_string(hr, col, text, t.f.header_opt)
    for name, ref in range_names(t.schema).items():
        t.wb.define_name(name, ref)
    formulas = objective_formulas(t.schema, t.convention, year)
    before = previous_rates(t.previous_return, t.convention, year)
    for i, code in enumerate(OBJECTIVE_CODES):
        r = SYNTHESE_FIRST_ROW - 1 + i
        n = r + 1  # the row as Excel numbers it
        objective = t.convention.objective(code)
        f = formulas[code]
        ws.set_row(r, layout.row_height([(objective.label, widths[0])]))
        ws.write_string(r, 0, objective.label, t.f.table_cell)
        ws.write_formula(r, 1, f.numerator, t.f.count, 0)
        ws.write_formula(r, 2, f.universe, t.f.count, 0)
        ws.write_formula(r, 3, f'=IF(C{n}>0,B{n}/C{n},"")', t.f.percent, "")
        _rate(ws, r, 4, _target(t.convention, code, year), t.f.percent, t.f.percent)
        ws.write_formula(r, 5, f'=IF(OR(D{n}="",E{n}=""),"",(D{n}-E{n})*100)', t.f.points, "")
        ws.write_formula(
            r,
            6,
            f'=IF(D{n}="","Pas de données",IF(E{n}="","Sans cible",IF(D{n}>=E{n},"Atteint","Non atteint")))',
            t.f.table_cell,
            "Pas de données",
        )
        if f.unknown_quartile:
            ws.write_formula(r, 7, f.unknown_quartile, t.f.count, 0)
        else:
            ws.write_string(r, 7, "sans objet", t.f.table_cell)
        _previous_cells(t, ws, r, code, before)
    row = SYNTHESE_FIRST_ROW + len(OBJECTIVE_CODES)
    for note in [*_definitions(t.convention, year), _previous_note(t, before is not None)]:
        ws.merge_range(row, 0, row, len(widths) - 1, note, t.f.wrap)
        ws.set_row(row, layout.row_height([(note, sum(widths))]))
        row += 1
    ws.freeze_panes(SYNTHESE_HEADER_ROW, 1)
    t.print_page(ws)


def _target(convention: Convention, code: str, year: int) -> float | None:
    target = convention.target(code, year)
    return None if target is None else target / 100


def _rate(ws, r: int, col: int, value: float | None, fmt, blank_fmt) -> None:
    """A rate as a percentage, an empty text in `blank_fmt` without one."""
    if value is None:
        ws.write_string(r, col, "", blank_fmt)
    else:
        ws.write_number(r, col, value, fmt)


def _definitions(convention: Convention, year: int) -> list[str]:
    """The objectives as the convention defines them, under the table."""
    zones = " et ".join(z.name for z in convention.local_zones)
    outside = (
        f"hors QPV et hors zone locale ({zones} : colonne « Zone locale » à « Aucune »)"
        if zones
        else "hors QPV"
    )
    inside = f"en QPV ou dans une zone locale ({zones})" if zones else "en QPV"
    return [
        "Définitions (texte de la convention) :",
        f"1. Univers : baux signés en {year} (date de signature du bail dans l'année) pour des logements "
        f"{outside}. Numérateur : ménages du 1er quartile ou relogés "
        "dans le cadre du NPNRU (colonne « Relogé NPNRU », quelle que soit la catégorie, ou catégorie "
        "relogement NPNRU), comptés une seule fois.",
        f"2. Univers : attributions prononcées en {year} (date de décision CAL dans l'année) pour des "
        f"logements {inside}. Numérateur : ménages des quartiles 2, 3 et 4.",
        f"3. Univers : baux signés en {year} sur le contingent propre du bailleur. Numérateur : ménages "
        "d'une catégorie de publics prioritaires.",
        "Les ménages de quartile inconnu restent dans l'univers et ne comptent jamais comme 1er "
        "quartile : renseignez le quartile de chaque ménage.",
    ]


def _previous_note(t: Template, compared: bool) -> str:
    """What the previous-year columns rest on: which return, or why there is none."""
    last = t.year - 1
    if compared and t.previous_return is not None:
        rf = t.previous_return
        answered = (rf.forms.get("identification") or {}).get("date_reponse")
        when = f", réponse du {format_date(answered, format='dd/MM/yyyy', locale=LOCALE)}" if answered else ""
        return (
            f"Colonnes {last} : calculées par l'agglomération à partir de votre retour validé de {last} "
            f"({rf.name}{when})."
        )
    if t.previous_excluded is not None:
        return (
            f"Votre retour {last} ({t.previous_excluded.name}) a été écarté pour erreurs : pas de comparaison "
            f"avec {last}. Il n'est compté dans aucun chiffre de {last} tant qu'une version corrigée n'est pas reçue."
        )
    if t.previous_missing:
        return f"Aucun retour reçu de votre part pour {last} : pas de comparaison avec {last}."
    return f"Aucun retour validé pour {last} : pas de comparaison avec l'année précédente."


def _previous_cells(t: Template, ws, r: int, code: str, before: dict[str, Rate] | None) -> None:
    """The year before's rate, numerator and universe (empty without a return) and target."""
    _rate(ws, r, 11, _target(t.convention, code, t.year - 1), t.f.percent, t.f.table_cell)
    if before is None:
        for col in (8, 9, 10):
            ws.write_string(r, col, "", t.f.table_cell)
        return
    rate = before[code]
    _rate(ws, r, 8, rate.value, t.f.percent, t.f.table_cell)
    ws.write_number(r, 9, rate.numerator, t.f.count)
    ws.write_number(r, 10, rate.denominator, t.f.count)
