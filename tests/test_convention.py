"""The convention file: the embedded Alès default, and French refusals of a faulty file."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from cia_workbook.cli.commands import main
from cia_workbook.convention.settings import ConventionError, embedded_convention_text, load_convention


def test_embedded_default_is_the_ales_convention():
    c = load_convention()
    assert c.epci.name == "Alès Agglomération"
    assert len(c.epci.communes) == 72
    assert [p.name for p in c.bailleurs] == [
        "Logis Cévenols", "Habitat du Gard", "Un Toit pour Tous", "FDI Habitat",
        "Promologis", "SEMIGA", "3F Occitanie", "SFHE",
    ]  # fmt: skip
    assert {p.category for p in c.reservataires} >= {"action_logement", "etat", "departement", "commune"}


def test_targets_geography_and_thresholds_change_by_year():
    c = load_convention()
    assert c.target("qpv_q234", 2020) == 60
    assert c.target("qpv_q234", 2021) == 70
    assert c.target("hors_qpv_q1", 2026) == 25
    assert c.target("publics_prioritaires", 2024) == 25
    assert {q.code for q in c.geography(2023).qpvs} == {"QP030001", "QP030002", "QP030016", "QP030017"}
    assert {q.code for q in c.geography(2024).qpvs} == {"QN03001I", "QN03002M", "QN03016M"}
    t = c.thresholds(2025)
    assert (t.q1, t.q2, t.q3) == (7809, 11848, 16002)
    assert c.thresholds(2021) is None  # unknown years are allowed
    assert c.thresholds(2018).q1 == 6288 and not c.thresholds(2018).complete
    assert c.local_zones[0].name == "Quartier des Promelles"
    assert c.category_order == ["DALO", "NPNRU", "PDALHPD", "L441", "AUCUNE"]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "convention.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('nom = "Alès Agglomération"', 'nomm = "Alès Agglomération"', "[epci.nomm] clé inconnue"),
        ("2020 = 60,", "2020 = 160,", "[objectifs[code = qpv_q234].cibles.2020] valeur trop grande"),
        ("2020 = 60,", "", "[objectifs[code = qpv_q234].cibles] pas de cible pour l'année 2020"),
        (
            'commune = "30132"',
            'commune = "99999"',
            "[partenaires[identifiant = commune-la-grand-combe].commune] la commune 99999",
        ),
        (
            "derniere_annee = 2023",
            "derniere_annee = 2024",
            "l'année 2024 de la convention a plusieurs géographies (2015, 2024) ; il en faut une",
        ),
        (
            'type = "bailleur"\ncategorie = "SEM"',
            'type = "baileur"\ncategorie = "SEM"',
            "[partenaires[identifiant = semiga].type] valeur non autorisée",
        ),
        ("q2 = 11848", "q2 = 6000", "[seuils_quartiles[annee = 2025]] les seuils doivent croître"),
        (
            'identifiant = "semiga"',
            'identifiant = "logis-cevenols"',
            "identifiant « logis-cevenols » en double",
        ),
        # An item without its identifying key is named by its rank, counted from 1.
        ('identifiant = "semiga"\n', "", "[partenaires[n° 6].identifiant] clé obligatoire absente"),
        (
            '{ insee = "30010", nom = "Anduze"',
            '{ insee = "3010", nom = "Anduze"',
            "[epci.communes[insee = 3010].insee] format incorrect (valeur lue : '3010')",
        ),
        # Issue 16, item 6: the mistakes that used to pass in silence.
        (
            '{ code = "QN03002M"',
            '{ code = "QN03001I"',
            "[geographies_qpv[identifiant = 2024].qpv] code QPV « QN03001I » en double",
        ),
        (
            'categorie = "SEM"',
            'categorie = "HLM"',
            "[partenaires[identifiant = semiga].categorie] catégorie de bailleur inconnue « HLM » : "
            "écrivez OPH, ESH, COOP ou SEM",
        ),
        (
            'partenaires = ["logis-cevenols", "un-toit-pour-tous"',
            'partenaires = ["un-toit-pour-tous"',
            "[charte_relogement.operations[code = LC-PSJ].bailleur] « logis-cevenols » conduit cette "
            "opération mais n'est pas dans charte_relogement.partenaires : ajoutez-le à cette liste",
        ),
        # The actions: each named by its number, each question by its key.
        (
            "numero = 5\n",
            "numero = 3\n",
            "[actions] numéro « 3 » en double",
        ),
        (
            'cle = "a5_information"',
            'cle = "a3_rehabilitations"',
            "[actions] clé de question « a3_rehabilitations » en double",
        ),
        (
            'indicateurs = ["qpv_q234", "vacance", "publics_qpv"]',
            'indicateurs = ["qpv_q234", "vacances"]',
            "[actions[numero = 3].indicateurs] indicateur inconnu « vacances » (indicateurs : hors_qpv_q1,",
        ),
        (
            'type = "oui_non"\n\n[[actions.questions]]\ncle = "a3_vieillissement"',
            'type = "oui_non"\npour = ["reservataire"]\n\n[[actions.questions]]\ncle = "a3_vieillissement"',
            "[actions[numero = 3].questions[cle = a3_rehabilitations].pour] « reservataire » n'est pas dans les "
            "partenaires de l'action",
        ),
        (
            'relèvent du bilan du PLH)."\n',
            'relèvent du bilan du PLH)."\n'
            '[[actions.questions]]\ncle = "a4_offre"\nlibelle = "Logements livrés"\ntype = "entier"\n',
            "[actions[numero = 4].questions[cle = a4_offre].pour] à qui la question est-elle posée ?",
        ),
        (
            'cle = "a3_commentaire"\nlibelle = "Actions menées pour l\'attractivité et la mixité en QPV"\ntype = "texte"',
            'cle = "a3_commentaire"\nlibelle = "Actions menées pour l\'attractivité et la mixité en QPV"\ntype = "date"',
            "[actions[numero = 3].questions[cle = a3_commentaire].type] valeur non autorisée",
        ),
    ],
)
def test_faulty_convention_is_refused_naming_the_key(tmp_path, old, new, expected):
    text = embedded_convention_text()
    assert old in text
    path = _write(tmp_path, text.replace(old, new, 1))
    with pytest.raises(ConventionError) as err:
        load_convention(path)
    assert expected in str(err.value)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('titre = "', "titre = ", "valeur illisible : un texte s'écrit entre guillemets droits"),
        (
            "premiere_annee = 2020\n",
            "premiere_annee 2020\n",
            "il manque le signe « = » après le nom de la clé",
        ),
        ("[bilan]", "[bilan", "il manque le crochet fermant « ] » du titre de section"),
        (
            "seuil_prudence = 20",
            "seuil_prudence = 20\nseuil_prudence = 30",
            "clé ou section écrite deux fois",
        ),
        (
            "date_approbation = 2020-02-19",
            "date_approbation = 2020-02-31",
            "date incorrecte : écrivez-la AAAA-MM-JJ",
        ),
    ],
)
def test_invalid_toml_is_refused_in_french_with_line_and_column(tmp_path, old, new, expected):
    text = embedded_convention_text().replace(old, new, 1)
    path = _write(tmp_path, text)
    with pytest.raises(ConventionError) as err:
        load_convention(path)
    message = str(err.value)
    line = text[: text.index(new)].count("\n") + 1 + new.rstrip("\n").count("\n")
    assert f"n'est pas un TOML valide à la ligne {line}, colonne " in message
    assert expected in message
    assert "Corrigez cet endroit" in message
    assert not any(english in message for english in ("Expected", "Invalid", "line ", "column "))


def test_a_target_written_as_a_fraction_is_warned_in_percent(tmp_path):
    _write(tmp_path, embedded_convention_text().replace("2024 = 70,", "2024 = 0.5,", 1))
    result = CliRunner().invoke(main, ["--dir", str(tmp_path), "templates", "--year", "2024"])
    assert result.exit_code == 0, result.output
    assert (
        "Attention : [objectifs[code = qpv_q234].cibles.2024] 0,5 % : vouliez-vous dire 50 % ? "
        "Les cibles s'écrivent en pour cent"
    ) in result.stderr
    c = load_convention(tmp_path / "convention.toml")
    assert c.target("qpv_q234", 2024) == 0.5  # read as written: the warning does not guess


def test_a_year_without_thresholds_is_warned_by_every_command_that_uses_it(tmp_path):
    warning = "Attention : Année 2023 sans seuils de quartile dans la convention (clé seuils_quartiles)"
    result = CliRunner().invoke(main, ["--dir", str(tmp_path), "templates", "--year", "2023"])
    assert result.exit_code == 0 and warning in result.stderr
    (tmp_path / "forms" / "2023").mkdir(parents=True)
    result = CliRunner().invoke(main, ["--dir", str(tmp_path), "validate", "--year", "2023", "--json"])
    assert warning in result.stderr and warning not in result.stdout  # the JSON stays JSON
    result = CliRunner().invoke(main, ["--dir", str(tmp_path), "consolidate", "--year", "2023"])
    assert warning in result.stderr
    # consolidate 2024 reads the returns of the years before too: 2023 is still used.
    result = CliRunner().invoke(main, ["--dir", str(tmp_path), "consolidate", "--year", "2024"])
    assert warning in result.stderr
    result = CliRunner().invoke(main, ["--dir", str(tmp_path), "templates", "--year", "2024"])
    assert "seuils de quartile" not in result.stderr


def test_a_year_outside_the_period_is_refused_with_the_way_to_extend_it(tmp_path):
    result = CliRunner().invoke(main, ["--dir", str(tmp_path), "templates", "--year", "2027"])
    assert result.exit_code == 1
    assert (
        "L'année 2027 est hors de la période de la convention (2020-2026) : aucune cible n'y est fixée. "
        "Pour l'évaluer, si la convention est prolongée, portez derniere_annee à 2027"
    ) in result.output
    assert not (tmp_path / "templates" / "2027").exists()


def test_optional_keys_are_documented_in_both_commented_files(tmp_path):
    """Every key the model does not require appears in the embedded convention and in the file
    `init --epci` writes, said optional (« facultatif ») with its default."""
    from pydantic import BaseModel

    from cia_workbook.convention.settings import Convention

    optional: set[str] = set()

    def walk(model: type[BaseModel]) -> None:
        for name, info in model.model_fields.items():
            if not info.is_required():
                # A key with two spellings (population_2017, population): either documents it.
                choices = getattr(info.validation_alias, "choices", None)
                optional.add("|".join(choices) if choices else info.alias or name)
            for arg in (info.annotation, *getattr(info.annotation, "__args__", ())):
                for inner in (arg, *getattr(arg, "__args__", ())):
                    if isinstance(inner, type) and issubclass(inner, BaseModel):
                        walk(inner)

    walk(Convention)
    assert {"date_approbation", "raison_sociale", "parc_estime", "dans", "zooms", "sources"} <= optional
    CliRunner().invoke(main, ["init", str(tmp_path), "--epci", "Nîmes"])
    for text in (embedded_convention_text(), (tmp_path / "convention.toml").read_text(encoding="utf-8")):
        missing = [key for key in sorted(optional) if not re.search(rf"\b({key})\b", text)]
        assert not missing
        assert text.count("acultati") >= 12


def test_the_convention_says_where_its_data_comes_from():
    sources = load_convention().sources
    assert [s.subject for s in sources][:2] == [
        "Objectifs, cibles et charte de relogement",
        "Communes membres de l'EPCI",
    ]
    assert sources[0].date.isoformat() == "2020-02-19"


def test_cli_refuses_a_faulty_convention_of_the_working_folder(tmp_path):
    _write(tmp_path, embedded_convention_text().replace("2021 = 70,", "2021 = soixante-dix,", 1))
    result = CliRunner().invoke(main, ["--dir", str(tmp_path), "templates", "--year", "2024"])
    assert result.exit_code == 1
    assert "Erreur" in result.output and "convention" in result.output
    assert "Traceback" not in result.output


def test_init_writes_the_editable_convention_and_layout(tmp_path):
    target = tmp_path / "agglo"
    result = CliRunner().invoke(main, ["init", str(target)])
    assert result.exit_code == 0, result.output
    assert (target / "convention.toml").read_text(encoding="utf-8") == embedded_convention_text()
    assert all((target / d).is_dir() for d in ("templates", "forms", "outputs"))
    # A second init keeps the officer's edits.
    (target / "convention.toml").write_text("# modifié\n" + embedded_convention_text(), encoding="utf-8")
    CliRunner().invoke(main, ["init", str(target)])
    assert (target / "convention.toml").read_text(encoding="utf-8").startswith("# modifié")


def test_working_folder_convention_wins_over_the_default(tmp_path):
    text = embedded_convention_text().replace('nom = "Alès Agglomération"', 'nom = "Agglo de test"', 1)
    _write(tmp_path, text)
    from cia_workbook.convention.settings import convention_for_dir

    convention, path = convention_for_dir(tmp_path)
    assert convention.epci.name == "Agglo de test" and path == tmp_path / "convention.toml"
    assert tomllib.loads(text)["epci"]["nom"] == "Agglo de test"


def test_nothing_specific_to_the_territory_in_code():
    """Territory names live in the convention file, never in the package's code."""
    import ast

    root = Path(__file__).resolve().parents[1] / "cia_workbook"
    words = ["Alès", "Promelles", "Cévenols", "Grand-Combe", "Anduze", "QN03", "QP030", "30007"]
    offenders = []
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                offenders += [f"{path.name}:{node.lineno}: {w}" for w in words if w in node.value]
    assert not offenders, offenders


