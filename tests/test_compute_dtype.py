"""``compute_dtype``: float32 compute on float64 input is exactly a fit on the
input cast to float32 (and float64 compute on float32 input the float64 fit)."""

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import classification, quiet_fit, regression, small_table
from sklearn.utils._param_validation import InvalidParameterError

from sknn_train import MLPClassifier, MLPRegressor, TabularMLPClassifier


def _same(a, b):
    for p, q in zip([*a.coefs_, *a.intercepts_], [*b.coefs_, *b.intercepts_], strict=True):
        assert p.dtype == q.dtype
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("sparse", [False, True])
def test_float32_compute_is_the_float32_fit(sparse):
    X, y = classification(n_samples=120)
    X32 = X.astype(np.float32)
    if sparse:
        X, X32 = sp.csr_matrix(X), sp.csr_matrix(X32)
    kw = dict(hidden_layer_sizes=(10,), max_iter=8, random_state=0, n_ensemble=2)
    ours = quiet_fit(MLPClassifier(compute_dtype="float32", **kw), X, y)
    _same(ours, quiet_fit(MLPClassifier(**kw), X32, y))
    assert ours.coefs_[0].dtype == np.float32
    proba = ours.predict_proba(X)  # float64 input, the model's dtype out
    assert proba.dtype == np.float32
    np.testing.assert_array_equal(proba, ours.predict_proba(X32))


def test_float64_compute_on_float32_input_and_what_later_fits_keep():
    X, y = regression(n_samples=100)
    kw = dict(hidden_layer_sizes=(8,), max_iter=6, random_state=0)
    ours = quiet_fit(MLPRegressor(compute_dtype="float64", **kw), X.astype(np.float32), y)
    _same(ours, quiet_fit(MLPRegressor(**kw), X.astype(np.float32).astype(np.float64), y))
    assert ours.predict(X.astype(np.float32)).dtype == np.float64
    # partial_fit and warm_start continue the model in its own dtype
    model = MLPRegressor(compute_dtype="float32", **kw).partial_fit(X, y)
    model.set_params(compute_dtype=None).partial_fit(X, y)
    assert model.coefs_[0].dtype == np.float32


def test_tabular_frame_in_float32():
    frame, y = small_table(120)
    kw = dict(max_iter=4, random_state=0, numeric_embedding="pbld")
    model = quiet_fit(TabularMLPClassifier(compute_dtype="float32", **kw), frame, y)
    assert model.coefs_[0].dtype == np.float32
    assert model.numeric_embeddings_.dtype == model.embedding_tables_.dtype == np.float32
    assert model.predict_proba(frame).dtype == np.float32
    wide = quiet_fit(TabularMLPClassifier(**kw), frame, y)
    assert wide.coefs_[0].dtype == np.float64
    np.testing.assert_allclose(model.predict_proba(frame), wide.predict_proba(frame), atol=0.05)


def test_an_unknown_dtype_is_refused():
    X, y = classification()
    with pytest.raises(InvalidParameterError, match="compute_dtype"):
        MLPClassifier(compute_dtype="float16").fit(X, y)
