"""
Dead ReLU units and the leaky ReLU
==================================

A ReLU unit whose pre-activation is negative for every input outputs zero
everywhere, so its gradient is zero too and it never recovers: the unit is
*dead*. Large inputs and a large learning rate push many units there early in
training.

The leaky ReLU keeps a small slope (0.01) for negative inputs, so a unit that
is pushed into the negative region still receives a gradient and can come
back. ``dead_units_`` reports, per hidden layer, the fraction of units whose
output is zero for every training sample at the end of ``fit``.

Below, half of the ReLU network's second layer dies while the leaky ReLU
network keeps all of its units. This easy problem is still fitted by the
survivors, but the dead half is capacity paid for and never used; in a
narrower or deeper network it costs accuracy.
"""

# %%
# Badly scaled inputs (5 standard deviations) and a large Adam learning rate
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from sknn_train import MLPClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = make_classification(n_samples=800, n_features=20, random_state=0)
X = 5 * StandardScaler().fit_transform(X)

models = {}
for activation in ("relu", "leaky_relu"):
    clf = MLPClassifier(
        hidden_layer_sizes=(64, 64),
        activation=activation,
        learning_rate_init=0.05,
        max_iter=30,
        random_state=0,
    )
    models[activation] = clf.fit(X, y)

for activation, clf in models.items():
    dead = ", ".join(f"{d:.0%}" for d in clf.dead_units_)
    print(
        f"{activation:10}  dead units per layer: {dead}  "
        f"final loss={clf.loss_:.3f}  train acc={clf.score(X, y):.3f}"
    )

# %%
# Fraction of dead units in each hidden layer
fig, ax = plt.subplots(figsize=(6, 4))
layers = np.arange(1, len(models["relu"].dead_units_) + 1)
width = 0.35
for k, (activation, clf) in enumerate(models.items()):
    bars = ax.bar(layers + (k - 0.5) * width, 100 * clf.dead_units_, width, label=activation)
    ax.bar_label(bars, fmt="%.0f%%")
ax.set(
    xlabel="hidden layer",
    ylabel="dead units (%)",
    xticks=layers,
    title="Units with zero output on every training sample",
)
ax.legend()
fig.tight_layout()

# sphinx_gallery_start_ignore
if os.environ.get("SKNN_EXAMPLES_SAVE"):
    os.makedirs(os.environ["SKNN_EXAMPLES_SAVE"], exist_ok=True)
    fig.savefig(os.path.join(os.environ["SKNN_EXAMPLES_SAVE"], "plot_dead_units.png"), dpi=100)
# sphinx_gallery_end_ignore
