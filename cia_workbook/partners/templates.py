"""First stage of the yearly cycle: the Excel workbook each partner receives and fills.

Every sheet, column and list comes from `schema.schema_for`; the template's sheets are laid out
for people (dropdowns, highlighted required cells, protection, print set-up) by
`template_sheets` (tables, forms, the hidden list and identification sheets), `template_readme`
(Lisez-moi) and `template_synthese` (Synthèse); the identification is recorded where Excel and
LibreOffice keep it (very hidden sheet, defined names, custom document properties). Cached
formula values are left at 0: the tool never trusts them and recomputes everything from the rows.
"""

from __future__ import annotations

from pathlib import Path

from cia_workbook.convention.settings import Convention, Partner
from cia_workbook.fileio import atomic_path
from cia_workbook.intake.model import Campaign, ReturnFile
from cia_workbook.partners.template_readme import write_readme
from cia_workbook.partners.template_sheets import (
    FilledReturn,
    Template,
    TemplateFormats,
    write_form,
    write_identification,
    write_lists,
    write_table,
)
from cia_workbook.partners.template_synthese import write_synthese
from cia_workbook.partners.workbook_formats import PROTECTION, new_workbook
from cia_workbook.schema import formatdoc
from cia_workbook.schema import sheets as schema

# How each layout of the schema's sheets is written.
SHEET_WRITERS = {"readme": write_readme, "form": write_form, "table": write_table, "synthese": write_synthese}


class MissingContact(ValueError):
    """The convention gives no address for the returns: no template can say where to send it."""


def require_contact(convention: Convention) -> str:
    """The address partners send their files to (« courriel_contact »); MissingContact without one."""
    address = convention.campaign.contact_email.strip()
    if not address:
        raise MissingContact(
            "La convention n'indique pas l'adresse à laquelle les partenaires renvoient leurs fichiers : "
            "renseignez « courriel_contact » dans la section [campagne] du fichier de la convention "
            '(par exemple courriel_contact = "habitat@mon-epci.fr"), puis relancez la commande. '
            "Chaque modèle affiche cette adresse."
        )
    return address


def template_filename(partner: Partner, year: int) -> str:
    """Stable file name without spaces or accents, e.g. cia-2024-logis-cevenols.xlsx."""
    return schema.template_file_name(partner.id, year)


def write_templates(
    convention: Convention,
    year: int,
    outdir: Path,
    partner_ids=None,
    previous: Campaign | None = None,
) -> list[Path]:
    """Write one template per partner (all, or those of `partner_ids`) into `outdir`, with the
    format documentation of the year beside them (`formatdoc.write_format_files`: format-<year>.md
    and the Table Schema of each table); MissingContact when the convention gives no return address.
    Returns the templates' paths."""
    require_contact(convention)
    wanted = set(partner_ids) if partner_ids else None
    previous_returns = previous.usable() if previous is not None else {}
    previous_excluded = previous.excluded() if previous is not None else {}
    paths = []
    for partner in convention.partners:
        if wanted is not None and partner.id not in wanted:
            continue
        path = Path(outdir) / template_filename(partner, year)
        paths.append(
            write_template(
                convention,
                partner,
                year,
                path,
                previous_returns.get(partner.id),
                previous_excluded=previous_excluded.get(partner.id),
                previous_missing=previous is not None and partner.id in previous.missing,
            )
        )
    if convention.collects_demand and wanted is None:
        # The EPCI's own Demande workbook (demand.py), filled by the officer from the SNE.
        from cia_workbook.schema.sheets import demand_file_name, demand_partner

        path = Path(outdir) / demand_file_name(year)
        paths.append(write_template(convention, demand_partner(convention), year, path))
    formatdoc.write_format_files(convention, year, outdir)
    return paths


def write_template(
    convention: Convention,
    partner: Partner,
    year: int,
    path: Path,
    previous_return: ReturnFile | None = None,
    filled: FilledReturn | None = None,
    previous_excluded: ReturnFile | None = None,
    previous_missing: bool = False,
) -> Path:
    """Write the workbook of one partner for `year` atomically at `path`.

    The Synthèse compares with the partner's validated return of the year before
    (`previous_return`); without one, it says why: that return was excluded for errors
    (`previous_excluded`) or never received (`previous_missing`).

    `filled` (demo and benchmarks only) writes a partner's answers into the data rows and forms
    as the template is built: thousands of filled returns in seconds, where opening each
    template again with openpyxl would take minutes.

    MissingContact when the convention gives no return address (every template shows it).
    """
    require_contact(convention)
    wb_schema = schema.schema_for(convention, partner.kind, year, partner.id)
    with atomic_path(Path(path)) as tmp:
        wb = new_workbook(
            tmp,
            title=f"Bilan {year} de la CIA – {partner.name}",
            subject=convention.info.title,
            author=convention.epci.name,
            comments="Modèle généré par cia-workbook : ne pas renommer les feuilles ni modifier les en-têtes.",
        )
        template = Template(
            convention,
            partner,
            year,
            wb_schema,
            wb,
            TemplateFormats(wb),
            previous_return,
            previous_excluded,
            previous_missing,
            filled,
        )
        _write(template)
    return Path(path)


def _write(t: Template) -> None:
    """Every sheet of the template, the hidden ones after the partner's, the first one active."""
    sheets = {sheet.key: t.wb.add_worksheet(sheet.title) for sheet in t.schema.sheets}
    write_lists(t, t.wb.add_worksheet(schema.LISTS_SHEET))
    write_identification(t, t.wb.add_worksheet(schema.ID_SHEET))
    for sheet in t.schema.sheets:
        ws = sheets[sheet.key]
        SHEET_WRITERS[sheet.layout](t, ws, sheet)
        ws.protect("", PROTECTION)
    sheets[t.schema.sheets[0].key].activate()
    t.wb.close()
