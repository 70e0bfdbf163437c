"""Compile-time tiers: which techniques a compiled pass contains.

Every pass takes two tier arguments, ``recipe`` and ``extras``. Each is
either None, and numba compiles the pass without that group's code (its
branches are pruned before typing, so their kernels are not even compiled),
or :data:`ON`, and the group's code is compiled in, each technique then
switched at run time by its own data (a dropout rate, a clipping norm, the
input scaling's offset, ...):

- ``recipe``: input scaling, learning-rate schedules and warm-up, decoupled
  weight decay (what the Tabular defaults use);
- ``extras``: dropout, gradient clipping and sparse input.

A fit uses one of three tiers (:func:`tier_for`): :data:`PLAIN` (a
scikit-learn-equivalent fit), :data:`RECIPE` and :data:`EVERYTHING`, so a
search over the techniques compiles at most three specialisations per dtype
and ensemble form. Label smoothing and class weights change the targets and
the sample weights, not the kernels; L-BFGS is a pass code of its own, in
every tier.
"""

from collections import namedtuple

import numpy as np

from .optim import NO_SCHEDULE

#: The two tier arguments of a pass, as the kernels take them.
Tier = namedtuple("Tier", "recipe extras")

#: A group's code compiled in (any value but None would do: a bool is one type).
ON = True

PLAIN = Tier(None, None)
RECIPE = Tier(ON, None)
EVERYTHING = Tier(ON, ON)

#: The three tiers by name.
TIERS = {"plain": PLAIN, "recipe": RECIPE, "everything": EVERYTHING}


def tier_for(*, recipe: bool, extras: bool) -> Tier:
    """The smallest of the three tiers with the groups asked for."""
    if extras:
        return EVERYTHING
    return RECIPE if recipe else PLAIN


def needed_tier(net, hyper, is_sparse: bool) -> Tier:
    """The smallest tier that computes a pass over ``net`` with ``hyper`` right."""
    recipe = (
        int(net.scale_off[0]) >= 0
        or int(net.table_off[2]) > int(net.table_off[0])  # embeddings: trained as the scale
        or int(hyper.schedule) != NO_SCHEDULE
        or hyper.warmup > 0
        or hyper.weight_decay != 0
    )
    extras = bool(is_sparse) or hyper.max_norm > 0 or bool(np.any(net.drop))
    return tier_for(recipe=recipe, extras=extras)


def check_tier(tier: Tier, net, hyper, is_sparse: bool) -> None:
    """Raise when ``tier`` leaves out code that the pass needs (a wrong answer otherwise)."""
    need = needed_tier(net, hyper, is_sparse)
    if (need.recipe is not None and tier.recipe is None) or (
        need.extras is not None and tier.extras is None
    ):
        raise ValueError(f"a pass compiled as {tier} cannot run what needs {need}")


def tier_name(tier: Tier) -> str:
    """``'plain'``, ``'recipe'`` or ``'everything'`` (``'extras'`` for the fourth combination)."""
    return next((name for name, t in TIERS.items() if t == tier), "extras")
