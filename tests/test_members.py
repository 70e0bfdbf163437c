"""estimators_: an ensemble's members as fitted single-network estimators."""

import pickle

import numpy as np
import pytest
from conftest import classification, quiet_fit, regression
from sklearn.exceptions import NotFittedError

from sknn_train import MLPClassifier, MLPRegressor, TabularMLPClassifier, TabularMLPRegressor

FORMS = [(3, "independent"), (3, "batch"), (1, "independent")]


def _fitted(Est, n_ensemble, ensemble, **params):
    classifier = issubclass(Est, MLPClassifier)
    X, y = classification(3, n_samples=200) if classifier else regression(n_samples=200)
    if Est is TabularMLPRegressor:
        y = 50.0 * y + 300.0  # units normalize_y standardizes
    est = Est(
        hidden_layer_sizes=(8, 8),
        max_iter=6,
        n_ensemble=n_ensemble,
        ensemble=ensemble,
        random_state=0,
        **params,
    )
    return quiet_fit(est, X, y), X, y


@pytest.mark.parametrize(("n_ensemble", "ensemble"), FORMS)
@pytest.mark.parametrize("Est", [TabularMLPClassifier, MLPClassifier])
def test_members_average_to_the_classifier(Est, n_ensemble, ensemble):
    est, X, _ = _fitted(Est, n_ensemble, ensemble)
    members = est.estimators_
    assert len(members) == n_ensemble
    probas = np.array([m.predict_proba(X) for m in members])
    np.testing.assert_allclose(probas.mean(axis=0), est.predict_proba(X), rtol=1e-12, atol=1e-15)
    spread = probas.std(axis=0)
    assert spread.shape == (len(X), 3) and (spread.max() > 0) == (n_ensemble > 1)
    for k, m in enumerate(members):
        assert type(m) is Est and m.n_ensemble == 1
        assert m.get_params() == {**est.get_params(), "n_ensemble": 1}
        np.testing.assert_array_equal(m.classes_, est.classes_)
        for W_member, W in zip(m.coefs_, est.coefs_):
            np.testing.assert_array_equal(W_member, W[k] if n_ensemble > 1 else W)
        assert m.__dict__.get("calibration_temperature_") == est.__dict__.get(
            "calibration_temperature_"
        )
    if ensemble == "batch" and n_ensemble > 1:  # each member's adapter
        for k, m in enumerate(members):
            np.testing.assert_array_equal(m.input_scale_, est.input_scale_[k])


@pytest.mark.parametrize(("n_ensemble", "ensemble"), FORMS)
def test_members_average_to_the_regressor(n_ensemble, ensemble):
    est, X, _ = _fitted(TabularMLPRegressor, n_ensemble, ensemble)
    members = est.estimators_
    predictions = np.array([m.predict(X) for m in members])
    np.testing.assert_allclose(predictions.mean(axis=0), est.predict(X), rtol=1e-12)
    for m in members:
        np.testing.assert_array_equal(m.target_scale_, est.target_scale_)
        np.testing.assert_array_equal(m.target_mean_, est.target_mean_)


def test_members_are_copies_and_never_stale():
    est, X, y = _fitted(TabularMLPClassifier, 2, "independent", lr_schedule=None)
    before = est.predict_proba(X)
    member = est.estimators_[0]
    member.coefs_[0][...] = 0.0
    quiet_fit(member, X, y)  # fitting a member leaves the ensemble as it was
    np.testing.assert_array_equal(est.predict_proba(X), before)
    est.partial_fit(X, y)
    after = np.mean([m.predict_proba(X) for m in est.estimators_], axis=0)
    np.testing.assert_allclose(after, est.predict_proba(X), rtol=1e-12)
    assert not np.allclose(after, before)
    loaded = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(
        np.mean([m.predict_proba(X) for m in loaded.estimators_], axis=0),
        est.predict_proba(X),
        rtol=1e-12,
    )


def test_members_have_no_members_and_unfitted_models_none():
    est, _, _ = _fitted(MLPRegressor, 2, "independent")
    member = est.estimators_[0]
    assert not hasattr(member, "estimators_")
    with pytest.raises(AttributeError, match="member of an ensemble"):
        member.estimators_  # noqa: B018
    assert not hasattr(MLPClassifier(), "estimators_")
    with pytest.raises(NotFittedError):
        MLPClassifier().estimators_  # noqa: B018
    assert "estimators_" not in MLPClassifier().get_params()
