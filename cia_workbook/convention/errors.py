"""The convention loader's errors worded in French for the officer: pydantic's errors as the
file's key paths, tomllib's syntax errors as a place and what to do."""

from __future__ import annotations

import re
import tomllib

from pydantic import ValidationError

from cia_workbook.convention.base import ITEM_KEYS, or_list
from cia_workbook.convention.partners import BAILLEUR_CATEGORIES

_PYDANTIC_FR = {
    "missing": "clé obligatoire absente",
    "extra_forbidden": "clé inconnue (faute de frappe ?)",
    "int_parsing": "nombre entier attendu",
    "int_type": "nombre entier attendu",
    "float_parsing": "nombre attendu",
    "float_type": "nombre attendu",
    "string_type": "texte entre guillemets attendu",
    "bool_type": "true ou false attendu",
    "bool_parsing": "true ou false attendu",
    "list_type": "liste entre crochets attendue",
    "dict_type": "table attendue",
    "model_type": "table attendue",
    "date_type": "date attendue (AAAA-MM-JJ)",
    "date_parsing": "date attendue (AAAA-MM-JJ)",
    "date_from_datetime_parsing": "date attendue (AAAA-MM-JJ)",
    "literal_error": "valeur non autorisée",
    "string_pattern_mismatch": "format incorrect",
    "string_too_short": "ne doit pas être vide",
    "too_short": "liste trop courte",
    "greater_than": "valeur trop petite",
    "greater_than_equal": "valeur trop petite",
    "less_than_equal": "valeur trop grande",
}


def _format_loc(loc: tuple, data: object) -> str:
    """A pydantic location as the file's key path, each item of a list named by its identifying
    key (« partenaires[identifiant = sfhe].commune »), or by its 1-based rank when it has none."""
    out = ""
    node = data
    parent = ""
    for part in loc:
        if isinstance(part, int) and isinstance(node, list):
            item = node[part] if part < len(node) else None
            key = ITEM_KEYS.get(parent)
            if isinstance(item, dict) and key and isinstance(item.get(key), str | int):
                out += f"[{key} = {item[key]}]"
            else:
                out += f"[n° {part + 1}]"
            node = item
        else:
            out += ("." if out else "") + str(part)
            node = node.get(part) if isinstance(node, dict) else None
            parent = str(part)
    return out or "(racine)"


def _explain(err: dict) -> str:
    kind = err["type"]
    base = _PYDANTIC_FR.get(kind, "valeur incorrecte")
    ctx = err.get("ctx") or {}
    if kind == "literal_error" and "expected" in ctx:
        base += f" : valeurs possibles {ctx['expected']}"
    elif kind in ("greater_than", "greater_than_equal") and ctx:
        base += f" : minimum {ctx.get('gt', ctx.get('ge'))}"
    elif kind == "less_than_equal" and ctx:
        base += f" : maximum {ctx.get('le')}"
    if "input" in err and kind not in ("missing",) and not isinstance(err["input"], dict | list):
        base += f" (valeur lue : {err['input']!r})"
    return base


def validation_lines(exc: ValidationError, data: dict) -> list[str]:
    """Each of pydantic's errors as a line « - [key] what is wrong »."""
    lines = []
    for err in exc.errors():
        if err["type"] == "value_error":
            # Cross-field problems come already worded, prefixed by their key.
            msg = str(err.get("ctx", {}).get("error", err["msg"]))
            lines.extend(f"  - {part}" for part in msg.split("\n"))
        elif err["type"] == "missing" and err["loc"] == ("partenaires",):
            lines.append(
                "  - [partenaires] aucun partenaire : ajoutez au moins un bailleur, un bloc "
                '[[partenaires]] avec identifiant, nom, type = "bailleur" et categorie '
                f"({or_list(BAILLEUR_CATEGORIES)})"
            )
        else:
            lines.append(f"  - [{_format_loc(err['loc'], data)}] {_explain(err)}")
    return lines


# tomllib's messages (Python 3.11 to 3.13), each with what to do, in French.
_TOML_FR = (
    (r"Expected '=' after a key", "il manque le signe « = » après le nom de la clé"),
    (
        r"Invalid value",
        'valeur illisible : un texte s\'écrit entre guillemets droits ("…"), '
        "un nombre sans espace ni unité, une date AAAA-MM-JJ, true ou false",
    ),
    (r"Unterminated string", "texte sans guillemet fermant : fermez-le sur la même ligne"),
    (
        r"Illegal character",
        "caractère interdit dans un texte (tabulation, retour à la ligne) : "
        "retirez-le ou écrivez le texte sur une seule ligne",
    ),
    (
        r"Unclosed array",
        "liste non fermée : ajoutez le crochet « ] » et séparez les éléments par des virgules",
    ),
    (
        r"Unclosed inline table",
        "accolade non fermée : ajoutez « } » en fin de ligne et séparez les paires par des virgules",
    ),
    (r"Expected ']' at the end of a table", "il manque le crochet fermant « ] » du titre de section"),
    (r"Expected ']]' at the end of an array", "il manque les crochets fermants « ]] » du titre de section"),
    (
        r"Cannot declare .* twice|Cannot overwrite a value|Duplicate inline table key",
        "clé ou section écrite deux fois : gardez-en une seule",
    ),
    (r"Cannot (mutate|redefine)", "section déjà définie plus haut : regroupez ses clés sous un seul titre"),
    (r"Invalid date or datetime", "date incorrecte : écrivez-la AAAA-MM-JJ (par exemple 2025-03-31)"),
    (
        r"Invalid initial character for a key part|Invalid statement|Found invalid character",
        "ligne illisible : une ligne est soit un titre [section], soit « clé = valeur », soit un "
        "commentaire commençant par #",
    ),
    (
        r"Unescaped '\\'|Invalid hex value|Escaped character",
        "barre oblique inverse « \\ » dans un texte : doublez-la (\\\\) ou mettez le texte entre apostrophes",
    ),
)


def toml_error(exc: tomllib.TOMLDecodeError) -> str:
    """« ligne 12, colonne 9 : il manque le signe = … » from tomllib's English message."""
    message = str(exc)
    where = re.search(r"\(at line (\d+), column (\d+)\)$", message)
    if where:
        place = f"à la ligne {where.group(1)}, colonne {where.group(2)}"
    elif message.endswith("(at end of document)"):
        place = "à la fin du fichier"
    else:
        place = "à un endroit que le lecteur TOML ne précise pas"
    what = next(
        (fr for pattern, fr in _TOML_FR if re.search(pattern, message)),
        "syntaxe incorrecte : vérifiez les guillemets, les crochets et les signes « = »",
    )
    return f"{place} : {what}"
