"""Losses of the canonical (output activation, loss) pairs and the output delta.

:data:`LOSSES` names the codes (Python and the kernels share them). ``eps``
clips probabilities in the log losses exactly as scikit-learn does
(``np.finfo(dtype).eps``).
"""

import math

from .._jit import kernel

# Loss codes. Each is the canonical pair of its output activation, so the output
# delta is (p - y) times the sample weight.
SQUARED_ERROR = 0  # identity output
POISSON = 1  # exp output (log link)
LOG_LOSS = 2  # softmax output
BINARY_LOG_LOSS = 3  # logistic output(s): binary and multilabel

LOSSES = {
    "squared_error": SQUARED_ERROR,
    "poisson": POISSON,
    "log_loss": LOG_LOSS,
    "binary_log_loss": BINARY_LOG_LOSS,
}


@kernel
def loss_and_delta(p, y, sw, rows, delta, code, eps):
    """Weighted loss sum and output delta of one batch.

    Parameters
    ----------
    p : (m, k) array
        Output activations of the batch.
    y : (n, k) array
        Targets of the whole training set; row ``rows[r]`` belongs to batch row r.
    sw : (n,) array
        Sample weights of the whole training set.
    rows : (m,) int64 array
        Rows of ``y`` and ``sw`` in this batch.
    delta : (m, k) array
        Receives ``(p - y) * sw``.
    code : int
        Loss code.
    eps : float
        Clipping bound of the log losses.

    Returns
    -------
    loss_sum : float
        ``sum_i sw_i * loss_i`` over the batch, accumulated in float64.
    """
    m, k = p.shape
    total = 0.0
    for r in range(m):
        i = rows[r]
        s = sw[i]
        li = 0.0
        for j in range(k):
            pj = p[r, j]
            yj = y[i, j]
            if code == SQUARED_ERROR:  # half squared error, summed over outputs
                d = yj - pj
                li += 0.5 * d * d
            elif code == POISSON:  # half Poisson deviance, xlogy(y, y / p) - y + p
                if yj != 0:
                    li += yj * math.log(yj / pj)
                li += pj - yj
            else:
                q = min(max(pj, eps), 1.0 - eps)
                if code == LOG_LOSS:  # multinomial log loss
                    if yj != 0:
                        li -= yj * math.log(q)
                else:  # binary / multilabel log loss
                    if yj != 0:
                        li -= yj * math.log(q)
                    if yj != 1:
                        li -= (1.0 - yj) * math.log(1.0 - q)
            delta[r, j] = (pj - yj) * s
        total += s * li
    return total
