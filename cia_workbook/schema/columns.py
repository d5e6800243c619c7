"""The schema's building blocks: a column (its kind, requirement, bounds, version), a sheet of
columns, and the workbook schema of a partner kind for a year."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from cia_workbook.schema.codes import CodeList

Kind = Literal["text", "integer", "decimal", "date", "code", "yesno"]
PartnerKind = Literal["bailleur", "reservataire", "operateur"]
FORM_FIRST_ROW = 3


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: Kind
    definition: str
    example: str
    required: bool = False
    # A conditional requirement: (other column key, codes of that column that make this one
    # required), read by the template (highlight) and the validator (CELLULE_OBLIGATOIRE) alike;
    # `required_when` is its wording for people ("si la suite donnée est « Bail signé »").
    required_if: tuple[str, tuple[str, ...]] | None = None
    required_when: str = ""
    codelist: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    width: int = 16
    # The schema version that added the column, or changed what it holds: returns of an earlier
    # version are read without it (or with its former header and meaning), and told so with
    # `before`, French: what the column is missing or meant in those returns.
    since: str = "1.0"
    before: str = ""
    former_headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Sheet:
    key: str
    title: str  # the sheet's name in the workbook
    layout: Literal["readme", "form", "table", "synthese"]
    purpose: str
    columns: tuple[Column, ...] = ()
    # For "table" sheets: the 1-based row of the header; data starts on the next row.
    header_row: int = 1
    rows: int = 0  # pre-formatted data rows in the template
    required: bool = True  # a return without this sheet is refused
    # For "table" sheets: the key columns the template fills in, a row per combination of their
    # lists' codes (one per bailleur on Contingent); a row holding nothing else is not data.
    prefilled: tuple[str, ...] = ()

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    @property
    def first_data_row(self) -> int:
        return self.header_row + 1

    # Form sheets (Identification, Actions): row 1 title, row 2 hint, then one field per row
    # from FORM_FIRST_ROW, the label in column A and the answer in column B.
    def form_row(self, key: str) -> int:
        index = next(i for i, c in enumerate(self.columns) if c.key == key)
        return FORM_FIRST_ROW + index

    def form_cell(self, key: str) -> str:
        return f"B{self.form_row(key)}"


@dataclass(frozen=True)
class WorkbookSchema:
    kind: PartnerKind
    year: int
    sheets: tuple[Sheet, ...]
    codelists: dict[str, CodeList] = field(hash=False)

    def sheet(self, key: str) -> Sheet:
        return next(s for s in self.sheets if s.key == key)

    @property
    def sheet_titles(self) -> list[str]:
        return [s.title for s in self.sheets]

    def example(self, column: Column) -> str:
        """The column's example; for territory lists (communes, bailleurs…), the list's first value."""
        if column.example or not column.codelist:
            return column.example
        codes = self.codelists[column.codelist].codes
        return codes[0].display if codes else ""


# The household's size and composition (the consumption units), in the Attributions and the
# rehousing sheets alike.
HOUSEHOLD_SIZE = Column("taille_menage", "Taille du ménage", "integer", "Nombre total de personnes du ménage.", "3",
                        minimum=1, maximum=20, width=9)  # fmt: skip
HOUSEHOLD_MEMBERS = (
    Column("nb_adultes", "Nombre d'adultes", "integer", "Nombre d'adultes du ménage.", "2", minimum=0, maximum=20, width=9),
    Column("nb_14_plus", "Personnes de 14 ans ou plus", "integer",
           "Nombre de personnes de 14 ans ou plus, adultes compris (sert au calcul des unités de consommation).",
           "2", minimum=0, maximum=20, width=10),
    Column("nb_moins_14", "Enfants de moins de 14 ans", "integer", "Nombre d'enfants de moins de 14 ans.", "1",
           minimum=0, maximum=20, width=10),
)  # fmt: skip
