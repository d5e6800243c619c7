"""Rendering helper of the Word bilan: the indicator charts as PNG images, with their alt text.

matplotlib is imported inside the functions (Agg canvas, no pyplot) so that the CLI starts
fast and the bilan pays only for what it draws.

Every chart is laid out from measured text before it is drawn: the title and the long category
names are wrapped to the room they have, the margins are the measured sizes of what sits in
them, and each value label is placed where it clears its target mark. One draw per chart (a
constrained or tight layout would draw twice), and nothing ever reaches the image's edge.
"""

from __future__ import annotations

import hashlib
import io
import math
import multiprocessing
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cia_workbook.render import frformat

DPI = 150
WIDTH = 6.3  # inches: the width the bilan gives a chart (16 cm), so that 8 pt here is 8 pt on paper
CANVAS = 6.0  # inches: the height drawn on, the image being its top part
PAD = 0.1  # inches of background left around everything drawn
FONT_SIZE = 8
TITLE_SIZE = 9.5
# Fonts of the Word template (Calibri, or Carlito, metric-compatible, on Linux); else matplotlib's.
FONTS = ("Calibri", "Carlito")
# A light bar and a dark target mark that stands out of it: the two stay apart in black and white.
BAR = "#7ea6c9"
TARGET = "#a41e34"
INK = "#222222"
MUTED = "#595959"
NOT_COMPUTED = "non calculé"
SERIES = (("#2f6690", "o"), ("#3a7d44", "s"), ("#c97b1a", "^"), ("#7b2d8b", "D"))


@dataclass(frozen=True)
class Chart:
    png: bytes
    alt: str  # French description read by screen readers (docPr "descr")


@dataclass(frozen=True)
class Spec:
    """What to draw, picklable so that a child process can draw it: `kind` names the function."""

    kind: str  # "rate_bars" | "trend_lines"
    args: tuple


def render(spec: Spec) -> Chart:
    return {"rate_bars": rate_bars, "trend_lines": trend_lines}[spec.kind](*spec.args)


def render_all(specs: list[Spec]) -> list[Chart]:
    return [render(spec) for spec in specs]


class ChartCache:
    """Charts drawn before, in a folder, each under the digest of its spec and of the code and
    matplotlib that drew it: a bilan drawn again with the same figures draws nothing (and never
    imports matplotlib). A folder that cannot be written costs time, never a chart."""

    def __init__(self, folder: Path):
        from importlib.metadata import version

        self.folder = folder
        self.salt = hashlib.sha256(Path(__file__).read_bytes() + version("matplotlib").encode()).hexdigest()

    def path(self, spec: Spec) -> Path:
        key = hashlib.sha256(f"{self.salt} {spec!r}".encode()).hexdigest()
        return self.folder / f"{key[:40]}.chart"

    def get(self, spec: Spec) -> Chart | None:
        try:
            alt, _, png = self.path(spec).read_bytes().partition(b"\0")
        except OSError:
            return None
        return Chart(png, alt.decode("utf-8")) if png else None

    def put(self, spec: Spec, chart: Chart) -> None:
        from cia_workbook.fileio import write_atomic

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            data = chart.alt.encode("utf-8") + b"\0" + chart.png
            write_atomic(self.path(spec), lambda tmp: tmp.write_bytes(data))
        except OSError:
            pass


def start_rendering(specs: list[Spec], cache: ChartCache | None = None) -> Callable[[], list[Chart]]:
    """Start drawing `specs` (those `cache` lacks); call the result to get the charts."""
    known = [cache.get(spec) if cache is not None else None for spec in specs]
    todo = [spec for spec, chart in zip(specs, known, strict=True) if chart is None]
    drawing = _start_drawing(todo)

    def result() -> list[Chart]:
        drawn = iter(drawing())
        out = []
        for spec, chart in zip(specs, known, strict=True):
            if chart is None:
                chart = next(drawn)
                if cache is not None:
                    cache.put(spec, chart)
            out.append(chart)
        return out

    return result


