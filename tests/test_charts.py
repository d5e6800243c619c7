"""The chart images: nothing cut at the edge, value labels clear of the target mark, in French.

Each chart is laid out, drawn, then read back twice: its PNG pixels through Pillow (the outer
band must be background) and its texts and marks through matplotlib's own extents.
"""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgb
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from PIL import Image

from cia_workbook.consolidate.rehousing import rehousing_bilan
from cia_workbook.convention.settings import load_convention
from cia_workbook.render import charts
from cia_workbook.render.annexes import write_annexes_docx
from cia_workbook.render.bilan import write_bilan_docx

BAND = 4  # pixels of background all round
NBSP = "\u00a0"
CONVENTION = load_convention()
LONGEST_QPV = max((f"{q.name} ({q.code})" for geo in CONVENTION.qpv_geographies for q in geo.qpvs), key=len)
PARTNER = "Office public de l'habitat des Cévennes et du piémont gardois"  # 61 characters
LONG_TITLE = (
    "Baux signés hors QPV et hors zone locale au profit de ménages du 1er quartile ou relogés "
    "NPNRU, par bailleur et réservataire, comparés à la cible de l'année 2024 de la convention"
)
SHORT = ["Territoire", "Logis", "SFHE", "3F", "Promologis", "SEMIGA", "FDI"]
LONG = [
    LONGEST_QPV,
    PARTNER,
    "Centre Ville (QN03002M)",
    "Zone locale : Quartier des Promelles",
    "A",
    "B",
    "C",
]
# Rates of 0, 1, above 1, equal to the target, not computed, masked, just under the target.
RATES = [0.0, 1.0, 1.3, 0.25, None, 0.4, 0.695]
TARGETS = [0.25, 1.0, 0.9, 0.25, 0.3, 0.05, 0.7]
MASKED = [None, None, None, None, None, "secret statistique", None]

BAR_CASES = {
    "short": ("Taux par bailleur", SHORT, RATES, TARGETS, MASKED),
    "long": (LONG_TITLE, LONG, RATES, TARGETS, MASKED),
    "no-target": (LONG_TITLE, LONG[:3], [0.5, None, 0.0], [None, None, None], None),
    "one-row": ("Ensemble", [PARTNER], [0.0], [0.0], None),
    "all-high": ("Taux", SHORT[:3], [1.0, 0.99, 0.98], [1.0, 1.0, 1.0], None),
    "empty": ("Aucun partenaire", [], [], [], None),
}
TREND_CASES = {
    "years": ("Taux du territoire par année et cibles", [2020, 2021, 2022, 2023, 2024],
              {"1er quartile ou relogés NPNRU": [0.25, 0.26, None, 0.22, 0.0],
               "Quartiles 2 à 4": [0.71, 1.0, 1.2, 0.66, 0.74],
               "Publics prioritaires": [0.24, 0.28, 0.29, 0.26, 0.27]},
              {"1er quartile ou relogés NPNRU": [0.25] * 5, "Quartiles 2 à 4": [0.6, 0.7, 0.7, 0.7, 0.7],
               "Publics prioritaires": [0.25] * 5}),
    "long": (LONG_TITLE, [2024], {PARTNER: [0.3], LONGEST_QPV: [None]}, {PARTNER: [0.25], LONGEST_QPV: [0.5]}),
}  # fmt: skip


def _draw(layout):
    png = layout.png()
    return png, Image.open(io.BytesIO(png))


