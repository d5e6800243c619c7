"""Build the intake corpus: one file per finding code and per unreadable or hostile case.

Usage: .venv/bin/python scripts/make_corpus.py [OUTDIR]   (default tests/fixtures/corpus)

Each file is a 2024 return damaged in exactly one way, written with the tests' helper
(`tests/workbooks.py`), so `tests/test_corpus.py` can assert the exact (sheet, cell, code)
found in each. Files are deterministic: fixed document times and fixed zip entry times, so
rebuilding gives the same bytes and git sees no change.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from workbooks import FIXED_TIME, attribution, contingent_row, make_return, reception_row, relogement  # noqa: E402

from cia_workbook.partners.annotate import normalize_zip  # noqa: E402
from cia_workbook.schema.sheets import ATTRIBUTIONS  # noqa: E402

OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
ZIP_TIME = (2000, 1, 1, 0, 0, 0)
AL = "Action Logement Services"
KEYS = [c.key for c in ATTRIBUTIONS.columns]
# A household of the private stock, followed by the rehousing operator.
PRIVATE = {
    "operation": "PRIVE-FBG – Parc privé dégradé – faubourgs du centre-ville d'Alès",
    "origine_parc": "Parc privé",
    "origine_apl": 100,
}


# A row of the EPCI's Demande workbook: Alès, 40 demands pending, 12 attributions.
DEMAND = {"commune": "Alès (30007)", "demandes": 40, "attributions": 12}


def _workbook(**kwargs) -> Callable[[Path], None]:
    def build(path: Path) -> None:
        partner = kwargs.pop("partner", "logis-cevenols")
        make_return(path, partner, **kwargs)
        normalize_zip(path, FIXED_TIME)

    return build


def _bytes(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


def _zip(parts: dict[str, bytes]) -> Callable[[Path], None]:
    def build(path: Path) -> None:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in parts.items():
                zf.writestr(zipfile.ZipInfo(name, date_time=ZIP_TIME), data, zipfile.ZIP_DEFLATED)

    return build


def _patched(
    change: Callable[[str, bytes], bytes], extra: dict[str, bytes] | None = None, **kwargs
) -> Callable[[Path], None]:
    """A valid return whose raw parts are then edited (hostile XML, external links...)."""

    def build(path: Path) -> None:
        make_return(path, "logis-cevenols", **kwargs)
        with zipfile.ZipFile(path) as src:
            parts = {info.filename: src.read(info) for info in src.infolist()}
        parts.update(extra or {})
        parts["docProps/core.xml"] = re.sub(
            rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
            rb"\g<1>2025-01-15T12:00:00Z\g<2>",
            parts["docProps/core.xml"],
        )
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
            for name, data in parts.items():
                dst.writestr(
                    zipfile.ZipInfo(name, date_time=ZIP_TIME), change(name, data), zipfile.ZIP_DEFLATED
                )

    return build


def _billion_laughs(name: str, data: bytes) -> bytes:
    if name != "xl/worksheets/sheet3.xml":  # the Attributions sheet
        return data
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10)
    )
    data = data.replace(b"LC-2024-0001", b"&lol9;")
    return b'<?xml version="1.0"?><!DOCTYPE worksheet [' + entities.encode() + b"]>" + data


LINK_TARGET = b"http://127.0.0.1:9/classeur-distant.xlsx"
EXTERNAL_PARTS = {
    "xl/externalLinks/externalLink1.xml": (
        b'<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        b'<externalBook r:id="rId1"><sheetNames><sheetName val="Feuil1"/></sheetNames>'
        b'<sheetDataSet><sheetData sheetId="0"><row r="1"><cell r="A1"><v>3</v></cell></row></sheetData>'
        b"</sheetDataSet></externalBook></externalLink>"
    ),
    "xl/externalLinks/_rels/externalLink1.xml.rels": (
        b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/externalLinkPath" '
        b'Target="' + LINK_TARGET + b'" TargetMode="External"/></Relationships>'
    ),
}


def _external_link(name: str, data: bytes) -> bytes:
    """A cell computed from another workbook on a web server: the link must never be followed."""
    if name == "xl/worksheets/sheet3.xml":
        return data.replace(b'<c r="L4" t="n"><v>3</v></c>', b'<c r="L4"><f>[1]Feuil1!A1</f><v>3</v></c>')
    if name == "xl/workbook.xml":
        return data.replace(
            b"</sheets>",
            b'</sheets><externalReferences xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><externalReference r:id="rIdLink"/></externalReferences>',
        )
    if name == "xl/_rels/workbook.xml.rels":
        return data.replace(
            b"</Relationships>",
            b'<Relationship Id="rIdLink" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/externalLink" '
            b'Target="externalLinks/externalLink1.xml"/></Relationships>',
        )
    if name == "[Content_Types].xml":
        return data.replace(
            b"</Types>",
            b'<Override PartName="/xl/externalLinks/externalLink1.xml" '
            b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml"/></Types>',
        )
    return data


def _merge_and_formula(wb) -> None:
    ws = wb["Attributions"]
    ws.merge_cells("Q4:R4")
    ws["L5"] = "=1+2"


def _trailing_format(wb) -> None:
    from openpyxl.styles import PatternFill

    ws = wb["Attributions"]
    for r in range(6, 2000):
        ws.cell(r, 1).fill = PatternFill("solid", start_color="FFFF00")


NPNRU = "Ménage relogé dans le cadre du NPNRU"


def _typed(ref: str, value: str, sheet: str = "Attributions") -> Callable:
    def edit(wb) -> None:
        wb[sheet][ref] = value

    return edit


def _scattered(wb) -> None:
    """A value every thousand rows down to the sheet's end: no gap sets the data apart."""
    ws = wb["Attributions"]
    for r in range(1000, 1_048_577, 1000):
        ws.cell(r, 1, "x")


