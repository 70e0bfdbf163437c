"""The one place where hyperparameter strings become the integer codes the kernels use."""

from __future__ import annotations

from ._kernels.activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS

# Hidden-layer activations, from the one table of them
# (``_kernels/activations.HIDDEN_ACTIVATIONS``; adding one is an entry there).
ACTIVATIONS = {name: a.code for name, a in HIDDEN_ACTIVATIONS.items()}
# Activations whose units can die (zero output for every input): dead_units_.
RELU_FAMILY = {name for name, a in HIDDEN_ACTIVATIONS.items() if a.can_die}

WEIGHT_INITS = {"glorot_uniform", "he_uniform", "he_normal", "lecun_normal"}
# Output activations: a code space of their own (never used for hidden layers).
OUT_ACTIVATIONS = dict(OUTPUT_ACTIVATIONS)

# Loss codes; each is the canonical pair of its output activation, so the output
# delta is (p - y) times the sample weight.
LOSSES = {"squared_error": 0, "poisson": 1, "log_loss": 2, "binary_log_loss": 3}

SOLVERS = {"sgd": 0, "adam": 1}
