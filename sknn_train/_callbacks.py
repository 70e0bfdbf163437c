"""scikit-learn's callback API (``sklearn.callback``, scikit-learn >= 1.9) for the MLPs.

``est.set_callbacks(ProgressBar(), ScoringMonitor(scoring="accuracy"))`` makes
``fit`` report one task per epoch ('sgd', 'adam') or per L-BFGS iteration.
Each finished task hands the callbacks a fitted copy of the estimator in its
state at that moment, so a ``ScoringMonitor`` can score it. A callback that asks
to stop ends training after the current epoch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._train import History

try:
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # scikit-learn < 1.9 has no callback API

    class CallbackSupportMixin:  # type: ignore[no-redef]
        """Placeholder: callbacks need scikit-learn >= 1.9."""


class FitCallbacks:
    """The callbacks of one ``fit`` / ``partial_fit`` call, or a no-op."""

    def __init__(self, est: Any, X: Any, y: Any, sample_weight: Any, max_subtasks: int) -> None:
        self.est = est
        self.ctx: Any = None  # scikit-learn's callback context, when there are callbacks
        self.sub: Any = None  # the current task's subcontext
        if not getattr(est, "_skl_callbacks", None) or not hasattr(est, "_init_callback_context"):
            return
        self.X, self.y = X, y
        self.metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        self.ctx = est._init_callback_context(max_subtasks=max_subtasks)
        self.ctx.call_on_fit_task_begin(estimator=est, X=X, y=y, metadata=self.metadata)

    def __bool__(self) -> bool:
        return self.ctx is not None

    def _state(self, progress: History | None = None) -> dict[str, Any]:
        """The fitted attributes of the estimator's current state.

        ``progress`` is the trainer's history during training (the
        estimator's own attributes are written when the trainer returns).
        """
        est = self.est
        attrs: dict[str, Any] = {
            "coefs_": [c.copy() for c in est.coefs_],
            "intercepts_": [b.copy() for b in est.intercepts_],
        }
        if progress is not None:
            attrs.update(n_iter_=progress.n_iter, loss_=progress.loss, t_=progress.t)
            return attrs
        for name in ("n_iter_", "loss_", "t_"):
            if hasattr(est, name):
                attrs[name] = getattr(est, name)
        return attrs

    def begin(self, task_name: str) -> None:
        if self.ctx is not None:
            self.sub = self.ctx.subcontext(task_name=task_name)
            self.sub.call_on_fit_task_begin(
                estimator=self.est, X=self.X, y=self.y, metadata=self.metadata
            )

    def end(self, progress: History | None = None, with_state: bool = True) -> bool:
        """End the current task; whether a callback asked to stop.

        ``progress``: the trainer's :class:`~sknn_train._train.History` so far.
        """
        if self.sub is None:
            return False
        sub, self.sub = self.sub, None
        if not with_state:
            return bool(sub.call_on_fit_task_end(estimator=self.est))
        return bool(
            sub.call_on_fit_task_end(
                estimator=self.est,
                X=self.X,
                y=self.y,
                metadata=self.metadata,
                reconstruction_attributes=self._state(progress),
            )
        )

    def finish(self) -> None:
        if self.ctx is not None:
            self.end(with_state=False)
            self.ctx.call_on_fit_task_end(
                estimator=self.est,
                X=self.X,
                y=self.y,
                metadata=self.metadata,
                reconstruction_attributes=self._state(),
            )
