"""The sknn-train command line."""

import subprocess
import sys

import pytest

from sknn_train import cli


def test_demo_prints_both_libraries_and_the_grid(capsys):
    assert cli.main(["demo", "--epochs", "3", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "sknn_train" in out and "scikit-learn" in out and "faster per epoch" in out
    assert "8 settings x 3 folds" in out and "best on the test set" in out


def test_info_reports_versions_blas_and_cache(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "sknn_train" in out and "numba" in out and "blas" in out
    assert "numba cache: on" in out or "numba cache: off" in out


@pytest.mark.parametrize("argv,message", [
    (["demo", "--epochs", "0"], "--epochs must be at least 1"),
    (["frobnicate"], "invalid choice"),
])
def test_errors_are_one_clear_line_with_nonzero_status(argv, message):
    proc = subprocess.run([sys.executable, "-m", "sknn_train.cli", *argv],
                          capture_output=True, text=True)
    assert proc.returncode != 0
    assert message in proc.stderr.strip().splitlines()[-1]
    assert "Traceback" not in proc.stderr


def test_help_lists_the_commands():
    proc = subprocess.run([sys.executable, "-m", "sknn_train.cli", "--help"],
                          capture_output=True, text=True, check=True)
    for command in ("demo", "bench", "info"):
        assert command in proc.stdout


def test_bench_outside_a_checkout_is_a_clear_error(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(cli, "__file__", str(tmp_path / "pkg" / "cli.py"))
    assert cli.main(["bench", "--", "--quick"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("sknn-train: error: the benchmark suite")
