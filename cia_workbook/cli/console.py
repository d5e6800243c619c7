"""Last step of `validate`: the campaign told to the officer, as console text or as JSON.

One line per partner (received or missing, verdict, file used, versions replaced), then the
files used by no one, then the findings grouped by file, then the cross-checks. The JSON holds
the same facts for programs. Both are pure functions of the campaign, so two runs print the same.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cia_workbook.convention.settings import Convention
from cia_workbook.intake.model import Campaign, ReturnFile, replaced_by, verdict
from cia_workbook.render.typography import plural
from cia_workbook.schema.findings import Finding

if TYPE_CHECKING:
    from cia_workbook.partners.feedback import StaleCopies

# Beyond this many identical findings in one column, the console shows a few and counts the rest.
MAX_SAME_PER_COLUMN = 5
SHOWN_WHEN_REPEATED = 3


def partner_lines(convention: Convention, campaign: Campaign) -> list[dict[str, Any]]:
    """One entry per partner of the convention, in the convention's order."""
    out = []
    aside = campaign.set_aside()
    for p in convention.partners:
        rf = campaign.used.get(p.id)
        entry: dict[str, Any] = {
            "partenaire": p.id,
            "nom": p.name,
            "type": p.kind,
            "recu": rf is not None,
            "statut": verdict(rf) if rf else "manquant",
            "fichier": rf.name if rf else None,
            "remplace": [old.name for old in campaign.superseded.get(p.id, [])],
            "erreurs": sum(f.is_error for f in rf.findings) if rf else 0,
            "avertissements": sum(not f.is_error for f in rf.findings) if rf else 0,
            "consolide": bool(rf) and not rf.has_errors,
            "a_examiner": aside.get(p.id, []),
        }
        out.append(entry)
    return out


def count(n: int, singular: str, plural_form: str | None = None) -> str:
    """« 3 erreurs », « 1 avertissement », as a terminal shows them (plain spaces)."""
    return f"{n} {plural(n, singular, plural_form)}"


def _unused(campaign: Campaign) -> list[ReturnFile]:
    used = {id(rf) for rf in campaign.used.values()}
    old = {id(rf) for versions in campaign.superseded.values() for rf in versions}
    return [rf for rf in campaign.files if id(rf) not in used and id(rf) not in old]


def campaign_text(
    convention: Convention,
    campaign: Campaign,
    written: list[Path],
    stale: StaleCopies | None = None,
    problems: list[Finding] | None = None,
) -> str:
    return "\n".join(campaign_lines(convention, campaign, written, stale, problems))


def campaign_lines(
    convention: Convention,
    campaign: Campaign,
    written: list[Path],
    stale: StaleCopies | None = None,
    problems: list[Finding] | None = None,
) -> list[str]:
    """The campaign for the officer, one console line each (the CLI shows every character a
    terminal would act on as an escape: see terminal.py)."""
    n = len(campaign.files)
    lines = [
        f"Contrôle des réponses {campaign.year} — {count(n, 'fichier examiné', 'fichiers examinés')}",
        "",
    ]
    entries = partner_lines(convention, campaign)
    width = max(len(e["nom"]) for e in entries)
    lines.append("Partenaires :")
    for e in entries:
        aside = ", ".join(e["a_examiner"])
        if not e["recu"]:
            line = f"  {e['nom']:<{width}}  manquant"
            if aside:
                one = len(e["a_examiner"]) == 1
                line += (f" — le{'' if one else 's'} fichier{'' if one else 's'} {aside} pourrai{'t' if one else 'ent'} "
                         f"être le sien (identification contradictoire)")  # fmt: skip
            lines.append(line)
            continue
        counts = []
        if e["erreurs"]:
            counts.append(count(e["erreurs"], "erreur"))
        if e["avertissements"]:
            counts.append(count(e["avertissements"], "avertissement"))
        detail = f" ({', '.join(counts)})" if counts else ""
        line = f"  {e['nom']:<{width}}  reçu, {e['statut']}{detail} — fichier utilisé : {e['fichier']}"
        if e["remplace"]:
            line += f" ; remplace {', '.join(e['remplace'])}"
        if aside:
            line += f" ; à examiner : {aside} (identification contradictoire, non retenu)"
        lines.append(line)
    unused = _unused(campaign)
    if unused:
        lines += ["", "Fichiers non retenus :"]
        for rf in unused:
            lines.append(f"  {rf.name} : {verdict(rf)}{_why_unused(rf)}")
    replaced = replaced_by(campaign)
    if replaced:
        lines += [
            "",
            "Versions remplacées (leurs constats ne valent plus, aucune copie annotée à renvoyer) :",
        ]
        for rf in campaign.files:
            if id(rf) in replaced:
                lines.append(f"  {rf.name} : remplacé par {replaced[id(rf)].name}")
    with_findings = [rf for rf in campaign.files if rf.findings and id(rf) not in replaced]
    if with_findings:
        lines += ["", "Constats par fichier :"]
        for rf in with_findings:
            lines.append(f"  {rf.name} ({verdict(rf)}, sha256 {rf.sha256[:12]}…)")
            lines.extend(f"    {line}" for line in _grouped(rf.findings))
    if campaign.cross_findings:
        lines += ["", "Contrôles croisés entre partenaires :"]
        lines.extend(f"  {_short(f)}" for f in campaign.cross_findings)
    used = len(campaign.usable())
    lines += [
        "",
        f"Bilan : {count(len(campaign.used), 'partenaire reçu', 'partenaires reçus')} sur "
        f"{len(convention.partners)}, {count(used, 'retenu')} pour la consolidation, "
        f"{count(len(campaign.excluded()), 'exclu')} pour erreurs, {count(len(campaign.missing), 'manquant')}.",
    ]
    if written:
        lines += ["", "Fichiers écrits :"]
        lines.extend(f"  {p}" for p in written)
    if problems:
        lines += ["", "Fichiers non écrits ou non annotés :"]
        lines.extend(f"  {f.file} [{f.code}] {f.severity} : {f.message}" for f in problems)
    if stale is not None and stale.removed:
        lines += [
            "",
            "Copies annotées retirées (fichier corrigé ou remplacé depuis, illisible, renommé ou retiré de forms/) :",
        ]
        lines.extend(f"  {p}" for p in stale.removed)
    if stale is not None and stale.left:
        lines += [
            "",
            "Copies annotées périmées qui n'ont pas pu être retirées (sans doute ouvertes dans un tableur) : "
            "ne les renvoyez pas ; fermez-les puis relancez « cia-workbook validate », ou supprimez-les.",
        ]
        lines.extend(f"  {p}" for p in stale.left)
    return lines


