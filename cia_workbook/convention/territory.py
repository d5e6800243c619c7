"""The territory reference data shipped with the package, and the convention `init --epci` makes of it.

data/reference/ holds the communes of the 1,255 EPCIs à fiscalité propre of 2026, the QPVs of
the 2024 geography and the yearly quartile thresholds of the EPCIs that must evaluate their
attributions (their origin and date in sources.toml). This module finds an EPCI by name or
SIREN, joins its QPVs (by commune code) and thresholds (by name), and writes the commented
convention.toml of that EPCI; convention.py then reads it like any other.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import gzip
import io
import json
import re
import tomllib
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

# The legal minimum targets of the objectives (CCH art. L. 441-1), in percent.
LEGAL_TARGETS = {"hors_qpv_q1": 25, "qpv_q234": 50, "publics_prioritaires": 25}
# The first year a convention written from the data can have: the 2024 QPV geography is the
# only one shipped (a year before it would have none).
FIRST_YEAR = 2024
# A CIA runs six years, the length of the local housing programme it goes with.
DEFAULT_YEARS = 6
KIND_LABELS = {
    "CC": "communauté de communes",
    "CA": "communauté d'agglomération",
    "CU": "communauté urbaine",
    "METRO": "métropole",
    "MET69": "métropole à statut particulier",
}
_STOP_WORDS = {"de", "du", "des", "la", "le", "les", "l", "d", "et", "en", "sur", "sous", "a", "au", "aux"}
_KIND_PREFIX = re.compile(r"^(ca|cc|cu) ")


class TerritoryError(Exception):
    """An EPCI that cannot be found or a period that the shipped data cannot cover (French)."""


@dataclass(frozen=True)
class CommuneRef:
    insee: str
    name: str
    population: int | None


@dataclass(frozen=True)
class EpciRef:
    siren: str
    name: str
    kind: str
    communes: tuple[CommuneRef, ...]

    @property
    def departements(self) -> list[str]:
        return sorted({departement_of(c.insee) for c in self.communes})


@dataclass(frozen=True)
class QpvRef:
    code: str
    name: str
    communes: tuple[str, ...]
    # Codes of the list replaced by that of the commune they merged into (communes-fusionnees.csv).
    merged: tuple[str, ...] = ()


@dataclass(frozen=True)
class QpvOfEpci:
    """A QPV as one EPCI has it: its communes in the EPCI, and those in other EPCIs."""

    qpv: QpvRef
    inside: tuple[str, ...]
    outside: tuple[str, ...]


@dataclass(frozen=True)
class ThresholdsRef:
    year: int
    q1: int | None
    q2: int | None
    q3: int | None
    names: tuple[str, ...]  # how the arrêté names the EPCI (several: territories of a métropole)
    # Rows of the arrêté for this EPCI and year that disagree: no value is taken.
    conflict: bool = False


@dataclass
class Reference:
    epcis: dict[str, EpciRef]
    qpvs: list[QpvRef]
    thresholds: dict[str, dict[int, ThresholdsRef]]
    departement_names: dict[str, str]
    sources: dict[str, dict]
    epci_of_commune: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.epci_of_commune = {c.insee: e.siren for e in self.epcis.values() for c in e.communes}

    # -- Finding an EPCI ---------------------------------------------------------------------

    def search(self, query: str) -> list[EpciRef]:
        """The EPCIs a name, part of a name or SIREN designates (accents and case ignored), most
        precise first: the same name, then every word of the query a word of the name, then
        each word the start of one, then anywhere in the name."""
        text = query.strip()
        if re.fullmatch(r"\d{9}", text):
            return [self.epcis[text]] if text in self.epcis else []
        wanted = normalize(text)
        if not wanted:
            return []
        words = [w for w in wanted.split() if w not in _STOP_WORDS] or wanted.split()
        named = sorted((normalize(e.name), e.siren, e) for e in self.epcis.values())
        tests = (
            lambda name, tokens: name == wanted or _KIND_PREFIX.sub("", name) == wanted,
            lambda name, tokens: all(w in tokens for w in words),
            lambda name, tokens: all(any(t.startswith(w) for t in tokens) for w in words),
            lambda name, tokens: wanted in name,
        )
        for test in tests:
            found = [e for name, _, e in named if test(name, name.split())]
            if found:
                return found
        return []

    def closest(self, query: str, n: int = 5) -> list[EpciRef]:
        """The EPCIs whose names look most like the query (for « aucun EPCI ne correspond »):
        the whole name, or its run of as many words as the query, closest in spelling."""
        wanted = _KIND_PREFIX.sub("", normalize(query))
        size = max(1, len(wanted.split()))

        def score(e: EpciRef) -> float:
            words = _KIND_PREFIX.sub("", normalize(e.name)).split()
            runs = [" ".join(words)] + [" ".join(words[i : i + size]) for i in range(len(words) - size + 1)]
            return max(difflib.SequenceMatcher(None, wanted, run).ratio() for run in runs)

        return sorted(self.epcis.values(), key=lambda e: (-score(e), e.name))[:n]

    # -- What an EPCI has --------------------------------------------------------------------

    def qpvs_of(self, epci: EpciRef) -> list[QpvOfEpci]:
        own = {c.insee for c in epci.communes}
        out = []
        for qpv in self.qpvs:
            inside = tuple(c for c in qpv.communes if c in own)
            if inside:
                out.append(QpvOfEpci(qpv, inside, tuple(c for c in qpv.communes if c not in own)))
        return out

    def thresholds_of(self, epci: EpciRef) -> dict[int, ThresholdsRef]:
        return self.thresholds.get(epci.siren, {})

    def departement_label(self, epci: EpciRef) -> str | None:
        names = [self.departement_names.get(d) for d in epci.departements]
        return ", ".join(names) if all(names) else None


def normalize(text: str) -> str:
    """Lower case, no accents, words separated by single spaces: « Nîmes-Métropole » → « nimes metropole »."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def departement_of(insee: str) -> str:
    return insee[:3] if insee.startswith("97") else insee[:2]


