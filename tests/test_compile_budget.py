"""Everybody's first fit: what a plain fit compiles, against a committed budget.

A plain fit (a default MLPClassifier on a dense float64 array) compiles the
kernels listed in PLAIN_FIT_BUDGET and nothing else. A feature added to the
plain path without being made a compile-time choice (an argument that is None
when unused, or a specialisation of its own) shows up here as a kernel outside
the budget, instead of as seconds of everybody's first fit. Not a timer: the
test reads which numba dispatchers got a compiled signature, in a fresh
process with the cache off.
"""

import json
import os
import subprocess
import sys

#: The kernels a plain fit may compile. Entries marked "feature" belong to a
#: technique a plain fit does not use but that is still inside the one
#: specialisation; each leaves this list when it becomes a compile-time choice.
PLAIN_FIT_BUDGET = {
    "activations._sigmoid",
    "activations._softplus",
    "activations.activate",
    "activations.activation_backward",
    "activations.output_activate",
    "activations.softmax_rows",
    "step.clip_factor",  # feature: max_grad_norm
    "step.clipped_step",  # feature: max_grad_norm
    "step.finish_gradient",
    "epoch.gather_rows",
    "step.optimizer_update",
    "epoch.run_pass",
    "step.take_step",
    "losses.loss_and_delta",
    "network.bias_gradient",
    "network.chain_input_scale",  # feature: input_scaling
    "network.copy_block",
    "network.csr_rows_product",  # feature: sparse input
    "network.finish_layer",
    "network.flat_view",
    "network.layer_output",
    "network.layer_view",
    "network.scale_first_weights",  # feature: input_scaling
    "network.scale_gradient",
    "network.zero_rows",
    "rng.dropout_rows",  # feature: dropout
    "rng.keep_scale",  # feature: dropout
    "rng.mix",
    "rng.row_key",  # feature: dropout
    "rng.threshold",  # feature: dropout
    "rng.unit_bits",  # feature: dropout
}

#: The ensemble's kernels: compiled only in its own specialisation.
ENSEMBLE_ONLY = {"ensemble.member_step", "ensemble.tied_steps", "ensemble.tie_gradients"}

_PLAIN_FIT = """
import json, warnings
warnings.simplefilter("ignore")
import numpy as np
from sknn_train import MLPClassifier
from sknn_train._jit import KERNELS
rng = np.random.RandomState(0)
X, y = rng.randn(60, 4), rng.randint(0, 3, 60)
MLPClassifier(max_iter=2, random_state=0).fit(X, y).predict_proba(X)
print(json.dumps(sorted({
    d.py_func.__module__.rsplit(".", 1)[-1] + "." + d.py_func.__name__
    for d in KERNELS if d.signatures
})))
"""


def _run_script(script):
    """The last line ``script`` prints, run in a fresh process with the cache off."""
    env = {**os.environ, "SKNN_TRAIN_NO_CACHE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.strip().splitlines()[-1]


def _compiled_by(script):
    return set(json.loads(_run_script(script)))


def test_a_plain_fit_compiles_only_its_budget():
    compiled = _compiled_by(_PLAIN_FIT)
    assert "epoch.run_pass" in compiled  # the probe sees compilations at all
    assert not compiled & ENSEMBLE_ONLY, compiled & ENSEMBLE_ONLY
    assert compiled <= PLAIN_FIT_BUDGET, sorted(compiled - PLAIN_FIT_BUDGET)


def test_an_ensemble_compiles_its_own_kernels():
    """The probe itself: an ensemble fit does compile the ensemble's kernels."""
    script = _PLAIN_FIT.replace("max_iter=2,", "max_iter=2, n_ensemble=2, ensemble='batch',")
    assert ENSEMBLE_ONLY <= _compiled_by(script)


_ENSEMBLE_FITS = """
import json, warnings
warnings.simplefilter("ignore")
import numpy as np
from sknn_train import MLPClassifier, TabularMLPClassifier
from sknn_train._kernels.epoch import run_pass
rng = np.random.RandomState(0)
X, y = rng.randn(60, 4), rng.randint(0, 3, 60)
MLPClassifier(max_iter=2, n_ensemble=2, solver="lbfgs", random_state=0).fit(X, y).predict(X)
TabularMLPClassifier((4,), max_iter=2, random_state=0).fit(X, y).predict_proba(X)
print(json.dumps(len(run_pass.signatures)))
"""


def test_one_form_per_ensemble_fit():
    """An ensemble's fit runs every pass in its own form, its members alone too
    (L-BFGS, the calibration's logits): one specialisation of run_pass."""
    assert json.loads(_run_script(_ENSEMBLE_FITS)) == 1
