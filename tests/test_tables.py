"""Raw tables in (SPEC 5.1-5.4): a DataFrame with numbers, categories and holes.

The Tabular estimators encode it themselves; what they fit must be the network
fitted on the matrix encoded by hand (median + indicator + smooth clip, -1/+1
for two categories, one-hot with the slot as zeros), unseen categories and
missing values at predict time take the slot and the median, the encoder is
fitted once (fit, the first partial_fit call, kept by warm_start) and travels
with the model.
"""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import QuantileTransformer

from sknn_train import MLPClassifier, MLPRegressor, TabularMLPClassifier, TabularMLPRegressor
from sknn_train._tables import BINARY, EMBEDDED, ONEHOT, quantile_normal
from sknn_train.preprocessing import SmoothClipScaler


def _frame(n=240, seed=0):
    rng = np.random.RandomState(seed)
    frame = pd.DataFrame(
        {
            "num": rng.randn(n) * 3 + 1,
            "holes": np.where(rng.rand(n) < 0.15, np.nan, rng.exponential(2.0, n)),
            "colour": pd.Categorical(rng.choice(["red", "green", "blue"], n)),
            "side": rng.choice(["left", "right"], n).astype(object),
            "flag": rng.rand(n) < 0.4,
            "count": pd.array(np.where(rng.rand(n) < 0.1, None, rng.randint(0, 9, n)), "Int64"),
        }
    )
    score = frame.num + 2 * (frame.colour == "red") - (frame.side == "left") + frame.flag
    return frame, (score > score.median()).astype(int).to_numpy()


def _by_hand(frame, fitted_on):
    """The frame encoded as the Tabular defaults do, with pandas and the scaler."""
    numeric = ["num", "holes", "count"]
    values = fitted_on[numeric].astype(float)
    medians = values.median()
    filled = frame[numeric].astype(float).fillna(medians)
    scaler = SmoothClipScaler().fit(values.fillna(medians).to_numpy())
    blocks = [scaler.transform(filled.to_numpy())]
    blocks.append(frame[["holes", "count"]].isna().to_numpy(float))  # the columns with holes
    side = frame.side.map({"left": -1.0, "right": 1.0}).fillna(0.0)
    flag = frame.flag.map({False: -1.0, True: 1.0}).fillna(0.0)
    blocks.append(np.column_stack([side, flag]))
    colour = frame.colour.astype(object)
    blocks.append(
        np.column_stack([(colour == c).to_numpy(float) for c in ["blue", "green", "red"]])
    )
    return np.hstack(blocks)


_RAW_OFF = dict(categorical_features=None, handle_missing="error", numeric_scaling=None)


