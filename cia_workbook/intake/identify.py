"""Intake's identification of a workbook: which partner, year and convention it says it is for,
from the most trusted source that survived, and whether its other places name someone else.

Input is a `reader.RawWorkbook` (its hidden identification sources and the visible
Identification sheet); nothing here knows a file path beyond the received file's name.
"""

from __future__ import annotations

import re
from functools import lru_cache

from cia_workbook.convention.settings import Convention
from cia_workbook.intake.model import Identity
from cia_workbook.intake.reader import RawSheet, RawWorkbook
from cia_workbook.partners.excel import shortened
from cia_workbook.schema import sheets as schema
from cia_workbook.schema.codes import normalize
from cia_workbook.schema.findings import Finding, finding

_normalize = lru_cache(maxsize=16384)(normalize)


def identify(
    convention: Convention, year: int, raw: RawWorkbook
) -> tuple[Identity | None, list[Finding], bool]:
    """Identity of the workbook from the most trusted source that survived, and its checks.

    Returns (identity, findings, usable): not usable means the contents are not judged, because
    the file is not this year's template of a partner of this convention.
    """
    found: list[Finding] = []
    values: dict[str, str] = {}
    for _source, pairs in raw.id_sources:
        for key, value in pairs.items():
            values.setdefault(key, value)
    reconstructed = not values.get("partenaire") or not values.get("annee")
    if reconstructed:
        fallback = _identity_from_visible_sheet(convention, raw)
        if fallback is None:
            return None, [finding("MODELE_INCONNU", raw.name)], False
        partner, year_found = fallback
        found.append(
            finding("IDENTIFICATION_RECONSTITUEE", raw.name, schema.IDENTIFICATION.title, "",
                    partner=partner.name, year=year_found)
        )  # fmt: skip
        values = {
            "modele": schema.TEMPLATE_MARKER,
            "version_schema": schema.SCHEMA_VERSION,
            "convention": convention.info.id,
            "partenaire": partner.id,
            "type": partner.kind,
            "annee": str(year_found),
        }
    if values.get("modele", schema.TEMPLATE_MARKER) != schema.TEMPLATE_MARKER:
        return None, [*found, finding("MODELE_INCONNU", raw.name)], False
    year_text = values.get("annee", "")
    try:
        year_found = int(float(year_text.replace(",", ".")))
    except ValueError:
        year_found = 0
    partner = convention.partners_by_id.get(values.get("partenaire", ""))
    kind = values.get("type") or (partner.kind if partner else "")
    identity = Identity(
        marker=values.get("modele", schema.TEMPLATE_MARKER),
        schema_version=values.get("version_schema", schema.SCHEMA_VERSION),
        convention_id=values.get("convention", convention.info.id),
        partner_id=values.get("partenaire", ""),
        kind=kind,
        year=year_found,
    )
    if identity.convention_id != convention.info.id:
        found.append(
            finding("MODELE_CONVENTION", raw.name, found=identity.convention_id, expected=convention.info.id)
        )
        return identity, found, False
    if kind == "demande" and identity.partner_id == "demande" and convention.collects_demand:
        # The EPCI's own Demande workbook (demand.py): no partner, no places naming one.
        if not _same_version(identity.schema_version, schema.SCHEMA_VERSION):
            found.append(
                finding(
                    "MODELE_VERSION", raw.name, found=identity.schema_version, expected=schema.SCHEMA_VERSION
                )
            )
            return identity, found, False
        if year_found != year:
            found.append(finding("MODELE_ANNEE", raw.name, found=year_text or "?", expected=year))
            return identity, found, False
        return identity, found, True
    if partner is None:
        found.append(finding("MODELE_PARTENAIRE", raw.name, found=identity.partner_id))
        return identity, found, False
    if not _same_version(identity.schema_version, schema.SCHEMA_VERSION):
        found.append(
            finding("MODELE_VERSION", raw.name, found=identity.schema_version, expected=schema.SCHEMA_VERSION)
        )
        return identity, found, False
    if kind != partner.kind:
        found.append(finding("MODELE_TYPE", raw.name, found=kind, expected=partner.kind))
        return identity, found, False
    if year_found != year:
        found.append(finding("MODELE_ANNEE", raw.name, found=year_text or "?", expected=year))
        return identity, found, False
    found += _identity_conflicts(convention, raw, partner, year, reconstructed)
    return identity, found, True


