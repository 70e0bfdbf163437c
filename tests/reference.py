"""A plain-NumPy reference of one training epoch: slow, obvious, independent of the kernels.

Follows SPEC section 2 literally: activations, residual blocks (2.3), inverted
dropout (2.2) with the documented counter-based mask, weight decay (2.1),
clipping by global norm (2.4), and scikit-learn's Adam / SGD updates.
"""

import numpy as np
from scipy.special import expit

from sknn_train._kernels.activations import HIDDEN_ACTIVATIONS

# --- the documented dropout mask: splitmix64 of (key, layer, row, unit) ---
_C1 = np.uint64(0x9E3779B97F4A7C15)
_C2 = np.uint64(0xD1B54A32D192ED03)


def _mix(z):
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def dropout_mask(key, layer, m, k, p, row0=0):
    """(m, k) multipliers: 0 for dropped units, 1 / keep-probability for kept ones."""
    rows = np.arange(row0, row0 + m, dtype=np.uint64)[:, None]
    units = np.arange(k, dtype=np.uint64)[None, :]
    with np.errstate(over="ignore"):
        rk = _mix(np.uint64(key) ^ (np.uint64(layer) * _C1 + rows * _C2))
        z = _mix(rk + (units >> np.uint64(2)) * _C1)
    bits = (z >> (np.uint64(16) * (units & np.uint64(3)))) & np.uint64(0xFFFF)
    t = int(p * 65536 + 0.5)
    return np.where(bits < t, 0.0, 65536.0 / (65536.0 - t))


# --- activations: value of a, derivative from a ---
# Hidden ones from the NumPy references of the activation table; output ones here.
def act(a, name):
    return HIDDEN_ACTIVATIONS[name].reference(a)


def act_grad(a, name):
    return HIDDEN_ACTIVATIONS[name].reference_grad(a)


def out_act(a, name):
    if name == "identity":
        return a
    if name == "logistic":
        return expit(a)
    if name == "exp":
        return np.exp(a)
    assert name == "softmax", name
    e = np.exp(a - a.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


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


def block_sources(n_hidden, residual):
    """source[j]: the layer added to layer j (hidden layers 1..n_hidden), SPEC 2.3."""
    src = {}
    if residual:
        k = 1
        while 2 * k + 1 <= n_hidden:
            src[2 * k + 1] = 2 * k - 1
            k += 1
    return src


def loss_grad(coefs, intercepts, X, Y, sw, hp, key):
    """Loss and gradients of one batch."""
    L = len(coefs)  # layers 0..L; hidden 1..L-1
    src = block_sources(L - 1, hp["residual"])
    drops = hp["drop"]
    m = X.shape[0]
    masks = {}
    h = {}
    a_ = {}
    if drops[0] > 0:
        masks[0] = dropout_mask(key, 0, m, X.shape[1], drops[0])
        h[0] = X * masks[0]
    else:
        h[0] = X
    for j in range(1, L + 1):
        a = h[j - 1] @ coefs[j - 1] + intercepts[j - 1]
        if j in src:
            a = a + h[src[j]]
        a_[j] = a
        if j == L:
            h[j] = out_act(a, hp["out_act"])
            break
        name = "identity" if j in src else hp["activation"]
        z = act(a, name)
        if drops[j] > 0:
            masks[j] = dropout_mask(key, j, m, z.shape[1], drops[j])
            z = z * masks[j]
        h[j] = z
    S = sw.sum()
    value = (sw * _loss(h[L], Y, hp["loss"])).sum() / S
    value += 0.5 * hp["alpha"] * sum((W**2).sum() for W in coefs) / S
    gh = {}  # gradient w.r.t. each layer's passed-on output
    delta = (h[L] - Y) * sw[:, None]
    gW, gb = [None] * L, [None] * L
    for j in range(L, 0, -1):
        gW[j - 1] = (h[j - 1].T @ delta + hp["alpha"] * coefs[j - 1]) / S
        gb[j - 1] = delta.sum(axis=0) / S
        if j in src:
            gh[src[j]] = gh.get(src[j], 0) + delta
        if j - 1 == 0:
            break
        i = j - 1
        g = delta @ coefs[j - 1].T + gh.get(i, 0)
        if i in masks:
            g = g * masks[i]
        name = "identity" if i in src else hp["activation"]
        delta = g * act_grad(a_[i], name)
    return value, gW, gb


def scheduled_lr(lr, done, total, schedule, warmup):
    """SPEC 4.1: ``lr * w(p) * f(p)`` after ``done`` of ``total`` updates."""
    p = min(done / total, 1.0)
    f = {
        None: 1.0,
        "cosine": (1 + np.cos(np.pi * p)) / 2,
        "linear": 1 - p,
        "coslog4": (1 - np.cos(2 * np.pi * np.log2(1 + 15 * p))) / 2,
    }[schedule]
    w = min(1.0, p / warmup) if warmup > 0 else 1.0
    return lr * w * f


def epoch(coefs, intercepts, X, Y, sw, order, batch_size, solver, state, hp, key_fn):
    """One epoch over rows ``order``; updates ``coefs``/``intercepts``/``state`` in place.

    Returns scikit-learn's accumulated loss ``sum_b loss_b * m_b``.
    """
    acc = 0.0
    for b, start in enumerate(range(0, len(order), batch_size)):
        rows = order[start : start + batch_size]
        value, gW, gb = loss_grad(coefs, intercepts, X[rows], Y[rows], sw[rows], hp, key_fn(b))
        acc += value * len(rows)
        grads = gW + gb
        norm = np.sqrt(sum((g**2).sum() for g in grads))
        state["norms"].append(norm)
        if hp["max_norm"] > 0 and norm > hp["max_norm"]:
            grads = [g * (hp["max_norm"] / norm) for g in grads]
        params = coefs + intercepts
        # the schedule's rate after the updates taken so far (SPEC 4.1) ...
        done = state.get("updates", 0)
        state["updates"] = done + 1
        base_lr = scheduled_lr(
            hp["lr"], done, hp.get("total", 1), hp.get("schedule"), hp.get("warmup", 0.0)
        )
        # ... and decoupled weight decay of the weight matrices first (SPEC 4.2)
        for W in coefs:
            W *= 1 - base_lr * hp.get("weight_decay", 0.0)
        if solver == "adam":
            state["t"] += 1
            t = state["t"]
            lr = base_lr * np.sqrt(1 - hp["beta_2"] ** t) / (1 - hp["beta_1"] ** t)
            for p, g, m, v in zip(params, grads, state["m"], state["v"]):
                m *= hp["beta_1"]
                m += (1 - hp["beta_1"]) * g
                v *= hp["beta_2"]
                v += (1 - hp["beta_2"]) * g**2
                p -= lr * m / (np.sqrt(v) + hp["epsilon"])
        else:
            for p, g, v in zip(params, grads, state["m"]):
                v *= hp["momentum"]
                v -= base_lr * g
                if hp["nesterov"]:
                    p += hp["momentum"] * v - base_lr * g
                else:
                    p += v
    return acc
