"""The command line speaks French to its users, command by command."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from cia_workbook.cli.commands import main

ENGLISH = re.compile(r"\b(Usage|Show|Options:\s*$|INTEGER|TEXT|DIRECTORY|PATH|Error|default:|Commands)\b")


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_command_is_documented_in_french(command):
    result = CliRunner().invoke(main, [command, "--help"], prog_name="cia-workbook")
    assert result.exit_code == 0
    assert main.commands[command].help, f"{command} has no help text"
    assert result.output.startswith("Utilisation : cia-workbook ")
    assert not ENGLISH.search(result.output.replace("Options:", "")), result.output


def test_errors_from_click_are_french(tmp_path):
    result = CliRunner().invoke(main, ["--dir", str(tmp_path), "validate", "--year", "deux-mille"])
    assert result.exit_code == 2
    assert "Erreur : Valeur incorrecte pour" in result.output
    result = CliRunner().invoke(main, ["valider"])
    assert "Commande inconnue" in result.output


def test_a_year_outside_the_convention_is_refused(tmp_path):
    result = CliRunner().invoke(main, ["--dir", str(tmp_path), "templates", "--year", "2012"])
    assert result.exit_code == 1
    assert "L'année 2012 est hors de la période de la convention (2020-2026)" in result.output


def test_consolidate_without_returns_says_where_to_put_them(tmp_path):
    result = CliRunner().invoke(main, ["--dir", str(tmp_path), "consolidate", "--year", "2024"])
    assert result.exit_code == 1
    assert "Aucune réponse pour 2024" in result.output and "forms" in result.output


@pytest.mark.parametrize(
    ("inherited", "decay"),
    [
        (None, "0"),
        # What polars' import writes into the environment of a Python process, inherited by a
        # command it starts: polars' default, not the user's choice (it kept 250 MB more).
        ("dirty_decay_ms:500,muzzy_decay_ms:1000", "0"),
        ("dirty_decay_ms:2000", "2000"),  # the user's own setting wins
        ("dirty_decay_ms:500,muzzy_decay_ms:1000,dirty_decay_ms:3000", "3000"),
    ],
)
def test_the_allocator_gives_freed_memory_back_unless_the_user_said_otherwise(inherited, decay):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    if inherited is not None:
        env["_RJEM_MALLOC_CONF"] = inherited
    code = "import os, cia_workbook.cli.commands; print(os.environ['_RJEM_MALLOC_CONF'])"
    conf = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    # jemalloc reads the options in order: the last one given wins.
    assert re.findall(r"dirty_decay_ms:(\d+)", conf)[-1] == decay, conf
