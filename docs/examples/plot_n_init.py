"""
Several initialisations: n_init
===============================

Training a neural network is non-convex: gradient descent ends in whichever
valley its initial weights lie in, and a small network on a curved problem can
get stuck in a poor one. As with ``KMeans`` and ``GaussianMixture``,
``n_init=k`` trains ``k`` networks from initialisations drawn one after another
from ``random_state`` and keeps the best: by final training loss, or by the
best validation score (or loss) with ``early_stopping=True``.
``init_scores_`` holds the criterion of every run.
"""

# %%
# Ten initialisations of a network with only 8 hidden units on the two moons
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_moons
from sklearn.exceptions import ConvergenceWarning

from sknn_train import MLPClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = make_moons(n_samples=300, noise=0.25, random_state=0)

clf = MLPClassifier(hidden_layer_sizes=(8,), n_init=10, max_iter=200, random_state=0)
clf.fit(X, y)

scores = np.asarray(clf.init_scores_)  # final training loss of each run
best = int(np.argmin(scores))
print("final training loss of each initialisation:", np.round(scores, 3))
print(
    f"min={scores.min():.3f}  median={np.median(scores):.3f}  max={scores.max():.3f}  "
    f"kept run {best + 1} (loss_={clf.loss_:.3f}, train acc={clf.score(X, y):.3f})"
)

# %%
# The first run is the one ``n_init=1`` would have trained. Here it happens to
# be the best, but another ``random_state`` could as well have drawn the worst,
# whose loss is almost half as large again; ``n_init`` removes that lottery at
# the price of ``n_init`` fits.

# %%
# The final loss of every run; the kept one is highlighted
fig, ax = plt.subplots(figsize=(8, 4))
runs = np.arange(1, len(scores) + 1)
ax.hlines(runs, scores.min(), scores, color="0.8")
ax.plot(scores, runs, "o", ms=9, label="initialisation")
ax.plot(scores[best], runs[best], "*", ms=18, color="C3", label=f"kept (run {best + 1})")
ax.axvline(np.median(scores), color="k", ls="--", lw=1, label="median")
ax.set(
    xlabel="final training loss (init_scores_)",
    ylabel="initialisation",
    yticks=runs,
    title="n_init=10",
)
ax.invert_yaxis()
ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
fig.tight_layout()

# sphinx_gallery_start_ignore
if os.environ.get("SKNN_EXAMPLES_SAVE"):
    os.makedirs(os.environ["SKNN_EXAMPLES_SAVE"], exist_ok=True)
    fig.savefig(os.path.join(os.environ["SKNN_EXAMPLES_SAVE"], "plot_n_init.png"), dpi=100)
# sphinx_gallery_end_ignore
