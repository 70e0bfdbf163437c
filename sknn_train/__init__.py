"""Drop-in scikit-learn MLPs trained by numba-compiled kernels."""

__version__ = "0.1.0"

from ._display import TrainingCurveDisplay  # noqa: E402
from ._jit import cache_info  # noqa: E402
from ._mlp import MLPClassifier, MLPRegressor  # noqa: E402
from ._tabular import TabularMLPClassifier, TabularMLPRegressor  # noqa: E402
from ._warmup import warmup  # noqa: E402
from ._warnings import WorseThanConstantWarning  # noqa: E402

__all__ = [
    "MLPClassifier",
    "MLPRegressor",
    "TabularMLPClassifier",
    "TabularMLPRegressor",
    "TrainingCurveDisplay",
    "WorseThanConstantWarning",
    "__version__",
    "cache_info",
    "warmup",
]