# -- Loading the shipped files ---------------------------------------------------------------


def _data(name: str):
    return resources.files("cia_workbook.data").joinpath("reference", name)


def _rows(name: str) -> list[dict[str, str]]:
    raw = _data(name).read_bytes()
    if name.endswith(".gz"):
        raw = gzip.decompress(raw)
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))


@cache
def reference() -> Reference:
    """The shipped reference data, read once per process."""
    sources = tomllib.loads(_data("sources.toml").read_text("utf-8"))
    members: dict[str, list[CommuneRef]] = defaultdict(list)
    heads: dict[str, tuple[str, str]] = {}
    for row in _rows(sources["communes"]["fichier"]):
        siren = row["epci_siren"]
        heads[siren] = (row["epci_name"], row["epci_type"])
        population = row["commune_population"]
        members[siren].append(
            CommuneRef(row["commune_insee"], row["commune_name"], int(population) if population else None)
        )
    epcis = {
        siren: EpciRef(siren, name, kind, tuple(sorted(members[siren], key=lambda c: c.insee)))
        for siren, (name, kind) in heads.items()
    }
    merged = {r["ancien_insee"]: r["nouvel_insee"] for r in _rows(sources["communes_fusionnees"]["fichier"])}
    qpvs = []
    for row in _rows(sources["qpv"]["fichier"]):
        listed = [c for c in row["communes_insee"].split(";") if c]
        communes = tuple(dict.fromkeys(merged.get(c, c) for c in listed))
        qpvs.append(QpvRef(row["code"], row["name"], communes, tuple(c for c in listed if c in merged)))
    threshold_rows = _rows(sources["seuils"]["fichier"])
    aliases = {r["nom_arrete"]: r["epci_siren"] for r in _rows(sources["seuils"]["correspondances"])}
    departement_names = {}
    for row in threshold_rows:
        code, _, name = row["departement"].partition(" - ")
        departement_names[code] = name
    return Reference(
        epcis=epcis,
        qpvs=qpvs,
        thresholds=_join_thresholds(epcis, threshold_rows, aliases),
        departement_names=departement_names,
        sources=sources,
    )


def _join_thresholds(epcis: dict[str, EpciRef], rows, aliases: dict[str, str]) -> dict:
    """The arrêtés' rows joined to EPCIs by name: the correspondence table first (names of
    usage, territories of the Métropole du Grand Paris), then the same name, then the same name
    without its « CA / CC / CU » prefix; a name two EPCIs share is told apart by the row's
    département. An EPCI listed in several départements (or by several territories) gets the
    value they share, none if they disagree."""
    by_name: dict[str, list[str]] = defaultdict(list)
    by_short: dict[str, list[str]] = defaultdict(list)
    for e in epcis.values():
        by_name[e.name].append(e.siren)
        by_short[_KIND_PREFIX.sub("", normalize(e.name))].append(e.siren)
    found: dict[tuple[str, int], list[dict]] = defaultdict(list)
    for row in rows:
        name = row["epci"]
        if name in aliases:
            candidates = [aliases[name]]
        else:
            candidates = by_name.get(name) or by_short.get(_KIND_PREFIX.sub("", normalize(name)), [])
        if len(candidates) > 1:
            departement = row["departement"].partition(" - ")[0]
            candidates = [s for s in candidates if departement in epcis[s].departements]
        if len(candidates) == 1:
            found[(candidates[0], int(row["year"]))].append(row)
    out: dict[str, dict[int, ThresholdsRef]] = defaultdict(dict)
    for (siren, year), matched in sorted(found.items()):
        values = {tuple(r[f"q{i}_eur_per_uc_year"] for i in (1, 2, 3)) for r in matched}
        names = tuple(dict.fromkeys(r["epci"] for r in matched))
        if len(values) == 1:
            q1, q2, q3 = (int(v) if v else None for v in values.pop())
            out[siren][year] = ThresholdsRef(year, q1, q2, q3, names)
        else:
            out[siren][year] = ThresholdsRef(year, None, None, None, names, conflict=True)
    return dict(out)