@pytest.mark.parametrize("max_iter", [1, 20])
def test_a_frame_fits_as_its_encoding_by_hand(max_iter):
    frame, y = _frame()
    kw = dict(max_iter=max_iter, random_state=0, n_ensemble=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = TabularMLPClassifier(**kw).fit(frame, y)
        ref = TabularMLPClassifier(**kw, **_RAW_OFF).fit(_by_hand(frame, frame), y)
    assert list(model.categorical_encoding_) == [ONEHOT, BINARY, BINARY]
    tol = 1e-10 if max_iter == 1 else 1e-6
    for got, want in zip(model.coefs_ + model.intercepts_, ref.coefs_ + ref.intercepts_):
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    test, _ = _frame(seed=1)
    np.testing.assert_allclose(
        model.predict_proba(test), ref.predict_proba(_by_hand(test, frame)), rtol=tol, atol=tol
    )


def test_unseen_categories_and_missing_values_at_predict_time():
    frame, y = _frame()
    model = TabularMLPClassifier(max_iter=3, random_state=0).fit(frame, y)
    rows = frame.iloc[:4].copy()
    rows["colour"] = pd.Categorical(["purple", None, "red", "red"])
    rows["side"] = ["up", None, "left", "left"]
    rows.loc[rows.index[2], "num"] = np.nan  # no hole in training: the median alone
    rows.loc[rows.index[3], "holes"] = np.nan
    by_hand = _by_hand(rows, frame)
    assert np.array_equal(by_hand[0, -3:], [0, 0, 0]) and by_hand[0, -5] == 0  # the slots
    direct = model.predict_proba(rows)
    twin = TabularMLPClassifier(max_iter=3, random_state=0, **_RAW_OFF).fit(
        _by_hand(frame, frame), y
    )
    np.testing.assert_allclose(direct, twin.predict_proba(by_hand), rtol=1e-9, atol=1e-12)


def test_feature_names_are_checked_as_scikit_learn_does():
    frame, y = _frame()
    model = TabularMLPRegressor(max_iter=2, random_state=0).fit(frame, y.astype(float))
    assert list(model.feature_names_in_) == list(frame.columns)
    with pytest.raises(ValueError, match="feature names"):
        model.predict(frame[frame.columns[::-1]])


def test_an_embedded_column_has_a_table_per_member():
    frame, y = _frame()
    frame["city"] = [f"c{i % 13}" for i in range(len(frame))]
    model = TabularMLPClassifier(max_iter=2, random_state=0, n_ensemble=3).fit(frame, y)
    assert list(model.categorical_encoding_) == [ONEHOT, BINARY, BINARY, EMBEDDED]
    assert model.embedding_tables_.shape == (3, 14 * 8)
    tables = model.embedding_tables_.reshape(3, 14, 8)
    assert np.all(np.abs(tables[:, :13]).sum(axis=2) > 0)
    assert not np.allclose(tables[0], tables[1])  # each member its own
    members = model.estimators_
    np.testing.assert_allclose(
        np.mean([m.predict_proba(frame) for m in members], axis=0),
        model.predict_proba(frame),
        rtol=1e-10,
    )


def test_the_encoder_survives_pickle_and_skops():
    skops_io = pytest.importorskip("skops.io")
    frame, y = _frame()
    frame["city"] = [f"c{i % 13}" for i in range(len(frame))]
    model = TabularMLPClassifier(max_iter=2, random_state=0).fit(frame, y)
    want = model.predict_proba(frame)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict_proba(frame), want)
    blob = skops_io.dumps(model)
    untrusted = [t for t in skops_io.get_untrusted_types(data=blob) if "sknn_train" not in t]
    assert untrusted == []
    loaded = skops_io.loads(blob, trusted=skops_io.get_untrusted_types(data=blob))
    np.testing.assert_array_equal(loaded.predict_proba(frame), want)


def test_partial_fit_fixes_the_encoder_with_the_declared_categories():
    frame, y = _frame()
    frame["colour"] = frame.colour.cat.add_categories(["purple"])
    model = TabularMLPClassifier(random_state=0)
    model.partial_fit(frame[:100], y[:100], classes=[0, 1])
    assert list(model.categories_[0]) == ["blue", "green", "purple", "red"]
    median = model.numeric_fill_.copy()
    later = frame[100:].copy()
    later["side"] = "middle"  # unseen: the slot, the encoder unchanged
    model.partial_fit(later, y[100:])
    np.testing.assert_array_equal(model.numeric_fill_, median)
    assert list(model.categories_[1]) == ["left", "right"]


def test_warm_start_keeps_the_encoder():
    frame, y = _frame()
    model = TabularMLPClassifier(max_iter=2, random_state=0, warm_start=True).fit(frame, y)
    fill = model.numeric_fill_
    model.fit(frame[:50], y[:50])
    assert model.numeric_fill_ is fill


def test_categories_are_matched_by_value_not_by_pandas_codes():
    frame, y = _frame()
    model = TabularMLPClassifier(max_iter=2, random_state=0).fit(frame, y)
    recoded = frame.copy()
    recoded["colour"] = recoded.colour.cat.reorder_categories(["red", "blue", "green"])
    np.testing.assert_array_equal(model.predict_proba(recoded), model.predict_proba(frame))


def test_an_object_array_of_strings_is_categorical():
    frame, y = _frame()
    X = frame[["num", "side"]].to_numpy(dtype=object)
    model = TabularMLPClassifier(max_iter=2, random_state=0).fit(X, y)
    assert list(model.is_categorical_) == [False, True]


def test_quantile_scaling_is_scikit_learns_at_the_training_values():
    rng = np.random.RandomState(0)
    X = np.column_stack([rng.standard_t(2, 500), rng.exponential(1.0, 500)])
    model = MLPRegressor(max_iter=1, numeric_scaling="quantile")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, X[:, 0])
    ours = quantile_normal(X, model.numeric_quantiles_, model.numeric_references_)
    theirs = QuantileTransformer(n_quantiles=500, output_distribution="normal").fit_transform(X)
    np.testing.assert_allclose(ours, theirs, atol=1e-9)
    beyond = quantile_normal(
        np.array([[1e9, -1e9]]), model.numeric_quantiles_, model.numeric_references_
    )
    assert np.all(np.abs(beyond) <= 5.2)  # clipped at the ends


