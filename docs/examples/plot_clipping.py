"""
Gradient clipping against exploding updates
===========================================

Plain SGD with a learning rate that is far too large overshoots: a large
gradient throws the weights far across the valley, often into a steeper region
with even larger gradients, and the loss jumps up and down instead of settling
(here it even rises from 0.16 to 2.1 in a single epoch).

``max_grad_norm=c`` rescales the gradient of every update to a global norm of
at most ``c``, keeping its direction: ``g <- min(1, c / ||g||) g``. The step
length is then bounded by ``learning_rate * c`` no matter how steep the loss
surface is, and the same aggressive learning rate trains fine.
``clip_fraction_curve_`` records the fraction of each epoch's updates that
were clipped.
"""

# %%
# The same SGD regressor with learning rate 0.5, without and with clipping
import os
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from sknn_train import MLPRegressor

warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = make_regression(n_samples=500, n_features=10, noise=5, random_state=0)
X = StandardScaler().fit_transform(X)
y = StandardScaler().fit_transform(y.reshape(-1, 1)).ravel()

models = {}
for max_grad_norm in (None, 1.0):
    reg = MLPRegressor(
        hidden_layer_sizes=(64, 64),
        solver="sgd",
        learning_rate_init=0.5,
        max_iter=50,
        max_grad_norm=max_grad_norm,
        random_state=0,
    )
    models[max_grad_norm] = reg.fit(X, y)

for max_grad_norm, reg in models.items():
    print(
        f"max_grad_norm={max_grad_norm!s:4}  epochs={reg.n_iter_:2d}  "
        f"final loss={reg.loss_:.3g}  worst loss after epoch 1={max(reg.loss_curve_[1:]):.3g}  "
        f"train R²={reg.score(X, y):.3f}  "
        f"clipped updates, epoch 1={reg.clip_fraction_curve_[0]:.0%}"
    )

# %%
# Loss curves (log scale) and the fraction of clipped updates per epoch
fig, (ax_loss, ax_clip) = plt.subplots(1, 2, figsize=(11, 4.5))
for max_grad_norm, reg in models.items():
    label = f"max_grad_norm={max_grad_norm}"
    ax_loss.semilogy(reg.loss_curve_, label=label)
    ax_clip.plot(reg.clip_fraction_curve_, label=label)
ax_loss.set(xlabel="epoch", ylabel="training loss", title="Training loss")
ax_clip.set(xlabel="epoch", ylabel="fraction of updates clipped", title="Clipping")
fig.legend(*ax_loss.get_legend_handles_labels(), loc="lower center", ncol=2)
fig.tight_layout(rect=(0, 0.07, 1, 1))

# sphinx_gallery_start_ignore
if os.environ.get("SKNN_EXAMPLES_SAVE"):
    os.makedirs(os.environ["SKNN_EXAMPLES_SAVE"], exist_ok=True)
    fig.savefig(os.path.join(os.environ["SKNN_EXAMPLES_SAVE"], "plot_clipping.png"), dpi=100)
# sphinx_gallery_end_ignore