# Where each hidden identification is kept (`reader.RawWorkbook.id_sources`), as a partner
# reads it in a message.
_HIDDEN_PLACE = {
    "feuille": ("feuille cachée « _cia »", "de la"),
    "noms": ("noms définis du classeur", "des"),
    "proprietes": ("propriétés du document", "des"),
}


def _identity_conflicts(
    convention: Convention, raw: RawWorkbook, partner, year: int, reconstructed: bool
) -> list[Finding]:
    """IDENTITE_CONTRADICTOIRE for each place of the workbook that names another partner than
    its identification: another hidden source, the visible Identification sheet, the file name.
    (The folder it was put in is intake's to check: `intake.place_conflicts`.)"""
    out: list[Finding] = []
    where = "feuille Identification" if reconstructed else "identification cachée du modèle"
    if not reconstructed:
        chosen = next((src for src, pairs in raw.id_sources if pairs.get("partenaire")), "")
        for source, pairs in raw.id_sources:
            other = pairs.get("partenaire", partner.id)
            if other != partner.id and other in convention.partners_by_id:
                place, of = _HIDDEN_PLACE.get(source, (source, "de"))
                out.append(identity_conflict(
                    convention, raw.name, partner.id, other, f"l'identification {of} {place}",
                    f"recopiez-les dans le modèle envoyé à {partner.name}",
                    partner_where=_HIDDEN_PLACE.get(chosen, (where,))[0],
                ))  # fmt: skip
        sheet = _identification_sheet(raw)
        cell = schema.IDENTIFICATION.form_cell("partenaire")
        shown = sheet.cell(cell) if sheet is not None else ""
        named = partners_named(convention, shown)
        if named and partner.id not in named:
            out.append(identity_conflict(
                convention, raw.name, partner.id, min(named, key=convention.partner_rank),
                f"la feuille Identification (cellule {cell} : « {shortened(shown.strip(), 60)} »)",
                f"remettez « {partner.name} » en cellule {cell} de la feuille Identification",
                sheet=sheet.title, cell=cell, partner_where=where,
            ))  # fmt: skip
    other = partner_of_file_name(convention, raw.name)
    if other is not None and other != partner.id:
        out.append(identity_conflict(
            convention, raw.name, partner.id, other, "le nom du fichier",
            f"renommez le fichier « {schema.template_file_name(partner.id, year)} »",
            partner_where=where,
        ))  # fmt: skip
    return out


def identity_conflict(
    convention: Convention,
    file: str,
    partner: str,
    other: str,
    other_where: str,
    fix: str,
    sheet: str = "",
    cell: str = "",
    partner_where: str = "identification cachée du modèle",
) -> Finding:
    """The finding of a file identified as `partner`'s whose `other_where` names `other`."""
    names = convention.partners_by_id
    return finding("IDENTITE_CONTRADICTOIRE", file, sheet, cell, partner=names[partner].name,
                   partner_where=partner_where, other=names[other].name, other_where=other_where, fix=fix,
                   partner_id=partner, other_id=other)  # fmt: skip


_WORD = re.compile(r"[0-9a-z]+")


def _words(text: str) -> tuple[str, ...]:
    """The words of a text, without case, accents or punctuation (« d'Alès » → d, ales)."""
    return tuple(_WORD.findall(_normalize(text)))


_PARTNER_WORDS: dict[int, tuple[Convention, dict[tuple[str, ...], str]]] = {}