# -- Listing ---------------------------------------------------------------------------------


def epci_lines(ref: Reference, epcis: list[EpciRef], limit: int | None = None) -> list[str]:
    """One line per EPCI: SIREN, kind, name, départements, communes, QPVs, thresholds known."""
    lines = []
    for e in epcis[:limit] if limit else epcis:
        years = [y for y, t in sorted(ref.thresholds_of(e).items()) if not t.conflict]
        seuils = f"seuils {_years_text(years)}" if years else "pas de seuils de quartile"
        n_qpv, n_communes = len(ref.qpvs_of(e)), len(e.communes)
        lines.append(
            f"  {e.siren}  {e.kind:<5}  {e.name} (dép. {', '.join(e.departements)}) : "
            f"{n_communes} commune{'s' if n_communes > 1 else ''}, {n_qpv} QPV, {seuils}"
        )
    if limit and len(epcis) > limit:
        lines.append(f"  … et {len(epcis) - limit} autres : précisez le nom.")
    return lines


def _years_text(years: list[int]) -> str:
    if years == list(range(years[0], years[-1] + 1)) and len(years) > 1:
        return f"{years[0]}-{years[-1]}"
    return ", ".join(str(y) for y in years)


def find_one(ref: Reference, query: str) -> EpciRef:
    """The one EPCI a query designates, or TerritoryError with the candidates (several) or the
    closest names (none)."""
    found = ref.search(query)
    if len(found) == 1:
        return found[0]
    if found:
        raise TerritoryError(
            "\n".join(
                [
                    f"{len(found)} EPCI correspondent à « {query} » : précisez le nom ou donnez le SIREN "
                    "(aucun fichier n'a été écrit).",
                    *epci_lines(ref, found, limit=30),
                ]
            )
        )
    raise TerritoryError(
        "\n".join(
            [
                f"Aucun EPCI ne correspond à « {query} » (aucun fichier n'a été écrit). Noms les plus proches :",
                *epci_lines(ref, ref.closest(query)),
                "Donnez un nom, une partie du nom ou le SIREN (cia-workbook epci CHERCHE pour chercher).",
            ]
        )
    )


# -- Writing the convention file -------------------------------------------------------------


def _s(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def _short_slug(name: str) -> str:
    """« CA de Nîmes Métropole » → « nimes-metropole »: no kind, no leading article."""
    words = _KIND_PREFIX.sub("", normalize(name)).split()
    while len(words) > 1 and words[0] in _STOP_WORDS:
        words.pop(0)
    return "-".join(words) or "epci"


def convention_text(ref: Reference, epci: EpciRef, first_year: int, last_year: int) -> str:
    """The commented convention.toml of `epci` for `first_year`–`last_year`: its communes, QPVs
    and thresholds from the reference data, the legal minimum targets, and what the officer
    fills in (partners, the charter) as commented models."""
    if first_year < FIRST_YEAR:
        raise TerritoryError(
            f"La première année ne peut précéder {FIRST_YEAR} : seule la géographie prioritaire 2024 est "
            "fournie. Pour évaluer des années antérieures, ajoutez la géographie 2015 à la main dans "
            "convention.toml (voir la convention intégrée, cia-workbook init sans --epci)."
        )
    if last_year < first_year:
        raise TerritoryError(f"La dernière année ({last_year}) précède la première ({first_year}).")
    template = resources.files("cia_workbook.data").joinpath("convention-epci.toml").read_text("utf-8")
    thresholds = ref.thresholds_of(epci)
    years = range(first_year, last_year + 1)
    departement = ref.departement_label(epci)
    values = {
        "epci_nom": epci.name,
        "epci_nom_toml": _s(epci.name),
        "siren": epci.siren,
        "type_epci": KIND_LABELS.get(epci.kind, epci.kind),
        "aujourdhui": dt.date.today().isoformat(),
        "identifiant": _s(f"cia-{_short_slug(epci.name)}-{first_year}-{last_year}"),
        "titre": _s(f"Convention intercommunale d'attribution — {epci.name}, {first_year}-{last_year}"),
        "premiere_annee": str(first_year),
        "derniere_annee": str(last_year),
        "annee_mi_parcours": str(first_year + (last_year - first_year + 1) // 2),
        "departement": f"departement = {_s(departement)}" if departement else '# departement = ""',
        "nombre_communes": str(len(epci.communes)),
        "communes": "\n".join(
            f"  {{ insee = {_s(c.insee)}, nom = {_s(c.name)}"
            + (f", population = {c.population}" if c.population is not None else "")
            + " },"
            for c in epci.communes
        ),
        "qpv": _qpv_text(ref, epci),
        "cibles": {code: _targets_text(years, target) for code, target in LEGAL_TARGETS.items()},
        "seuils": _thresholds_text(thresholds, years),
        "sources": _sources_text(ref, epci, thresholds),
    }
    for code, text in values.pop("cibles").items():
        values[f"cibles_{code}"] = text
    return re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], template)


