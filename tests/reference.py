"""A plain-NumPy reference of one training epoch: slow, obvious, independent of the kernels."""

import numpy as np


def _act(a, name):
    if name == "identity":
        return a
    if name == "logistic":
        return 1.0 / (1.0 + np.exp(-a))
    if name == "tanh":
        return np.tanh(a)
    if name == "relu":
        return np.maximum(a, 0.0)
    if name == "exp":
        return np.exp(a)
    if name == "softmax":
        e = np.exp(a - a.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    raise ValueError(name)


def _act_grad(z, name):
    return {
        "identity": np.ones_like(z),
        "logistic": z * (1 - z),
        "tanh": 1 - z**2,
        "relu": (z > 0).astype(z.dtype),
    }[name]


def _loss(p, y, loss):
    eps = np.finfo(p.dtype).eps
    if loss == "squared_error":
        return 0.5 * ((y - p) ** 2).sum(axis=1)
    if loss == "poisson":
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(y > 0, y * np.log(np.where(y > 0, y, 1) / p), 0.0)
        return (t - y + p).sum(axis=1)
    q = np.clip(p, eps, 1 - eps)
    if loss == "log_loss":
        return -(y * np.log(q)).sum(axis=1)
    return -(y * np.log(q) + (1 - y) * np.log(1 - q)).sum(axis=1)


def loss_grad(coefs, intercepts, X, Y, sw, activation, out_act, loss, alpha):
    """Loss and gradients of one batch (SPEC 2.1 weight decay)."""
    hs = [X]
    for i, (W, b) in enumerate(zip(coefs, intercepts)):
        a = hs[-1] @ W + b
        hs.append(_act(a, out_act if i == len(coefs) - 1 else activation))
    S = sw.sum()
    value = (sw * _loss(hs[-1], Y, loss)).sum() / S
    value += 0.5 * alpha * sum((W**2).sum() for W in coefs) / S
    delta = (hs[-1] - Y) * sw[:, None]
    gW, gb = [None] * len(coefs), [None] * len(coefs)
    for i in range(len(coefs) - 1, -1, -1):
        gW[i] = (hs[i].T @ delta + alpha * coefs[i]) / S
        gb[i] = delta.sum(axis=0) / S
        if i > 0:
            delta = (delta @ coefs[i].T) * _act_grad(hs[i], activation)
    return value, gW, gb


def epoch(coefs, intercepts, X, Y, sw, order, batch_size, solver, state, hp):
    """One epoch over rows ``order``; updates ``coefs``/``intercepts``/``state`` in place.

    Returns scikit-learn's accumulated loss ``sum_b loss_b * m_b``.
    """
    acc = 0.0
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        value, gW, gb = loss_grad(
            coefs, intercepts, X[rows], Y[rows], sw[rows], hp["activation"],
            hp["out_act"], hp["loss"], hp["alpha"],
        )
        acc += value * len(rows)
        params = coefs + intercepts
        grads = gW + gb
        if solver == "adam":
            state["t"] += 1
            t = state["t"]
            lr = hp["lr"] * np.sqrt(1 - hp["beta_2"] ** t) / (1 - hp["beta_1"] ** t)
            for p, g, m, v in zip(params, grads, state["m"], state["v"]):
                m *= hp["beta_1"]
                m += (1 - hp["beta_1"]) * g
                v *= hp["beta_2"]
                v += (1 - hp["beta_2"]) * g**2
                p -= lr * m / (np.sqrt(v) + hp["epsilon"])
        else:
            for p, g, v in zip(params, grads, state["m"]):
                v *= hp["momentum"]
                v -= hp["lr"] * g
                if hp["nesterov"]:
                    p += hp["momentum"] * v - hp["lr"] * g
                else:
                    p += v
    return acc
