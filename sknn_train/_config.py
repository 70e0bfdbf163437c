"""The one place where hyperparameter strings become the integer codes the kernels use."""

from __future__ import annotations

# Hidden-layer activations. Adding one means: a code here, a forward and a
# derivative branch in ``_kernels/activations.py``; the tests read this table.
ACTIVATIONS = {
    "identity": 0,
    "logistic": 1,
    "tanh": 2,
    "relu": 3,
    "leaky_relu": 4,
    "elu": 5,
    "gelu": 6,
    "softplus": 7,
    "silu": 8,
}
# Activations whose units can die (zero output for every input): dead_units_.
RELU_FAMILY = {"relu", "leaky_relu"}

WEIGHT_INITS = {"glorot_uniform", "he_uniform", "he_normal", "lecun_normal"}
# Output activations (never used for hidden layers).
OUT_ACTIVATIONS = {"identity": 0, "logistic": 1, "exp": 10, "softmax": 11}

# Loss codes; each is the canonical pair of its output activation, so the output
# delta is (p - y) times the sample weight.
LOSSES = {"squared_error": 0, "poisson": 1, "log_loss": 2, "binary_log_loss": 3}

SOLVERS = {"sgd": 0, "adam": 1}
