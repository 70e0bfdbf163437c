"""
Residual blocks against vanishing gradients
===========================================

A deep stack of logistic (sigmoid) layers is the textbook case of vanishing
gradients: the derivative of the sigmoid is at most 1/4, so every layer the
error signal passes on its way back shrinks it further, and the first layers
barely learn.

With ``residual=True`` the hidden layers after the first are paired into
blocks ``h_out = h_in + act(h_in W + b) W' + b'``. The identity path carries
the gradient through each block unchanged, so the first layers receive a
gradient of the same order as the last ones. The parameter shapes are the
same, so both networks below have exactly the same number of weights.

``layer_grad_norm_curve_`` records, per epoch and per weight matrix, the mean
norm of the gradient, which makes the vanishing gradient visible layer by layer:
in the plain network it shrinks by orders of magnitude from the output back to
the input, and the loss stays at chance level (log 2 = 0.693); with residual
blocks it stays of the same order in every layer (the zigzag is the two
matrices of each block) and the loss goes down.
"""

# %%
# Train the same 17-hidden-layer sigmoid network with and without residual blocks
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning

from sknn_train import MLPClassifier

# 40 epochs on purpose: silence the "not converged" warning.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = make_classification(n_samples=600, n_features=10, n_informative=6, random_state=0)

models = {}
for residual in (False, True):
    clf = MLPClassifier(
        hidden_layer_sizes=(16,) * 17,
        activation="logistic",
        max_iter=40,
        tol=0,
        n_iter_no_change=1000,
        residual=residual,
        random_state=0,
    )
    models[residual] = clf.fit(X, y)

for residual, clf in models.items():
    grads = np.asarray(clf.layer_grad_norm_curve_)  # (epochs, weight matrices)
    first = grads[0]
    print(
        f"residual={residual!s:5}  final loss={clf.loss_:.4f}  "
        f"train acc={clf.score(X, y):.3f}  "
        f"epoch-1 grad norm first/last layer={first[0] / first[-1]:.2e}"
    )

# %%
# Loss curves and the gradient norm of each layer in the first epoch
fig, (ax_loss, ax_grad) = plt.subplots(1, 2, figsize=(11, 4))
for residual, clf in models.items():
    label = "residual" if residual else "plain"
    ax_loss.plot(clf.loss_curve_, label=label)
    grads = np.asarray(clf.layer_grad_norm_curve_)
    ax_grad.semilogy(np.arange(1, grads.shape[1] + 1), grads[0], "o-", label=label)
ax_loss.set(xlabel="epoch", ylabel="training loss", title="Training loss")
ax_grad.set(
    xlabel="weight matrix (1 = input layer, 18 = output layer)",
    xticks=np.arange(1, 19, 2),
    ylabel="mean gradient norm, epoch 1",
    title="Gradient norm per layer",
)
ax_loss.legend()
ax_grad.legend()
fig.tight_layout()

# sphinx_gallery_start_ignore
if os.environ.get("SKNN_EXAMPLES_SAVE"):
    os.makedirs(os.environ["SKNN_EXAMPLES_SAVE"], exist_ok=True)
    fig.savefig(os.path.join(os.environ["SKNN_EXAMPLES_SAVE"], "plot_residual.png"), dpi=100)
# sphinx_gallery_end_ignore
