"""TrainingCurveDisplay: training and validation curves and gradient norms of a fit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeAlias, cast

import numpy as np
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils.validation import check_is_fitted

if TYPE_CHECKING:
    from typing_extensions import Self

    from ._base import BaseMultilayerPerceptron

_PANELS = ("loss", "validation", "gradients")

#: One value per epoch (the estimators' curves are lists).
Curve: TypeAlias = Sequence[float] | np.ndarray


class TrainingCurveDisplay:
    """Training curves of a fitted :class:`MLPClassifier` / :class:`MLPRegressor`.

    Follows scikit-learn's Display convention: build it with
    :meth:`from_estimator` (or from arrays) and draw it with :meth:`plot`.
    matplotlib is an optional dependency (``pip install sknn_train[plot]``).

    Parameters
    ----------
    loss_curve : array-like of shape (n_epochs,)
        Training loss per epoch.

    validation_scores : array-like of shape (n_epochs,), default=None
        Validation score per epoch (early stopping).

    validation_loss : array-like of shape (n_epochs,), default=None
        Validation loss per epoch (early stopping).

    grad_norms : array-like of shape (n_epochs, n_layers - 1), default=None
        Mean gradient norm of each weight matrix per epoch.

    estimator_name : str, default=None
        Name used in the titles.

    Attributes
    ----------
    ax_ : ndarray of matplotlib Axes
        The axes of the panels drawn: training / validation loss, validation
        score (when given) and gradient norms per layer (when given).

    figure_ : matplotlib Figure
        Figure containing the panels.

    lines_ : dict
        The drawn ``Line2D`` objects by name.

    See Also
    --------
    MLPClassifier : Records the curves drawn here when fitted with 'sgd' or 'adam'.
    MLPRegressor : Records the curves drawn here when fitted with 'sgd' or 'adam'.
    sklearn.model_selection.LearningCurveDisplay : Scores against training-set size.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from sknn_train import MLPClassifier, TrainingCurveDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifier((32,), early_stopping=True, max_iter=20,
    ...                     random_state=0).fit(X / 16, y)
    >>> disp = TrainingCurveDisplay.from_estimator(clf)
    >>> len(disp.ax_)
    3
    """

    ax_: np.ndarray
    figure_: Any  # matplotlib Figure
    lines_: dict[str, Any]  # matplotlib Line2D by name

    def __init__(
        self,
        loss_curve: Curve,
        *,
        validation_scores: Curve | None = None,
        validation_loss: Curve | None = None,
        grad_norms: Sequence[Sequence[float]] | np.ndarray | None = None,
        estimator_name: str | None = None,
    ) -> None:
        self.loss_curve = loss_curve
        self.validation_scores = validation_scores
        self.validation_loss = validation_loss
        self.grad_norms = grad_norms
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(
        cls, estimator: BaseMultilayerPerceptron, *, ax: Any = None, log_grad: bool = True
    ) -> TrainingCurveDisplay:
        """Build the display from a fitted estimator and plot it.

        Parameters
        ----------
        estimator : MLPClassifier or MLPRegressor
            Fitted with solver 'sgd' or 'adam' (L-BFGS records no curves).

        ax : matplotlib Axes or array-like of Axes, default=None
            Where to draw, one Axes per panel; a new figure when None.

        log_grad : bool, default=True
            Logarithmic y axis for the gradient norms.

        Returns
        -------
        display : TrainingCurveDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        if not hasattr(estimator, "loss_curve_"):
            raise ValueError(
                f"{type(estimator).__name__}(solver={estimator.solver!r}) records no "
                "training curves; use solver='sgd' or 'adam'."
            )
        disp = cls(
            estimator.loss_curve_,
            validation_scores=getattr(estimator, "validation_scores_", None),
            validation_loss=getattr(estimator, "validation_loss_curve_", None),
            grad_norms=getattr(estimator, "layer_grad_norm_curve_", None),
            estimator_name=type(estimator).__name__,
        )
        return disp.plot(ax=ax, log_grad=log_grad)

    def _panels(self) -> list[str]:
        panels = ["loss"]
        if self.validation_scores is not None:
            panels.append("validation")
        if self.grad_norms is not None and len(self.grad_norms):
            panels.append("gradients")
        return panels

    def plot(self, ax: Any = None, *, log_grad: bool = True) -> Self:
        """Draw the panels.

        Parameters
        ----------
        ax : matplotlib Axes or array-like of Axes, default=None
            One Axes per panel (see ``ax_``); a new figure when None.

        log_grad : bool, default=True
            Logarithmic y axis for the gradient norms.

        Returns
        -------
        display : TrainingCurveDisplay
            Object that stores the drawn artists.
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt

        panels = self._panels()
        if ax is None:
            fig, axes = plt.subplots(
                1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False
            )
            axes = axes[0]
        else:
            axes = np.atleast_1d(np.asarray(ax, dtype=object))
            if len(axes) != len(panels):
                raise ValueError(
                    f"ax must hold {len(panels)} Axes ({', '.join(panels)}), got {len(axes)}."
                )
            fig = axes[0].figure
        epochs = np.arange(1, len(self.loss_curve) + 1)
        name = self.estimator_name or "estimator"
        self.lines_ = {}
        for panel, a in zip(panels, axes):
            if panel == "loss":
                (self.lines_["loss"],) = a.plot(epochs, self.loss_curve, label="training")
                if self.validation_loss is not None:
                    (self.lines_["validation_loss"],) = a.plot(
                        epochs, self.validation_loss, label="validation"
                    )
                a.set(xlabel="epoch", ylabel="loss", title=f"{name}: loss")
                a.legend()
            elif panel == "validation":
                (self.lines_["validation_score"],) = a.plot(
                    epochs, self.validation_scores, color="C2"
                )
                best = int(np.argmax(cast(Curve, self.validation_scores)))  # (a panel of them)
                a.axvline(best + 1, color="grey", linestyle=":", label="best epoch")
                a.set(xlabel="epoch", ylabel="score", title="validation score")
                a.legend()
            else:
                norms = np.asarray(self.grad_norms)
                for layer in range(norms.shape[1]):
                    (self.lines_[f"grad_norm_{layer}"],) = a.plot(
                        epochs, norms[:, layer], label=f"W{layer + 1}"
                    )
                if log_grad:
                    a.set_yscale("log")
                a.set(xlabel="epoch", ylabel="gradient norm", title="gradient norm per layer")
                a.legend(fontsize="small", ncol=1 + norms.shape[1] // 8)
        fig.tight_layout()
        self.ax_ = np.asarray(axes, dtype=object)
        self.figure_ = fig
        return self