def _column(cell: str) -> str:
    return "".join(ch for ch in cell.split(":")[0] if ch.isalpha())


def _grouped(findings: list[Finding]) -> list[str]:
    """Findings as lines; a problem repeated down a whole column is shown a few times, then counted.

    A pasted export often gets one column wrong on every row: hundreds of identical lines would
    hide the other problems. The JSON output and the corrected copy keep every finding.
    """
    groups: dict[tuple[str, str, str], list[Finding]] = {}
    for f in findings:
        groups.setdefault((f.code, f.sheet, _column(f.cell) if f.cell else f.cell), []).append(f)
    lines: list[str] = []
    for (code, sheet, column), group in groups.items():
        if len(group) <= MAX_SAME_PER_COLUMN or not column:
            lines.extend(_short(f) for f in group)
            continue
        lines.extend(_short(f) for f in group[:SHOWN_WHEN_REPEATED])
        rest = len(group) - SHOWN_WHEN_REPEATED
        lines.append(
            f"… et {rest} autres cellules de la colonne {column} de la feuille « {sheet} » avec le même "
            f"constat [{code}] : toutes sont signalées dans la copie annotée et dans la sortie --json."
        )
    return lines


def _why_unused(rf: ReturnFile) -> str:
    first = next((f for f in rf.findings if f.is_error), None) or (rf.findings[0] if rf.findings else None)
    return f" — {first.type.title.lower()}" if first else ""


def _short(f: Finding) -> str:
    where = " ".join(x for x in (f.sheet, f.cell) if x)
    where = f"{where} " if where else ""
    return f"{where}[{f.code}] {f.severity} : {f.message}"


def finding_dict(f: Finding) -> dict[str, Any]:
    """A finding for `--json`, with French keys like the rest of the output."""
    return {
        "code": f.code,
        "gravite": f.severity,
        "fichier": f.file,
        "feuille": f.sheet,
        "cellule": f.cell,
        "message": f.message,
        "titre": f.type.title,
    }


def campaign_json(
    convention: Convention,
    campaign: Campaign,
    written: list[Path],
    stale: StaleCopies | None = None,
    problems: list[Finding] | None = None,
) -> str:
    used = {id(rf): pid for pid, rf in campaign.used.items()}
    old = {id(rf): pid for pid, versions in campaign.superseded.items() for rf in versions}
    files = []
    for rf in campaign.files:
        replaced = id(rf) in old
        files.append(
            {
                "fichier": rf.name,
                "chemin": str(rf.path),
                "sha256": rf.sha256,
                "taille": rf.size,
                "modifie": rf.modified.isoformat(),
                "lecteur": rf.reader,
                "statut": "remplacé" if replaced else verdict(rf),
                "partenaire": rf.partner_id,
                "annee": rf.identity.year if rf.identity else None,
                "utilise": id(rf) in used,
                "remplace_par": campaign.used[old[id(rf)]].name if id(rf) in old else None,
                # A replaced version's findings no longer apply: the newer version's do.
                "constats": [] if replaced else [finding_dict(f) for f in rf.findings],
            }
        )
    data = {
        "annee": campaign.year,
        "partenaires": partner_lines(convention, campaign),
        "manquants": list(campaign.missing),
        "fichiers": files,
        "constats_croises": [finding_dict(f) for f in campaign.cross_findings],
        "ecrits": [str(p) for p in written],
        "retires": [str(p) for p in stale.removed] if stale else [],
        "non_retires": [str(p) for p in stale.left] if stale else [],
        "non_ecrits": [finding_dict(f) for f in problems or []],
    }
    return json.dumps(data, ensure_ascii=False, indent=2)
