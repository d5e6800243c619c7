"""Rendering helper of the Word bilan: the indicator charts as PNG images, with their alt text.

matplotlib is imported inside the functions (Agg canvas, no pyplot) so that the CLI starts
fast and the bilan pays only for what it draws.
"""

from __future__ import annotations

import io
import multiprocessing
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cia_workbook import frformat

DPI = 150
BAR = "#2f6690"
TARGET = "#d1495b"


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


def start_rendering(specs: list[Spec]) -> Callable[[], list[Chart]]:
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

        from cia_workbook.runs import bind_to_parent

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


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # Fixed margins rather than a constrained layout: one draw per chart instead of two.
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    # Fast zlib level: the charts are flat colours, a higher level barely shrinks them.
    fig.savefig(buf, format="png", dpi=DPI, pil_kwargs={"compress_level": 1})
    return buf.getvalue()


def _percent_axis(axis) -> None:
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _pos: frformat.percent(v, 0)))


def rate_bars(
    title: str, labels: Sequence[str], rates: Sequence[float | None], targets: Sequence[float | None]
) -> Chart:
    """Horizontal bars, one per scope, with the target of each marked; hidden rates are left out."""
    height = 1.1 + 0.3 * len(labels)
    fig = _figure(6.3, height)
    ax = fig.add_subplot()
    longest = max((len(label) for label in labels), default=10)
    fig.subplots_adjust(
        left=min(0.5, 0.04 + 0.0125 * longest), right=0.97, top=1 - 0.35 / height, bottom=0.3 / height
    )
    pos = list(range(len(labels)))[::-1]
    ax.barh(pos, [r or 0 for r in rates], color=BAR, height=0.6)
    for y, rate in zip(pos, rates, strict=True):
        text = frformat.percent(rate) if rate is not None else "non calculé"
        ax.text((rate or 0) + 0.01, y, text, va="center", fontsize=7)
    marks = [(y, t) for y, t in zip(pos, targets, strict=True) if t is not None]
    if marks:
        # One artist for every target mark: drawing cost grows with the number of artists.
        ax.vlines(
            [t for _, t in marks],
            [y - 0.4 for y, _ in marks],
            [y + 0.4 for y, _ in marks],
            color=TARGET,
            linewidth=2,
        )
        ax.set_xlabel("Trait rouge : cible de l'année", fontsize=7)
    ax.set_yticks(pos, [_shorten(label) for label in labels], fontsize=7)
    top = max([r or 0 for r in rates] + [t or 0 for t in targets] + [0.5])
    ax.set_xlim(0, min(1.0, top + 0.15) if top < 0.9 else 1.1)
    _percent_axis(ax.xaxis)
    ax.tick_params(axis="x", labelsize=7)
    ax.set_title(title, fontsize=9)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    parts = [
        f"{label} : {frformat.percent(rate) if rate is not None else 'non calculé'}"
        + (f" (cible {frformat.percent(tgt, 0)})" if tgt is not None else "")
        for label, rate, tgt in zip(labels, rates, targets, strict=True)
    ]
    return Chart(_png(fig), f"Graphique en barres. {title}. " + " ; ".join(parts) + ".")


def _shorten(label: str, width: int = 38) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def trend_lines(
    title: str, years: Sequence[int], series: dict[str, Sequence[float | None]],
    targets: dict[str, Sequence[float | None]],
) -> Chart:  # fmt: skip
    """One line per objective across the years, its yearly target dashed in the same colour."""
    fig = _figure(6.3, 3.2)
    ax = fig.add_subplot()
    fig.subplots_adjust(left=0.09, right=0.62, top=0.9, bottom=0.1)
    colours = ["#2f6690", "#3a7d44", "#c97b1a", "#7b2d8b"]
    parts = []
    for i, (label, values) in enumerate(series.items()):
        colour = colours[i % len(colours)]
        xs = [y for y, v in zip(years, values, strict=True) if v is not None]
        ys = [v for v in values if v is not None]
        ax.plot(xs, ys, marker="o", color=colour, label=label)
        tx = [y for y, t in zip(years, targets[label], strict=True) if t is not None]
        ty = [t for t in targets[label] if t is not None]
        ax.plot(tx, ty, linestyle="--", color=colour, linewidth=1)
        parts.append(
            f"{label} : "
            + ", ".join(
                f"{y} {frformat.percent(v) if v is not None else 'non calculé'}"
                for y, v in zip(years, values, strict=True)
            )
        )
    ax.set_xticks(list(years), [str(y) for y in years], fontsize=7)
    ax.set_ylim(0, 1)
    _percent_axis(ax.yaxis)
    ax.tick_params(axis="y", labelsize=7)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1, 1))
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    alt = f"Graphique en courbes. {title} (cibles en pointillés). " + " ; ".join(parts) + "."
    return Chart(_png(fig), alt)