def _targets_text(years: range, target: int) -> str:
    return "{ " + ", ".join(f"{y} = {target}" for y in years) + " }"


def _qpv_text(ref: Reference, epci: EpciRef) -> str:
    qpvs = ref.qpvs_of(epci)
    if not qpvs:
        return (
            "# Aucun QPV de la géographie 2024 dans les communes de l'EPCI : la liste est vide, tous les\n"
            "# logements sont hors QPV.\nqpv = []"
        )
    lines = ["qpv = ["]
    for q in qpvs:
        if q.outside:
            others = ", ".join(
                f"{c} ({ref.epcis[ref.epci_of_commune[c]].name})" if c in ref.epci_of_commune else c
                for c in q.outside
            )
            lines.append(
                f"  # {q.qpv.code} s'étend aussi sur {others} : seule sa partie dans l'EPCI est décrite ici."
            )
        communes = ", ".join(_s(c) for c in q.inside)
        lines.append(f"  {{ code = {_s(q.qpv.code)}, nom = {_s(q.qpv.name)}, communes = [{communes}] }},")
    lines.append("]")
    return "\n".join(lines)


def _thresholds_text(thresholds: dict[int, ThresholdsRef], years: range) -> str:
    blocks, missing = [], []
    for year in sorted(set(thresholds) | set(years)):
        t = thresholds.get(year)
        if t is None:
            missing.append(year)
        elif t.conflict:
            blocks.append(
                f"# {year} : les lignes de l'arrêté pour cet EPCI ne donnent pas les mêmes seuils ; "
                "reportez ceux qui s'appliquent.\n" + _threshold_model(year)
            )
        else:
            named = " ; ".join(f"« {n} »" for n in t.names)
            blocks.append(
                "[[seuils_quartiles]]\n"
                f"annee = {year}\n"
                f"q1 = {t.q1}\n"
                + (f"q2 = {t.q2}\n" if t.q2 else "")
                + (f"q3 = {t.q3}\n" if t.q3 else "")
                + f"source = {_s(f'Arrêté des seuils de quartile {year} (EPCI nommé {named})')}"
            )
    if missing:
        listed = ", ".join(str(y) for y in missing)
        why = (
            "pas de seuils de cet EPCI dans les arrêtés fournis avec l'outil (2024 à 2026)"
            if blocks
            else "cet EPCI n'est nommé dans aucun des arrêtés fournis avec l'outil (2024 à 2026), qui ne\n"
            "# nomment que les EPCI tenus d'évaluer leurs attributions"
        )
        blocks.append(
            f"# {listed} : {why}.\n"
            "# Reportez les seuils de chaque année dès qu'ils sont connus, un bloc par année sur ce modèle ;\n"
            "# d'ici là, le quartile déclaré n'est pas contrôlé.\n" + _threshold_model(missing[0])
        )
    return "\n\n".join(blocks)


def _threshold_model(year: int) -> str:
    return (
        f"# [[seuils_quartiles]]\n# annee = {year}\n# q1 = 0\n# q2 = 0\n# q3 = 0\n"
        f'# source = "Arrêté des seuils de quartile {year}"'
    )


def _sources_text(ref: Reference, epci: EpciRef, thresholds: dict[int, ThresholdsRef]) -> str:
    blocks = []
    keys = ["communes", "qpv", "seuils", "objectifs"]
    if any(q.qpv.merged for q in ref.qpvs_of(epci)):
        keys.insert(2, "communes_fusionnees")
    for key in keys:
        s = ref.sources[key]
        origin = s["origine"]
        if key == "seuils" and not any(not t.conflict for t in thresholds.values()):
            origin += " ; aucun seuil trouvé pour cet EPCI"
        lines = ["[[sources]]", f"objet = {_s(s['objet'])}", f"origine = {_s(origin)}"]
        if "date" in s:
            lines.append(f"date = {s['date'].isoformat()}")
        for k in ("licence", "adresse"):
            if k in s:
                lines.append(f"{k} = {_s(s[k])}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