def _start_drawing(specs: list[Spec]) -> Callable[[], list[Chart]]:
    """Start drawing `specs` in a forked child process; call the result to get the charts.

    Importing matplotlib and drawing take most of the bilan's time; a child does it while the
    caller lays out the document. Where fork is unavailable (Windows, macOS defaults) or the
    child fails to start, the charts are drawn in this process when asked for.
    """
    if len(specs) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return lambda: render_all(specs)
    from concurrent.futures import ProcessPoolExecutor

    try:
        import os

        from cia_workbook.cli.runs import bind_to_parent

        executor = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("fork"),
            initializer=bind_to_parent,  # ends with the command, even killed
            initargs=(os.getpid(),),
        )
        future = executor.submit(render_all, specs)
    except OSError:
        return lambda: render_all(specs)

    def result() -> list[Chart]:
        try:
            return future.result()
        except Exception:  # a broken child (killed, out of memory): draw here instead
            return render_all(specs)
        finally:
            executor.shutdown(wait=False)

    return result


# -- Measured layout -------------------------------------------------------------------------


def _font_family() -> list[str]:
    from matplotlib import font_manager

    # Asking matplotlib for a missing family logs a warning; pick among the installed ones. One
    # family, not a fallback list: each text would look its font up in every family of the list.
    installed = {font.name for font in font_manager.fontManager.ttflist}
    return [next((name for name in FONTS if name in installed), "DejaVu Sans")]


class Layout:
    """A canvas `WIDTH` wide on which a chart is laid out from the top, sizes in pixels.

    The canvas keeps one height (`CANVAS`, unless a chart needs more) and the image is its top
    part, cut at the chart's measured height: the renderer that measured the texts is the one
    that draws them, so each text is shaped once (matplotlib caches metrics per renderer).
    """

    def __init__(self) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.fig = Figure(figsize=(WIDTH, CANVAS), dpi=DPI, facecolor="white")
        FigureCanvasAgg(self.fig)
        self.renderer = self.fig.canvas.get_renderer()
        self.family = _font_family()
        self.width = WIDTH * DPI
        self.pad = PAD * DPI
        self.height = 0.0  # the chart's, set by finish()

    def props(self, size: float = FONT_SIZE, **kw) -> dict:
        return {"fontsize": size, "family": self.family, "color": INK, **kw}

    def measure(self, text: str, **props) -> tuple[float, float]:
        from matplotlib.text import Text

        artist = Text(0, 0, text, **props)
        artist.set_figure(self.fig)
        box = artist.get_window_extent(self.renderer)
        return box.width, box.height

    def wrap(self, text: str, room: float, **props) -> tuple[str, float, float]:
        """`text` broken at spaces into lines no wider than `room` pixels, and its size."""
        # A no-break space keeps a dash at the end of its line (« Tamaris - » rather than « - Cauvel »).
        text = text.replace(" - ", "\u00a0- ").replace(" – ", "\u00a0– ")
        width, height = self.measure(text, **props)
        chars = max(4, int(len(text) * room / max(width, 1)))
        while width > room and chars >= 4:
            text = "\n".join(textwrap.wrap(text.replace("\n", " "), chars, break_on_hyphens=False))
            width, height = self.measure(text, **props)
            chars -= 2
        return text, width, height

    def points(self, pt: float) -> float:
        return pt * DPI / 72

    def title(self, text: str) -> tuple[object, float]:
        """The title, wrapped to the width, top left; returns it and the height it takes."""
        props = self.props(TITLE_SIZE, weight="bold")
        wrapped, _, height = self.wrap(text, self.width - 2 * self.pad, **props)
        return self.fig.text(0, 0, wrapped, ha="left", va="top", **props), height

    def legend(self, handles: list, labels: list[str]) -> tuple[object, float]:
        """A frameless legend bottom left, in as many columns as fit the width; returns its height."""
        props = self.props()
        room = self.width - 2 * self.pad
        labels = [self.wrap(label, room * 0.8, **props)[0] for label in labels]
        for ncol in range(len(handles), 0, -1):
            legend = self.fig.legend(
                handles, labels, ncol=ncol, loc="lower left", frameon=False, borderpad=0,
                borderaxespad=0, handlelength=1.6, columnspacing=1.6, prop={"size": FONT_SIZE, "family": self.family},
            )  # fmt: skip
            box = legend.get_window_extent(self.renderer)
            if box.width <= room or ncol == 1:
                return legend, box.height
            legend.remove()
        raise AssertionError("unreachable")

    def finish(self, height: float, title, legend, axes_box: tuple[float, ...]):
        """Place the title, legend and axes of a chart `height` pixels high; returns the axes."""
        self.height = math.ceil(height)
        if self.height > CANVAS * DPI:  # a very long chart: a taller canvas (texts shaped again)
            self.fig.set_size_inches(WIDTH, self.height / DPI)
        full = self.fig.bbox.height
        base = full - self.height  # the chart is the top of the canvas

        def y(px: float) -> float:
            return (base + px) / full

        title.set_position((self.pad / self.width, y(self.height - self.pad)))
        if legend is not None:
            legend.set_bbox_to_anchor((self.pad / self.width, y(self.pad)), transform=self.fig.transFigure)
        left, bottom, width, axes_height = axes_box
        return self.fig.add_axes((left / self.width, y(bottom), width / self.width, axes_height / full))

    def png(self) -> bytes:
        from PIL import Image

        self.fig.canvas.draw()
        pixels = memoryview(self.fig.canvas.buffer_rgba())[: self.height]
        image = Image.frombuffer(
            "RGBA", (pixels.shape[1], self.height), pixels.tobytes(), "raw", "RGBA", 0, 1
        ).convert("RGB")  # an opaque white background: the alpha channel would only cost
        buf = io.BytesIO()
        # Fast zlib level: the charts are flat colours, a higher level barely shrinks them.
        image.save(buf, format="png", dpi=(DPI, DPI), compress_level=1)
        return buf.getvalue()


