"""An ensemble's members as fitted single-network estimators (``estimators_``)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ._tables import FITTED_ATTRIBUTES

#: The fitted attributes a member shares with its ensemble: what its
#: predictions need (the targets' encoding and scaling, the temperature)
#: and the training counts.
SHARED_ATTRIBUTES = (
    "n_features_in_",
    "feature_names_in_",
    "n_outputs_",
    "n_layers_",
    "out_activation_",
    "n_iter_",
    "t_",
    "best_epoch_",
    "classes_",
    "_label_binarizer",
    "target_mean_",
    "target_scale_",
    "calibration_temperature_",
    *FITTED_ATTRIBUTES,  # the table encoder
)


def split_members(ensemble: Any, n_members: int) -> list:
    """Fitted estimators of ``ensemble``'s class, one per member, holding copies.

    Member ``k`` has ``ensemble``'s parameters with ``n_ensemble=1``, copies
    of :data:`SHARED_ATTRIBUTES` and member ``k``'s slices of ``coefs_``,
    ``intercepts_``, ``input_scale_`` and the embeddings (whose leading axis is the member's
    when ``n_members > 1``); it is marked as a member (``_ensemble_member``).
    """
    params = {**ensemble.get_params(deep=False), "n_ensemble": 1}
    fitted = vars(ensemble)
    scale = fitted.get("input_scale_")
    extra = {name: fitted.get(name) for name in ("embedding_tables_", "numeric_embeddings_")}
    members = []
    for k in range(n_members):
        member = type(ensemble)(**params)
        for name in SHARED_ATTRIBUTES:
            if name in fitted:
                setattr(member, name, copy.deepcopy(fitted[name]))
        member._ensemble_member = True
        index = k if n_members > 1 else ...
        member.coefs_ = [np.array(c[index]) for c in ensemble.coefs_]
        member.intercepts_ = [np.array(b[index]) for b in ensemble.intercepts_]
        if scale is not None:
            member.input_scale_ = np.array(scale[index])
        for name, values in extra.items():
            if values is not None:
                setattr(member, name, np.array(values[index]))
        members.append(member)
    return members
