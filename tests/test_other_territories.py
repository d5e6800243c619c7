"""Issue 16's acceptance: three other EPCIs, from `init --epci` to the bilan, and nothing of another
territory in anything the tool writes or prints.

A CC without QPV nor quartile thresholds, a CA with QPVs and actions of its own, a métropole with
a local zone and a charte de relogement; each gets its partners (written here), then the yearly
cycle runs: `templates`, `demo`, `validate`, `consolidate` (both diffusions). Every generated file
is read — every XML part of every .xlsx and .docx, every .md, .json, .csv and .toml — with every
console output, and searched for the names and codes of Alès Agglomération, the embedded example:
its communes and QPVs (from the embedded convention and from the reference data), its partners,
zone, operations, zooms, contact and title. A term that the territory's own convention holds
(a homonymous commune, « Action Logement Services ») is its own, not a leak.
"""

from __future__ import annotations

import html
import re
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from cia_workbook.cli.commands import main
from cia_workbook.convention import territory
from cia_workbook.convention.settings import load_convention

YEAR = 2025  # the demo makes 2024 and 2025: a trend of two years
ALES_SIREN = "200066918"


@dataclass(frozen=True)
class Territory:
    query: str
    kind: str
    extra: str = ""  # TOML appended to the convention: actions, a zone, a charter
    zone: str | None = None
    charter: bool = False


PARTNERS = """
[[partenaires]]
identifiant = "oph-territoire"
nom = "Office de l'habitat du territoire"
type = "bailleur"
categorie = "OPH"
parc_estime = 2400

[[partenaires]]
identifiant = "horizon-habitat"
nom = "Horizon Habitat"
raison_sociale = "Horizon Habitat (SA d'HLM)"
type = "bailleur"
categorie = "ESH"
parc_estime = 1100

[[partenaires]]
identifiant = "toits-cooperatifs"
nom = "Les Toits coopératifs"
type = "bailleur"
categorie = "COOP"
parc_estime = 400

[[partenaires]]
identifiant = "action-logement"
nom = "Action Logement Services"
type = "reservataire"
categorie = "action_logement"

[[partenaires]]
identifiant = "etat"
nom = "État (contingent préfectoral)"
type = "reservataire"
categorie = "etat"

[[partenaires]]
identifiant = "commune-centre"
nom = "Ville centre"
type = "reservataire"
categorie = "commune"
commune = "{commune}"
"""

ACTIONS = """
[[actions]]
numero = 1
titre = "Rééquilibrer l'occupation du parc en quartier prioritaire"
partenaires = ["bailleur", "reservataire"]
indicateurs = ["qpv_q234", "refus", "vacance"]
phrase_indicateurs = "Indicateurs de résultat : attributions aux quartiles 2 à 4 en QPV, refus, vacance."

[[actions.questions]]
cle = "a1_commission"
libelle = "Les attributions en QPV ont-elles été examinées en commission inter-bailleurs ?"
type = "oui_non"
pour = ["bailleur"]

[[actions.questions]]
cle = "a1_propositions"
libelle = "Nombre de candidats proposés pour des logements en QPV"
type = "entier"
pour = ["reservataire"]

[[actions]]
numero = 2
titre = "Accueillir les publics prioritaires sur tout le territoire"
indicateurs = ["publics_prioritaires", "dalo", "mutations"]
"""

ZONE = """
[[zones_locales]]
code = "QUARTIER_GARE"
nom = "Quartier de la gare"
commune = "{commune}"
dans = "dans le quartier de la gare"
"""

CHARTER = """
[charte_relogement]
partenaires = ["oph-territoire"]
cibles = {{ hors_qpv = 50, hors_quartier = 50, logement_recent = 20, reste_a_charge = 80 }}

[[charte_relogement.operations]]
code = "OPH-DEMOLITION-1"
nom = "Démolitions de l'office, première tranche"
parc = "social"
bailleur = "oph-territoire"
commune = "{commune}"
menages_a_reloger = 40
"""

TERRITORIES = [
    Territory("CC Thoré Montagne Noire", "CC"),
    Territory("CA Valence Romans Agglo", "CA", extra=ACTIONS),
    Territory("Brest Métropole", "METRO", extra=ZONE + CHARTER, zone="Quartier de la gare", charter=True),
]


@dataclass
class Run:
    folder: Path
    case: Territory
    outputs: list[tuple[str, str]] = field(default_factory=list)  # (command, console text)

    def texts(self):
        """(where, text) of every generated file's text parts, then of every console output."""
        for path in sorted(self.folder.rglob("*")):
            if not path.is_file() or path.name.startswith(".cia-workbook-"):
                continue
            where = str(path.relative_to(self.folder))
            if path.suffix in (".xlsx", ".docx"):
                with zipfile.ZipFile(path) as zf:
                    for name in zf.namelist():
                        if name.endswith((".xml", ".rels")):
                            yield f"{where}:{name}", _xml_text(zf.read(name).decode("utf-8"))
            elif path.suffix in (".md", ".json", ".csv", ".toml", ".txt"):
                yield where, path.read_text(encoding="utf-8")
        for command, text in self.outputs:
            yield f"sortie de « {command} »", text