def test_a_rehousing_indicator_needs_a_charter(tmp_path):
    text = embedded_convention_text()
    start = text.index("[charte_relogement]")
    end = text.index("# Facultatif (aucune par défaut) : les actions")
    text = text[:start] + text[end:]
    text = text.replace('[[partenaires]]\nidentifiant = "operateur-relogement"', '[[x]]\nidentifiant = "x"')
    text = text.replace(
        'nom = "Opérateur de relogement du parc privé (MOUS)"\ntype = "operateur"\ncategorie = "MOUS"\n', ""
    )
    text = text.replace('[[x]]\nidentifiant = "x"\n', "")
    with pytest.raises(ConventionError) as err:
        load_convention(_write(tmp_path, text))
    assert (
        "[actions[numero = 1].indicateurs] l'indicateur « criteres_relogement » suppose une charte de relogement"
        in str(err.value)
    )


def test_the_actions_of_the_convention_and_who_is_asked_what():
    c = load_convention()
    assert [a.number for a in c.actions] == [1, 2, 3, 4, 5, 6]
    assert [q.key for _, q in c.action_questions("bailleur")] == [
        "a3_rehabilitations", "a3_vieillissement", "a3_commentaire", "a5_information", "a5_commentaire",
    ]  # fmt: skip
    assert [q.key for _, q in c.action_questions("reservataire")] == [
        "gestion_flux", "contribution_commentaire", "difficultes",
    ]  # fmt: skip
    assert c.action_questions("operateur") == []
    assert c.action_reporting("bilan_relogements").number == 2
    assert c.action_reporting("criteres_relogement").number == 1
    assert c.action_reporting("mutations") is None
    assert c.report.reminders[0].startswith("Le relogement des ménages reconnus DALO")
