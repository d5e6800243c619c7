"""The territory of the convention: the EPCI and its communes, the QPV geographies of its years,
the local zones it treats as QPVs, the zooms and sectors the bilan follows; their checks."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from cia_workbook.convention.base import InseeCode, Model, Problems, at, check_commune, dupes


class Commune(Model):
    insee: InseeCode
    name: str = Field(alias="nom", min_length=1)
    # Written `population_2017` in the Alès file, `population` (the year said in [[sources]])
    # in a file written by `init --epci`; only used to proportion the demonstration data.
    population: int | None = Field(
        default=None, validation_alias=AliasChoices("population_2017", "population"), ge=0
    )


class Epci(Model):
    name: str = Field(alias="nom", min_length=1)
    siren: str | None = Field(default=None, pattern=r"^\d{9}$")
    departement: str | None = None
    communes: list[Commune] = Field(min_length=1)


class Qpv(Model):
    code: str = Field(pattern=r"^Q[PN]\d{3}[0-9A-Z]{3}$")
    name: str = Field(alias="nom", min_length=1)
    communes: list[InseeCode] = Field(min_length=1)


class QpvGeography(Model):
    id: str = Field(alias="identifiant", min_length=1)
    label: str = Field(alias="libelle", min_length=1)
    first_year: int = Field(alias="premiere_annee")
    last_year: int | None = Field(default=None, alias="derniere_annee")
    qpvs: list[Qpv] = Field(alias="qpv")

    def applies_to(self, year: int) -> bool:
        return self.first_year <= year and (self.last_year is None or year <= self.last_year)


class LocalZone(Model):
    code: str = Field(pattern=r"^[A-Z0-9_]+$")
    name: str = Field(alias="nom", min_length=1)
    commune: InseeCode
    # How a sentence says "in the zone" (« dans le quartier des Promelles »); by default built
    # from the name.
    in_words: str | None = Field(default=None, alias="dans", min_length=1)

    @property
    def inside(self) -> str:
        return self.in_words or f"dans la zone « {self.name} »"


class Zoom(Model):
    name: str = Field(alias="nom", min_length=1)
    communes: list[InseeCode] = Field(min_length=1)


class Sector(Model):
    """A sector of the territory whose demand and tension the bilan follows (Action 4 of Alès:
    the urban core, the peri-urban ring, the south); a commune in no sector is « autres communes »."""

    name: str = Field(alias="nom", min_length=1)
    communes: list[InseeCode] = Field(min_length=1)


def check_geography(
    problems: Problems,
    epci: Epci,
    geographies: list[QpvGeography],
    years: range,
    zones: list[LocalZone],
    zooms: list[Zoom],
    sectors: list[Sector],
) -> None:
    """Communes once each, one QPV geography for every year of the convention, and the QPVs,
    zones, zooms and sectors on communes of the EPCI."""
    insee = {c.insee for c in epci.communes}
    dupes(problems, "epci.communes", [c.insee for c in epci.communes], "code INSEE")
    dupes(problems, "geographies_qpv", [g.id for g in geographies], "identifiant")
    for geo in geographies:
        where = at("geographies_qpv", geo.id)
        dupes(problems, f"{where}.qpv", [q.code for q in geo.qpvs], "code QPV")
        for qpv in geo.qpvs:
            for commune in qpv.communes:
                check_commune(problems, insee, f"{where}.{at('qpv', qpv.code)}.communes", commune)
    for year in years:
        geos = [g.id for g in geographies if g.applies_to(year)]
        if len(geos) != 1:
            what = "aucune géographie" if not geos else f"plusieurs géographies ({', '.join(geos)})"
            problems.append(("geographies_qpv", f"l'année {year} de la convention a {what} ; il en faut une"))
    dupes(problems, "zones_locales", [z.code for z in zones], "code")
    for zone in zones:
        check_commune(problems, insee, f"{at('zones_locales', zone.code)}.commune", zone.commune)
    for zoom in zooms:
        for commune in zoom.communes:
            check_commune(problems, insee, f"{at('zooms', zoom.name)}.communes", commune)
    dupes(problems, "secteurs", [s.name for s in sectors], "nom")
    dupes(problems, "secteurs.communes", [c for s in sectors for c in s.communes], "commune")
    for sector in sectors:
        for commune in sector.communes:
            check_commune(problems, insee, f"{at('secteurs', sector.name)}.communes", commune)
