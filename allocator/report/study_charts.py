"""Charts of sensitivity studies (matplotlib's Figure API: no display, no global settings).

Units are shown as ``id name``: the Chinese name when a CJK font is installed, otherwise the
English name (model key ``label_en``) or the id alone, so that a chart never shows empty boxes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from allocator.ordering import natural_key
from allocator.report.charts import cjk_font, use_font

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def unit_names(units: pd.DataFrame, ids) -> list[str]:
    """``id name`` for ``ids`` from a unit frame (``id``, ``label``, optional ``label_en``): the
    label when it can be drawn (ASCII, or a CJK font is installed), else the English name, else
    the id alone.

    >>> import pandas as pd
    >>> units = pd.DataFrame({"id": ["1", "2"], "label": ["道里区", "Hill"], "label_en": ["Daoli", ""]})
    >>> unit_names(units, ["1", "2"]) in (["1 Daoli", "2 Hill"], ["1 道里区", "2 Hill"])
    True
    """
    def clean(value) -> str:
        return "" if value is None or value != value else str(value).strip()

    labels = dict(zip(units["id"], units["label"].map(clean), strict=True))
    english = (dict(zip(units["id"], units["label_en"].map(clean), strict=True))
               if "label_en" in units else {})
    out = []
    for unit in ids:
        label = labels.get(unit, "")
        if not (label and (label.isascii() or cjk_font() is not None)):
            label = english.get(unit, "")
        out.append(f"{unit} {label}".strip())
    return out


def _figure(rows: int, width: float = 9.0) -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, max(3.5, 0.32 * rows + 1.6)), dpi=120)
    return fig, fig.add_subplot()


def _save(fig: Figure, path: Path) -> None:
    """Give every text the chart font (the CJK font when there is one), fit and write a PNG."""
    use_font(fig, cjk_font())
    fig.tight_layout()
    fig.savefig(path, format="png")


def sweep_chart(result, title: str, path: Path, top: int = 15) -> None:
    """Line chart: each unit's posts against the swept weight (the ``top`` units that move most)."""
    posts = result.posts
    swing = posts.max(axis=0) - posts.min(axis=0)
    ids = result.units["id"].tolist()
    order = sorted(range(len(ids)), key=lambda i: (-swing[i], natural_key(ids[i])))[:top]
    names = unit_names(result.units, [ids[i] for i in order])
    fig, ax = _figure(len(order) // 2)
    from matplotlib import colormaps

    colors = colormaps["tab20"]  # 20 colours: colors(k) is the k-th
    styles = ("-", "--", ":", "-.")
    for j, (i, name) in enumerate(zip(order, names, strict=True)):
        ax.plot(result.values, posts[:, i], marker="o", markersize=3, label=name,
                color=colors((2 * j) % 20 if j < 10 else (2 * j + 1) % 20),
                linestyle=styles[(j // 10) % len(styles)])
    if np.isfinite(result.model_value):
        ax.axvline(result.model_value, color="grey", linestyle=":", linewidth=1)
        ax.annotate("model's weight", (result.model_value, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(3, -12), textcoords="offset points", fontsize=8, color="grey")
    ax.set_xlabel(f"weight of '{result.indicator}' (other weights keep their proportions)")
    ax.set_ylabel("allocated posts")
    shown = "" if len(order) == len(ids) else f" ({len(order)} of {len(ids)} units that move most)"
    ax.set_title(f"{title}\nsweep of the weight of '{result.indicator}'{shown}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    ax.yaxis.set_major_formatter("{x:,.0f}")
    _save(fig, path)


def tornado_chart(result, title: str, path: Path, top: int = 15) -> None:
    """Tornado: the (unit, indicator) pairs whose posts swing most when one weight moves ±delta."""
    frame = result.largest(top).iloc[::-1]
    names = unit_names(result.units, frame["id"])
    labels = [f"{n} · {k}" for n, k in zip(names, frame["indicator"], strict=True)]
    fig, ax = _figure(len(frame))
    y = np.arange(len(frame))
    ax.barh(y, frame["change_down"], color="#d95f02", label=f"weight − {result.delta:g}")
    ax.barh(y, frame["change_up"], color="#1b9e77", label=f"weight + {result.delta:g}")
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel("change in allocated posts against the model's weights")
    ax.set_title(f"{title}\nlargest swings, one weight at a time ± {result.delta:g} "
                 "(renormalised)", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    _save(fig, path)


def band_chart(result, title: str, path: Path, top: int = 15) -> None:
    """Bands per unit: min–max line, p5–p95 bar, median dot, current posts (x), base run (|)."""
    summary = result.summary.copy()
    summary["_width"] = summary["alloc_p95"] - summary["alloc_p5"]
    summary["_key"] = summary["id"].map(natural_key)
    limit = max(top, 30)
    if len(summary) > limit:
        summary = summary.sort_values(["_width", "_key"], ascending=[False, True]).head(limit)
    summary = summary.sort_values(["base", "_key"], ascending=[True, False])
    names = unit_names(result.summary, summary["id"])
    fig, ax = _figure(len(summary))
    y = np.arange(len(summary))
    ax.hlines(y, summary["alloc_min"], summary["alloc_max"], color="#9ecae1", linewidth=1.2,
              label="min – max")
    ax.hlines(y, summary["alloc_p5"], summary["alloc_p95"], color="#3182bd", linewidth=6,
              label="p5 – p95")
    ax.plot(summary["alloc_p50"], y, "o", color="white", markeredgecolor="#08519c",
            markersize=4, label="median")
    ax.plot(summary["base"], y, "|", color="black", markersize=10, label="model's weights")
    if summary["actual"].notna().all():
        ax.plot(summary["actual"], y, "x", color="#d62728", markersize=6, label="current posts")
    ax.set_yticks(y, names, fontsize=8)
    ax.xaxis.set_major_formatter("{x:,.0f}")
    ax.set_xlabel("allocated posts")
    opts = result.options
    how = "uniform on the simplex" if opts.uniform else f"Dirichlet, concentration {opts.concentration:g}"
    shown = "" if len(summary) == len(result.summary) else \
        f"; {len(summary)} of {len(result.summary):,} units with the widest bands"
    ax.set_title(f"{title}\n{opts.samples:,} weight scenarios ({how}{shown})", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    _save(fig, path)
