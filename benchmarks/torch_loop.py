"""A plain PyTorch CPU training loop with scikit-learn's MLP settings (optional).

Used by ``bench_epoch.py`` as a third system when ``torch`` is installed
(``pip install torch``; it is not a dependency of sknn_train). It is what a
PyTorch user would write by hand for the same model:

* the same layers (``h @ W + b``, ReLU or the estimator's activation) and the
  same initial weights: scikit-learn's Glorot-uniform draws from
  ``RandomState(random_state)`` in scikit-learn's order;
* the same loss: softmax log loss (multiclass), logistic log loss (binary),
  half squared error (regression), plus scikit-learn's L2 term
  ``alpha / (2 m) * sum ||W||^2`` over the weights of each batch of ``m`` rows;
* the same optimizer settings: ``torch.optim.Adam`` with ``learning_rate_init``,
  ``beta_1``, ``beta_2``, ``epsilon``; or ``torch.optim.SGD`` with momentum and
  Nesterov;
* minibatches of a fresh permutation every epoch, rows taken with ``X[idx]``
  (for sparse input: the CSR rows of the batch, multiplied by
  ``torch.sparse.mm``).

PyTorch uses its own thread pool (``torch.get_num_threads()``, by default one
thread per core); it is left at its default, as a user would.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils import check_random_state

try:
    import torch
except ImportError:  # optional
    torch = None
else:
    warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")

ACTIVATIONS = {
    "relu": "relu",
    "tanh": "tanh",
    "logistic": "sigmoid",
    "identity": None,
}


def available() -> bool:
    return torch is not None


def version() -> str | None:
    return None if torch is None else torch.__version__


def supports(params: dict) -> bool:
    """Whether the loop can run these estimator parameters (no L-BFGS)."""
    return torch is not None and params.get("solver", "adam") in {"adam", "sgd"}


class TorchMLP:
    """fit / score / n_iter_ like the scikit-learn estimators, for the benchmark only."""

    #: The estimator parameters the loop uses, with scikit-learn's defaults; the others
    #: (``tol``, ``n_iter_no_change``, ...) are accepted and ignored.
    PARAMS = {
        "hidden_layer_sizes": (100,),
        "activation": "relu",
        "solver": "adam",
        "alpha": 1e-4,
        "batch_size": 200,
        "learning_rate_init": 1e-3,
        "max_iter": 200,
        "random_state": 0,
        "momentum": 0.9,
        "nesterovs_momentum": True,
        "beta_1": 0.9,
        "beta_2": 0.999,
        "epsilon": 1e-8,
    }

    def __init__(self, regression: bool, **params):
        self.regression = regression
        for name, default in self.PARAMS.items():
            setattr(self, name, params.get(name, default))
        self.hidden_layer_sizes = tuple(self.hidden_layer_sizes)

    # ------------------------------------------------------------------ data
    def _tensor(self, X):
        if sp.issparse(X):
            return X.tocsr()
        return torch.from_numpy(np.ascontiguousarray(X))

    def _rows(self, X, idx):
        if sp.issparse(X):
            sub = X[idx.numpy()]
            return torch.sparse_csr_tensor(
                torch.from_numpy(sub.indptr.astype(np.int64)),
                torch.from_numpy(sub.indices.astype(np.int64)),
                torch.from_numpy(sub.data),
                size=sub.shape,
                check_invariants=False,
            )
        return X[idx]

    # --------------------------------------------------------------- network
    def _init_params(self, units, dtype):
        # scikit-learn's _init_coef: per layer, coefs then intercepts, in order.
        rng = check_random_state(self.random_state)
        factor = 2.0 if self.activation == "logistic" else 6.0
        params = []
        for fan_in, fan_out in zip(units[:-1], units[1:], strict=True):
            bound = np.sqrt(factor / (fan_in + fan_out))
            W = rng.uniform(-bound, bound, (fan_in, fan_out))
            b = rng.uniform(-bound, bound, fan_out)
            params.append(torch.tensor(W, dtype=dtype, requires_grad=True))
            params.append(torch.tensor(b, dtype=dtype, requires_grad=True))
        return params, rng

    def _forward(self, xb, params):
        act = ACTIVATIONS[self.activation]
        h = xb
        n_layers = len(params) // 2
        for layer in range(n_layers):
            W, b = params[2 * layer], params[2 * layer + 1]
            if layer == 0 and h.layout != torch.strided:
                h = torch.sparse.mm(h, W) + b
            else:
                h = torch.addmm(b, h, W)
            if layer < n_layers - 1 and act is not None:
                h = getattr(torch, act)(h)
        return h

    def _data_loss(self, out, yb):
        if self.regression:
            return 0.5 * ((out - yb) ** 2).mean()
        if self._binary:
            return torch.nn.functional.binary_cross_entropy_with_logits(out, yb)
        return torch.nn.functional.cross_entropy(out, yb)

    # ------------------------------------------------------------------- API
    def fit(self, X, y):
        dtype = torch.float32 if X.dtype == np.float32 else torch.float64
        y = np.asarray(y)
        if self.regression:
            Y = torch.from_numpy(y.reshape(len(y), -1).astype(X.dtype))
            n_out = Y.shape[1]
        else:
            self.classes_, codes = np.unique(y, return_inverse=True)
            self._binary = len(self.classes_) == 2
            if self._binary:
                Y = torch.from_numpy(codes.astype(X.dtype).reshape(-1, 1))
                n_out = 1
            else:
                Y = torch.from_numpy(codes.astype(np.int64))
                n_out = len(self.classes_)
        Xt = self._tensor(X)
        units = [X.shape[1], *self.hidden_layer_sizes, n_out]
        params, rng = self._init_params(units, dtype)
        weights = params[0::2]
        if self.solver == "adam":
            opt = torch.optim.Adam(
                params,
                lr=self.learning_rate_init,
                betas=(self.beta_1, self.beta_2),
                eps=self.epsilon,
            )
        else:
            opt = torch.optim.SGD(
                params,
                lr=self.learning_rate_init,
                momentum=self.momentum,
                nesterov=self.nesterovs_momentum,
            )
        gen = torch.Generator().manual_seed(int(rng.randint(2**31)))
        n = X.shape[0]
        bs = min(self.batch_size, n)
        for _ in range(self.max_iter):
            perm = torch.randperm(n, generator=gen)
            for start in range(0, n, bs):
                idx = perm[start : start + bs]
                out = self._forward(self._rows(Xt, idx), params)
                loss = self._data_loss(out, Y[idx])
                loss = loss + 0.5 * self.alpha * sum((W * W).sum() for W in weights) / len(idx)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        self._params = [p.detach() for p in params]
        self.n_iter_ = self.max_iter
        return self

    def predict(self, X):
        with torch.no_grad():
            Xt = self._tensor(X)
            if sp.issparse(X):
                Xt = self._rows(Xt, torch.arange(X.shape[0]))
            out = self._forward(Xt, self._params).numpy()
        if self.regression:
            return out.ravel() if out.shape[1] == 1 else out
        if self._binary:
            return self.classes_[(out.ravel() > 0).astype(int)]
        return self.classes_[out.argmax(axis=1)]

    def score(self, X, y):
        if self.regression:
            return r2_score(y, self.predict(X))
        return accuracy_score(y, self.predict(X))
