"""Rendering helper of the Word bilan: the indicator charts as PNG images, with their alt text.

matplotlib is imported inside the functions (Agg canvas, no pyplot) so that the CLI starts
fast and the bilan pays only for what it draws.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from cia_workbook import frformat

DPI = 150
BAR = "#2f6690"
TARGET = "#d1495b"


@dataclass(frozen=True)
class Chart:
    png: bytes
    alt: str  # French description read by screen readers (docPr "descr")


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _percent_axis(axis) -> None:
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _pos: frformat.percent(v, 0)))


def rate_bars(
    title: str, labels: Sequence[str], rates: Sequence[float | None], targets: Sequence[float | None]
) -> Chart:
    """Horizontal bars, one per scope, with the target of each marked; hidden rates are left out."""
    fig = _figure(6.3, 0.9 + 0.38 * len(labels))
    ax = fig.add_subplot()
    pos = list(range(len(labels)))[::-1]
    ax.barh(pos, [r or 0 for r in rates], color=BAR, height=0.6)
    for y, rate in zip(pos, rates, strict=True):
        text = frformat.percent(rate) if rate is not None else "non calculé"
        ax.text((rate or 0) + 0.01, y, text, va="center", fontsize=7)
    shown_target = False
    for y, tgt in zip(pos, targets, strict=True):
        if tgt is not None:
            ax.plot(
                [tgt, tgt],
                [y - 0.4, y + 0.4],
                color=TARGET,
                linewidth=2,
                label=None if shown_target else "Cible",
            )
            shown_target = True
    ax.set_yticks(pos, labels, fontsize=7)
    top = max([r or 0 for r in rates] + [t or 0 for t in targets] + [0.5])
    ax.set_xlim(0, min(1.0, top + 0.15) if top < 0.9 else 1.1)
    _percent_axis(ax.xaxis)
    ax.tick_params(axis="x", labelsize=7)
    ax.set_title(title, fontsize=9)
    if shown_target:
        ax.legend(fontsize=7, loc="lower right")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    parts = [
        f"{label} : {frformat.percent(rate) if rate is not None else 'non calculé'}"
        + (f" (cible {frformat.percent(tgt, 0)})" if tgt is not None else "")
        for label, rate, tgt in zip(labels, rates, targets, strict=True)
    ]
    return Chart(_png(fig), f"Graphique en barres. {title}. " + " ; ".join(parts) + ".")


def trend_lines(
    title: str, years: Sequence[int], series: dict[str, Sequence[float | None]],
    targets: dict[str, Sequence[float | None]],
) -> Chart:  # fmt: skip
    """One line per objective across the years, its yearly target dashed in the same colour."""
    fig = _figure(6.3, 3.2)
    ax = fig.add_subplot()
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
