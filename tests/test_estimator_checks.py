"""scikit-learn's own estimator contract, run on both estimators."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sknn_train import MLPClassifier, MLPRegressor

# Expected failures, each justified:
EXPECTED_FAILED = {}


@parametrize_with_checks(
    [MLPClassifier(max_iter=100), MLPRegressor(max_iter=100)],
    expected_failed_checks=lambda est: EXPECTED_FAILED.get(type(est).__name__, {}),
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
