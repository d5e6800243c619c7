"""Make the LibreOffice fixtures: templates filled like a partner would, then really re-saved
by LibreOffice (headless) as .xlsx and .ods, recalculated on load.

    .venv/bin/python scripts/make_lo_fixtures.py [--outdir tests/fixtures/libreoffice]

No UNO: the template is filled with openpyxl (which drops cached formula values), then
`soffice --convert-to` opens it with a private profile that forces recalculation on load and
saves it. The files written are committed; tests read them as real LibreOffice output.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import openpyxl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cia_workbook.convention.settings import Convention, load_convention  # noqa: E402
from cia_workbook.partners.templates import write_template  # noqa: E402
from cia_workbook.schema import sheets as schema  # noqa: E402

YEAR = 2024
BAILLEUR = "logis-cevenols"
RESERVATAIRE = "action-logement"
FIXTURES = ROOT / "tests" / "fixtures" / "libreoffice"

D = dt.date
# Attribution rows as codes, chosen to cross every edge of the three objectives: a zone that
# is not a QPV, a row in a QPV and a zone, NPNRU and first quartile together, dates across the
# year boundary, a quartile typed as text, unknown quartiles, other contingents.
# (reference, date_cal, date_bail, suite, commune, qpv, zone, contingent, quartile, categorie)
ATTRIBUTIONS = [
    (
        "LC-2024-001",
        D(2024, 1, 15),
        D(2024, 2, 1),
        "BAIL_SIGNE",
        "30007",
        "HORS_QPV",
        "NON",
        "PROPRE",
        1,
        "AUCUNE",
    ),
    (
        "LC-2024-002",
        D(2024, 2, 10),
        D(2024, 3, 1),
        "BAIL_SIGNE",
        "30007",
        "HORS_QPV",
        None,
        "PROPRE",
        2,
        "DALO",
    ),
    (
        "LC-2024-003",
        D(2024, 3, 5),
        D(2024, 4, 2),
        "BAIL_SIGNE",
        "30007",
        "HORS_QPV",
        "NON",
        "action-logement",
        "INCONNU",
        "NPNRU",
    ),
    (
        "LC-2024-004",
        D(2024, 3, 5),
        D(2024, 4, 15),
        "BAIL_SIGNE",
        "30243",
        "HORS_QPV",
        "NON",
        "PROPRE",
        1,
        "NPNRU",
    ),
    (
        "LC-2024-005",
        D(2024, 5, 6),
        D(2024, 6, 3),
        "BAIL_SIGNE",
        "30007",
        "HORS_QPV",
        "PROMELLES",
        "PROPRE",
        3,
        "AUCUNE",
    ),
    ("LC-2024-006", D(2024, 6, 11), None, "REFUS", "30007", "QN03001I", "NON", "PROPRE", 2, "AUCUNE"),
    (
        "LC-2024-007",
        D(2023, 12, 12),
        D(2024, 1, 10),
        "BAIL_SIGNE",
        "30010",
        "QN03002M",
        "NON",
        "PROPRE",
        1,
        "L441",
    ),
    (
        "LC-2024-008",
        D(2024, 11, 20),
        D(2025, 1, 8),
        "BAIL_SIGNE",
        "30132",
        "QN03016M",
        "NON",
        "etat",
        1,
        "AUCUNE",
    ),
    (
        "LC-2024-009",
        D(2024, 7, 2),
        D(2024, 7, 30),
        "BAIL_SIGNE",
        "30007",
        "QN03001I",
        "PROMELLES",
        "PROPRE",
        4,
        "AUCUNE",
    ),
    (
        "LC-2024-010",
        D(2024, 8, 19),
        D(2024, 9, 2),
        "BAIL_SIGNE",
        "30007",
        "HORS_QPV",
        "NON",
        "PROPRE",
        "1",
        "PDALHPD",
    ),
    ("LC-2024-011", D(2024, 9, 9), None, "AUTRE", "30007", "HORS_QPV", "NON", "PROPRE", 2, "AUCUNE"),
    (
        "LC-2024-012",
        D(2024, 10, 14),
        D(2024, 11, 4),
        "BAIL_SIGNE",
        "30007",
        "QN03001I",
        "NON",
        "etat",
        "INCONNU",
        "AUCUNE",
    ),
    (
        "LC-2024-013",
        D(2024, 11, 25),
        D(2024, 12, 20),
        "BAIL_SIGNE",
        "30284",
        "HORS_QPV",
        "NON",
        "PROPRE",
        4,
        "AUCUNE",
    ),
]
# A DALO household rehoused by the NPNRU (its category stays DALO, the « Relogé NPNRU » column
# says the rest): it counts in the outside-QPV objective.
ATTRIBUTIONS.append(
    (
        "LC-2024-014",
        D(2024, 4, 8),
        D(2024, 5, 2),
        "BAIL_SIGNE",
        "30007",
        "HORS_QPV",
        "NON",
        "PROPRE",
        3,
        "DALO",
    )
)
# « Relogé NPNRU » answered on these rows, left blank on the others (blank is « Non »).
NPNRU_FLAGS = {"LC-2024-003": "OUI", "LC-2024-004": "OUI", "LC-2024-014": "OUI", "LC-2024-005": "NON"}
ATTRIBUTION_KEYS = (
    "reference",
    "date_cal",
    "date_bail",
    "suite",
    "commune",
    "qpv",
    "zone_locale",
    "contingent",
    "quartile",
    "categorie",
)
# A few optional columns on the first rows, to have every kind of cell in the fixture.
DETAILS = {"typologie": "T3", "taille_menage": 3, "ressources": 14500.5, "nb_adultes": 2, "nb_14_plus": 2,
           "nb_moins_14": 1, "age_titulaire": 34, "emploi": "EMPLOI", "mutation": "NON", "logement_recent": "OUI"}  # fmt: skip


def _display(wb_schema: schema.WorkbookSchema, column: schema.Column, value):
    """What a partner sees and types for a code: the dropdown label (quartiles as numbers)."""
    if value is None or not column.codelist or not isinstance(value, str):
        return value
    codes = wb_schema.codelists[column.codelist]
    # A réservataire's former code (« etat ») names its first declared contingent.
    return codes.by_code[codes.lookup().get(schema.normalize(value), value)].display


def fill_bailleur(template: Path, out: Path, convention: Convention) -> None:
    wb_schema = schema.schema_for(convention, "bailleur", YEAR)
    wb = openpyxl.load_workbook(template)
    ident = wb_schema.sheet("identification")
    ws = wb[ident.title]
    ws[ident.form_cell("repondant")] = "Claire Martin, responsable des attributions"
    ws[ident.form_cell("courriel")] = "c.martin@example.org"
    ws[ident.form_cell("date_reponse")] = D(YEAR + 1, 2, 14)
    ws[ident.form_cell("date_reponse")].number_format = "DD/MM/YYYY"
    sheet = wb_schema.sheet("attributions")
    ws = wb[sheet.title]
    letters = {c.key: openpyxl.utils.get_column_letter(i + 1) for i, c in enumerate(sheet.columns)}
    for offset, values in enumerate(ATTRIBUTIONS):
        row = sheet.first_data_row + offset
        record = dict(zip(ATTRIBUTION_KEYS, values, strict=True))
        if record["reference"] in NPNRU_FLAGS:
            record["reloge_npnru"] = NPNRU_FLAGS[record["reference"]]
        if offset in (1, 2):  # quartile 2 and unknown: consistent with these resources
            record.update(DETAILS)
        for key, value in record.items():
            column = sheet.column(key)
            cell = ws[f"{letters[key]}{row}"]
            cell.value = _display(wb_schema, column, value)
            if isinstance(value, dt.date):
                cell.number_format = "DD/MM/YYYY"
    sheet = wb_schema.sheet("patrimoine")
    ws = wb[sheet.title]
    secteurs = wb_schema.codelists["secteur"]
    communes = wb_schema.codelists["commune"]
    rows = [("30007", "QN03001I", 2100, 80, 31), ("30007", "HORS_QPV", 1900, 40, 12)]
    for offset, (commune, secteur, logements, vacants, longs) in enumerate(rows):
        r = sheet.first_data_row + offset
        ws[f"A{r}"] = communes.by_code[commune].display
        ws[f"B{r}"] = secteurs.by_code[secteur].display
        ws[f"C{r}"], ws[f"D{r}"], ws[f"E{r}"] = logements, vacants, longs
    actions = wb_schema.sheet("actions")
    ws = wb[actions.title]
    ws[actions.form_cell("a3_rehabilitations")] = "Oui"
    ws[actions.form_cell("a3_commentaire")] = "Réhabilitation thermique de 60 logements aux Cévennes."
    wb.save(out)


def fill_reservataire(template: Path, out: Path, convention: Convention) -> None:
    wb_schema = schema.schema_for(convention, "reservataire", YEAR)
    wb = openpyxl.load_workbook(template)
    ident = wb_schema.sheet("identification")
    ws = wb[ident.title]
    ws[ident.form_cell("repondant")] = "Paul Durand, chargé de relations bailleurs"
    ws[ident.form_cell("date_reponse")] = D(YEAR + 1, 3, 2)
    ws[ident.form_cell("date_reponse")].number_format = "DD/MM/YYYY"
    sheet = wb_schema.sheet("contingent")
    ws = wb[sheet.title]
    # The Bailleur column is pre-filled: figures for two bailleurs, zeros for the others.
    figures = [
        {"logements_mis_a_disposition": 40, "candidats_proposes": 85, "baux_signes": 35, "q1_hors_qpv": 8,
         "q234_qpv": 6, "refus": 12, "prioritaires": 3},
        {"logements_mis_a_disposition": 12, "candidats_proposes": 20, "baux_signes": 9, "q1_hors_qpv": 2,
         "q234_qpv": 1, "refus": 4, "prioritaires": 1},
    ]  # fmt: skip
    for offset in range(len(convention.bailleurs)):
        r = sheet.first_data_row + offset
        values = figures[offset] if offset < len(figures) else {}
        for col, column in enumerate(sheet.columns, start=1):
            if column.key == "bailleur":
                continue
            key = "prioritaires" if column.key.startswith("prioritaires_") else column.key
            ws.cell(row=r, column=col, value=values.get(key, 0))
    actions = wb_schema.sheet("actions")
    ws = wb[actions.title]
    ws[actions.form_cell("gestion_flux")] = "Oui"
    wb.save(out)


RECALC_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def libreoffice_convert(sources: list[Path], outdir: Path, fmt: str, profile: Path) -> list[Path]:
    """Open `sources` in LibreOffice headless (recalculating on load) and save them as `fmt`."""
    user = profile / "user"
    user.mkdir(parents=True, exist_ok=True)
    xcu = user / "registrymodifications.xcu"
    if not xcu.exists():
        xcu.write_text(RECALC_PROFILE, encoding="utf-8")
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise RuntimeError("LibreOffice (soffice) est introuvable.")
    outdir.mkdir(parents=True, exist_ok=True)
    filters = {"xlsx": "xlsx:Calc MS Excel 2007 XML", "ods": "ods"}
    subprocess.run(
        [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
         "--convert-to", filters[fmt], "--outdir", str(outdir), *map(str, sources)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    outputs = [outdir / f"{s.stem}.{fmt}" for s in sources]
    missing = [p for p in outputs if not p.exists()]
    if missing:
        raise RuntimeError(f"LibreOffice n'a pas écrit {', '.join(map(str, missing))}")
    return outputs


def make_filled(workdir: Path, convention: Convention) -> list[Path]:
    """Write the two templates and fill them; returns the filled (openpyxl-saved) files."""
    filled = []
    for partner_id, fill in ((BAILLEUR, fill_bailleur), (RESERVATAIRE, fill_reservataire)):
        partner = convention.partners_by_id[partner_id]
        template = write_template(convention, partner, YEAR, workdir / "templates" / f"{partner.kind}.xlsx")
        out = workdir / "filled" / f"{partner.kind}-{YEAR}-lo.xlsx"
        out.parent.mkdir(parents=True, exist_ok=True)
        fill(template, out, convention)
        filled.append(out)
    return filled


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outdir", type=Path, default=FIXTURES)
    args = parser.parse_args(argv)
    convention = load_convention(None)
    with tempfile.TemporaryDirectory(prefix="cia-lo-") as tmp:
        work = Path(tmp)
        filled = make_filled(work, convention)
        written = []
        for fmt in ("xlsx", "ods"):
            for path in libreoffice_convert(filled, work / fmt, fmt, work / "profile"):
                target = args.outdir / path.name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
                written.append(target)
    for path in written:
        print(
            f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} ({path.stat().st_size} octets)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
