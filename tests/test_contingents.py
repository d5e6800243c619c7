"""Contingents as the convention's table has them (issue 16, item 4).

The embedded Alès convention declares the State's two contingents (priority publics; civil
servants, not held to the priority-publics target) and groups its three communes as « Les
communes ». Two bailleurs' returns and the State's are written here, row by row, for 2023 and
2024; the bilan's and the consolidated workbook's figures per contingent and per group are
checked against counts made in the test from those rows.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import openpyxl
import pytest
from campaign import run
from docx import Document
from workbooks import attribution, contingent_row, make_return

from cia_workbook.convention.settings import (
    ConventionError,
    embedded_convention_text,
    load_convention,
    parse_convention,
)
from cia_workbook.schema.codes import normalize
from cia_workbook.schema.sheets import schema_for

CONVENTION = load_convention()
PP = "État – publics prioritaires"
FONCTIONNAIRES = "État – fonctionnaires et agents de l'État"
QPV = {2023: "QP030001", 2024: "QN03001I"}  # a QPV of each year's geography, in Alès
BAILLEURS = {"logis-cevenols": "Logis Cévenols", "habitat-du-gard": "Habitat du Gard"}
# Contingent as the bailleur picks it → its code.
CONTINGENTS = {
    PP: "etat-prioritaires",
    FONCTIONNAIRES: "etat-fonctionnaires",
    "Ville d'Alès": "commune-ales",
    "Commune d'Anduze": "commune-anduze",
    "Action Logement Services": "action-logement",
}
PRIORITY = "Public prioritaire du PDALHPD"
NONE = "Aucune catégorie prioritaire"


def rows_of(bailleur: str, year: int) -> list[dict]:
    """A bailleur's rows: leases and CAL decisions on each contingent, in and out of QPV,
    priority publics or not; the second bailleur's rows differ from the first's."""
    shift = 0 if bailleur == "logis-cevenols" else 1
    plan = [
        # (contingent, in QPV, quartile, category, signed)
        (PP, False, "1", PRIORITY, True),
        (PP, False, "2", NONE, True),
        (PP, True, "3", PRIORITY, True),
        (FONCTIONNAIRES, False, "2", NONE, True),
        (FONCTIONNAIRES, True, "2", NONE, True),
        (FONCTIONNAIRES, False, "1", PRIORITY, year == 2024),
        ("Ville d'Alès", False, "1", PRIORITY, True),
        ("Ville d'Alès", True, "4", NONE, True),
        ("Commune d'Anduze", False, "2", PRIORITY, True),
        ("Commune d'Anduze", False, "3", NONE, bool(shift)),
        ("Action Logement Services", False, "1", NONE, True),
        ("Contingent propre du bailleur", False, "2", PRIORITY, True),
    ]
    plan += plan[: 3 + shift + (year == 2024)]  # the years and bailleurs differ
    rows = []
    for i, (contingent, qpv, quartile, category, signed) in enumerate(plan):
        rows.append(
            attribution(
                reference=f"{bailleur[:2].upper()}-{year}-{i:04d}",
                date_cal=dt.date(year, 2 + i % 9, 10),
                date_bail=dt.date(year, 3 + i % 9, 2) if signed else None,
                suite="Bail signé" if signed else "Autre (en attente, désistement, annulation)",
                commune="30010" if contingent == "Commune d'Anduze" else "30007",
                qpv=QPV[year] if qpv else "Hors QPV",
                contingent=contingent,
                quartile=quartile,
                categorie=category,
                ressources=None,
            )
        )
    return rows


def as_counted(rows: list[dict]) -> list[dict]:
    return [dict(r, code=CONTINGENTS.get(r["contingent"], "PROPRE")) for r in rows]


def expected(everything: list[dict]) -> dict[str, dict[str, tuple[int, int]]]:
    """Line → objective → (households, universe), from the rows (DOMAIN.md's definitions)."""
    lines = {
        PP: {"etat-prioritaires"},
        FONCTIONNAIRES: {"etat-fonctionnaires"},
        "Ville d'Alès": {"commune-ales"},
        "Commune d'Anduze": {"commune-anduze"},
        "Les communes": {"commune-ales", "commune-anduze"},
        "Action Logement Services": {"action-logement"},
    }
    out = {}
    for label, codes in lines.items():
        on = [r for r in everything if r["code"] in codes]
        leased = [r for r in on if r["suite"] == "Bail signé"]
        hors = [r for r in leased if r["qpv"] == "Hors QPV"]
        qpv = [r for r in on if r["qpv"] != "Hors QPV"]
        out[label] = {
            "hq": (sum(r["quartile"] == "1" for r in hors), len(hors)),
            "qpv": (sum(r["quartile"] in "234" for r in qpv), len(qpv)),
            "pp": (sum(r["categorie"] == PRIORITY for r in leased), len(leased)),
        }
    return out


def declared_by_the_state(rows_by_bailleur: dict[str, list[dict]]) -> list[dict]:
    """What the State declares: one row per bailleur and contingent, true to the rows but one
    lease too many on Habitat du Gard's civil-servants contingent."""
    out = []
    for bid, name in BAILLEURS.items():
        for label in (PP, FONCTIONNAIRES):
            leased = [
                r for r in rows_by_bailleur[bid] if r["contingent"] == label and r["suite"] == "Bail signé"
            ]
            extra = 1 if (bid, label) == ("habitat-du-gard", FONCTIONNAIRES) else 0
            out.append(
                contingent_row(
                    bailleur=name,
                    contingent=label,
                    baux_signes=len(leased) + extra,
                    prioritaires_pdalhpd=sum(r["categorie"] == PRIORITY for r in leased),
                    q1_hors_qpv=sum(r["quartile"] == "1" and r["qpv"] == "Hors QPV" for r in leased),
                    q234_qpv=sum(
                        r["quartile"] in "234" and r["qpv"] != "Hors QPV"
                        for r in rows_by_bailleur[bid]
                        if r["contingent"] == label
                    ),
                )
            )
    return out


@pytest.fixture(scope="module", params=[2023, 2024])
def consolidated(request, tmp_path_factory):
    year = request.param
    workdir = tmp_path_factory.mktemp(f"contingents-{year}")
    forms = workdir / "forms" / str(year)
    rows = {bid: rows_of(bid, year) for bid in BAILLEURS}
    for bid in BAILLEURS:
        make_return(forms / f"cia-{year}-{bid}.xlsx", bid, rows[bid], year=year)
    make_return(forms / f"cia-{year}-etat.xlsx", "etat", declared_by_the_state(rows), year=year)
    validated = run(workdir, "validate", "--year", str(year))
    assert validated.exit_code == 0, validated.output
    for diffusion in ("restreinte", "publique"):
        result = run(workdir, "consolidate", "--year", str(year), "--diffusion", diffusion)
        assert result.exit_code == 0, result.output
    everything = as_counted([r for bid in BAILLEURS for r in rows[bid]])
    return year, workdir, expected(everything), validated.output


def _sheet_rows(path, title: str) -> dict[str, dict[str, object]]:
    ws = openpyxl.load_workbook(path)[title]
    header = [c.value for c in ws[4]]
    return {
        r[0]: dict(zip(header, r, strict=False)) for r in ws.iter_rows(min_row=5, values_only=True) if r[0]
    }


def test_the_workbook_reads_per_contingent_and_per_group(consolidated):
    year, workdir, want, _ = consolidated
    rows = _sheet_rows(workdir / "outputs" / str(year) / f"consolidation-{year}.xlsx", "Réservataires")
    # The lines of the convention's table, in its order: Action Logement, the State's two
    # contingents, the communes then « Les communes », the Département.
    assert list(rows) == [
        "Action Logement Services", PP, FONCTIONNAIRES, "Ville d'Alès", "Commune d'Anduze",
        "Commune de La Grand-Combe", "Les communes", "Département du Gard",
    ]  # fmt: skip
    names = {"hq": "1er quartile hors QPV", "qpv": "Quartiles 2-4 en QPV", "pp": "Publics prioritaires"}
    for label, objectives in want.items():
        for short, (num, den) in objectives.items():
            assert rows[label][f"{names[short]} : ménages"] == num, (label, short)
            assert rows[label][f"{names[short]} : univers"] == den, (label, short)
            if den:
                assert rows[label][f"{names[short]} : taux"] == pytest.approx(num / den), (label, short)
    # The civil servants' contingent is not held to the priority-publics target.
    assert rows[FONCTIONNAIRES]["Publics prioritaires : objectif"] == "sans objectif"
    assert rows[PP]["Publics prioritaires : objectif"] in ("atteint", "proche", "non atteint")
    assert rows["Les communes"]["Publics prioritaires : objectif"] != "sans objectif"


def test_priority_publics_per_contingent(consolidated):
    year, workdir, want, _ = consolidated
    rows = _sheet_rows(
        workdir / "outputs" / str(year) / f"consolidation-{year}.xlsx", "Prioritaires par contingent"
    )
    for label in (PP, FONCTIONNAIRES, "Les communes"):
        num, den = want[label]["pp"]
        assert (rows[label]["Publics prioritaires"], rows[label]["Baux signés"]) == (num, den), label
    assert rows[FONCTIONNAIRES]["Objectif"] == "sans objectif"
    assert rows[FONCTIONNAIRES]["Cible"] is None
    assert rows[PP]["Cible"] == pytest.approx(0.25)


def _docx_rows(path, first_header: str) -> dict[str, list[str]]:
    doc = Document(path)
    for table in doc.tables:
        if table.rows[0].cells[0].text == first_header and any(
            PP in r.cells[0].text or "Les communes" in r.cells[0].text for r in table.rows
        ):
            return {r.cells[0].paragraphs[0].text: [c.text for c in r.cells] for r in table.rows[1:]}
    raise AssertionError(f"no table « {first_header} »")


def test_the_bilan_shows_each_contingent_and_the_group(consolidated):
    year, workdir, want, _ = consolidated
    restricted = workdir / "outputs" / str(year) / f"bilan-cia-{year}.docx"
    rows = _docx_rows(restricted, "Réservataire")
    for label in (PP, FONCTIONNAIRES, "Ville d'Alès", "Commune d'Anduze", "Les communes"):
        _num, den = want[label]["pp"]
        assert rows[label][-1] == str(den), label  # objective 3: universe
    # Page 1: the civil servants' contingent « sans objectif » on objective 3, never « non atteint ».
    dashboard = _docx_rows(restricted, "Partenaire")
    assert "sans objectif" in dashboard[FONCTIONNAIRES][3]
    assert "non atteint" not in dashboard[FONCTIONNAIRES][3]
    assert "Les communes" in dashboard and "Ville d'Alès" in dashboard
    text = (
        "\n".join(p.text for p in Document(restricted).paragraphs)
        .replace("\u00a0", " ")
        .replace("\u202f", " ")
    )
    assert f"« {FONCTIONNAIRES} » : contingent non tenu à l'objectif 3" in text


def test_the_public_bilan_shows_the_group_not_its_members(consolidated):
    year, workdir, _, _ = consolidated
    public = workdir / "outputs" / str(year) / f"bilan-cia-{year}-publique.docx"
    dashboard = _docx_rows(public, "Partenaire")
    assert "Les communes" in dashboard
    assert not any(name in dashboard for name in ("Ville d'Alès", "Commune d'Anduze"))
    assert PP in dashboard and FONCTIONNAIRES in dashboard


def test_the_cross_check_works_per_contingent(consolidated):
    year, workdir, _, output = consolidated
    # The State declared one lease too many on Habitat du Gard's civil-servants contingent only.
    assert (
        f"État (contingent préfectoral) (contingent « {FONCTIONNAIRES} ») déclare" in output
        and "chez Habitat du Gard" in output
    ), output
    assert output.count("CONTINGENT_ECART") == 1, output
    rows = _sheet_rows(workdir / "outputs" / str(year) / f"consolidation-{year}.xlsx", "Écarts réservataires")
    assert rows[FONCTIONNAIRES]["Baux signés : écart"] == 1
    assert rows[PP]["Baux signés : écart"] == 0


def test_a_bailleur_and_contingent_twice_is_refused(tmp_path):
    rows = [
        contingent_row(contingent=PP),
        contingent_row(contingent=PP),
        contingent_row(contingent=FONCTIONNAIRES),
    ]
    make_return(tmp_path / "forms" / "2024" / "cia-2024-etat.xlsx", "etat", rows)
    result = run(tmp_path, "validate", "--year", "2024")
    assert "BAILLEUR_CONTINGENT_DOUBLON" in result.output
    assert f"Le bailleur « Logis Cévenols » figure aussi ligne 4 pour le contingent « {PP} »" in result.output


def test_the_state_sheet_has_a_contingent_column_the_others_none():
    etat = schema_for(CONVENTION, "reservataire", 2024, "etat")
    assert [c.key for c in etat.sheet("contingent").columns][:2] == ["bailleur", "contingent"]
    assert etat.codelists["contingent_declare"].displays == [PP, FONCTIONNAIRES]
    other = schema_for(CONVENTION, "reservataire", 2024, "action-logement").sheet("contingent")
    assert "contingent" not in [c.key for c in other.columns]
    bailleur = schema_for(CONVENTION, "bailleur", 2024).codelists["contingent"].displays
    assert PP in bailleur and FONCTIONNAIRES in bailleur and "État (contingent préfectoral)" not in bailleur


# -- Convention mistakes -----------------------------------------------------------------------


def _load(edit) -> str:
    text = edit(embedded_convention_text())
    with pytest.raises(ConventionError) as err:
        parse_convention(tomllib.loads(text), "convention.toml")
    return str(err.value)


STATE = 'categorie = "etat"\n'


def test_a_contingent_code_declared_twice():
    message = _load(lambda t: t.replace('code = "etat-fonctionnaires"', 'code = "etat-prioritaires"'))
    assert (
        "[partenaires[identifiant = etat].contingents] code de contingent « etat-prioritaires » en double"
        in message
    )


def test_a_contingent_code_of_another_partner():
    message = _load(lambda t: t.replace('code = "etat-fonctionnaires"', 'code = "commune-ales"'))
    assert (
        "[partenaires[identifiant = etat].contingents] le code « commune-ales » est l'identifiant d'un autre "
        "partenaire" in message
    )


def test_a_contingent_on_a_bailleur():
    message = _load(
        lambda t: t.replace(
            'categorie = "SEM"\n',
            'categorie = "SEM"\ncontingents = [{ code = "semiga-1", libelle = "Un" }]\n',
        )
    )
    assert (
        "[partenaires[identifiant = semiga].contingents] « semiga » n'est pas un réservataire (type « bailleur ») : "
        "seuls les réservataires déclarent des contingents" in message
    )


def test_an_unknown_group():
    message = _load(lambda t: t.replace('groupe = "communes"', 'groupe = "commune"', 1))
    assert (
        "[partenaires[identifiant = commune-ales].groupe] groupe inconnu « commune » : écrivez « communes » "
        "(Les communes) ou « autres » (Autres réservataires)" in message
    )


def test_the_communes_group_holds_communes_only():
    message = _load(lambda t: t.replace(STATE, STATE + 'groupe = "communes"\n', 1))
    assert (
        "[partenaires[identifiant = etat].groupe] le groupe « communes » (Les communes) réunit les réservataires de "
        "catégorie « commune » ; « etat » est de catégorie « etat »" in message
    )


def test_a_misspelt_contingent_key_names_its_code():
    message = _load(lambda t: t.replace("objectif_prioritaires = false", "objectif_prioritaire = false"))
    assert (
        "[partenaires[identifiant = etat].contingents[code = etat-fonctionnaires].objectif_prioritaire]"
        in message
    )
    assert "clé inconnue" in message


def test_without_declaration_one_contingent_per_reservataire():
    """An EPCI that declares nothing: one line per réservataire, as before (coded by its id)."""
    text = embedded_convention_text()
    start = text.index("contingents = [\n")
    end = text.index("]\n", text.index("etat-fonctionnaires")) + 2
    bare = parse_convention(
        tomllib.loads(text[:start] + text[end:].replace('groupe = "communes"\n', "")), "x"
    )
    assert [c.code for c in bare.contingents] == [p.id for p in bare.reservataires]
    assert [line.label for line in bare.reservataire_lines] == [
        "Action Logement Services", "État (contingent préfectoral)", "Ville d'Alès", "Commune d'Anduze",
        "Commune de La Grand-Combe", "Département du Gard",
    ]  # fmt: skip
    assert not any(line.subtotal for line in bare.reservataire_lines)
    sheet = schema_for(bare, "reservataire", 2024, "etat").sheet("contingent")
    assert "contingent" not in [c.key for c in sheet.columns]


def test_last_years_state_contingent_reads_as_its_priority_publics_one():
    """A return made before the convention declared the State's contingents (last year's
    template, « État (contingent préfectoral) ») is read on the priority publics' contingent,
    what that contingent counted as then."""
    from cia_workbook.intake.files import read_return

    lookup = schema_for(CONVENTION, "bailleur", 2024).codelists["contingent"].lookup()
    assert lookup[normalize("État (contingent préfectoral)")] == "etat-prioritaires"
    assert lookup["etat"] == "etat-prioritaires"
    assert lookup[normalize(FONCTIONNAIRES)] == "etat-fonctionnaires"
    # Read so, and said: the partner is told which contingent the old value went to.
    corpus = Path(__file__).parent / "fixtures" / "corpus" / "valeur-ancienne.xlsx"
    rf = read_return(CONVENTION, 2024, corpus)
    assert rf.tables["attributions"].frame["contingent"].to_list() == ["etat-prioritaires"]
    [told] = [f for f in rf.findings if f.code == "VALEUR_ANCIENNE"]
    assert told.severity == "avertissement" and told.cell == "H4"
    assert "lue comme « État – publics prioritaires »" in told.message
