"""Synthetic partner returns for the demo and the benchmarks: plausible and deterministic.

The generator reads the one schema (columns, code lists) and the convention (partners,
geography, thresholds, categories); it produces what a partner would type in its workbook
(dropdown labels, dates, numbers), then `fill_workbook` writes it into a real template with
openpyxl, as a partner does in Excel. A few typical mistakes are injected on purpose so that
the demo shows the validation at work.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cia_workbook.convention.settings import Convention, Partner
from cia_workbook.fileio import atomic_path
from cia_workbook.partners.demo_rehousing import rehousing_rows
from cia_workbook.partners.demo_rows import bailleur_rows, contingent_rows, patrimoine_rows, reception_rows
from cia_workbook.partners.template_sheets import FilledReturn
from cia_workbook.schema.sheets import FORM_FIRST_ROW, WorkbookSchema, schema_for

# Who answers for each partner in the demo: invented people, e-mail addresses under the reserved
# top-level domain « .example » and telephone numbers from the range ARCEP sets aside for
# fiction (04 65 71 xx xx), so that no real person or line is ever named.
RESPONDENTS = ("Claire Martin", "Julien Roux", "Sophie Bernard", "Karim Haddad", "Élodie Fabre",
               "Thomas Garcia", "Nadia Benali", "Pierre Vidal", "Laure Chabert", "Mehdi Saïdi",
               "Anne Pélissier", "Yann Le Goff", "Isabelle Nguyen", "Romain Castan", "Hélène Bouvier")  # fmt: skip
RESPONDENT_ROLES = {"bailleur": "responsable des attributions", "reservataire": "responsable du contingent",
                    "operateur": "responsable du relogement"}  # fmt: skip


def generate_campaign(
    convention: Convention, year: int, seed: int = 2020, scale: float = 1.0, mistakes: bool = True
) -> list[FilledReturn]:
    """Every partner's filled return for `year` (as typed), deterministic for a seed."""
    rng = random.Random(f"{seed}-{year}")
    truth = {p.id: bailleur_rows(rng, convention, p, year, scale, seed) for p in convention.bailleurs}
    returns: list[FilledReturn] = []
    rehousing = rehousing_rows(convention, year, seed) if convention.rehousing is not None else {}
    for index, partner in enumerate(convention.partners):
        schema = schema_for(convention, partner.kind, year, partner.id)
        filled = FilledReturn(partner, year)
        filled.forms["identification"] = {
            "partenaire": partner.name,
            "annee": year,
            **_respondent(partner, index),
            "date_reponse": dt.date(year + 1, 2, 1 + rng.randrange(0, 27)),
            "commentaires": "Données de démonstration (synthétiques).",
        }
        if partner.is_bailleur:
            filled.tables["attributions"] = [dict(r) for r in truth[partner.id]]
            filled.tables["patrimoine"] = patrimoine_rows(rng, convention, partner, year)
        elif partner.kind == "reservataire":
            filled.tables["contingent"] = contingent_rows(convention, partner, year, truth)
        answers = _action_answers(convention, partner)
        if answers:
            filled.forms["actions"] = answers
        if convention.reports_rehousing(partner.id):
            filled.tables["relogements"] = rehousing.get(partner.id, [])
        if convention.reception_points_of(partner.id):
            filled.tables["lieux_accueil"] = reception_rows(convention, partner, year, seed)
        to_display(filled, schema)
        returns.append(filled)
    if mistakes:
        _inject_mistakes(rng, returns, convention, year)
    return returns


def _action_answers(convention: Convention, partner: Partner) -> dict[str, Any]:
    """The demo's answers to the convention's Actions questions: « Oui » and « Non » in turn for
    the yes/no questions, free texts left blank (partners seldom write them), counts drawn small."""
    answers: dict[str, Any] = {}
    yes_no = 0
    for _action, question in convention.action_questions(partner.kind):
        if question.kind == "oui_non":
            answers[question.key] = "OUI" if yes_no % 2 == 0 else "NON"
            yes_no += 1
        elif question.kind == "entier":
            answers[question.key] = len(question.key) % 7
    return answers


