"""Plot the ratio sklearn / sknn_train per configuration from a bench_epoch JSON.

    python benchmarks/plot_results.py [benchmarks/results/bench_epoch.json] [out.png]

Left: one bar per configuration and dtype, the median over repetitions of the
per-repetition ratios sklearn / sknn_train (> 1: sknn_train is faster), with
the smallest and largest ratio as an error bar; diamonds mark the PyTorch
loop's time over sknn_train's where it ran. Right: sknn_train's time over the
gemm floor (numpy doing only the matrix products), with the 1.4x target.
matplotlib is needed (``pip install .[bench]``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

DEFAULT_JSON = Path(__file__).parent / "results" / "bench_epoch.json"


def plot(json_path=DEFAULT_JSON, png_path=None) -> Path:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    json_path = Path(json_path)
    png_path = Path(png_path) if png_path else json_path.with_suffix(".png")
    results = json.loads(json_path.read_text())["results"]
    configs = list(dict.fromkeys(r["config"] for r in results))
    titles = {r["config"]: r["title"] for r in results}
    dtypes = list(dict.fromkeys(r["dtype"] for r in results))
    fig, (ax, ax_floor) = plt.subplots(
        1, 2, figsize=(2.0 * len(configs) + 4, 4.5), gridspec_kw={"width_ratios": [3, 2]}
    )
    width = 0.8 / len(dtypes)
    for k, dtype in enumerate(dtypes):
        rows = {r["config"]: r for r in results if r["dtype"] == dtype}
        x = np.arange(len(configs)) + (k - (len(dtypes) - 1) / 2) * width
        med = [rows[c]["median_ratio"] if c in rows else np.nan for c in configs]
        lo = [med[i] - min(rows[c]["ratios"]) if c in rows else 0 for i, c in enumerate(configs)]
        hi = [max(rows[c]["ratios"]) - med[i] if c in rows else 0 for i, c in enumerate(configs)]
        bars = ax.bar(x, med, width, yerr=[lo, hi], capsize=3, label=f"sklearn, {dtype}")
        torch = [rows[c].get("median_ratio_torch") if c in rows else None for c in configs]
        torch = [np.nan if t is None else t for t in torch]
        if not np.isnan(torch).all():
            ax.plot(
                x,
                torch,
                "D",
                color=bars.patches[0].get_facecolor(),
                markeredgecolor="k",
                label=f"PyTorch loop, {dtype}",
            )
        floor = [rows[c].get("sknn_over_floor") if c in rows else None for c in configs]
        ax_floor.bar(x, [np.nan if f is None else f for f in floor], width, label=dtype)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(np.arange(len(configs)))
    ax.set_xticklabels([f"{c}\n{titles[c][:22]}" for c in configs], fontsize=7)
    ax.set_ylabel("other's time per epoch / sknn_train's")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}x"))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_title("Speed-up of sknn_train (median of repetitions, min-max bars)", fontsize=10)
    ax.legend(fontsize=7)
    ax_floor.axhline(1.4, color="red", linewidth=0.8, linestyle="--", label="target 1.4x")
    ax_floor.axhline(1.0, color="black", linewidth=0.8)
    ax_floor.set_xticks(np.arange(len(configs)))
    ax_floor.set_xticklabels(configs, fontsize=8)
    ax_floor.set_ylabel("sknn_train time / gemm floor")
    ax_floor.set_title("Distance to the matrix-multiply floor (n/a: sparse, L-BFGS)", fontsize=10)
    ax_floor.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(png_path, dpi=120)
    plt.close(fig)
    return png_path


if __name__ == "__main__":
    print(plot(*sys.argv[1:3]))
