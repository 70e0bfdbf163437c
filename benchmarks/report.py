"""Tables of the latest benchmark results, for the README and the documentation.

    python benchmarks/report.py            # print the Markdown table
    python benchmarks/report.py --write    # also update README.md and docs/bench_results.inc

Reads ``benchmarks/results/bench_epoch.json`` (time per epoch against
scikit-learn, the PyTorch loop and the gemm floor) and
``benchmarks/results/bench_extra.json`` (configurations 9-11, cold start,
scaling, memory), and renders them as a Markdown table (between the
``<!-- bench:start -->`` / ``<!-- bench:end -->`` markers of README.md) and
as reStructuredText (``docs/bench_results.inc``, included by
``docs/performance.rst``), so that the published numbers are always the
recorded ones.

It also reads ``benchmarks/results/bench_firstuse.json`` (compiling, first
searches, fresh processes and small calls, ``bench_firstuse.py``) and renders
its "first use" table between the ``<!-- firstuse:start -->`` /
``<!-- firstuse:end -->`` markers of README.md (skipped, with a message, where
the README has no such markers) and into ``docs/firstuse_results.inc``; without
that JSON file both get a line saying how to produce it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # also when loaded by path
    sys.path.insert(0, str(HERE))
from benchlib import replace_between  # noqa: E402  (the README's marker blocks)

ROOT = HERE.parent
EPOCH_JSON = HERE / "results" / "bench_epoch.json"
EXTRA_JSON = HERE / "results" / "bench_extra.json"
README = ROOT / "README.md"
DOCS_INC = ROOT / "docs" / "bench_results.inc"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
FIRSTUSE_JSON = HERE / "results" / "bench_firstuse.json"
FIRSTUSE_INC = ROOT / "docs" / "firstuse_results.inc"
FU_START, FU_END = "<!-- firstuse:start -->", "<!-- firstuse:end -->"


def _fmt(value, spec=".2f", suffix=""):
    return "n/a" if value is None else f"{value:{spec}}{suffix}"


def machine_line(report: dict) -> str:
    env = report["environment"]
    blas = sorted(
        {
            f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')})"
            for i in env["threadpool_info"]
            if i.get("user_api") == "blas"
        }
    )
    src = env.get("sknn_train_source") or {}
    commit = (src.get("git_commit") or "?")[:7]
    dirty = " + uncommitted changes" if src.get("git_dirty") else ""
    torch = env.get("torch")
    return (
        f"{env['timestamp'][:16].replace('T', ' ')} UTC, commit {commit}{dirty}; "
        f"{env['cpu_count']}-core {env['machine']} ({env['platform']}), "
        f"BLAS {', '.join(blas)}; Python {env['python']}, numpy {env['numpy']}, "
        f"scipy {env['scipy']}, scikit-learn {env['scikit-learn']}, numba {env['numba']}"
        + (f", torch {torch} ({env.get('torch_threads')} threads)" if torch else "")
        + f"; {report['settings']['repeats']} interleaved repetitions, medians"
    )


def rows(report: dict):
    """One row per configuration: both dtypes side by side."""
    by_config = {}
    for r in report["results"]:
        by_config.setdefault(r["config"], {"title": r["title"]})[r["dtype"]] = r
    for key, entry in by_config.items():
        cells = [f"{key}: {entry['title']}"]
        for dtype in ("float64", "float32"):
            r = entry.get(dtype)
            if r is None:
                cells += ["", "", "", ""]
                continue
            med = r["median_per_epoch_s"]
            flag = " *" if (r["max_other_load"] or 0) > report["settings"]["busy_threshold"] else ""
            cells += [
                f"{1e3 * med['sklearn']:.2f} / {1e3 * med['sknn_train']:.2f}",
                f"**{r['median_ratio']:.2f}x**{flag}",
                _fmt(r.get("median_ratio_torch"), ".2f", "x"),
                _fmt(r.get("sknn_over_floor"), ".2f", "x"),
            ]
        yield cells


HEAD = [
    "config",
    "f64: sklearn / sknn ms per epoch",
    "f64 ratio",
    "f64 torch / sknn",
    "f64 sknn / floor",
    "f32: sklearn / sknn ms per epoch",
    "f32 ratio",
    "f32 torch / sknn",
    "f32 sknn / floor",
]


def extra_lines(extra: dict) -> list[str]:
    out = []
    c9 = extra.get("config9_extras")
    if c9:
        out.append(
            f"config 9 (dropout 0.2 + residual + max_grad_norm on config 3): "
            f"{c9['median_ratio']:.2f}x the plain epoch (target <= {c9['target']})"
        )
    preds = extra.get("config10_predict") or []
    if preds:
        out.append(
            "config 10 (predict throughput, sknn / sklearn): "
            + ", ".join(
                f"config {p['config']} {p['dtype']} {p['median_ratio']:.1f}x" for p in preds
            )
        )
    grid = extra.get("config11_gridsearch")
    if grid:
        ratio = grid.get("median_ratio", grid.get("ratio_sklearn_over_sknn"))
        first = grid.get("ratio_first")
        out.append(
            f"config 11 (GridSearchCV, {grid.get('points', 24)} points, cv=3, n_jobs=2): "
            f"{_fmt(ratio)}x faster than scikit-learn's grid once the workers run"
            + (f" ({first:.2f}x for the first search, which starts the workers)" if first else "")
        )
    cold = extra.get("cold_start", {}).get("median")
    if cold:
        warm = cold["sknn_train_warm_cache"]["total_s"] / cold["sklearn"]["total_s"]
        line = f"cold start with a warm cache: {warm:.2f}x scikit-learn's import + first fit"
        nc = cold.get("sknn_train_no_cache")
        if nc:
            line += f"; from an empty cache the first fit compiles for {nc['fit_s']:.0f} s"
        out.append(line)
    scaling = extra.get("scaling", {}).get("sizes")
    if scaling:
        out.append(
            "scaling (config 3 shape, float32), microseconds per row: "
            + ", ".join(f"{s['rows']:,} rows {1e6 * s['s_per_row']:.1f}" for s in scaling)
        )
    mem = extra.get("peak_memory")
    if mem:
        out.append(
            f"peak memory of a 1M-row float32 fit over the data: sknn_train "
            f"{mem['sknn_train']['extra_over_data']:.2f}x, scikit-learn "
            f"{mem['sklearn']['extra_over_data']:.2f}x the input's size"
        )
    return out


def _by_key(report: dict) -> dict:
    return {(r["config"], r["dtype"]): r for r in report["results"]}


def _bound(r: dict) -> str:
    """`` (floor bound Nx)``: scikit-learn's time over the gemm floor bounds any trainer's ratio."""
    floor = r.get("median_gemm_floor_s")
    if not floor:
        return ""
    return f" (floor bound {r['median_per_epoch_s']['sklearn'] / floor:.1f}x)"


def targets(report: dict, extra: dict | None) -> list[tuple[str, str, bool]]:
    """The issue's targets: (target, what was measured, met)."""
    res = _by_key(report)
    out = []

    def ratio_target(keys, dtype, floor, label):
        rows = [res[(k, dtype)] for k in keys if (k, dtype) in res]
        if rows:
            got = ", ".join(f"{r['config']}: {r['median_ratio']:.2f}x{_bound(r)}" for r in rows)
            out.append((f"{label} ({dtype})", got, all(r["median_ratio"] >= floor for r in rows)))

    for dtype in ("float64", "float32"):
        ratio_target(["1"], dtype, 4, "sklearn / sknn >= 4x on config 1")
        ratio_target(["5"], dtype, 8, "sklearn / sknn >= 8x on config 5")
    ratio_target(["2", "3", "4", "6"], "float64", 2, "sklearn / sknn >= 2x on 2, 3, 4, 6")
    ratio_target(["2", "3", "4", "6"], "float32", 3, "sklearn / sknn >= 3x on 2, 3, 4, 6")
    for dtype in ("float64", "float32"):
        ratio_target(["7a", "7b", "8"], dtype, 1.5, "sklearn / sknn >= 1.5x on 7 and 8")
    floors = [
        r
        for r in report["results"]
        if r.get("sknn_over_floor") is not None and r["config"] in set("123456")
    ]
    if floors:
        out.append(
            (
                "sknn / gemm floor <= 1.4x on 1-6",
                ", ".join(
                    f"{r['config']} {r['dtype'][-2:]}: {r['sknn_over_floor']:.2f}x" for r in floors
                ),
                all(r["sknn_over_floor"] <= 1.4 for r in floors),
            )
        )
    torch = [r for r in report["results"] if r.get("median_ratio_torch") is not None]
    if torch:
        out.append(
            (
                "faster than the PyTorch loop everywhere",
                f"torch / sknn {min(r['median_ratio_torch'] for r in torch):.2f}x to "
                f"{max(r['median_ratio_torch'] for r in torch):.2f}x over {len(torch)} rows",
                all(r["median_ratio_torch"] > 1 for r in torch),
            )
        )
    if extra:
        c9 = extra.get("config9_extras")
        if c9:
            out.append(
                (
                    "config 9 costs <= 1.3x config 3",
                    f"{c9['median_ratio']:.2f}x",
                    c9["median_ratio"] <= 1.3,
                )
            )
        grid = extra.get("config11_gridsearch")
        if grid and "median_ratio" in grid:
            out.append(
                (
                    "config 11 >= 3x faster",
                    f"{grid['median_ratio']:.2f}x "
                    f"(first search, starting the workers: {grid['ratio_first']:.2f}x)",
                    grid["median_ratio"] >= 3,
                )
            )
        cold = extra.get("cold_start", {}).get("median")
        if cold:
            warm = cold["sknn_train_warm_cache"]["total_s"] / cold["sklearn"]["total_s"]
            out.append(
                ("cold start with a warm cache <= 1.5x scikit-learn's", f"{warm:.2f}x", warm <= 1.5)
            )
        mem = extra.get("peak_memory")
        if mem:
            v = mem["sknn_train"]["extra_over_data"]
            out.append(
                (
                    "peak memory over the data <= 0.5x its size (1M rows, float32)",
                    f"{v:.2f}x",
                    v <= 0.5,
                )
            )
        sizes = extra.get("scaling", {}).get("sizes")
        if sizes:
            growth = sizes[-1]["s_per_row"] / sizes[0]["s_per_row"]
            out.append(
                (
                    "time per epoch linear in rows (10k to 1M)",
                    f"time per row x{growth:.2f} from {sizes[0]['rows']:,} to "
                    f"{sizes[-1]['rows']:,} rows",
                    growth <= 1.25,
                )
            )
    return out