def _respondent(partner: Partner, index: int) -> dict[str, str]:
    """The demo's invented respondent of a partner: name and role, e-mail, telephone."""
    import unicodedata

    name = RESPONDENTS[index % len(RESPONDENTS)]
    first, last = name.split(" ", 1)
    ascii_ = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore").decode()
    return {
        "repondant": f"{name}, {RESPONDENT_ROLES.get(partner.kind, 'correspondant CIA')}",
        "courriel": f"{ascii_.lower().replace(' ', '-')}@{partner.id}.example",
        "telephone": f"04 65 71 {10 + index % 90:02d} {(37 * index) % 100:02d}",
    }


def to_display(filled: FilledReturn, schema: WorkbookSchema) -> None:
    """Turn codes into the labels a partner picks in the dropdowns (a value of no list stays)."""
    for sheet in schema.sheets:
        if sheet.layout == "table":
            records = filled.tables.get(sheet.key, [])
        elif sheet.layout == "form":
            records = [filled.forms.get(sheet.key, {})]
        else:
            continue
        for column in sheet.columns:
            if column.codelist:
                labels = schema.codelists[column.codelist].by_code
                for record in records:
                    value = record.get(column.key)
                    if value is not None and value in labels:
                        record[column.key] = labels[value].display


def _inject_mistakes(
    rng: random.Random, returns: list[FilledReturn], convention: Convention, year: int
) -> None:
    """The mistakes partners typically make, each on a different partner so every verdict shows."""
    bailleurs = [r for r in returns if r.partner.is_bailleur and r.tables["attributions"]]
    if len(bailleurs) >= 3:
        # 1. A date typed as text and a resource amount pasted with a decimal comma (warnings).
        rows = bailleurs[1].tables["attributions"]
        rows[2]["date_cal"] = rows[2]["date_cal"].strftime("%d/%m/%Y")
        if rows[3].get("ressources") is not None:
            rows[3]["ressources"] = f"{rows[3]['ressources']:,}".replace(",", "\u00a0") + ",50"
        bailleurs[1].mistakes.append(
            "une date saisie comme texte et un montant avec virgule (avertissements)"
        )
        # 2. A missing quartile and a misspelt QPV code (errors: the return is excluded).
        rows = bailleurs[2].tables["attributions"]
        rows[4]["quartile"] = None
        rows[5]["qpv"] = "Hors QVP"
        bailleurs[2].mistakes.append("un quartile manquant et « Hors QVP » mal orthographié (erreurs)")
    # 3. The last réservataire does not answer (missing partner).
    reservataires = [r for r in returns if r.partner.kind == "reservataire"]
    if reservataires:
        reservataires[-1].mistakes.append("ne renvoie pas son fichier (partenaire manquant)")
    # 4. A réservataire counts one lease more than the bailleur's rows (cross-check difference).
    if reservataires and reservataires[0].tables.get("contingent"):
        declared = reservataires[0].tables["contingent"][0]
        declared["baux_signes"] += 1
        reservataires[0].mistakes.append(
            f"déclare un bail signé de plus que les lignes de {declared['bailleur']} (écart signalé à la commission)"
        )


def is_missing(filled: FilledReturn) -> bool:
    return any("ne renvoie pas" in m for m in filled.mistakes)


def has_errors(filled: FilledReturn) -> bool:
    """The return into which `_inject_mistakes` put errors (the one that is excluded)."""
    return any("(erreurs)" in m for m in filled.mistakes)


# Days between an excluded return and the corrected version its partner sends back.
CORRECTION_DELAY = 12
CORRECTED_SUFFIX = "-corrige"


@dataclass
class Submission:
    """One file a partner sends: its answers and the end of its file name (a corrected version
    is named as a partner names it, « …-corrige.xlsx »)."""

    filled: FilledReturn
    suffix: str = ""


