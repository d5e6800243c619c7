"""The intake corpus: one file per finding code and per unreadable or hostile case.

Files are built by scripts/make_corpus.py and committed; each is asserted here with the exact
(sheet, cell, code) found, flattened like frictionless reports.
"""

from __future__ import annotations

import hashlib
import importlib.util
import socket
from pathlib import Path

import pytest
from workbooks import CONVENTION

from cia_workbook.intake.campaign import collect_campaign
from cia_workbook.intake.files import read_return
from cia_workbook.partners.corrections import CORRECTIONS_HEADER_ROW
from cia_workbook.schema.findings import CATALOGUE, COMMISSION_CODES, RUN_CODES

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "fixtures" / "corpus"
A = "Attributions"
R = "Relogements NPNRU"

EXPECTED: dict[str, list[tuple[str, str, str]]] = {
    "valide.xlsx": [],
    "date-1904.xlsx": [],
    "lignes-formatees.xlsx": [],
    "illisible-pdf.xlsx": [("", "", "FICHIER_ILLISIBLE")],
    "illisible-csv.xlsx": [("", "", "FICHIER_ILLISIBLE")],
    "ancien.xls": [("", "", "FICHIER_XLS")],
    "chiffre.xlsx": [("", "", "FICHIER_CHIFFRE")],
    "vide.xlsx": [("", "", "FICHIER_VIDE")],
    "tronque.xlsx": [("", "", "FICHIER_VIDE")],
    "~$verrou.xlsx": [("", "", "FICHIER_VERROU")],
    ".~lock.verrou.xlsx#": [("", "", "FICHIER_VERROU")],
    "bombe.xlsx": [("", "", "FICHIER_TROP_GROS")],
    "notes.txt": [("", "", "FICHIER_AUTRE_FORMAT")],
    "billion-laughs.xlsx": [("", "", "FICHIER_ILLISIBLE")],
    "lien-externe.xlsx": [(A, "L4", "FORMULE_DONNEES")],
    "modele-inconnu.xlsx": [("", "", "MODELE_INCONNU")],
    "modele-version.xlsx": [("", "", "MODELE_VERSION")],
    "modele-ancien.xlsx": [(A, "U3", "MODELE_ANCIEN")],
    "modele-convention.xlsx": [("", "", "MODELE_CONVENTION")],
    "modele-partenaire.xlsx": [("", "", "MODELE_PARTENAIRE")],
    "modele-annee.xlsx": [("", "", "MODELE_ANNEE")],
    "modele-type.xlsx": [("", "", "MODELE_TYPE")],
    "identification-reconstituee.xlsx": [("Identification", "", "IDENTIFICATION_RECONSTITUEE")],
    "identite-contradictoire.xlsx": [("Identification", "B3", "IDENTITE_CONTRADICTOIRE")],
    "feuille-absente.xlsx": [("", "", "FEUILLE_ABSENTE")],
    "feuille-renommee.xlsx": [("Attrib 2024", "", "FEUILLE_RENOMMEE")],
    "colonne-absente.xlsx": [(A, "T3", "COLONNE_ABSENTE")],
    "colonne-deplacee.xlsx": [(A, "K3", "COLONNE_DEPLACEE")],
    "colonne-en-trop.xlsx": [(A, "X3", "COLONNE_EN_TROP")],
    "cellule-eloignee.xlsx": [(A, "XFD1048576", "CELLULE_ELOIGNEE")],
    "valeur-eloignee.xlsx": [(A, "XFD5000", "VALEUR_ELOIGNEE")],
    "feuille-demesuree.xlsx": [(A, "W1048000", "FEUILLE_DEMESUREE")],
    "colonne-non-lue.xlsx": [(A, "X4", "COLONNE_NON_LUE")],
    "feuille-non-lue.xlsx": [("Notes", "", "FEUILLE_NON_LUE")],
    "feuille-copie.xlsx": [("Attributions (2)", "", "FEUILLE_COPIE_LUE")],
    "cellule-obligatoire.xlsx": [(A, "C5", "CELLULE_OBLIGATOIRE"), (A, "I4", "CELLULE_OBLIGATOIRE")],
    "valeur-hors-liste.xlsx": [(A, "D4", "VALEUR_HORS_LISTE")],
    "valeur-ancienne.xlsx": [(A, "H4", "VALEUR_ANCIENNE")],
    "nombre-invalide.xlsx": [(A, "M4", "NOMBRE_INVALIDE")],
    "nombre-hors-bornes.xlsx": [(A, "Q4", "NOMBRE_HORS_BORNES")],
    "nombre-texte.xlsx": [(A, "M4", "NOMBRE_TEXTE")],
    "date-invalide.xlsx": [(A, "B4", "DATE_INVALIDE")],
    "date-texte.xlsx": [(A, "B4", "DATE_TEXTE")],
    "date-nombre.xlsx": [(A, "B4", "DATE_NOMBRE")],
    "date-hors-annee.xlsx": [(A, "B4", "DATE_HORS_ANNEE")],
    "bail-avant-cal.xlsx": [(A, "C4", "BAIL_AVANT_CAL")],
    "bail-sans-suite.xlsx": [(A, "C4", "BAIL_SANS_SUITE")],
    "quartile-incoherent.xlsx": [(A, "I4", "QUARTILE_INCOHERENT")],
    "composition-incoherente.xlsx": [(A, "L4", "COMPOSITION_INCOHERENTE")],
    "reloge-npnru-contradictoire.xlsx": [(A, "U4", "RELOGE_NPNRU_CONTRADICTOIRE")],
    "reloge-npnru-deduit.xlsx": [(A, "U4", "RELOGE_NPNRU_DEDUIT")],
    "reloge-npnru-sans-categorie.xlsx": [(A, "U4", "RELOGE_NPNRU_SANS_CATEGORIE")],
    "reloge-npnru-categorie-basse.xlsx": [(A, "U4", "RELOGE_NPNRU_CATEGORIE_BASSE")],
    "qpv-hors-commune.xlsx": [(A, "F4", "QPV_HORS_COMMUNE")],
    "qpv-perime.xlsx": [(A, "F4", "QPV_PERIME")],
    "zone-hors-commune.xlsx": [(A, "G4", "ZONE_HORS_COMMUNE")],
    "zone-et-qpv.xlsx": [(A, "G4", "ZONE_ET_QPV")],
    "reference-doublon.xlsx": [(A, "A5", "REFERENCE_DOUBLON")],
    "reference-nominative.xlsx": [(A, "A4", "REFERENCE_NOMINATIVE")],
    "bailleur-doublon.xlsx": [("Contingent", "A5", "BAILLEUR_DOUBLON")],
    "demande-commune-doublon.xlsx": [("Demande", "A5", "COMMUNE_DOUBLON")],
    "demande-part-superieure.xlsx": [("Demande", "D4", "DEMANDE_PART_SUPERIEURE")],
    "bailleur-contingent-doublon.xlsx": [("Contingent", "A5", "BAILLEUR_CONTINGENT_DOUBLON")],
    "fusion-et-formule.xlsx": [(A, "L5", "FORMULE_DONNEES"), (A, "Q4:R4", "CELLULES_FUSIONNEES")],
    "ligne-vide.xlsx": [(A, "A5", "LIGNE_VIDE")],
    "aucune-donnee.xlsx": [(A, "A4", "AUCUNE_DONNEE")],
    "texte-trop-long.xlsx": [("Identification", "B9", "TEXTE_TROP_LONG")],
    "caractere-invisible.xlsx": [("Attributions", "A4", "CARACTERE_INVISIBLE")],
    "accueil-informes.xlsx": [("Lieux d'accueil", "D5", "ACCUEIL_INFORMES")],
    "accueil-doublon.xlsx": [("Lieux d'accueil", "A5", "ACCUEIL_DOUBLON")],
    "relogement-valide.xlsx": [],
    "relogement-operateur.xlsx": [],
    "relogement-statut-incoherent.xlsx": [(R, "I4", "RELOGEMENT_STATUT_INCOHERENT")],
    "relogement-dates.xlsx": [(R, "I4", "RELOGEMENT_DATES")],
    "relogement-date-future.xlsx": [(R, "I4", "RELOGEMENT_DATE_FUTURE")],
    "relogement-refus.xlsx": [(R, "AC4", "RELOGEMENT_REFUS")],
    "relogement-aide-excessive.xlsx": [(R, "AA4", "RELOGEMENT_AIDE_EXCESSIVE")],
    "relogement-origine.xlsx": [(R, "J4", "RELOGEMENT_ORIGINE")],
    "relogement-qpv-commune.xlsx": [(R, "T4", "RELOGEMENT_QPV_COMMUNE")],
    "relogement-bloque-reloge.xlsx": [(R, "AD4", "RELOGEMENT_BLOQUE_RELOGE")],
}
CROSS = [("Contingent", "D4", "CONTINGENT_ECART")]
# Codes that no file's content gives: what happened while it was read (tests/test_faults_*.py).
NOT_FROM_A_FILE = {"LECTURE_INTERROMPUE"}
CROSS_REHOUSING = [(R, "A4", "RELOGEMENT_DOUBLON_PARTENAIRES")]