def _notes_sheet(wb) -> None:
    ws = wb.create_sheet("Notes")
    ws["A1"] = "Deux attributions de décembre saisies en janvier"


def _sheet_copy(wb) -> None:
    ws = wb.copy_worksheet(wb["Attributions"])
    ws.title = "Attributions (2)"
    ws["A4"] = "LC-2024-0002"


def _beside_the_table(wb) -> None:
    """A note typed in the first column after the table (X since schema 1.2)."""
    from openpyxl.utils import get_column_letter

    from cia_workbook.schema.sheets import ATTRIBUTIONS

    wb["Attributions"][f"{get_column_letter(len(ATTRIBUTIONS.columns) + 1)}4"] = "à vérifier"


LONG_MARKER = b"@@TEXTE-LONG@@"


def _long_text(name: str, data: bytes) -> bytes:
    """A text longer than a cell can hold (40,000 characters), as export tools write it."""
    return data.replace(LONG_MARKER, b"Texte libre " * 3334)


def _control_character(name: str, data: bytes) -> bytes:
    """A control character in a text cell (a copy-paste from another program), escaped as
    Excel writes it (« _x0001_ »)."""
    return data.replace(b"LC-2024-0001", b"LC-2024_x0001_-0001")


def cases() -> dict[str, Callable[[Path], None]]:
    """File name → builder. Sub-folders hold cases made of several files (cross-checks)."""
    r, h, a = attribution, relogement, reception_row
    return {
        # -- A clean return, as a reference ----------------------------------------------
        "valide.xlsx": _workbook(
            rows=[r(), r(reference="LC-2024-0002", qpv="QN03001I", quartile="3", ressources=26000)]
        ),
        # -- The file itself ------------------------------------------------------------------
        "illisible-pdf.xlsx": _bytes(b"%PDF-1.4\n1 0 obj\n<< >>\nendobj\n"),
        "illisible-csv.xlsx": _bytes(b"reference;date_cal\nLC-1;15/03/2024\n"),
        "ancien.xls": _bytes(OLE + "Workbook".encode("utf-16-le")),
        "chiffre.xlsx": _bytes(
            OLE + "EncryptionInfo".encode("utf-16-le") + "EncryptedPackage".encode("utf-16-le")
        ),
        "vide.xlsx": _bytes(b""),
        "tronque.xlsx": _bytes(b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 20),
        "~$verrou.xlsx": _bytes(b"\x0bLibreOffice user" + b"\x00" * 100),
        ".~lock.verrou.xlsx#": _bytes(b"Utilisateur,machine,/home/u,28.11.2026 10:00,\n"),
        "bombe.xlsx": _zip(
            {"xl/workbook.xml": b"<workbook/>", "xl/worksheets/sheet1.xml": b"\x00" * (40 * 1024**2)}
        ),
        "notes.txt": _bytes(b"Bonjour, voici notre fichier.\n"),
        "billion-laughs.xlsx": _patched(_billion_laughs, rows=[r()]),
        "lien-externe.xlsx": _patched(_external_link, EXTERNAL_PARTS, rows=[r()]),
        # -- Identification -------------------------------------------------------------------
        "modele-inconnu.xlsx": _workbook(rows=[r()], identity={"modele": "autre-outil"}),
        "modele-version.xlsx": _workbook(rows=[r()], identity={"version_schema": "0.9"}),
        "modele-ancien.xlsx": _workbook(
            rows=[r()], identity={"version_schema": "1.0"}, headers={"reloge_npnru": None}
        ),
        "modele-convention.xlsx": _workbook(rows=[r()], identity={"convention": "autre-cia"}),
        "modele-partenaire.xlsx": _workbook(rows=[r()], identity={"partenaire": "bailleur-inconnu"}),
        "modele-annee.xlsx": _workbook(rows=[r()], identity={"annee": 2023}),
        "modele-type.xlsx": _workbook(rows=[r()], identity={"type": "reservataire"}),
        "identification-reconstituee.xlsx": _workbook(
            rows=[r()], id_sheet=False, defined_names=False, properties=False
        ),
        "identite-contradictoire.xlsx": _workbook(rows=[r()], form={"partenaire": "SFHE"}),
        # -- Structure ------------------------------------------------------------------------
        "feuille-absente.xlsx": _workbook(rows=[r()], sheet_titles={"attributions": None}),
        "feuille-renommee.xlsx": _workbook(rows=[r()], sheet_titles={"attributions": "Attrib 2024"}),
        "colonne-absente.xlsx": _workbook(rows=[r()], headers={"logement_recent": None}),
        "colonne-deplacee.xlsx": _workbook(
            rows=[r()], column_order=[*KEYS[:10], "taille_menage", "typologie", *KEYS[12:]]
        ),
        "colonne-en-trop.xlsx": _workbook(rows=[r()], extra_headers=["Observations"]),
        "cellule-eloignee.xlsx": _workbook(rows=[r()], edit=_typed("XFD1048576", " ")),
        "valeur-eloignee.xlsx": _workbook(rows=[r()], edit=_typed("XFD5000", "à voir")),
        "feuille-demesuree.xlsx": _workbook(rows=[r()], edit=_scattered),
        "colonne-non-lue.xlsx": _workbook(rows=[r()], edit=_beside_the_table),
        "feuille-non-lue.xlsx": _workbook(rows=[r()], edit=_notes_sheet),
        "feuille-copie.xlsx": _workbook(rows=[r()], edit=_sheet_copy),
        # -- Cells ----------------------------------------------------------------------------
        "cellule-obligatoire.xlsx": _workbook(rows=[r(quartile=None), r(reference="R2", date_bail=None)]),
        "valeur-hors-liste.xlsx": _workbook(rows=[r(suite="Bail sgné")]),
        # Last year's template: the State's single contingent, before it declared two.
        "valeur-ancienne.xlsx": _workbook(rows=[r(contingent="État (contingent préfectoral)")]),
        "nombre-invalide.xlsx": _workbook(rows=[r(ressources="beaucoup")]),
        "nombre-hors-bornes.xlsx": _workbook(rows=[r(age_titulaire=150)]),
        "nombre-texte.xlsx": _workbook(rows=[r(ressources="14\u00a0500,00")]),
        "date-invalide.xlsx": _workbook(rows=[r(date_cal="31/02/2024")]),
        "date-texte.xlsx": _workbook(rows=[r(date_cal="15/03/2024")]),
        "date-nombre.xlsx": _workbook(rows=[r(date_cal=45366)]),
        "date-hors-annee.xlsx": _workbook(
            rows=[r(date_cal=dt.date(2023, 5, 2), date_bail=dt.date(2023, 6, 1))]
        ),
        "bail-avant-cal.xlsx": _workbook(
            rows=[r(date_cal=dt.date(2024, 5, 2), date_bail=dt.date(2024, 4, 1))]
        ),
        "bail-sans-suite.xlsx": _workbook(rows=[r(suite="Refus du ménage")]),
        "quartile-incoherent.xlsx": _workbook(rows=[r(quartile="3", ressources=6000)]),
        "composition-incoherente.xlsx": _workbook(rows=[r(taille_menage=5)]),
        "reloge-npnru-contradictoire.xlsx": _workbook(rows=[r(categorie=NPNRU, reloge_npnru="Non")]),
        "reloge-npnru-deduit.xlsx": _workbook(rows=[r(categorie=NPNRU)]),
        "reloge-npnru-sans-categorie.xlsx": _workbook(rows=[r(reloge_npnru="Oui")]),
        "reloge-npnru-categorie-basse.xlsx": _workbook(
            rows=[r(categorie="Public prioritaire du PDALHPD", reloge_npnru="Oui")]
        ),
        "qpv-hors-commune.xlsx": _workbook(rows=[r(qpv="QN03002M")]),
        "qpv-perime.xlsx": _workbook(rows=[r(qpv="QP030001 – Près Saint Jean")]),
        "zone-hors-commune.xlsx": _workbook(
            rows=[r(commune="Anduze (30010)", zone_locale="Quartier des Promelles")]
        ),
        "zone-et-qpv.xlsx": _workbook(
            rows=[r(qpv="QN03001I", zone_locale="Quartier des Promelles", quartile="3", ressources=26000)]
        ),
        "reference-doublon.xlsx": _workbook(rows=[r(), r()]),
        "reference-nominative.xlsx": _workbook(rows=[r(reference="M. Dupont")]),
        "bailleur-doublon.xlsx": _workbook(
            partner="action-logement", rows=[contingent_row(), contingent_row()]
        ),
        "demande-commune-doublon.xlsx": _workbook(partner="demande", rows=[DEMAND, DEMAND]),
        "demande-part-superieure.xlsx": _workbook(
            partner="demande", rows=[{**DEMAND, "demandes_mutation": 50}]
        ),
        "bailleur-contingent-doublon.xlsx": _workbook(
            partner="etat",
            rows=[contingent_row(contingent="État – publics prioritaires") for _ in range(2)],
        ),
        "fusion-et-formule.xlsx": _workbook(rows=[r(), r(reference="R2")], edit=_merge_and_formula),
        "ligne-vide.xlsx": _workbook(rows=[r(), {"_blank": True}, r(reference="R3")]),
        "lignes-formatees.xlsx": _workbook(rows=[r(), r(reference="R2")], edit=_trailing_format),
        "aucune-donnee.xlsx": _workbook(rows=[]),
        "texte-trop-long.xlsx": _patched(_long_text, rows=[r()], form={"commentaires": LONG_MARKER.decode()}),
        "date-1904.xlsx": _workbook(rows=[r()], date1904=True),
        "caractere-invisible.xlsx": _patched(_control_character, rows=[r()]),
        # -- Reception points (issue 17) -------------------------------------------------------
        "accueil-informes.xlsx": _workbook(
            rows=[r()], lieux_accueil=[a(), a(trimestre="2e trimestre", informes_qpv=90)]
        ),
        "accueil-doublon.xlsx": _workbook(rows=[r()], lieux_accueil=[a(), a(demandeurs=12, informes_qpv=3)]),
        # -- NPNRU rehousing sheet ----------------------------------------------------------
        "relogement-valide.xlsx": _workbook(rows=[r()], relogements=[h()]),
        "relogement-statut-incoherent.xlsx": _workbook(rows=[r()], relogements=[h(statut="À reloger")]),
        "relogement-dates.xlsx": _workbook(rows=[r()], relogements=[h(date_relogement=dt.date(2021, 1, 4))]),
        "relogement-date-future.xlsx": _workbook(
            rows=[r()], relogements=[h(date_relogement=dt.date(2025, 2, 3))]
        ),
        "relogement-refus.xlsx": _workbook(rows=[r()], relogements=[h(refus=3)]),
        "relogement-aide-excessive.xlsx": _workbook(rows=[r()], relogements=[h(destination_apl=500)]),
        "relogement-origine.xlsx": _workbook(rows=[r()], relogements=[h(origine_parc="Parc privé")]),
        "relogement-qpv-commune.xlsx": _workbook(rows=[r()], relogements=[h(destination_qpv="Oui")]),
        "relogement-bloque-reloge.xlsx": _workbook(
            rows=[r()], relogements=[h(bloque="Oui", motif_blocage="Dette locative ou impayés")]
        ),
        "relogement-operateur.xlsx": _workbook(partner="operateur-relogement", rows=[h(**PRIVATE)]),
        # -- Between partners -----------------------------------------------------------------
        "croise/logis.xlsx": _workbook(rows=[r(contingent=AL), r(reference="R2", contingent=AL)]),
        "croise/action-logement.xlsx": _workbook(
            partner="action-logement", rows=[contingent_row(baux_signes=3)]
        ),
        "croise-relogement/logis.xlsx": _workbook(rows=[r()], relogements=[h()]),
        "croise-relogement/operateur.xlsx": _workbook(
            partner="operateur-relogement", rows=[h(identifiant="psj-0001 ", **PRIVATE)]
        ),
    }


def build(outdir: Path) -> list[Path]:
    written = []
    for name, builder in cases().items():
        path = outdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        builder(path)
        written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests" / "fixtures" / "corpus"
    paths = build(target)
    print(f"{len(paths)} fichiers écrits dans {target}")