NOTE = (
    "ratio: scikit-learn's time per epoch over {name}'s (above 1: {name} is faster); "
    "torch / sknn: the plain PyTorch loop's time over {name}'s; sknn / floor: {name}'s time "
    "over numpy doing only the forward and backward matrix products of the same shapes "
    "(n/a: sparse input, L-BFGS); the floor bound, scikit-learn's time over the floor, is the "
    "largest ratio any trainer could reach. {star}: other processes were busy during the row."
)


def markdown(report: dict, extra: dict | None) -> str:
    lines = [
        f"Latest run: {machine_line(report)}.",
        "",
        "| " + " | ".join(HEAD) + " |",
        "|" + "---|" * len(HEAD),
    ]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows(report)]
    lines += ["", NOTE.format(name="sknn_train", star="`*`")]
    if extra:
        lines += [""] + [f"- {line}" for line in extra_lines(extra)]
    lines += ["", "| target | measured | met |", "|---|---|---|"]
    lines += [f"| {t} | {m} | {'yes' if ok else '**no**'} |" for t, m, ok in targets(report, extra)]
    return "\n".join(lines)


def rst(report: dict, extra: dict | None) -> str:
    lines = [
        f"Latest run: {machine_line(report)}.",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "",
    ]
    for cells in [HEAD, *rows(report)]:
        lines.append("   * - " + cells[0].replace("*", r"\*"))
        lines += [f"     - {c}" if c else "     -" for c in cells[1:]]
    lines += ["", NOTE.format(name="``sknn_train``", star="\\*")]
    if extra:
        lines += [""] + [f"* {line}" for line in extra_lines(extra)]
    lines += [
        "",
        "Against the targets of the speed work:",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - target",
        "     - measured",
        "     - met",
    ]
    for t, m, ok in targets(report, extra):
        lines += [f"   * - {t}", f"     - {m}", f"     - {'yes' if ok else '**no**'}"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- first use
#: The parts of ``bench_firstuse.json`` that hold figures, in the order shown.
FIRSTUSE_PARTS = ("compile", "gridsearch", "fresh_process", "small_calls", "techniques_search")
FU_HEAD = ["first use", "sknn_train", "scikit-learn", "ratio", "target", "met"]
FU_MISSING = (
    "No first-use results recorded yet: run ``python benchmarks/bench_firstuse.py``, "
    "then ``python benchmarks/report.py --write``."
)
FU_NOTE = (
    "Every figure is a median over fresh processes, {name} and scikit-learn interleaved; "
    "the ratio is the median of the per-repetition ratios, in the direction its target "
    "states. Empty cache: a fresh ``NUMBA_CACHE_DIR`` per process (the search's workers "
    "inherit it); warm cache: one filled beforehand. scikit-learn compiles nothing: beside "
    "the compile times stands its own first fit in a fresh process."
)


def seconds(value) -> str:
    """A duration in s, ms or µs with three significant digits."""
    if value is None:
        return "n/a"
    for scale, unit in ((1, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if value >= scale or unit == "µs":
            return f"{value / scale:.3g} {unit}"
    raise AssertionError  # unreachable


def _figures(fu: dict):
    for part in FIRSTUSE_PARTS:
        yield from (fu.get(part) or {}).get("figures", [])


def _target_text(fig: dict) -> str:
    t = fig["target"]
    if t is None:
        return ""
    if t["on"] == "ratio":
        return f"{fig['ratio'].replace('/', ' / ')} {t['op']} {t['value']:g}"
    return f"sknn_train {t['op']} {t['value']:g} s"


def firstuse_rows(fu: dict):
    for fig in _figures(fu):
        m = fig["median"]
        met = "" if fig["met"] is None else ("yes" if fig["met"] else "**no**")
        yield [
            fig["label"],
            seconds(m["sknn_train"]),
            seconds(m["sklearn"]),
            f"{fig['median_ratio']:.2f} ({fig['ratio'].replace('/', ' / ')})",
            _target_text(fig),
            met,
        ]


def firstuse_targets(fu: dict) -> list[tuple[str, str, bool]]:
    """(target, what was measured, met) for every figure of bench_firstuse.json with a target."""
    out = []
    for fig in _figures(fu):
        if fig["target"] is None:
            continue
        m = fig["median"]
        out.append(
            (
                f"{fig['label']}: {_target_text(fig)}",
                f"{seconds(m['sknn_train'])} against scikit-learn's "
                f"{seconds(m['sklearn'])}: {fig['ratio']} {fig['median_ratio']:.2f}",
                fig["met"],
            )
        )
    return out


def firstuse_lines(fu: dict) -> list[str]:
    """The run, the load during each part, the size of the warm cache."""
    quick = " (a --quick smoke run: not for publication)" if fu["settings"].get("quick") else ""
    lines = [f"Latest run: {machine_line(fu)}{quick}."]
    loads = [
        f"{part.replace('_', ' ')} {fu[part]['loadavg_before'][0]:.2f} -> "
        f"{fu[part]['loadavg_after'][0]:.2f}"
        for part in FIRSTUSE_PARTS
        if part in fu
    ]
    if loads:
        lines.append("1-minute load average before -> after each part: " + ", ".join(loads) + ".")
    warm = fu.get("warm_cache")
    if warm:
        lines.append(
            f"``sknn_train.cache_info()`` counted {warm['cached_kernels']} kernels "
            "in the warm cache."
        )
    return lines


def firstuse_markdown(fu: dict | None) -> str:
    if fu is None:
        return FU_MISSING.replace("``", "`")
    lines = [
        " ".join(firstuse_lines(fu)).replace("``", "`"),
        "",
        "| " + " | ".join(FU_HEAD) + " |",
        "|" + "---|" * len(FU_HEAD),
    ]
    lines += ["| " + " | ".join(cells) + " |" for cells in firstuse_rows(fu)]
    lines += ["", FU_NOTE.format(name="sknn_train").replace("``", "`")]
    return "\n".join(lines)


def firstuse_rst(fu: dict | None) -> str:
    if fu is None:
        return FU_MISSING + "\n"
    lines = [" ".join(firstuse_lines(fu)), "", ".. list-table::", "   :header-rows: 1", ""]
    for cells in [FU_HEAD, *firstuse_rows(fu)]:
        lines.append(f"   * - {cells[0]}")
        lines += [f"     - {c}" if c else "     -" for c in cells[1:]]
    lines += ["", FU_NOTE.format(name="``sknn_train``")]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--write",
        action="store_true",
        help="update README.md, docs/bench_results.inc and docs/firstuse_results.inc",
    )
    args = parser.parse_args(argv)
    report = json.loads(EPOCH_JSON.read_text())
    extra = json.loads(EXTRA_JSON.read_text()) if EXTRA_JSON.exists() else None
    firstuse = json.loads(FIRSTUSE_JSON.read_text()) if FIRSTUSE_JSON.exists() else None
    table = markdown(report, extra)
    firstuse_table = firstuse_markdown(firstuse)
    print(table)
    print()
    print(firstuse_table)
    if args.write:
        readme = replace_between(README.read_text(), table, START, END)
        if readme is None:
            raise SystemExit(f"{README} has no {START} ... {END} markers")
        with_firstuse = replace_between(readme, firstuse_table, FU_START, FU_END)
        if with_firstuse is not None:
            readme = with_firstuse
            written = "its first-use table"
        else:
            written = "no first-use table"
            print(
                f"\n{README} has no {FU_START} ... {FU_END} markers: the first-use "
                "table goes only into the docs; add the two marker lines, each on a line "
                "of its own, where the README should show it"
            )
        README.write_text(readme)
        DOCS_INC.write_text(rst(report, extra))
        FIRSTUSE_INC.write_text(firstuse_rst(firstuse))
        print(f"\nwrote {README} ({written}), {DOCS_INC} and {FIRSTUSE_INC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
