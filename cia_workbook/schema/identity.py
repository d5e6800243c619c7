"""The identity of a template and the schema's version: what a returned workbook says about
itself (its very hidden sheet, defined names and document properties) and its file name."""

from __future__ import annotations

SCHEMA_VERSION = "1.2"
# Earlier versions whose returns are still read: a column added since (`Column.since`) is then
# not expected, and what its absence means is said once per file (finding MODELE_ANCIEN).
READABLE_VERSIONS = ("1.0", "1.1")
TEMPLATE_MARKER = "cia-workbook"
ID_SHEET = "_cia"  # very hidden sheet holding the identification of the template
LISTS_SHEET = "_listes"  # very hidden sheet holding the dropdown lists
# Identification of a template: key → value rows in columns A:B of the very hidden ID_SHEET,
# in this order; also written as defined names (CIA_<KEY>) and custom document properties.
ID_KEYS = ("modele", "version_schema", "convention", "partenaire", "type", "annee")
# The file name of a partner's template, kept by most partners when they send it back: what a
# received file's name says about its partner is read from it (`validate.partner_of_file_name`).
TEMPLATE_FILE_PREFIX = "cia"


def template_file_name(partner_id: str, year: int) -> str:
    """Stable file name without spaces or accents, e.g. cia-2024-logis-cevenols.xlsx."""
    return f"{TEMPLATE_FILE_PREFIX}-{year}-{partner_id}.xlsx"


def version_key(version: str) -> tuple[int, ...] | None:
    """« 1.1 » → (1, 1), « 1.0 » and « 1 » → (1,); None for a version that is not numbers and dots."""
    try:
        parts = [int(part) for part in str(version).strip().split(".")]
    except ValueError:
        return None
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def older_than(version: str, other: str) -> bool:
    """Whether schema `version` precedes `other` (unreadable versions precede nothing)."""
    a, b = version_key(version), version_key(other)
    return a is not None and b is not None and a < b
