"""Figures (matplotlib, Agg) written atomically with no timestamp metadata, so regenerating
from the same records gives the same bytes."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..utils.atomic import atomic_write_bytes  # noqa: E402


def save(fig, path: str | Path) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None}, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def heatmap(matrix: Sequence[Sequence[float]], path: str | Path, title: str, xlabel: str, ylabel: str,
            fmt: str = "{:.0f}", xticks: Optional[Sequence[str]] = None, yticks: Optional[Sequence[str]] = None,
            cmap: str = "viridis") -> None:
    m = np.asarray(matrix, dtype=float)
    fig, ax = plt.subplots(figsize=(6.2, 5.2))
    im = ax.imshow(m, cmap=cmap)
    fig.colorbar(im, ax=ax, fraction=0.046)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            if not np.isnan(m[i, j]):
                ax.text(j, i, fmt.format(m[i, j]), ha="center", va="center", fontsize=6,
                        color="white" if m[i, j] < np.nanmax(m) * 0.6 else "black")
    ax.set_xticks(range(m.shape[1]), xticks if xticks is not None else range(m.shape[1]), fontsize=7,
                  rotation=45 if xticks is not None else 0)
    ax.set_yticks(range(m.shape[0]), yticks if yticks is not None else range(m.shape[0]), fontsize=7)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    save(fig, path)


def curves(series: Dict[str, Dict[str, np.ndarray]], path: str | Path, title: str, xlabel: str, ylabel: str,
           hline: Optional[float] = None) -> None:
    """series: label → {"x": ..., "mean": ..., "se": ... (optional)}; shaded band = ± SE, or the
    interval ``"lo"``–``"hi"`` when a series gives one (e.g. Wilson bounds)."""
    many = len(series) > 10  # the default cycle repeats after 10 colours: use 20, legend beside the axes
    fig, ax = plt.subplots(figsize=(8.4 if many else 6.4, 4.0))
    colors = plt.get_cmap("tab20").colors if many else (None,)
    for i, (label, s) in enumerate(series.items()):  # past 20 series the colours repeat, dashed
        color = colors[i % len(colors)]
        x, m = np.asarray(s["x"]), np.asarray(s["mean"])
        line, = ax.plot(x, m, marker="o", ms=3, label=label, ls=s.get("ls", "-" if i < 20 else "--"), color=color)
        se = s.get("se")
        lo, hi = (s["lo"], s["hi"]) if "lo" in s else (m - se, m + se) if se is not None else (None, None)
        if lo is not None and np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)):
            ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2)
    if hline is not None:
        ax.axhline(hline, color="gray", lw=0.8, ls=":")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    if many:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    else:
        ax.legend(fontsize=7)
    save(fig, path)


def bars(labels: List[str], values: Sequence[float], path: str | Path, title: str, ylabel: str,
         errors: Optional[Sequence[float]] = None) -> None:
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    ax.bar(range(len(labels)), values, yerr=errors, capsize=3, color="tab:blue")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=7)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    save(fig, path)


def regularization_path(lams: Sequence[float], coef: np.ndarray, highlight: Sequence[bool], path: str | Path,
                        title: str, selected_lambda: Optional[float] = None) -> None:
    """Coefficients [T, d] against λ (log scale, decreasing to the right); highlighted features in red."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    lams = np.asarray(lams)
    for j in range(coef.shape[1]):
        if np.any(coef[:, j] != 0):
            ax.plot(lams, coef[:, j], lw=1.0, color="tab:red" if highlight[j] else "tab:blue", alpha=0.8)
    if selected_lambda is not None:
        ax.axvline(selected_lambda, color="gray", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.invert_xaxis()
    ax.set_xlabel("λ (standardised features)")
    ax.set_ylabel("coefficient (raw features)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    save(fig, path)


def intervals(labels: List[str], means: Sequence[float], lo: Sequence[float], hi: Sequence[float], path: str | Path,
              title: str, xlabel: str, refs: Optional[Dict[str, float]] = None,
              controls: Optional[Sequence[Optional[Tuple[float, float, float]]]] = None) -> None:
    """One row per label: the estimate with its (asymmetric) interval; ``refs`` draws labelled
    vertical reference lines (e.g. a seed's number); ``controls`` (per row: (estimate, lo, hi) or
    None) draws the row's matched control as a hollow grey marker just below it."""
    m, lo, hi = (np.asarray(v, dtype=float) for v in (means, lo, hi))
    fig, ax = plt.subplots(figsize=(6.4, 0.8 + 0.28 * len(labels)))
    y = np.arange(len(labels))[::-1]
    ax.errorbar(m, y, xerr=[m - lo, hi - m], fmt="o", ms=4, capsize=3, color="tab:blue")
    paired = [(yy, c) for yy, c in zip(y, controls or ()) if c is not None]
    if paired:
        cy = np.array([yy for yy, _ in paired]) - 0.3
        cm, clo, chi = (np.array(v, dtype=float) for v in zip(*(c for _, c in paired)))
        ax.errorbar(cm, cy, xerr=[cm - clo, chi - cm], fmt="o", ms=4, mfc="white", capsize=2, color="gray",
                    lw=0.8, label="matched control")
    for (name, x), ls in zip((refs or {}).items(), (":", "--", "-.")):
        ax.axvline(x, color="gray", lw=0.9, ls=ls, label=name)
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    if paired:  # the controls fill the plot's corners: the legend goes beside it
        ax.legend(fontsize=7, loc="lower left", bbox_to_anchor=(1.01, 0.0), borderaxespad=0.0)
    elif refs:
        ax.legend(fontsize=7, loc="lower right")
    save(fig, path)
