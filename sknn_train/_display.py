"""TrainingCurveDisplay: training and validation curves and gradient norms of a fit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
from sklearn.pipeline import Pipeline
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

    Up to three panels share the epoch axis: 'loss' (training and validation
    loss), 'validation' (validation score) and 'gradients' (gradient norm per
    layer). When validation data is given, a dotted vertical line marks the
    best epoch on each panel drawn.

    Parameters
    ----------
    loss_curve : array-like of shape (n_epochs,)
        Training loss per epoch.

    validation_scores : array-like of shape (n_epochs,), default=None
        Validation score per epoch (rows held out by early stopping or
        ``restore_best_weights``).

    validation_loss : array-like of shape (n_epochs,), default=None
        Validation loss per epoch.

    grad_norms : array-like of shape (n_epochs, n_layers - 1), default=None
        Mean gradient norm of each weight matrix per epoch.

    estimator_name : str, default=None
        Name used in the titles.

    best_epoch : int, default=None
        The 1-based epoch whose weights the model keeps (the estimators'
        ``best_epoch_``), marked when validation data is given. If None, the
        epoch of the highest validation score is marked.

    Attributes
    ----------
    ax_ : ndarray of matplotlib Axes
        The axes of the panels drawn, in the order drawn: one element when
        :meth:`plot` was given a single Axes.

    figure_ : matplotlib Figure
        Figure containing the panels.

    lines_ : dict
        The drawn ``Line2D`` objects by name: 'loss', 'validation_loss',
        'validation_score', 'grad_norm_<layer>' and 'best_epoch_<panel>' for
        the best-epoch marker of each panel.

    See Also
    --------
    MLPClassifier : Records the curves drawn here when fitted with 'sgd' or 'adam'.
    MLPRegressor : Records the curves drawn here when fitted with 'sgd' or 'adam'.
    sklearn.model_selection.LearningCurveDisplay : Scores against training-set size.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from sklearn.datasets import load_digits
    >>> from sknn_train import MLPClassifier, TrainingCurveDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifier((32,), early_stopping=True, max_iter=20,
    ...                     random_state=0).fit(X / 16, y)
    >>> disp = TrainingCurveDisplay.from_estimator(clf)
    >>> len(disp.ax_)
    3
    >>> fig, ax = plt.subplots()
    >>> disp = TrainingCurveDisplay.from_estimator(clf, ax=ax)
    >>> disp.ax_[0] is ax
    True
    >>> disp = TrainingCurveDisplay.from_estimator(clf, panels=["validation"])
    >>> disp.ax_[0].get_title()
    'validation score'
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
        best_epoch: int | None = None,
    ) -> None:
        self.loss_curve = loss_curve
        self.validation_scores = validation_scores
        self.validation_loss = validation_loss
        self.grad_norms = grad_norms
        self.estimator_name = estimator_name
        self.best_epoch = best_epoch

    @classmethod
    def from_estimator(
        cls,
        estimator: BaseMultilayerPerceptron | Pipeline,
        *,
        ax: Any = None,
        log_grad: bool = True,
        panels: str | Sequence[str] | None = None,
    ) -> TrainingCurveDisplay:
        """Build the display from a fitted estimator and plot it.

        Parameters
        ----------
        estimator : MLPClassifier, MLPRegressor or Pipeline
            Fitted with solver 'sgd' or 'adam' (L-BFGS records no curves). A
            :class:`~sklearn.pipeline.Pipeline` is drawn from its final step,
            which must be one of this package's estimators.

        ax : matplotlib Axes or array-like of Axes, default=None
            Where to draw: one Axes per panel, or a single Axes, which draws
            one panel ('loss' unless ``panels`` names another). A new figure
            when None.

        log_grad : bool, default=True
            Logarithmic y axis for the gradient norms.

        panels : sequence of {'loss', 'validation', 'gradients'}, default=None
            The panels to draw, in this order; a str names one panel. If None,
            every panel with data is drawn ('loss' only, with a single Axes).

        Returns
        -------
        display : TrainingCurveDisplay
        """
        from ._base import BaseMultilayerPerceptron

        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        if isinstance(estimator, Pipeline):
            final = estimator[-1]
            if not isinstance(final, BaseMultilayerPerceptron):
                raise TypeError(
                    f"{cls.__name__} draws a Pipeline from its final step, which must be "
                    f"an sknn_train MLP estimator; got {type(final).__name__}."
                )
            estimator = final
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
            # None for models pickled before the attribute existed
            best_epoch=getattr(estimator, "best_epoch_", None),
        )
        return disp.plot(ax=ax, log_grad=log_grad, panels=panels)

    def _panels(self) -> list[str]:
        """The panels that have data, in the default order."""
        panels = ["loss"]
        if self.validation_scores is not None:
            panels.append("validation")
        if self.grad_norms is not None and len(self.grad_norms):
            panels.append("gradients")
        return panels

    def _chosen_panels(self, panels: str | Sequence[str] | None, single_ax: bool) -> list[str]:
        """Check ``panels`` against the data; None means every panel with data."""
        available = self._panels()
        if panels is None:
            return ["loss"] if single_ax else available
        chosen = [panels] if isinstance(panels, str) else list(panels)
        if not chosen:
            raise ValueError("panels must name at least one panel.")
        for panel in chosen:
            if panel not in _PANELS:
                raise ValueError(f"Unknown panel {panel!r}; choose from {', '.join(_PANELS)}.")
            if panel not in available:
                raise ValueError(
                    f"No data for the {panel!r} panel; panels with data: {', '.join(available)}."
                )
        if len(set(chosen)) != len(chosen):
            raise ValueError(f"panels names a panel twice: {chosen}.")
        if single_ax and len(chosen) > 1:
            raise ValueError(
                f"A single Axes draws one panel, got {len(chosen)} ({', '.join(chosen)}); "
                "pass one Axes per panel or name one panel."
            )
        return chosen

    def _marked_epoch(self, n_epochs: int) -> int | None:
        """The 1-based epoch to mark: ``best_epoch``, else the best validation score."""
        if self.validation_scores is None and self.validation_loss is None:
            return None  # no held-out rows chose it: the kept epoch is just the last
        if self.best_epoch is not None:
            if not 1 <= self.best_epoch <= n_epochs:
                raise ValueError(
                    f"best_epoch={self.best_epoch} is outside the {n_epochs} epochs "
                    "of loss_curve (it counts from 1)."
                )
            return int(self.best_epoch)
        if self.validation_scores is None:
            return None
        return int(np.argmax(self.validation_scores)) + 1

    def plot(
        self,
        ax: Any = None,
        *,
        log_grad: bool = True,
        panels: str | Sequence[str] | None = None,
    ) -> Self:
        """Draw the panels.

        Parameters
        ----------
        ax : matplotlib Axes or array-like of Axes, default=None
            One Axes per panel (see ``ax_``), or a single Axes, which draws one
            panel ('loss' unless ``panels`` names another). A new figure when
            None.

        log_grad : bool, default=True
            Logarithmic y axis for the gradient norms.

        panels : sequence of {'loss', 'validation', 'gradients'}, default=None
            The panels to draw, in this order; a str names one panel. If None,
            every panel with data is drawn ('loss' only, with a single Axes).

        Returns
        -------
        display : TrainingCurveDisplay
            Object that stores the drawn artists.
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt
        from matplotlib.axes import Axes

        single_ax = isinstance(ax, Axes)
        chosen = self._chosen_panels(panels, single_ax)
        if ax is None:
            fig, axes = plt.subplots(
                1, len(chosen), figsize=(4.2 * len(chosen), 3.4), squeeze=False
            )
            axes = axes[0]
        else:
            axes = np.atleast_1d(np.asarray(ax, dtype=object)).ravel()
            if len(axes) != len(chosen):
                raise ValueError(
                    f"ax must hold {len(chosen)} Axes ({', '.join(chosen)}), got {len(axes)}."
                )
            fig = axes[0].figure
        epochs = np.arange(1, len(self.loss_curve) + 1)
        best = self._marked_epoch(len(epochs))
        name = self.estimator_name or "estimator"
        self.lines_ = {}
        for panel, a in zip(chosen, axes):
            if panel == "loss":
                (self.lines_["loss"],) = a.plot(epochs, self.loss_curve, label="training")
                if self.validation_loss is not None:
                    (self.lines_["validation_loss"],) = a.plot(
                        epochs, self.validation_loss, label="validation"
                    )
                a.set(xlabel="epoch", ylabel="loss", title=f"{name}: loss")
            elif panel == "validation":
                (self.lines_["validation_score"],) = a.plot(
                    epochs, self.validation_scores, color="C2"
                )
                a.set(xlabel="epoch", ylabel="score", title="validation score")
            else:
                norms = np.asarray(self.grad_norms)
                for layer in range(norms.shape[1]):
                    (self.lines_[f"grad_norm_{layer}"],) = a.plot(
                        epochs, norms[:, layer], label=f"W{layer + 1}"
                    )
                if log_grad:
                    a.set_yscale("log")
                a.set(xlabel="epoch", ylabel="gradient norm", title="gradient norm per layer")
            if best is not None:
                self.lines_[f"best_epoch_{panel}"] = a.axvline(
                    best, color="grey", linestyle=":", label="best epoch"
                )
            if panel == "gradients":
                a.legend(fontsize="small", ncol=1 + np.asarray(self.grad_norms).shape[1] // 8)
            else:
                a.legend()
        fig.tight_layout()
        self.ax_ = np.asarray(axes, dtype=object)
        self.figure_ = fig
        return self