def test_sparse_input_with_the_tabular_defaults():
    rng = np.random.RandomState(0)
    X = sp.random(200, 6, density=0.3, random_state=0, format="csr")
    y = rng.randint(0, 2, 200)
    model = TabularMLPClassifier(max_iter=2, random_state=0).fit(X, y)
    assert model.predict_proba(X).shape == (200, 2)
    np.testing.assert_array_equal(model.numeric_center_, 0.0)  # scaled, not centred
    with pytest.raises(ValueError, match="Categorical columns need dense input"):
        TabularMLPClassifier(categorical_features=[0]).fit(X, y)


@pytest.mark.parametrize(
    "given, message",
    [
        (["nope"], "does not have"),
        ([9], "column index 9"),
        ([True, False], "boolean mask must have 6 entries"),
    ],
)
def test_clear_errors_for_categorical_features(given, message):
    frame, y = _frame()
    with pytest.raises(ValueError, match=message):
        TabularMLPClassifier(categorical_features=given).fit(frame, y)


def test_names_need_a_frame_and_a_numeric_array_has_nothing_to_infer():
    rng = np.random.RandomState(0)
    X, y = rng.randn(60, 3), rng.randint(0, 2, 60)
    with pytest.raises(ValueError, match="no column names"):
        TabularMLPClassifier(categorical_features=["a"]).fit(X, y)
    model = TabularMLPClassifier(max_iter=2).fit(X, y)  # from_dtype: all numeric, quietly
    assert not model.is_categorical_.any()


def test_the_mlp_defaults_keep_scikit_learns_errors():
    frame, y = _frame()
    with pytest.raises(ValueError, match="could not convert string to float"):
        MLPClassifier(max_iter=2).fit(frame[["num", "side"]], y)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        MLPClassifier(max_iter=2).fit(frame[["num", "holes"]], y)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        MLPClassifier(max_iter=2, categorical_features="from_dtype").fit(frame[["num", "holes"]], y)