def _percent_axis(axis) -> None:
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _pos: frformat.percent(v, 0)))


def _plain(ax, family: list[str]) -> None:
    # Tick labels take the font of matplotlib's settings, not of the other texts: set it here.
    for label in [*ax.get_xticklabels(), *ax.get_yticklabels()]:
        label.set_family(family)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(MUTED)
    ax.tick_params(colors=MUTED, labelcolor=INK, labelsize=FONT_SIZE)


def _ticks(top: float, data_top: float) -> list[float]:
    """Round percent ticks up to `top`, none above 100 % unless a value is."""
    step = 0.1 if top <= 0.6 else 0.2 if top <= 1.5 else 0.5
    ceiling = top if data_top > 1 else min(top, 1.0)
    return [i * step for i in range(int(ceiling / step + 1e-9) + 1)]


# -- Bars -------------------------------------------------------------------------------------


def rate_bars(
    title: str,
    labels: Sequence[str],
    rates: Sequence[float | None],
    targets: Sequence[float | None],
    masked: Sequence[str | None] | None = None,
) -> Chart:
    """Horizontal bars, one per scope, with the target of each marked.

    `masked[i]`, when given, is the text shown instead of the bar of a value that was computed
    then hidden (« secret statistique »); a rate that is None without it reads « non calculé ».
    """
    texts = _value_texts(rates, masked)
    page = rate_bars_layout(title, labels, rates, targets, masked)
    parts = [
        f"{label} : {text}" + (f" (cible {frformat.percent(tgt, 0)})" if tgt is not None else "")
        for label, text, tgt in zip(labels, texts, targets, strict=True)
    ]
    return Chart(page.png(), f"Graphique en barres. {title}. " + " ; ".join(parts) + ".")


def _value_texts(rates: Sequence[float | None], masked: Sequence[str | None] | None) -> list[str]:
    masked = masked if masked is not None else [None] * len(rates)
    return [
        mask if mask is not None else frformat.percent(rate) if rate is not None else NOT_COMPUTED
        for rate, mask in zip(rates, masked, strict=True)
    ]


