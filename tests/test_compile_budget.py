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

#: The kernels a plain fit may compile.
PLAIN_FIT_BUDGET = {
    "activations._sigmoid",
    "activations._softplus",
    "activations.activate",
    "activations.activation_backward",
    "activations.output_activate",
    "activations.softmax_rows",
    "step.finish_gradient",
    "passes.gather_rows",
    "step.optimizer_update",
    "passes.run_pass",
    "step.take_step",
    "losses.loss_and_delta",
    "network.bias_gradient",
    "network.copy_block",
    "network.finish_layer",
    "network.flat_view",
    "network.layer_output",
    "network.layer_view",
    "network.scale_gradient",
    "network.zero_rows",
    "rng.mix",
}

#: The ensembles' kernels, each compiled only in its own form's specialisation:
#: independent members step one by one; a batch ensemble ties its shared slices.
INDEPENDENT_ONLY = {"ensemble.member_step"}
BATCH_ONLY = {"ensemble.tied_steps", "ensemble.tie_gradients"}
ENSEMBLE_ONLY = INDEPENDENT_ONLY | BATCH_ONLY

#: Each tier's own kernels (``sknn_train._kernels.tiers``): the recipe's (input
#: scaling; the schedules and the decay are inlined) and the extras' (clipping,
#: dropout, sparse input).
RECIPE_ONLY = {"network.scale_first_weights", "network.chain_input_scale"}
EXTRAS_ONLY = {
    "step.clip_factor",
    "step.clipped_step",
    "network.csr_rows_product",
    "rng.dropout_rows",
    "rng.unit_bits",
}

#: The raw tables' kernels (category lookups, numeric embeddings): compiled only
#: when a fit's input has such columns (the passes' ``tables`` argument).
TABLES_ONLY = {
    "tables.encode_rows",
    "tables.onehot_rows_product",
    "tables.embedding_gradient",
    "network.first_layer_gradient",
    "embeddings.embed_feature",
    "embeddings.embed_feature_gradient",
    "embeddings.sincos",
}

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
    assert "passes.run_pass" in compiled  # the probe sees compilations at all
    assert not compiled & (ENSEMBLE_ONLY | RECIPE_ONLY | EXTRAS_ONLY | TABLES_ONLY)
    assert compiled <= PLAIN_FIT_BUDGET, sorted(compiled - PLAIN_FIT_BUDGET)


def test_each_tier_compiles_its_own_kernels():
    """The probe itself: a fit with input scaling compiles the recipe's kernels and
    none of the extras'; one with dropout, clipping and sparse input the extras' too."""
    recipe = _compiled_by(_PLAIN_FIT.replace("max_iter=2,", "max_iter=2, input_scaling=True,"))
    assert RECIPE_ONLY <= recipe
    assert not recipe & EXTRAS_ONLY, recipe & EXTRAS_ONLY
    script = _PLAIN_FIT.replace(
        "max_iter=2,", "max_iter=2, dropout=0.1, input_dropout=0.1, max_grad_norm=1.0,"
    ).replace("fit(X, y)", "fit(__import__('scipy.sparse').sparse.csr_matrix(X), y)")
    assert EXTRAS_ONLY <= _compiled_by(script)


def test_each_ensemble_form_compiles_its_own_kernels():
    """Independent members compile none of the batch ensemble's ties (the default
    Tabular fit's form); a batch ensemble does compile them."""
    form = "max_iter=2, n_ensemble=2, ensemble='{}',"
    independent = _compiled_by(_PLAIN_FIT.replace("max_iter=2,", form.format("independent")))
    assert INDEPENDENT_ONLY <= independent
    assert not independent & BATCH_ONLY, independent & BATCH_ONLY
    batch = _compiled_by(_PLAIN_FIT.replace("max_iter=2,", form.format("batch")))
    assert BATCH_ONLY <= batch


_ENSEMBLE_FITS = """
import json, warnings
warnings.simplefilter("ignore")
import numpy as np
from sknn_train import MLPClassifier, TabularMLPClassifier
from sknn_train._kernels.epoch import run_pass
rng = np.random.RandomState(0)
X, y = rng.randn(60, 4), rng.randint(0, 3, 60)
counts = []
MLPClassifier(max_iter=2, n_ensemble=2, solver="lbfgs", random_state=0).fit(X, y).predict(X)
counts.append(len(run_pass.signatures))
TabularMLPClassifier((4,), max_iter=2, random_state=0).fit(X, y).predict_proba(X)
counts.append(len(run_pass.signatures))
MLPClassifier(max_iter=2, dropout=0.2, random_state=0).fit(X, y).predict_proba(X)
counts.append(len(run_pass.signatures))
print(json.dumps(counts))
"""


def test_one_specialisation_per_fit():
    """A fit runs every pass in one specialisation: an ensemble's members alone too
    (L-BFGS, the calibration's logits), and a fit with dropout its predictions
    (which have none) in its own tier too."""
    assert json.loads(_run_script(_ENSEMBLE_FITS)) == [1, 2, 3]


def test_a_table_compiles_the_lookups_and_a_numeric_array_does_not():
    """The probe itself: category columns and a numeric embedding compile the tables'
    kernels; the Tabular defaults on a numeric array (scaling, indicators: no lookup) none."""
    table = _PLAIN_FIT.replace(
        "MLPClassifier(max_iter=2,",
        "MLPClassifier(max_iter=2, categorical_features=[3], numeric_embedding='plr',",
    ).replace("X, y = rng.randn(60, 4)", "X, y = np.c_[rng.randn(60, 3), rng.randint(0, 12, 60)]")
    assert TABLES_ONLY <= _compiled_by(table)
    scaled = _PLAIN_FIT.replace(
        "MLPClassifier(max_iter=2,",
        "MLPClassifier(max_iter=2, numeric_scaling='smooth_clip', handle_missing='indicator',",
    )
    assert not _compiled_by(scaled) & TABLES_ONLY