def _partner_words(convention: Convention) -> dict[tuple[str, ...], str]:
    """The words that name one partner each: its id, its name and legal name, with and without
    what they hold in brackets, and what they hold in brackets. Words that several partners
    share (« SA d'HLM ») name none."""
    hit = _PARTNER_WORDS.get(id(convention))
    if hit is None or hit[0] is not convention:
        owners: dict[tuple[str, ...], set[str]] = {}
        for p in convention.partners:
            texts = [p.id, p.name, p.legal_name or ""]
            for text in texts[1:]:
                texts.append(re.sub(r"\([^)]*\)", " ", text))
                texts += re.findall(r"\(([^)]*)\)", text)
            for text in texts:
                if words := _words(text):
                    owners.setdefault(words, set()).add(p.id)
        keys = {words: next(iter(ids)) for words, ids in owners.items() if len(ids) == 1}
        hit = _PARTNER_WORDS[id(convention)] = (convention, keys)
    return hit[1]


def partners_named(convention: Convention, text: str) -> set[str]:
    """Ids of the partners a free text names, as whole words (« Logis Cévenols – agence
    d'Alès » → logis-cevenols); a name found inside another partner's longer name is not
    counted (« Gard » in « Habitat du Gard »)."""
    words = _words(text)
    if not words:
        return set()
    keys = _partner_words(convention)
    found = []
    for n in sorted({len(k) for k in keys}):
        for i in range(len(words) - n + 1):
            pid = keys.get(words[i : i + n])
            if pid is not None:
                found.append((i, i + n, pid))
    return {
        pid
        for start, end, pid in found
        if not any(s <= start and end <= e and (e - s) > (end - start) and p != pid for s, e, p in found)
    }


def partner_of_file_name(convention: Convention, name: str) -> str | None:
    """The partner whose template name a file name keeps (« Copie de cia-2024-sfhe (1).xlsx »
    → sfhe), or None: free words in a file name (« état des lieux ») are not taken for a name."""
    words = _words(name.rsplit(".", 1)[0])
    prefix = _words(schema.TEMPLATE_FILE_PREFIX)
    ids = _ids_longest_first(convention)
    n = len(prefix)
    for i in range(len(words) - n):
        if words[i : i + n] == prefix and words[i + n].isdigit():
            rest = words[i + n + 1 :]
            for key, pid in ids:
                if rest[: len(key)] == key:
                    return pid
    return None


_IDS: dict[int, tuple[Convention, list[tuple[tuple[str, ...], str]]]] = {}


def _ids_longest_first(convention: Convention) -> list[tuple[tuple[str, ...], str]]:
    """The partners' ids as words, the longest first (made once per convention)."""
    hit = _IDS.get(id(convention))
    if hit is None or hit[0] is not convention:
        ids = sorted(((_words(p.id), p.id) for p in convention.partners), key=lambda k: -len(k[0]))
        hit = _IDS[id(convention)] = (convention, ids)
    return hit[1]


def _identification_sheet(raw: RawWorkbook) -> RawSheet | None:
    return raw.sheet(schema.IDENTIFICATION.title) or next(
        (s for s in raw.sheets if normalize(s.title) == normalize(schema.IDENTIFICATION.title)), None
    )


def _same_version(found: str, expected: str) -> bool:
    """Whether a file of schema version `found` is read as this schema (`expected`): the same
    version, or an earlier one still readable (`schema.READABLE_VERSIONS`), whose missing
    columns are then said once (MODELE_ANCIEN) instead of being errors."""
    readable = [expected, *schema.READABLE_VERSIONS] if expected == schema.SCHEMA_VERSION else [expected]
    key = schema.version_key(found)
    if key is not None:
        return any(key == schema.version_key(v) for v in readable)
    return any(normalize(found) == normalize(v) for v in readable)


def _identity_from_visible_sheet(convention: Convention, raw: RawWorkbook):
    """Last resort when every hidden identification was lost: partner name and year as shown."""
    sheet = _identification_sheet(raw)
    if sheet is None:
        return None
    name = sheet.cell(schema.IDENTIFICATION.form_cell("partenaire"))
    year = sheet.cell(schema.IDENTIFICATION.form_cell("annee"))
    # The name as pre-filled, or free text naming one partner (« SFHE – agence d'Alès »).
    named = partners_named(convention, str(name))
    partner = convention.partners_by_id[next(iter(named))] if len(named) == 1 else None
    try:
        year_found = int(float(str(year).replace(",", ".")))
    except ValueError:
        return None
    return (partner, year_found) if partner else None