def rate_bars_layout(
    title: str,
    labels: Sequence[str],
    rates: Sequence[float | None],
    targets: Sequence[float | None],
    masked: Sequence[str | None] | None = None,
):
    """The laid-out figure of `rate_bars`, not yet drawn (the tests measure its texts and marks)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    page = Layout()
    n = len(labels)
    texts = _value_texts(rates, masked)
    bars = [
        rate if rate is not None and (masked is None or masked[i] is None) else None
        for i, rate in enumerate(rates)
    ]
    props = page.props()
    title_artist, title_h = page.title(title)
    wrapped = [page.wrap(label, 0.4 * page.width, **props) for label in labels] or [("", 0.0, 0.0)]
    names = [name for name, _, _ in wrapped][:n]
    value_props = page.props(color=INK)
    note_props = page.props(color=MUTED, style="italic")
    value_widths = [
        page.measure(text, **(value_props if bar is not None else note_props))[0]
        for text, bar in zip(texts, bars, strict=True)
    ]
    tick_w, tick_h = page.measure(frformat.percent(1, 0), **props)
    gap = page.points(4)

    # Rows: a fixed pitch, tall enough for the longest name (wrapped over a few lines).
    bar_h = 0.17 * DPI
    mark_h = bar_h + 0.1 * DPI  # the target mark stands out above and below its bar
    pitch = max(mark_h + 0.07 * DPI, max(h for _, _, h in wrapped) + 0.1 * DPI)
    mark_w = page.points(2.5)

    legend, legend_h = None, -0.08 * DPI  # without targets, the bars need no key
    if any(t is not None for t in targets):
        target_key = Line2D(
            [],
            [],
            color=TARGET,
            marker="|",
            markersize=11,
            markeredgewidth=mark_w * 72 / DPI,
            linestyle="none",
        )
        legend, legend_h = page.legend([Patch(color=BAR), target_key], ["Taux", "Cible"])

    left = page.pad + max(w for _, w, _ in wrapped) + gap
    right = page.pad + tick_w / 2
    bottom = page.pad + legend_h + 0.08 * DPI + page.points(3.5) + page.points(3.5) + tick_h
    top = page.pad + title_h + 0.1 * DPI
    axes_w = page.width - left - right
    axes_h = pitch * max(n, 1)
    height = top + axes_h + bottom

    data_top = max([b or 0 for b in bars] + [t or 0 for t in targets] + [0.0])
    xmax, starts = _place_values(bars, targets, value_widths, axes_w, gap, mark_w / 2 + page.points(2))
    ax = page.finish(height, title_artist, legend, (left, bottom, axes_w, axes_h))

    ys = list(range(n))[::-1]
    span = bar_h / pitch  # one row is one data unit
    ax.barh(ys, [b or 0 for b in bars], color=BAR, height=span)
    for y, text, x, bar in zip(ys, texts, starts, bars, strict=True):
        ax.text(
            x,
            y,
            text,
            va="center",
            ha="left",
            gid="valeur",
            **(value_props if bar is not None else note_props),
        )
    marks = [(y, t) for y, t in zip(ys, targets, strict=True) if t is not None]
    if marks:
        # One artist for every target mark: drawing cost grows with the number of artists.
        half = mark_h / pitch / 2
        ax.vlines(
            [t for _, t in marks], [y - half for y, _ in marks], [y + half for y, _ in marks],
            color=TARGET, linewidth=mark_w * 72 / DPI, gid="cible", capstyle="butt",
        )  # fmt: skip
    ax.set_ylim(-0.5, max(n, 1) - 0.5)
    ax.set_yticks(ys, names, **props)
    ax.tick_params(axis="y", length=0, pad=4)
    ax.set_xlim(0, xmax)
    ax.set_xticks(_ticks(xmax, data_top))
    _percent_axis(ax.xaxis)
    _plain(ax, page.family)
    return page


def _place_values(
    bars: Sequence[float | None],
    targets: Sequence[float | None],
    widths: Sequence[float],
    axes_w: float,
    gap: float,
    clearance: float,
) -> tuple[float, list[float]]:
    """The axis end and each value label's start (data units) so that labels clear their mark.

    A label sits just after its bar; when that would cross the target mark, it moves past the
    mark. The axis is lengthened (by 5 points) until every label ends inside it.
    """
    data_top = max([b or 0 for b in bars] + [t or 0 for t in targets] + [0.0])
    xmax = max(0.5, round(data_top + 0.05, 2))
    while True:
        scale = axes_w / xmax
        starts, fits = [], True
        for bar, target, width in zip(bars, targets, widths, strict=True):
            start = (bar or 0) * scale + gap
            if target is not None:
                lo, hi = target * scale - clearance, target * scale + clearance
                if start < hi and start + width > lo:
                    start = hi + gap / 2
            fits &= start + width <= axes_w
            starts.append(start / scale)
        if fits or xmax > 100:
            return xmax, starts
        xmax = round(xmax + 0.05, 2)


# -- Lines ------------------------------------------------------------------------------------


def trend_lines(
    title: str, years: Sequence[int], series: dict[str, Sequence[float | None]],
    targets: dict[str, Sequence[float | None]],
) -> Chart:  # fmt: skip
    """One line per objective across the years, its yearly target dashed in the same colour."""
    page = trend_lines_layout(title, years, series, targets)
    parts = [
        f"{label} : "
        + ", ".join(
            f"{y} {frformat.percent(v) if v is not None else NOT_COMPUTED}"
            for y, v in zip(years, values, strict=True)
        )
        for label, values in series.items()
    ]
    alt = f"Graphique en courbes. {title} (cibles en pointillés). " + " ; ".join(parts) + "."
    return Chart(page.png(), alt)


def trend_lines_layout(
    title: str, years: Sequence[int], series: dict[str, Sequence[float | None]],
    targets: dict[str, Sequence[float | None]],
):  # fmt: skip
    """The laid-out figure of `trend_lines`, not yet drawn."""
    from matplotlib.lines import Line2D

    page = Layout()
    props = page.props()
    title_artist, title_h = page.title(title)
    styles = [SERIES[i % len(SERIES)] for i in range(len(series))]
    handles = [Line2D([], [], color=c, marker=m, markersize=5) for c, m in styles]
    handles.append(Line2D([], [], color=MUTED, linestyle="--", linewidth=1))
    legend, legend_h = page.legend(handles, [*series, "Cible de l'année (pointillés)"])
    tick_w, tick_h = page.measure(frformat.percent(1, 0), **props)
    gap = page.points(4)

    left = page.pad + tick_w + gap + page.points(3.5)
    right = page.pad + page.measure("2000", **props)[0] / 2
    bottom = page.pad + legend_h + 0.1 * DPI + page.points(3.5) * 2 + tick_h
    top = page.pad + title_h + 0.12 * DPI
    axes_h = 2.1 * DPI
    ax = page.finish(
        top + axes_h + bottom, title_artist, legend, (left, bottom, page.width - left - right, axes_h)
    )

    values = [v for vs in [*series.values(), *targets.values()] for v in vs if v is not None]
    for (label, points), (colour, marker) in zip(series.items(), styles, strict=True):
        xs = [y for y, v in zip(years, points, strict=True) if v is not None]
        ax.plot(
            xs, [v for v in points if v is not None], marker=marker, markersize=5, color=colour, clip_on=False
        )
        tx = [y for y, t in zip(years, targets[label], strict=True) if t is not None]
        ty = [t for t in targets[label] if t is not None]
        # A single year has no dashes to draw: its target is a short bar.
        ax.plot(
            tx,
            ty,
            linestyle="--",
            marker="_" if len(tx) == 1 else "",
            markersize=14,
            color=colour,
            linewidth=1,
            clip_on=False,
        )
    ax.set_xticks(list(years), [str(y) for y in years])
    if len(years) == 1:
        ax.set_xlim(years[0] - 0.5, years[0] + 0.5)
    top_value = max([1.0, *values])
    ax.set_ylim(0, top_value)
    ax.set_yticks(_ticks(top_value, top_value))
    _percent_axis(ax.yaxis)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    _plain(ax, page.family)
    return page
