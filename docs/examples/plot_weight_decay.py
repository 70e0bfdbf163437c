r"""
Weight decay (L2 regularisation) and scikit-learn's alpha
=========================================================

``alpha`` adds an L2 penalty on the weights (not the biases) to the loss, which
pulls the weights towards zero and gives a smoother decision function. Below,
small values let the network fit the 225 training samples almost perfectly;
growing values shrink the weights by two orders of magnitude and the training
accuracy falls to the level of the test accuracy: the network stops fitting
the training set's peculiarities. (This problem is easy, so the test accuracy does not
move; on harder ones a moderate alpha helps it, and a very large one
underfits.)

**scikit-learn's convention, "lambda = alpha / N".** The penalty is not added
once per epoch but to the loss of every update, divided by the number of
samples in that update:

.. math::

    L = \frac{1}{S}\sum_{i \in B} s_i \ell_i
        + \frac{\alpha}{2S}\sum_l \lVert W_l \rVert_F^2,
    \qquad S = \sum_{i \in B} s_i,

where ``B`` is the batch of the update and ``s_i`` the sample weights (all 1
without ``sample_weight``, so ``S`` is the batch size for 'sgd' and 'adam' and
``n_samples`` for 'lbfgs'). The gradient of the penalty is ``(alpha / S) W``,
i.e. an effective weight decay of ``lambda = alpha / S``. Two consequences:
the same ``alpha`` regularises less when the batches are larger, and the last,
smaller batch of an epoch is regularised harder than the others. Here the
training set has 225 samples and the default batch size is 200, so every
epoch makes one update with ``S = 200`` and one with ``S = 25``, whose
penalty is eight times stronger.
"""

# %%
# The same network for alpha from 1e-4 (scikit-learn's default) to 30
import os
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from sknn_train import MLPClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = make_classification(n_samples=300, n_features=20, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

alphas = [1e-4, 1e-2, 1, 3, 10, 30]
sq_norm, train_acc, test_acc = [], [], []
for alpha in alphas:
    clf = MLPClassifier(hidden_layer_sizes=(32,), alpha=alpha, max_iter=300, random_state=0)
    clf.fit(X_train, y_train)
    sq_norm.append(sum(float((W**2).sum()) for W in clf.coefs_))
    train_acc.append(clf.score(X_train, y_train))
    test_acc.append(clf.score(X_test, y_test))
    print(
        f"alpha={alpha:<6g}  sum ||W||²={sq_norm[-1]:8.2f}  "
        f"train acc={train_acc[-1]:.3f}  test acc={test_acc[-1]:.3f}"
    )

# %%
# Size of the weights and accuracy against alpha
fig, (ax_w, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
ax_w.loglog(alphas, sq_norm, "o-")
ax_w.set(xlabel="alpha", ylabel=r"$\sum_l \|W_l\|_F^2$", title="Squared weights")
ax_acc.semilogx(alphas, train_acc, "o-", label="train")
ax_acc.semilogx(alphas, test_acc, "s-", label="test")
ax_acc.set(xlabel="alpha", ylabel="accuracy", title="Accuracy")
ax_acc.legend()
fig.tight_layout()

# sphinx_gallery_start_ignore
if os.environ.get("SKNN_EXAMPLES_SAVE"):
    os.makedirs(os.environ["SKNN_EXAMPLES_SAVE"], exist_ok=True)
    fig.savefig(os.path.join(os.environ["SKNN_EXAMPLES_SAVE"], "plot_weight_decay.png"), dpi=100)
# sphinx_gallery_end_ignore
