"""
Dropout against overfitting
===========================

A wide network trained without any regularisation on few, noisy samples
memorises them: training accuracy approaches 100 % while test accuracy stays
far lower. Dropout trains a different thinned network for every sample and
update — each hidden unit is kept with probability ``1 - p`` and scaled by
``1 / (1 - p)`` — so no unit can rely on particular other units being present,
and the network cannot simply memorise. At prediction time the whole network
is used, so ``predict`` stays deterministic.

The gap between training and test accuracy shrinks as the dropout
probability grows.
"""

# %%
# 200 noisy training samples (30 % of the labels flipped), a 256-256 network
import os
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from sknn_train import MLPClassifier

# A fixed budget of 100 epochs on purpose: silence the "not converged" warning.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = make_classification(
    n_samples=1200, n_features=30, n_informative=8, flip_y=0.3, random_state=0
)
X_train, X_test, y_train, y_test = train_test_split(X, y, train_size=200, random_state=0)

dropouts = [0.0, 0.3, 0.5, 0.7]
train_acc, test_acc = [], []
for p in dropouts:
    clf = MLPClassifier(
        hidden_layer_sizes=(256, 256),
        dropout=p,
        alpha=0,
        max_iter=100,
        tol=0,
        n_iter_no_change=1000,
        random_state=0,
    )
    clf.fit(X_train, y_train)
    train_acc.append(clf.score(X_train, y_train))
    test_acc.append(clf.score(X_test, y_test))
    print(
        f"dropout={p:.1f}  train acc={train_acc[-1]:.3f}  test acc={test_acc[-1]:.3f}  "
        f"gap={train_acc[-1] - test_acc[-1]:.3f}"
    )

# %%
# Training and test accuracy against the dropout probability
fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(dropouts, train_acc, "o-", label="train")
ax.plot(dropouts, test_acc, "s-", label="test")
ax.fill_between(dropouts, test_acc, train_acc, alpha=0.15, label="generalisation gap")
ax.set(xlabel="dropout probability p", ylabel="accuracy", title="Dropout on 200 noisy samples")
ax.legend()
fig.tight_layout()

# sphinx_gallery_start_ignore
if os.environ.get("SKNN_EXAMPLES_SAVE"):
    os.makedirs(os.environ["SKNN_EXAMPLES_SAVE"], exist_ok=True)
    fig.savefig(os.path.join(os.environ["SKNN_EXAMPLES_SAVE"], "plot_dropout.png"), dpi=100)
# sphinx_gallery_end_ignore