def _texts(layout) -> list[Text]:
    return [t for t in layout.fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def _box(layout, artist):
    return artist.get_window_extent(layout.renderer)


def _assert_nothing_at_the_edge(layout, image) -> None:
    width, height = image.size
    pixels = image.convert("RGB").load()
    band = [(x, y) for y in range(height) for x in (*range(BAND), *range(width - BAND, width))]
    band += [(x, y) for x in range(width) for y in (*range(BAND), *range(height - BAND, height))]
    assert {pixels[p] for p in band} == {(255, 255, 255)}
    # Every text inside the image (the canvas is taller: the image is its top `height` pixels).
    full = layout.fig.bbox.height
    for text in _texts(layout):
        box = _box(layout, text)
        assert box.x0 >= BAND and box.x1 <= width - BAND, text.get_text()
        assert box.y0 >= full - height + BAND and box.y1 <= full - BAND, text.get_text()


def _overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def _marks(layout):
    """The target marks as display boxes (segment widened by the line's width)."""
    from matplotlib.transforms import Bbox

    ax = layout.fig.axes[0]
    found = [c for c in ax.collections if isinstance(c, LineCollection) and c.get_gid() == "cible"]
    if not found:
        return [], None
    marks = found[0]
    half = marks.get_linewidth()[0] * layout.fig.dpi / 72 / 2
    boxes = []
    for segment in marks.get_segments():
        (x0, y0), (x1, y1) = ax.transData.transform(segment)
        boxes.append(Bbox([[min(x0, x1) - half, min(y0, y1)], [max(x0, x1) + half, max(y0, y1)]]))
    return boxes, marks


def _luminance(colour) -> float:
    r, g, b = to_rgb(colour)
    return 255 * (0.299 * r + 0.587 * g + 0.114 * b)


@pytest.mark.parametrize("case", list(BAR_CASES))
def test_rate_bars_stay_inside_the_image_and_clear_of_the_target(case):
    title, labels, rates, targets, masked = BAR_CASES[case]
    layout = charts.rate_bars_layout(title, labels, rates, targets, masked)
    _, image = _draw(layout)
    _assert_nothing_at_the_edge(layout, image)

    ax = layout.fig.axes[0]
    values = [t for t in ax.texts if t.get_gid() == "valeur"]
    assert len(values) == len(labels)
    marks, collection = _marks(layout)
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    for value in values:
        box = _box(layout, value)
        assert not any(_overlap(box, mark) for mark in marks), value.get_text()
        assert not any(_overlap(box, _box(layout, bar)) for bar in bars if bar.get_width() > 0), (
            value.get_text()
        )
    names = [_box(layout, t) for t in ax.get_yticklabels() if t.get_text()]
    assert not any(_overlap(a, b) for i, a in enumerate(names) for b in names[i + 1 :])
    title_box = next(_box(layout, t) for t in layout.fig.texts if t.get_text().replace("\n", " ") == title)
    assert title_box.y0 > _box(layout, ax).y1
    # Long names are wrapped whole, never shortened (the QPV code stays readable).
    shown = [t.get_text().replace("\n", " ").replace(NBSP, " ") for t in ax.get_yticklabels()]
    assert shown == list(labels)

    # In French: decimal comma, no-break space before « % », on the values and the axis.
    texts = [v.get_text() for v in values]
    for rate, mask, text in zip(rates, masked or [None] * len(rates), texts, strict=True):
        if mask is not None:
            assert text == mask
        elif rate is None:
            assert text == "non calculé"
        else:
            assert re.fullmatch(rf"\d+,\d{NBSP}%", text), text
    assert all(f"{NBSP}%" in t.get_text() for t in ax.get_xticklabels() if t.get_text())

    if collection is not None:
        # Readable in black and white: the mark is far from the bar in grey, and taller than it.
        bar_colour = bars[0].get_facecolor()
        assert abs(_luminance(bar_colour) - _luminance(collection.get_color()[0])) > 60
        assert min(m.height for m in marks) > max(_box(layout, b).height for b in bars)


def test_a_masked_value_has_no_bar_but_its_text():
    title, labels, rates, targets, masked = BAR_CASES["long"]
    layout = charts.rate_bars_layout(title, labels, rates, targets, masked)
    ax = layout.fig.axes[0]
    row = masked.index("secret statistique")
    assert ax.patches[row].get_width() == 0  # 0.4 was computed, then masked: not drawn
    chart = charts.rate_bars(title, labels, rates, targets, masked)
    assert f"{PARTNER} : 100,0{NBSP}%" in chart.alt
    assert f"B : secret statistique (cible 5{NBSP}%)" in chart.alt


def test_a_spec_without_masked_values_reads_as_before():
    chart = charts.render(charts.Spec("rate_bars", ("Taux", ["A", "B"], [0.5, None], [0.4, None])))
    assert chart.alt == f"Graphique en barres. Taux. A : 50,0{NBSP}% (cible 40{NBSP}%) ; B : non calculé."
    assert Image.open(io.BytesIO(chart.png)).info["dpi"][0] == pytest.approx(charts.DPI, abs=1)


@pytest.mark.parametrize("case", list(TREND_CASES))
def test_trend_lines_stay_inside_the_image(case):
    title, years, series, targets = TREND_CASES[case]
    layout = charts.trend_lines_layout(title, years, series, targets)
    _, image = _draw(layout)
    _assert_nothing_at_the_edge(layout, image)
    ax = layout.fig.axes[0]
    # Every point drawn, 0 % and above 100 % included, inside the axes' range.
    low, high = ax.get_ylim()
    assert all(low <= v <= high for vs in series.values() for v in vs if v is not None)
    # Readable in black and white: each objective has its own marker.
    lines = [line for line in ax.get_lines() if line.get_linestyle() == "-"]
    assert len({line.get_marker() for line in lines}) == len(series)
    legend = layout.fig.legends[0]
    years_shown = [_box(layout, t) for t in ax.get_xticklabels() if t.get_text()]
    assert _box(layout, legend).y1 < min(b.y0 for b in years_shown)  # under the years, not on them
    assert all(f"{NBSP}%" in t.get_text() for t in ax.get_yticklabels() if t.get_text())


def _band_is_background(png: bytes) -> bool:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    width, height = image.size
    inner = image.crop((BAND, BAND, width - BAND, height - BAND))
    outer = Image.new("RGB", image.size, (255, 255, 255))
    outer.paste(inner, (BAND, BAND))
    return image.tobytes() == outer.tobytes()


def test_every_chart_of_the_bilans_and_annexes_has_a_background_band(tmp_path):
    from bilan_cases import bilan_case
    from test_relogement import _campaigns
    from workbooks import CONVENTION as TEST_CONVENTION

    bilan = bilan_case(2024)[0]
    rehousing = rehousing_bilan(TEST_CONVENTION, _campaigns(tmp_path / "forms"), 2024)
    documents = {}
    for d in ("restreinte", "publique"):
        documents[f"bilan-{d}"] = write_bilan_docx(
            TEST_CONVENTION, bilan, tmp_path / f"b-{d}.docx", diffusion=d
        )
        documents[f"annexes-{d}"] = write_annexes_docx(
            TEST_CONVENTION, rehousing, tmp_path / f"a-{d}.docx", diffusion=d
        )
    for name, path in documents.items():
        with zipfile.ZipFile(path) as z:
            pngs = [z.read(n) for n in z.namelist() if n.startswith("word/media/") and n.endswith(".png")]
            xml = z.read("word/document.xml").decode("utf-8")
        assert pngs, name
        assert all(_band_is_background(png) for png in pngs), name
        # A value computed then masked says so (in the picture and in its alt text).
        alts = " ".join(re.findall(r'descr="([^"]*)"', xml))
        # (of the test data, the public annexes have such a rate; the restricted documents none)
        secret = ": secret statistique" in alts.replace(NBSP, " ")
        if name.endswith("restreinte"):
            assert not secret, name
        elif name == "annexes-publique":
            assert secret, name


def test_a_chart_drawn_before_is_taken_from_the_cache_and_nothing_is_drawn(tmp_path, monkeypatch):
    specs = [
        charts.Spec("rate_bars", ("Taux", ["A", "B"], [0.5, 0.2], [0.4, 0.4])),
        charts.Spec("rate_bars", ("Autre", ["A"], [0.1], [None])),
    ]
    cache = charts.ChartCache(tmp_path / "graphiques")
    drawn = charts.start_rendering(specs, cache)()
    assert len(list((tmp_path / "graphiques").iterdir())) == 2

    def no_drawing(specs):
        assert not specs, "drawn again"
        return []

    monkeypatch.setattr(charts, "render_all", no_drawing)
    again = charts.start_rendering(specs, charts.ChartCache(tmp_path / "graphiques"))()
    assert again == drawn  # same PNG bytes, same alt text
    # Another spec (other figures) is drawn: the cache never answers for it.
    monkeypatch.undo()
    other = charts.Spec("rate_bars", ("Taux", ["A", "B"], [0.5, 0.3], [0.4, 0.4]))
    assert charts.start_rendering([other], cache)()[0].png != drawn[0].png