@pytest.mark.parametrize("embedding", [None, "pbld", "plr"])
@pytest.mark.parametrize("Est", [TabularMLPClassifier, TabularMLPRegressor])
def test_onnx_of_a_frame_with_categories_holes_and_an_embedding(Est, embedding):
    ort = pytest.importorskip("onnxruntime")
    from sknn_train.onnx import to_onnx

    frame, y = _frame()
    frame["city"] = [f"c{i % 13}" for i in range(len(frame))]
    frame = frame.drop(columns="count")  # (a nullable integer column: floats for ONNX)
    classifier = Est is TabularMLPClassifier
    model = Est(max_iter=3, random_state=0, numeric_embedding=embedding)
    model.fit(frame, y if classifier else y + frame.num)
    assert EMBEDDED in model.categorical_encoding_
    options = {"zipmap": False} if classifier else None
    onx = to_onnx(model, frame[:1], options=options)
    session = ort.InferenceSession(onx.SerializeToString())
    test, _ = _frame(seed=3)
    test["city"] = [f"c{i % 15}" for i in range(len(test))]  # c13, c14 unseen
    test = test.drop(columns="count")
    feeds = {}
    for inp in session.get_inputs():
        column = test[inp.name]
        if inp.type == "tensor(string)":
            feeds[inp.name] = column.astype(str).to_numpy().reshape(-1, 1)
        else:
            feeds[inp.name] = column.to_numpy(dtype=np.float64).reshape(-1, 1)
    got = session.run(None, feeds)
    if classifier:
        np.testing.assert_allclose(got[1], model.predict_proba(test), rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(got[0], model.predict(test))
    else:
        np.testing.assert_allclose(got[0].ravel(), model.predict(test), rtol=1e-9, atol=1e-9)


def _embedding_reference(x, params, kind):
    """SPEC 5.5's embeddings in NumPy: ``x`` (n, d) scaled values, ``params`` (d, size)."""
    out = []
    for j in range(x.shape[1]):
        p, v = params[j], x[:, j : j + 1]
        if kind == "pbld":
            u = np.cos(2 * np.pi * v * p[:16] + p[16:32])
            out.append(np.hstack([u @ p[32:80].reshape(16, 3) + p[80:83], v]))
        else:
            t = 2 * np.pi * v * p[:8]
            u = np.hstack([np.cos(t), np.sin(t)])
            out.append(np.maximum(u @ p[8:136].reshape(16, 8) + p[136:144], 0.0))
    return np.hstack(out)


@pytest.mark.parametrize("kind", ["pbld", "plr"])
def test_numeric_embeddings_are_the_formulas(kind):
    """A fitted model's predictions are a NumPy forward pass of the embedded inputs,
    and the initial frequencies follow embedding_sigma."""
    rng = np.random.RandomState(0)
    X = rng.randn(120, 3)
    y = np.sin(2 * X[:, 0]) + X[:, 1] ** 2
    kw = dict(hidden_layer_sizes=(6,), numeric_scaling="standard", numeric_embedding=kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPRegressor(max_iter=3, random_state=0, **kw).fit(X, y)
        fresh = MLPRegressor(max_iter=1, random_state=0, learning_rate_init=1e-12, **kw)
        fresh.set_params(embedding_sigma=2.0).fit(np.tile(X, (20, 1)), np.tile(y, 20))
    size = 83 if kind == "pbld" else 144
    params = model.numeric_embeddings_.reshape(3, size)
    scaled = (X - model.numeric_center_) * model.numeric_scale_
    hidden = np.maximum(
        _embedding_reference(scaled, params, kind) @ model.coefs_[0] + model.intercepts_[0], 0
    )
    np.testing.assert_allclose(
        model.predict(X),
        (hidden @ model.coefs_[1] + model.intercepts_[1]).ravel(),
        rtol=1e-10,
        atol=1e-12,
    )
    n_freq = 16 if kind == "pbld" else 8
    frequencies = fresh.numeric_embeddings_.reshape(3, size)[:, :n_freq]
    assert 1.5 < frequencies.std() < 2.5  # N(0, sigma^2) draws, sigma = 2


def test_nullable_string_and_boolean_columns_with_pandas_na():
    frame, y = _frame()
    frame["side"] = frame.side.astype("string")
    frame.loc[frame.index[:5], "side"] = pd.NA
    frame["flag"] = frame.flag.astype("boolean")
    frame.loc[frame.index[5:8], "flag"] = pd.NA
    model = TabularMLPClassifier(max_iter=2, random_state=0).fit(frame, y)
    # a missing value in training: one-hot with the slot, not the -1 / +1 input
    assert list(model.categorical_encoding_) == [ONEHOT, ONEHOT, ONEHOT]
    assert list(model.categories_[1]) == ["left", "right"]
    assert np.isfinite(model.predict_proba(frame)).all()


def test_sparse_input_with_a_numeric_embedding_is_an_error():
    X = sp.random(50, 4, density=0.5, random_state=0, format="csr")
    with pytest.raises(ValueError, match="numeric_embedding='plr' needs dense input"):
        MLPRegressor(numeric_embedding="plr").fit(X, np.arange(50.0))


def test_too_many_categories_is_an_error(monkeypatch):
    import sknn_train._tables as tables

    monkeypatch.setattr(tables, "MAX_CATEGORIES", 10)
    frame = pd.DataFrame({"id": [f"row{i}" for i in range(40)], "x": np.arange(40.0)})
    with pytest.raises(ValueError, match="'id' has 40 categories, more than the 10"):
        TabularMLPRegressor().fit(frame, np.arange(40.0))


def test_values_of_another_kind_or_longer_strings_take_the_slot():
    """Matched by value: "False" is not the bool False, "purple" not the category "purpl"."""
    from sknn_train._tables import _codes

    flags = np.array([False, True])
    given = np.array([True, "False", "yes", False, None], dtype=object)
    np.testing.assert_array_equal(_codes(given, flags), [1, 2, 2, 0, 2])
    colours = np.array(["blue", "purpl"])
    given = np.array(["purple", "purpl", 3, "blue"], dtype=object)
    np.testing.assert_array_equal(_codes(given, colours), [2, 1, 2, 0])
    numbers = np.array([1.0, 2.0])
    np.testing.assert_array_equal(_codes(np.array(["1", 2, 2.0], dtype=object), numbers), [2, 1, 1])
