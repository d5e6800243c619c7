"""French wording for click's own messages (usage, help headings, errors).

click marks its messages with gettext but ships no French catalogue; this module maps the
messages a user of cia-workbook can meet to French and installs the mapping in click's
modules. Unknown messages stay as click wrote them.
"""

from __future__ import annotations

import click.core
import click.decorators
import click.exceptions
import click.formatting
import click.parser
import click.termui
import click.types

FRENCH = {
    "Usage:": "Utilisation :",
    "Options": "Options",
    "Commands": "Commandes",
    "Positional arguments": "Arguments",
    "Show this message and exit.": "Affiche cette aide et quitte.",
    "Show the version and exit.": "Affiche la version et quitte.",
    "Error: {message}": "Erreur : {message}",
    "Try '{command} {option}' for help.": "Essayez « {command} {option} » pour l'aide.",
    "No such command {name!r}.": "Commande inconnue : {name!r}.",
    "No such option {name!r}.": "Option inconnue : {name!r}.",
    "Missing argument": "Argument manquant",
    "Missing option": "Option manquante",
    "Missing parameter": "Paramètre manquant",
    "Missing command.": "Commande manquante.",
    "Missing {param_type}": "{param_type} manquant",
    "Invalid value for {param_hint}: {message}": "Valeur incorrecte pour {param_hint} : {message}",
    "Invalid value: {message}": "Valeur incorrecte : {message}",
    "Option {name!r} does not take a value.": "L'option {name!r} ne prend pas de valeur.",
    "Option {name!r} requires an argument.": "L'option {name!r} demande une valeur.",
    "{value!r} is not a valid {number_type}.": "{value!r} n'est pas un nombre valide ({number_type}).",
    "{value} is not in the range {range}.": "{value} n'est pas dans l'intervalle {range}.",
    "{name} {filename!r} does not exist.": "{name} {filename!r} n'existe pas.",
    "{name} {filename!r} is a directory.": "{name} {filename!r} est un dossier.",
    "{name} {filename!r} is a file.": "{name} {filename!r} est un fichier.",
    "{name} {filename!r} is not readable.": "{name} {filename!r} n'est pas lisible.",
    "{name} {filename!r} is not writable.": "{name} {filename!r} n'est pas modifiable.",
    "Could not open file {filename!r}: {message}": "Impossible d'ouvrir le fichier {filename!r} : {message}",
    "default: {default}": "par défaut : {default}",
    "Choose from:\n\t{choices}": "Choisissez parmi :\n\t{choices}",
    "Aborted!": "Abandon.",
    "file": "Fichier",
    "directory": "Dossier",
    "path": "Chemin",
    "integer": "entier",
    "Got unexpected extra argument ({args})": "Argument inattendu ({args})",
    "Got unexpected extra arguments ({args})": "Arguments inattendus ({args})",
}
# click 8.2+ words "not a valid choice" through this template.
FRENCH["{value!r} is not {choice}."] = "{value!r} n'est pas {choice}."
FRENCH["{value!r} is not one of {choices}."] = "{value!r} ne fait pas partie de {choices}."


def _gettext(message: str) -> str:
    return FRENCH.get(message, message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return _gettext(singular if n == 1 else plural)


def install() -> None:
    for module in (
        click.core, click.decorators, click.exceptions, click.formatting,
        click.parser, click.termui, click.types,
    ):  # fmt: skip
        if hasattr(module, "_"):
            module._ = _gettext
        if hasattr(module, "ngettext"):
            module.ngettext = _ngettext


install()