def _xml_text(xml: str) -> str:
    # Numbers stored in cells (a household's resources) are figures, not codes: left out.
    return html.unescape(re.sub(r"<v>[-0-9.E+]+</v>", "", xml))


def _invoke(run: Run, *args: str) -> str:
    result = CliRunner().invoke(main, ["--dir", str(run.folder), *args], catch_exceptions=False)
    assert result.exit_code in (0, 1), (args, result.output)  # validate exits 1: the demo has errors
    run.outputs.append((" ".join(args), result.output))
    return result.output


@pytest.fixture(scope="module", params=TERRITORIES, ids=lambda t: t.kind)
def run(request, tmp_path_factory):
    case: Territory = request.param
    folder = tmp_path_factory.mktemp(case.kind.lower())
    run = Run(folder, case)
    _invoke(run, "init", str(folder), "--epci", case.query)
    path = folder / "convention.toml"
    text = path.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    biggest = max(data["epci"]["communes"], key=lambda c: c.get("population", 0))["insee"]
    text = text.replace('courriel_contact = ""', 'courriel_contact = "habitat@territoire.example"')
    text = text.replace('service_contact = ""', 'service_contact = "Service habitat"')
    path.write_text(
        text + PARTNERS.format(commune=biggest) + case.extra.format(commune=biggest), encoding="utf-8"
    )
    _invoke(run, "templates", "--year", str(YEAR))
    _invoke(run, "demo", "--year", str(YEAR))
    _invoke(run, "validate", "--year", str(YEAR))
    _invoke(run, "consolidate", "--year", str(YEAR))
    _invoke(run, "consolidate", "--year", str(YEAR), "--diffusion", "publique")
    return run


def _terms() -> dict[str, re.Pattern]:
    """Every name and code of Alès Agglomération the tool knows, as a pattern that matches the
    whole word (or code) only."""
    ales = load_convention(None)
    ref = territory.reference()
    epci = ref.epcis[ALES_SIREN]
    names = {ales.epci.name, ales.info.id, ales.info.title, ales.campaign.contact_email, "Cévennes", "Gard"}
    names |= {ales.campaign.contact_service}
    names |= {c.name for c in ales.epci.communes} | {c.name for c in epci.communes}
    codes = {c.insee for c in ales.epci.communes} | {c.insee for c in epci.communes}
    for geo in ales.qpv_geographies:
        names |= {q.name for q in geo.qpvs}
        codes |= {q.code for q in geo.qpvs}
    for q in ref.qpvs_of(epci):
        names.add(q.qpv.name)
        codes.add(q.qpv.code)
    for z in ales.local_zones:
        names |= {z.name, z.code}
    names |= {z.name for z in ales.zooms}
    for p in ales.partners:
        names |= {p.id, p.name} | ({p.legal_name} if p.legal_name else set())
    assert ales.rehousing is not None
    for op in ales.rehousing.operations:
        names |= {op.code, op.name}
    patterns = {n: re.compile(rf"(?<!\w){re.escape(n)}(?!\w)") for n in names if n}
    patterns |= {c: re.compile(rf"(?<![0-9A-Za-z]){re.escape(c)}(?![0-9A-Za-z])") for c in codes}
    return patterns


TERMS = _terms()


def _leaks(run: Run) -> dict[str, list[str]]:
    """Term → where it was found, for the terms that are not the territory's own."""
    own = (run.folder / "convention.toml").read_text(encoding="utf-8")
    terms = {t: p for t, p in TERMS.items() if not p.search(own)}
    found: dict[str, list[str]] = {}
    for where, text in run.texts():
        for term, pattern in terms.items():
            if pattern.search(text):
                found.setdefault(term, []).append(where)
    return found


def test_the_cycle_runs_and_writes_every_document(run):
    outputs = run.folder / "outputs" / str(YEAR)
    names = {p.name for p in outputs.iterdir()}
    assert {
        f"bilan-cia-{YEAR}.docx",
        f"bilan-cia-{YEAR}-publique.docx",
        f"consolidation-{YEAR}.xlsx",
    } <= names
    assert (f"annexes-charte-relogement-{YEAR}.docx" in names) == run.case.charter
    templates = run.folder / "templates" / str(YEAR)
    assert (templates / f"format-{YEAR}.md").is_file()
    assert (templates / f"schema-attributions-{YEAR}.json").is_file()
    demo = next(text for command, text in run.outputs if command.startswith("demo"))
    assert "Rapports Word : " in demo


def test_nothing_of_another_territory_in_any_file_or_output(run):
    leaks = _leaks(run)
    assert not leaks, {term: places[:3] for term, places in leaks.items()}


# Written by the consolidation engine (report_xlsx.py), which takes the columns of its « Données »
# sheet from the full Attributions sheet rather than from the convention's (schema_for).
ENGINE_WORKBOOK = f"outputs/{YEAR}/consolidation-{YEAR}.xlsx"


