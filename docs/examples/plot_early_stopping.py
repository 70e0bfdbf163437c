"""
Early stopping on the validation score or the validation loss
=============================================================

With ``early_stopping=True`` a stratified ``validation_fraction`` (10 %) of the
training data is held out and evaluated after every epoch. Training stops
once the monitored quantity has not improved by at least ``tol`` for
``n_iter_no_change`` consecutive epochs, and the weights of the best epoch are
restored, so the returned network is the one that generalised best rather
than the last, overfitted one.

``validation_metric`` chooses what is monitored: ``'score'`` (accuracy, as
scikit-learn) or ``'loss'`` (the validation log-loss). Accuracy on a small
validation set (40 samples here) moves in coarse steps of 2.5 % and can stop
improving early, while the loss is a smooth signal that keeps improving a few
epochs longer and then rises as the network becomes overconfident on the
noisy labels. ``validation_loss_curve_`` and ``validation_scores_``
record both curves in either case.
"""

# %%
# Noisy labels (20 % flipped), so the network starts to overfit after a while
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification

from sknn_train import MLPClassifier

X, y = make_classification(n_samples=400, n_features=20, flip_y=0.2, random_state=0)

models, best_epoch = {}, {}
for metric in ("score", "loss"):
    clf = MLPClassifier(
        hidden_layer_sizes=(128,),
        early_stopping=True,
        validation_metric=metric,
        n_iter_no_change=5,
        max_iter=500,
        learning_rate_init=0.01,
        random_state=0,
    )
    models[metric] = clf.fit(X, y)
    # The restored epoch: the first best validation score, or the first lowest loss.
    if metric == "score":
        best_epoch[metric] = int(np.argmax(clf.validation_scores_)) + 1
    else:
        best_epoch[metric] = int(np.argmin(clf.validation_loss_curve_)) + 1

for metric, clf in models.items():
    k = best_epoch[metric] - 1
    print(
        f"validation_metric={metric!r:7}  n_iter_={clf.n_iter_:2d}  best epoch={k + 1:2d}  "
        f"val acc={clf.validation_scores_[k]:.3f}  val loss={clf.validation_loss_curve_[k]:.3f}"
    )

# %%
# Training loss, validation loss and validation accuracy; the restored epoch is marked
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
for ax, (metric, clf) in zip(axes, models.items(), strict=True):
    epochs = np.arange(1, clf.n_iter_ + 1)
    ax.plot(epochs, clf.loss_curve_, label="training loss")
    ax.plot(epochs, clf.validation_loss_curve_, label="validation loss")
    ax.plot(epochs, clf.validation_scores_, label="validation accuracy")
    ax.axvline(best_epoch[metric], color="k", ls="--", label="restored epoch")
    ax.set(
        xlabel="epoch",
        title=f"validation_metric={metric!r}: epoch {best_epoch[metric]} restored",
    )
fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=4)
fig.tight_layout(rect=(0, 0.07, 1, 1))

# sphinx_gallery_start_ignore
if os.environ.get("SKNN_EXAMPLES_SAVE"):
    os.makedirs(os.environ["SKNN_EXAMPLES_SAVE"], exist_ok=True)
    fig.savefig(os.path.join(os.environ["SKNN_EXAMPLES_SAVE"], "plot_early_stopping.png"), dpi=100)
# sphinx_gallery_end_ignore
