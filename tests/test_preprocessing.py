"""SmoothClipScaler (SPEC 4.9) against a plain NumPy reference, and its contract."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import classification
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from sknn_train import MLPClassifier
from sknn_train.preprocessing import SmoothClipScaler


def reference(X_train, X, width=3.0):
    """SPEC 4.9 written out column by column, in float64."""
    X_train = np.asarray(X_train, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    out = np.empty_like(X)
    for j in range(X.shape[1]):
        col = X_train[:, j]
        q25, q75 = np.percentile(col, 25), np.percentile(col, 75)
        if q75 > q25:
            c = 1.0 / (q75 - q25)
        elif col.max() > col.min():
            c = 2.0 / (col.max() - col.min())
        else:
            c = 0.0
        x1 = (X[:, j] - np.median(col)) * c
        out[:, j] = x1 / np.sqrt(1.0 + (x1 / width) ** 2)
    return out


def heavy_tailed(n=200, d=5, seed=0):
    """Columns of different location and scale, Cauchy tails and planted outliers."""
    rng = np.random.default_rng(seed)
    X = rng.standard_cauchy((n, d)) * rng.uniform(0.1, 100, d) + rng.uniform(-50, 50, d)
    X[rng.integers(0, n, 5), rng.integers(0, d, 5)] = 1e9
    return X


# ---------------------------------------------------------------- the formula
@pytest.mark.parametrize("width", [3.0, 0.5, 20.0])
def test_formula_matches_numpy_reference(width):
    X = heavy_tailed()
    scaler = SmoothClipScaler(clip_width=width).fit(X)
    assert_allclose(scaler.center_, np.median(X, axis=0))
    q25, q75 = np.percentile(X, [25, 75], axis=0)
    assert_allclose(scaler.scale_, 1.0 / (q75 - q25))
    assert_allclose(scaler.transform(X), reference(X, X, width), rtol=1e-13, atol=1e-15)


def test_default_clip_width_is_three():
    assert SmoothClipScaler().clip_width == 3.0
    X = heavy_tailed()
    assert_allclose(SmoothClipScaler().fit_transform(X), reference(X, X, 3.0), rtol=1e-13)


def test_bulk_is_nearly_linear_and_outliers_are_squashed():
    X = np.arange(-4.0, 5.0)[:, None]  # median 0, IQR 4
    Xt = SmoothClipScaler().fit(X).transform(np.array([[0.04], [4.0], [4e6]]))
    assert_allclose(Xt[0], 0.01, rtol=1e-5)  # (x'/w)^2 / 2 = 5.6e-6 from linear
    assert_allclose(Xt[1], 1 / np.sqrt(1 + 1 / 9))
    assert 2.9999 < Xt[2, 0] < 3.0


def test_coinciding_quartiles_use_the_range():
    # mostly zeros: q25 = median = q75 = 0, so c = 2 / (max - min) = 2 / 8
    col = np.r_[np.zeros(16), 5.0, -3.0, 0.0, 0.0]
    X = np.c_[col, np.linspace(0, 1, col.size)]
    scaler = SmoothClipScaler().fit(X)
    assert_array_equal(np.percentile(col, [25, 75]), [0.0, 0.0])
    assert scaler.center_[0] == 0.0
    assert scaler.scale_[0] == 0.25
    assert_allclose(scaler.transform(X), reference(X, X), rtol=1e-13, atol=1e-15)
    assert_allclose(scaler.inverse_transform(scaler.transform(X)), X, rtol=1e-13, atol=1e-15)


def test_constant_column_maps_to_zero_and_back_to_the_median():
    X = np.c_[np.full(10, 7.5), np.arange(10.0)]
    scaler = SmoothClipScaler().fit(X)
    assert scaler.scale_[0] == 0.0
    assert scaler.center_[0] == 7.5
    X_new = np.c_[[-1e300, 0.0, 7.5, 1e300], [0.0, 1.0, 2.0, 3.0]]
    Xt = scaler.transform(X_new)
    assert_array_equal(Xt[:, 0], 0.0)
    assert_array_equal(scaler.inverse_transform(Xt)[:, 0], 7.5)
    assert_allclose(Xt, reference(X, X_new), atol=1e-15)


def test_single_sample_is_a_constant_column():
    scaler = SmoothClipScaler().fit([[1.0, -2.0]])
    assert_array_equal(scaler.scale_, [0.0, 0.0])
    assert_array_equal(scaler.transform([[5.0, 5.0]]), [[0.0, 0.0]])


# ---------------------------------------------------------------- order and bound
def _extreme_column(dtype):
    big = np.finfo(dtype).max
    mags = np.logspace(-30, np.log10(big) - 0.01, 400, dtype=np.float64).astype(dtype)
    return np.unique(np.r_[-big, -mags, 0.0, mags, big].astype(dtype))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_order_kept_and_bounded_on_extreme_values(dtype):
    x = _extreme_column(dtype)  # sorted, up to the largest finite value
    X = np.c_[x, x[::-1], np.arange(x.size, dtype=dtype)].astype(dtype)
    for width in (3.0, 0.25):
        scaler = SmoothClipScaler(clip_width=width).fit(X)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no overflow or invalid-value warnings
            Xt = scaler.transform(X)
        assert Xt.dtype == dtype
        assert np.all(np.isfinite(Xt))
        assert np.all(np.abs(Xt) < dtype(width))
        assert np.all(np.diff(Xt[:, 0]) >= 0)
        assert np.all(np.diff(Xt[:, 1]) <= 0)
        # the tails are squashed onto the bound, the middle is not
        assert Xt[-1, 0] == np.nextafter(dtype(width), dtype(0))
        assert Xt[0, 0] == -np.nextafter(dtype(width), dtype(0))


def test_1e300_outliers_in_an_ordinary_column():
    rng = np.random.default_rng(1)
    X_train = rng.normal(size=(100, 1))
    X = np.r_[-1e300, -1e10, -1.0, 0.0, 1.0, 1e10, 1e300][:, None]
    Xt = SmoothClipScaler().fit(X_train).transform(X)
    assert np.all(np.diff(Xt[:, 0]) >= 0) and np.all(np.abs(Xt) < 3.0)
    assert_allclose(Xt[2:5], reference(X_train, X[2:5]), rtol=1e-13)


def test_columns_spanning_more_than_the_float_range():
    # max - min and the quartiles' interpolation overflow here
    big = np.finfo(np.float64).max
    col = np.array([-big, -0.9 * big, -1.0, 0.0, 2.0, 0.9 * big, big])
    X = np.c_[col, col / 2]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scaler = SmoothClipScaler().fit(X)
        Xt = scaler.transform(X)
    q25, q75 = np.percentile(X / 4, [25, 75], axis=0) * 4
    assert_allclose(scaler.scale_, 1 / (q75 - q25))
    assert_array_equal(scaler.center_, [0.0, 0.0])
    assert np.all(np.isfinite(Xt)) and np.all(np.abs(Xt) < 3.0)
    assert np.all(np.diff(Xt, axis=0) >= 0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_order_kept_between_adjacent_floats(dtype):
    # The textbook z / sqrt(1 + (z/w)^2) swaps neighbouring floats above
    # z = w (rounding of the root); the implementation must not. Ties are
    # expected where the function is flatter than the float spacing.
    itype = np.int64 if dtype == np.float64 else np.int32
    starts = np.array([1e-6, 0.3, 1.0, 2.9, 3.1, 30.0, 1e3, 1e6], dtype=dtype)
    steps = np.arange(2000, dtype=itype)
    z = np.sort(np.concatenate([(s.view(itype) + steps).view(dtype) for s in starts]))
    z = np.r_[-z[::-1], 0, z].astype(dtype)
    scaler = SmoothClipScaler().fit(np.array([[-1.0], [-0.5], [0.0], [0.5], [1.0]], dtype))
    assert scaler.center_[0] == 0.0 and scaler.scale_[0] == 1.0  # x' = x exactly
    out = scaler.transform(z[:, None])[:, 0]
    assert np.all(np.diff(out) >= 0)
    zl = z.astype(np.longdouble)
    rel = np.abs(out - zl / np.sqrt(1 + (zl / 3) ** 2)) / np.maximum(np.abs(zl), 1e-300)
    assert float(rel.max()) < 3 * np.finfo(dtype).eps


# ---------------------------------------------------------------- inverse
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_inverse_transform_round_trip(dtype):
    X = heavy_tailed().astype(dtype)
    scaler = SmoothClipScaler().fit(X)
    Xt = scaler.transform(X)
    back = scaler.inverse_transform(Xt)
    assert back.dtype == dtype
    # rounding is amplified by 1 + (x'/w)^2: compare where x' is within 30 w
    x1 = (X - scaler.center_) * scaler.scale_
    near = np.abs(x1) < 30 * 3.0
    eps = np.finfo(dtype).eps
    tol = 20 * eps * (1 + (x1 / 3.0) ** 2) * (np.abs(X) + np.abs(scaler.center_))
    assert np.all(np.abs(back - X)[near] <= tol[near])
    assert near.mean() > 0.9
    # far outliers come back finite, on the right side and far out
    assert np.all(np.isfinite(back))
    assert np.all(np.sign(back - scaler.center_) == np.sign(X - scaler.center_))


def test_inverse_transform_of_saturated_values_is_finite():
    scaler = SmoothClipScaler().fit(np.arange(5.0)[:, None])
    Xt = scaler.transform([[1e300], [-1e300]])
    back = scaler.inverse_transform(Xt)
    assert np.all(np.isfinite(back)) and back[0, 0] > 1e7 and back[1, 0] < -1e7
    assert_array_equal(scaler.transform(back), Xt)


@pytest.mark.parametrize("value", [3.0, -3.0, 3.5])
def test_inverse_transform_outside_the_range_of_transform_raises(value):
    scaler = SmoothClipScaler().fit(np.arange(5.0)[:, None])
    with pytest.raises(ValueError, match="strictly between -clip_width and clip_width"):
        scaler.inverse_transform([[value]])


# ---------------------------------------------------------------- dtypes and input
@pytest.mark.parametrize("method", ["transform", "fit_transform", "inverse_transform"])
def test_float32_is_preserved(method):
    X = heavy_tailed().astype(np.float32)
    scaler = SmoothClipScaler().fit(X)
    Xt = getattr(scaler, method)(np.clip(X, -2.9, 2.9) if method == "inverse_transform" else X)
    assert Xt.dtype == np.float32
    assert scaler.center_.dtype == np.float64 and scaler.scale_.dtype == np.float64


def test_float32_agrees_with_float64():
    X = heavy_tailed()
    X32 = X.astype(np.float32)
    scaler = SmoothClipScaler().fit(X32)
    assert_allclose(scaler.transform(X32), reference(X32, X32), rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.float16, bool])
def test_other_numeric_input_becomes_float64(dtype):
    X = np.clip(heavy_tailed(), -6e4, 6e4)  # within float16's range
    X = (X > 0).astype(dtype) if dtype is bool else X.astype(dtype)
    Xt = SmoothClipScaler().fit(X).transform(X)
    assert Xt.dtype == np.float64
    assert_allclose(Xt, reference(X, X), rtol=1e-12, atol=1e-15)


def test_input_is_not_modified():
    X = heavy_tailed()
    X_copy = X.copy()
    scaler = SmoothClipScaler().fit(X)
    scaler.inverse_transform(scaler.transform(X))
    assert_array_equal(X, X_copy)


def test_fit_on_train_transform_test():
    X = heavy_tailed(n=300, seed=3)
    X_train, X_test = X[:200], X[200:]
    scaler = SmoothClipScaler().fit(X_train)
    assert_allclose(scaler.center_, np.median(X_train, axis=0))
    Xt = scaler.transform(X_test)
    assert_allclose(Xt, reference(X_train, X_test), rtol=1e-13, atol=1e-15)
    assert not np.allclose(Xt, reference(X_test, X_test))
    # values beyond the training range stay bounded
    assert np.all(np.abs(scaler.transform(X_test * 1e6)) < 3.0)


def test_nan_and_inf_are_errors_with_scikit_learns_message():
    X = heavy_tailed()
    scaler = SmoothClipScaler().fit(X)
    X_nan = X.copy()
    X_nan[3, 2] = np.nan
    for method in (SmoothClipScaler().fit, scaler.transform, scaler.inverse_transform):
        with pytest.raises(ValueError, match="Input X contains NaN"):
            method(X_nan)
    with pytest.raises(ValueError, match="SmoothClipScaler does not accept missing values"):
        SmoothClipScaler().fit(X_nan)
    X_inf = X.copy()
    X_inf[0, 0] = -np.inf
    for method in (SmoothClipScaler().fit, scaler.transform):
        with pytest.raises(ValueError, match="Input X contains infinity"):
            method(X_inf)


@pytest.mark.parametrize("container", [sp.csr_matrix, sp.csc_array, sp.coo_matrix])
def test_sparse_input_is_an_error_that_says_why(container):
    X = heavy_tailed()
    scaler = SmoothClipScaler().fit(X)
    for method in (SmoothClipScaler().fit, scaler.transform, scaler.inverse_transform):
        with pytest.raises(ValueError, match="Cannot center sparse matrices.*destroys sparsity"):
            method(container(np.clip(X, -1, 1)))


def test_unfitted_and_wrong_width():
    with pytest.raises(NotFittedError):
        SmoothClipScaler().transform([[1.0]])
    with pytest.raises(ValueError, match="X has 2 features"):
        SmoothClipScaler().fit(np.ones((4, 3))).transform(np.ones((4, 2)))


@pytest.mark.parametrize("width", [0.0, -1.0, np.inf, np.nan, "3"])
def test_invalid_clip_width(width):
    with pytest.raises(InvalidParameterError, match="clip_width"):
        SmoothClipScaler(clip_width=width).fit([[1.0], [2.0]])


def test_pickle_round_trip():
    X = heavy_tailed()
    scaler = SmoothClipScaler(clip_width=2.0).fit(X)
    again = pickle.loads(pickle.dumps(scaler))
    assert_array_equal(again.transform(X), scaler.transform(X))


# ---------------------------------------------------------------- pandas
def test_pandas_feature_names_in_and_out():
    X = pd.DataFrame(heavy_tailed(d=3), columns=["age", "income", "debt"])
    scaler = SmoothClipScaler().fit(X)
    assert_array_equal(scaler.feature_names_in_, ["age", "income", "debt"])
    assert_array_equal(scaler.get_feature_names_out(), ["age", "income", "debt"])
    assert isinstance(scaler.transform(X), np.ndarray)

    X_test = X.iloc[::2]
    out = SmoothClipScaler().set_output(transform="pandas").fit(X).transform(X_test)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["age", "income", "debt"]
    assert_array_equal(out.index, X_test.index)
    assert_allclose(out.to_numpy(), scaler.transform(X_test))

    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        scaler.transform(X.to_numpy())
    with pytest.raises(ValueError, match="feature names should match"):
        scaler.transform(X[["income", "age", "debt"]])


def test_feature_names_out_without_names():
    scaler = SmoothClipScaler().fit(np.ones((3, 2)))
    assert_array_equal(scaler.get_feature_names_out(), ["x0", "x1"])
    assert not hasattr(scaler, "feature_names_in_")


# ---------------------------------------------------------------- scikit-learn contract
# No expected failures: sparse input is refused by the tags (input_tags.sparse
# is False) and with an error that names sparse data, as the checks require.
@parametrize_with_checks([SmoothClipScaler(), SmoothClipScaler(clip_width=0.5)])
def test_sklearn_compatible_transformer(estimator, check):
    check(estimator)


def test_tags():
    tags = SmoothClipScaler().__sklearn_tags__()
    assert tags.input_tags.sparse is False
    assert tags.input_tags.allow_nan is False
    assert tags.transformer_tags.preserves_dtype == ["float64", "float32"]


def test_pipeline_with_mlp_and_grid_search_over_clip_width():
    X, y = classification(n_samples=120)
    X = X.copy()
    X[::17, 0] = 1e6  # outliers a plain StandardScaler would let dominate
    pipe = make_pipeline(SmoothClipScaler(), MLPClassifier((8,), max_iter=20, random_state=0))
    search = GridSearchCV(pipe, {"smoothclipscaler__clip_width": [1.0, 3.0]}, cv=2)
    search.fit(X, y)
    assert search.best_params_["smoothclipscaler__clip_width"] in (1.0, 3.0)
    assert len(search.cv_results_["params"]) == 2
    scaler = search.best_estimator_[0]
    assert scaler.clip_width == search.best_params_["smoothclipscaler__clip_width"]
    assert np.abs(scaler.transform(X)).max() < scaler.clip_width
    assert search.predict(X).shape == y.shape
