"""The sknn-train command line."""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import sklearn.neural_network

import sknn_train
from sknn_train import cli

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def run_cli(*argv, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "sknn_train.cli", *argv], capture_output=True, text=True, **kwargs
    )


def snapshot(folder):
    """Name, size, mtime and digest of every file under ``folder``."""
    return {
        str(p.relative_to(folder)): (
            p.stat().st_size,
            p.stat().st_mtime_ns,
            hashlib.sha256(p.read_bytes()).hexdigest(),
        )
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def accuracies(out):
    """The demo's table of test accuracies and its sentence comparing them."""
    table = dict(re.findall(r"^ {3}(sknn_train|scikit-learn) +(\d\.\d{4}) +\d", out, re.M))
    sentence = re.search(
        r"^ {3}test accuracy, sknn_train vs scikit-learn: (\d\.\d+) vs (\d\.\d+) \((.*)\)$",
        out,
        re.M,
    )
    assert set(table) == {"sknn_train", "scikit-learn"} and sentence, out
    return table, sentence.groups()


def test_demo_says_what_it_does_and_states_both_accuracies(capsys):
    assert cli.main(["demo", "--epochs", "3", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("sknn-train demo: sknn_train's MLPClassifier next to scikit-learn's")
    assert lines[1].startswith("numba kernels ready in ")
    table, (a, b, verdict) = accuracies(out)
    # the sentence states the measured numbers, and calls them identical only when they are
    assert float(a) == pytest.approx(float(table["sknn_train"]), abs=5e-5)
    assert float(b) == pytest.approx(float(table["scikit-learn"]), abs=5e-5)
    assert (verdict == "identical") == (a == b)
    assert verdict == "identical" or verdict.startswith("differs by ")
    assert "same accuracy" not in out
    assert re.search(r"sknn_train \d+\.\dx (faster|slower) than scikit-learn", out)
    assert "8 settings x 3 folds" in out and "best on the test set" in out


def test_demo_says_the_accuracies_differ_when_they_do(monkeypatch, capsys):
    class WorseMLP(sklearn.neural_network.MLPClassifier):
        def score(self, X, y, sample_weight=None):
            return super().score(X, y, sample_weight) - 0.0100

    monkeypatch.setattr(sklearn.neural_network, "MLPClassifier", WorseMLP)
    assert cli.main(["demo", "--epochs", "2", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    table, (a, b, verdict) = accuracies(out)
    assert float(table["sknn_train"]) - float(table["scikit-learn"]) == pytest.approx(0.01)
    assert verdict == "differs by 0.0100" and "identical" not in out


@pytest.mark.parametrize(
    "a,b,text",
    [
        (0.97333, 0.97333, "0.9733 vs 0.9733 (identical)"),
        (0.5, 0.25, "0.5000 vs 0.2500 (differs by 0.2500)"),
        (0.97331, 0.97332, "0.97331 vs 0.97332 (differs by 0.00001)"),  # alike at 4 digits
    ],
)
def test_compare_scores(a, b, text):
    assert cli._compare_scores(a, b) == text


def test_info_reports_versions_blas_and_cache(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "sknn_train" in out and "numba" in out and "blas" in out
    assert "numba cache: on" in out or "numba cache: off" in out


def test_info_says_which_cache_mode(capsys):
    """The line of :func:`sknn_train.cache_info`: on and source-stamped, or off and why."""
    assert cli.main(["info"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("numba cache")]
    info = sknn_train.cache_info()
    assert lines == [str(info)]
    if info.enabled:
        assert re.fullmatch(r"numba cache: on, source-stamped, .+, \d+ kernels cached", lines[0])
        assert info.directory in lines[0]
    else:
        assert re.fullmatch(r"numba cache: off \(.+\), kernels compile in memory", lines[0])
        assert info.reason in lines[0]


def test_version():
    proc = run_cli("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"sknn_train {sknn_train.__version__}"


@pytest.mark.parametrize(
    "argv,message",
    [
        (["demo", "--epochs", "0"], "--epochs must be at least 1"),
        (["demo", "--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_errors_are_one_clear_line_with_nonzero_status(argv, message):
    proc = run_cli(*argv)
    assert proc.returncode != 0
    assert message in proc.stderr.strip().splitlines()[-1]
    assert "Traceback" not in proc.stderr


def test_help_lists_the_commands():
    proc = run_cli("--help")
    assert proc.returncode == 0
    for word in ("demo", "bench", "info", "--version"):
        assert word in proc.stdout


def test_bench_help_shows_the_benchmark_options():
    proc = run_cli("bench", "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: sknn-train bench ")
    for option in ("--out", "--quick", "--configs", "--dtype", "--repeats", "--no-torch"):
        assert option in proc.stdout
    out_help = " ".join(proc.stdout.split("--out OUT", 1)[1].split())
    assert "default <fresh temporary folder>/bench_epoch.json" in out_help
    assert "benchmarks/results" not in proc.stdout


@pytest.fixture
def fake_bench(monkeypatch, tmp_path):
    """The real bench_epoch.py argument parser, but no benchmark runs and no plot is drawn."""
    calls = {}
    real_load = cli._load_benchmark

    def load(name):
        module = real_load(name)
        if name == "bench_epoch":

            def main(argv):
                args = module.parse_args(argv)
                calls["out"] = args.out
                calls["quick"] = args.quick
                # never write into the committed results, even when the CLI gets this wrong
                assert RESULTS not in args.out.resolve().parents, args.out
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(json.dumps({"results": []}))
                return 0

            module.main = main
        else:

            def plot(json_path):
                calls["plot"] = Path(json_path)
                png = Path(json_path).with_suffix(".png")
                png.write_bytes(b"png")
                return png

            module.plot = plot
        return module

    monkeypatch.setattr(cli, "_load_benchmark", load)
    monkeypatch.setattr(sys, "path", sys.path[:])  # bench_epoch.py puts benchmarks/ there
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    before = snapshot(RESULTS)
    yield calls, tmp
    assert snapshot(RESULTS) == before  # the committed results are never touched


def test_bench_writes_into_a_fresh_temporary_folder_by_default(fake_bench, capsys):
    calls, tmp = fake_bench
    assert cli.main(["bench", "--quick"]) == 0
    (folder,) = tmp.iterdir()
    assert folder.name.startswith("sknn-train-bench-")
    assert calls["quick"] and calls["out"] == folder / "bench_epoch.json"
    assert calls["plot"] == calls["out"] and (folder / "bench_epoch.png").is_file()
    out = capsys.readouterr().out
    assert f"results go to {folder} (a fresh temporary folder" in out
    assert f"plot: {folder / 'bench_epoch.png'}" in out
    # a second run gets a folder of its own
    assert cli.main(["bench", "--", "--quick"]) == 0
    assert len(list(tmp.iterdir())) == 2


@pytest.mark.parametrize("spelling", ["--out {}", "--out={}", "--ou {}"])
def test_bench_writes_where_the_user_says(fake_bench, tmp_path, spelling):
    calls, tmp = fake_bench
    target = tmp_path / "mine" / "run.json"
    assert cli.main(["bench", "--quick", *spelling.format(target).split()]) == 0
    assert calls["out"] == target and target.is_file() and calls["plot"] == target
    assert not list(tmp.iterdir())  # no temporary folder made


def test_bench_without_matplotlib_skips_the_plot(fake_bench, monkeypatch, capsys):
    calls, _ = fake_bench
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    assert cli.main(["bench", "--quick"]) == 0
    assert "plot" not in calls and "plot: skipped, matplotlib is not installed" in (
        capsys.readouterr().out
    )


def test_bench_quick_really_runs_into_a_temporary_folder(tmp_path):
    before = snapshot(RESULTS)
    argv = ["--quick", "--configs", "1", "--dtype", "float64", "--epochs", "3", "--no-torch"]
    proc = run_cli(
        "bench", *argv, "--busy-retries", "0", env={**os.environ, "TMPDIR": str(tmp_path)}
    )
    assert proc.returncode == 0, proc.stderr
    (folder,) = tmp_path.glob("sknn-train-bench-*")
    report = json.loads((folder / "bench_epoch.json").read_text())
    assert [r["config"] for r in report["results"]] == ["1"]
    assert (folder / "bench_epoch.png").stat().st_size > 0
    assert snapshot(RESULTS) == before


def test_no_bench_outside_a_checkout(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(cli, "__file__", str(tmp_path / "site-packages" / "sknn_train" / "cli.py"))
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "demo" in out and "info" in out and "bench" not in out
    for argv in (["bench"], ["bench", "--help"], ["bench", "--", "--quick"]):
        assert cli.main(argv) == 1
        captured = capsys.readouterr()
        err = captured.err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("sknn-train: error: 'bench' runs ")
        assert "source checkout" in err[0] and not captured.out


def test_installed_without_the_checkout(tmp_path):
    """The package alone on the path, as a wheel installs it: no bench, a one-line error."""
    site = tmp_path / "site-packages"
    shutil.copytree(
        ROOT / "sknn_train", site / "sknn_train", ignore=shutil.ignore_patterns("__pycache__")
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run(
        [sys.executable, "-c", "import sknn_train.cli as c; print(c.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=True,
    )
    assert Path(where.stdout.strip()).parent == site / "sknn_train"
    help_ = run_cli("--help", cwd=tmp_path, env=env)
    assert help_.returncode == 0 and "demo" in help_.stdout and "bench" not in help_.stdout
    bench = run_cli("bench", "--quick", cwd=tmp_path, env=env)
    err = bench.stderr.strip().splitlines()
    assert bench.returncode == 1 and len(err) == 1 and "source checkout" in err[0]
    assert not list(tmp_path.glob("sknn-train-bench-*"))