def flat(findings):
    return sorted((f.sheet, f.cell, f.code) for f in findings)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file(name):
    rf = read_return(CONVENTION, 2024, CORPUS / name)
    assert flat(rf.findings) == EXPECTED[name]
    # Every message says where, what, and how to fix, in French.
    for f in rf.findings:
        assert f.file == name and f.text.startswith(f"[{f.code}]") and "{" not in f.message


def test_cross_check_between_partners():
    campaign = collect_campaign(CONVENTION, 2024, [CORPUS / "croise"])
    assert all(rf.findings == [] for rf in campaign.files)
    assert flat(campaign.cross_findings) == CROSS
    message = campaign.cross_findings[0].message
    assert "déclare 3" in message and "en comptent 2" in message and "Logis Cévenols" in message


def test_household_returned_by_two_partners():
    campaign = collect_campaign(CONVENTION, 2024, [CORPUS / "croise-relogement"])
    assert all(rf.findings == [] for rf in campaign.files)
    assert flat(campaign.cross_findings) == CROSS_REHOUSING
    assert campaign.cross_findings[0].file == "operateur.xlsx"
    assert "Logis Cévenols" in campaign.cross_findings[0].message


def test_every_finding_code_has_a_corpus_file():
    covered = {code for found in EXPECTED.values() for _, _, code in found} | {
        c for _, _, c in CROSS + CROSS_REHOUSING
    }
    # Codes no committed file can give: the run's (RUN_CODES) and a reader that dies
    # (NOT_FROM_A_FILE); tests/test_faults_*.py make them. The commission's workbook's codes
    # (COMMISSION_CODES) are not a partner's: tests/test_commission.py makes them.
    exempt = NOT_FROM_A_FILE | RUN_CODES | COMMISSION_CODES
    assert covered | exempt == set(CATALOGUE) and not covered & exempt