def _zone_words(run: Run) -> list[str]:
    # convention.toml documents the optional key « zones_locales » in its comments: not an output.
    return [
        where
        for where, text in run.texts()
        if where != "convention.toml" and re.search(r"zones? locales?", text, re.IGNORECASE)
    ]


def test_local_zones_only_where_the_convention_has_some(run):
    said = [where for where in _zone_words(run) if not where.startswith(ENGINE_WORKBOOK)]
    if run.case.zone is None:
        assert not said, said[:5]
    else:
        assert said
        assert any(run.case.zone in text for where, text in run.texts() if where.startswith("outputs"))


def test_no_local_zone_column_in_the_consolidated_workbook_without_zones(run):
    if run.case.zone is not None:
        pytest.skip("the convention has a local zone")
    assert not [where for where in _zone_words(run) if where.startswith(ENGINE_WORKBOOK)]


def test_the_actions_sheet_and_the_bilan_follow_the_conventions_actions(run):
    import openpyxl
    from docx import Document

    templates = run.folder / "templates" / str(YEAR)
    bailleur = openpyxl.load_workbook(templates / f"cia-{YEAR}-oph-territoire.xlsx")
    reservataire = openpyxl.load_workbook(templates / f"cia-{YEAR}-etat.xlsx")
    bilan = Document(str(run.folder / "outputs" / str(YEAR) / f"bilan-cia-{YEAR}.docx"))
    text = "\n".join(p.text for p in bilan.paragraphs).replace("\u00a0", " ").replace("\u202f", " ")
    if run.case.extra is not ACTIONS:
        assert "Actions" not in bailleur.sheetnames and "Actions" not in reservataire.sheetnames
        assert "Les actions de la convention" not in text
        if run.case.charter:  # the annexes name no action the convention does not have
            annexes = Document(
                str(run.folder / "outputs" / str(YEAR) / f"annexes-charte-relogement-{YEAR}.docx")
            )
            assert not [p.text for p in annexes.paragraphs if "(action" in p.text]
        return
    assert bailleur["Actions"]["A3"].value == (
        "Action 1 – Les attributions en QPV ont-elles été examinées en commission inter-bailleurs ?"
    )
    assert bailleur["Actions"]["A4"].value is None
    assert (
        reservataire["Actions"]["A3"].value
        == "Action 1 – Nombre de candidats proposés pour des logements en QPV"
    )
    assert "Action 1 – Rééquilibrer l'occupation du parc en quartier prioritaire." in text
    assert "Action 2 – Accueillir les publics prioritaires sur tout le territoire." in text
    assert "Mutations internes : " in text


def test_the_reference_example_is_made_from_the_partners_id(run):
    import openpyxl

    wb = openpyxl.load_workbook(run.folder / "templates" / str(YEAR) / f"cia-{YEAR}-horizon-habitat.xlsx")
    cells = [c.value for row in wb["Lisez-moi"].iter_rows() for c in row if c.value]
    assert f"HH-{YEAR}-00153" in cells


def test_demo_help_names_no_convention():
    result = CliRunner().invoke(main, ["demo", "--help"])
    assert result.exit_code == 0
    assert "convention intégrée" not in result.output and "Alès" not in result.output
    assert "convention du dossier de travail" in result.output


def test_the_search_finds_ales_in_its_own_templates(tmp_path):
    """The search above is not blind: Alès' own templates hold its names and codes."""
    from cia_workbook.partners.templates import write_templates

    write_templates(load_convention(None), YEAR, tmp_path, partner_ids=["logis-cevenols"])
    (tmp_path / "convention.toml").write_text("", encoding="utf-8")
    leaks = _leaks(Run(tmp_path, TERRITORIES[0]))
    assert {"Alès Agglomération", "Logis Cévenols", "QN03001I", "30007", "Quartier des Promelles"} <= set(
        leaks
    )
    assert "cia-2025-logis-cevenols.xlsx:xl/sharedStrings.xml" in leaks["Anduze"]


# The title the consolidation engine (consolidate.py, `qpv_publics`) gives its profile table, with
# Alès' action numbers; it reaches the bilan's annexes and the consolidated workbook.


def _foreign_actions(run: Run) -> list[tuple[str, str]]:
    """(where, words) of every mention of an action number the convention does not have."""
    numbers = {str(a.number) for a in load_convention(run.folder / "convention.toml").actions}
    found = []
    for where, text in run.texts():
        if where == "convention.toml":
            continue
        for m in re.finditer(r"\b[Aa]ctions? (\d+)(?: et (\d+))?", text):
            if {n for n in m.groups() if n} - numbers:
                words = text[m.start() : m.end() + 30].replace("\u00a0", " ").replace("\u202f", " ")
                found.append((where, words))
    return found


def test_no_action_the_convention_does_not_have(run):
    found = _foreign_actions(run)
    assert not found, found[:5]


def test_no_action_number_in_the_engines_table_titles(run):
    assert not _foreign_actions(run)