def demo_submissions(
    convention: Convention, year: int, seed: int = 2020, story: bool = False
) -> list[Submission]:
    """The files the partners send for `year` in the demo, in the order they arrive.

    Every year has the typical mistakes of `generate_campaign` (warnings, a missing partner, a
    cross-check difference). With `story` (the demo's last year), the real life of a campaign:
    the partner whose return has errors sends a corrected version later (a later answer date,
    a new file name), which replaces the first; and a rehousing partner's return keeps an error
    and stays excluded, so that the annexes say which households have no state of the year. In
    the other years the partner with errors sends its return right the first time.
    """
    sent = generate_campaign(convention, year, seed=seed)
    clean = {f.partner.id: f for f in generate_campaign(convention, year, seed=seed, mistakes=False)}
    flawed = next((f.partner.id for f in sent if has_errors(f)), None)
    out: list[Submission] = []
    for filled in sent:
        if is_missing(filled):
            continue
        if filled.partner.id == flawed:
            if not story:
                out.append(Submission(clean[flawed]))
                continue
            out.append(Submission(filled))
            corrected = clean[flawed]
            form = corrected.forms["identification"]
            form["date_reponse"] = filled.forms["identification"]["date_reponse"] + dt.timedelta(
                days=CORRECTION_DELAY
            )
            form["commentaires"] = (
                "Version corrigée après le contrôle de l'agglomération (données de démonstration)."
            )
            corrected.mistakes = [
                f"renvoie le {form['date_reponse'].strftime('%d/%m/%Y')} une version corrigée, nommée "
                f"« …{CORRECTED_SUFFIX}.xlsx », qui remplace la première"
            ]
            out.append(Submission(corrected, CORRECTED_SUFFIX))
            continue
        if story and filled.partner.id == _stays_excluded(convention, flawed):
            _rehousing_error(filled, year)
        out.append(Submission(filled))
    return out


def _stays_excluded(convention: Convention, flawed: str | None) -> str | None:
    """The rehousing partner whose return stays excluded in the demo's last year: the operator
    of the private stock, else the last charter partner that is not `flawed`."""
    charter = convention.rehousing
    if charter is None:
        return None
    partners = [p for p in charter.partners if p != flawed]
    operators = [p for p in partners if convention.partners_by_id[p].kind == "operateur"]
    return (operators or partners or [None])[-1]


def _rehousing_error(filled: FilledReturn, year: int) -> None:
    """A rehousing date typed in the next year (an error: the sheet describes 31 December)."""
    rows = filled.tables.get("relogements") or []
    row = next((r for r in rows if r.get("date_relogement") is not None), rows[0] if rows else None)
    if row is None:
        return
    row["date_relogement"] = dt.date(year + 1, 1, 15)
    filled.mistakes.append(
        f"saisit une date de relogement de {year + 1} pour le ménage {row['identifiant']} (erreur) et ne renvoie pas "
        f"de version corrigée : son retour est écarté, ses ménages sont « en situation non actualisée » dans les annexes"
    )


def write_filled_return(convention: Convention, filled: FilledReturn, target: Path) -> Path:
    """The partner's template written with its answers already in it (xlsxwriter, one pass).

    Same cells as `fill_workbook`, at a fraction of the cost: used to generate campaigns of
    thousands of returns (benchmarks). The demo keeps `fill_workbook`, which fills a copy of
    the template the way a partner does.
    """
    from cia_workbook.partners.templates import write_template

    return write_template(convention, filled.partner, filled.year, target, filled=filled)


def fill_workbook(template: Path, target: Path, filled: FilledReturn, schema: WorkbookSchema) -> Path:
    """Write a partner's answers into a copy of its template with openpyxl, as in Excel."""
    import openpyxl

    wb = openpyxl.load_workbook(template)
    for sheet in schema.sheets:
        if sheet.layout == "table" and sheet.key in filled.tables:
            ws = wb[sheet.title]
            for r, row in enumerate(filled.tables[sheet.key]):
                for c, column in enumerate(sheet.columns, start=1):
                    value = row.get(column.key)
                    if value is not None:
                        ws.cell(row=sheet.first_data_row + r, column=c, value=value)
        elif sheet.layout == "form" and sheet.key in filled.forms:
            ws = wb[sheet.title]
            for i, column in enumerate(sheet.columns):
                value = filled.forms[sheet.key].get(column.key)
                if value not in (None, ""):
                    ws.cell(row=FORM_FIRST_ROW + i, column=2, value=value)
    with atomic_path(target) as tmp:
        wb.save(tmp)
    return target