def test_corpus_lists_every_file_and_is_up_to_date(tmp_path):
    """Rebuilding the corpus gives the committed bytes (deterministic files, nothing stale)."""
    spec = importlib.util.spec_from_file_location("make_corpus", ROOT / "scripts" / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = module.build(tmp_path)
    names = {str(p.relative_to(tmp_path)) for p in built}
    on_disk = {str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*") if p.is_file()}
    assert names == on_disk == set(EXPECTED) | {
        "croise/logis.xlsx", "croise/action-logement.xlsx",
        "croise-relogement/logis.xlsx", "croise-relogement/operateur.xlsx",
    }  # fmt: skip
    for path in built:
        committed = CORPUS / path.relative_to(tmp_path)
        assert (
            hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(committed.read_bytes()).digest()
        ), path.name


def test_external_links_are_never_followed(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    for engine in ("calamine", "openpyxl"):
        rf = read_return(CONVENTION, 2024, CORPUS / "lien-externe.xlsx", engine=engine)
        assert flat(rf.findings) == [(A, "L4", "FORMULE_DONNEES")]
        assert rf.tables["attributions"].columns["taille_menage"] == [3]  # the cached value


def test_same_verdicts_whichever_reader_opens_the_corpus():
    """calamine and the plain openpyxl path agree on every file of the corpus."""
    for engine_files in (CORPUS, CORPUS / "croise"):
        a = collect_campaign(CONVENTION, 2024, [engine_files], engine="calamine")
        b = collect_campaign(CONVENTION, 2024, [engine_files], engine="openpyxl")
        assert [(rf.name, rf.status, flat(rf.findings)) for rf in a.files] == [
            (rf.name, rf.status, flat(rf.findings)) for rf in b.files
        ]
        assert {pid: rf.name for pid, rf in a.used.items()} == {pid: rf.name for pid, rf in b.used.items()}
        assert flat(a.cross_findings) == flat(b.cross_findings)


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if any(cell for _s, cell, _c in EXPECTED[n])))
def test_every_corpus_file_gets_a_corrected_copy_with_its_marks(name, tmp_path):
    """Each file with findings on cells gets its copy (edited in place, or through openpyxl for
    the file with an external link), Corrections first, every faulty cell commented."""
    import datetime as dt

    import openpyxl

    from cia_workbook.partners.feedback import write_corrected_copy

    rf = read_return(CONVENTION, 2024, CORPUS / name)
    target = write_corrected_copy(rf.path, rf.findings, tmp_path / "copie.xlsx", dt.datetime(2025, 1, 1))
    wb = openpyxl.load_workbook(target)
    assert wb.sheetnames[0] == "Corrections" and wb.active.title == "Corrections"
    assert wb["Corrections"].max_row == len(rf.findings) + CORRECTIONS_HEADER_ROW
    for f in rf.findings:
        if f.sheet in wb.sheetnames and f.cell and ":" not in f.cell:
            cell = wb[f.sheet][f.cell]
            if type(cell).__name__ != "MergedCell":
                assert f"[{f.code}]" in cell.comment.text
