"""The held-out rows: scikit-learn's validation split, stratified where it can be.

Early stopping and ``restore_best_weights`` score every epoch on
``validation_fraction`` of the training rows. The split draws from the fit's
generator exactly as scikit-learn's ``train_test_split`` does (parity).
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split


def stratification_labels(Y: np.ndarray, target_type: str | None) -> np.ndarray | None:
    """One label per sample to stratify the validation split on, or None.

    ``target_type`` is the classifier's ``type_of_target`` (None for a
    regressor). Binary and multiclass targets use the class (scikit-learn
    stratifies only binary ones). Multilabel targets use the label
    combination; combinations seen once are pooled so that every stratum can
    be split.
    """
    if target_type is None:
        return None
    if Y.shape[1] == 1:
        return Y[:, 0].astype(np.int64)
    if target_type == "multiclass":
        return np.argmax(Y, axis=1)
    _, codes, counts = np.unique(Y, axis=0, return_inverse=True, return_counts=True)
    codes = codes.ravel()
    rare = counts[codes] < 2
    if rare.all():
        return None  # no combination repeats: nothing to stratify on
    if rare.any():
        codes = np.where(rare, -1, codes)
        if rare.sum() == 1:  # a pool of one cannot be split either
            codes[rare] = np.bincount(codes[~rare]).argmax()
    return codes


def validation_split(
    n_samples: int,
    validation_fraction: float,
    rng: np.random.RandomState,
    stratify: np.ndarray | None = None,
    *,
    strict: bool = False,
    held_out: str = "early_stopping",
) -> tuple[np.ndarray, np.ndarray]:
    """Train / validation row indices drawn from ``rng`` as scikit-learn does.

    ``strict``: scikit-learn's own stratified split (binary early stopping),
    whose errors for classes too small to split come first, as there; else
    a split stratified where every stratum fits, unstratified otherwise.
    ``held_out`` names the parameter that asked for the split (messages).
    """
    if stratify is not None and not strict:
        n_strata = np.unique(stratify).shape[0]
        n_val = int(np.ceil(validation_fraction * n_samples))
        if n_val < n_strata or n_samples - n_val < n_strata:
            stratify = None  # too few rows to represent every stratum
    train_idx, val_idx = train_test_split(
        np.arange(n_samples),
        random_state=rng,
        test_size=validation_fraction,
        stratify=stratify,
    )
    if val_idx.shape[0] < 2:
        raise ValueError(
            "The validation set is too small. Increase 'validation_fraction' "
            "or the size of your dataset. "
            f"({held_out} holds out validation_fraction={validation_fraction:g} of "
            f"{n_samples} samples: {val_idx.shape[0]} sample"
            f"{'' if val_idx.shape[0] == 1 else 's'}, and a validation score needs at least 2.)"
        )
    return train_idx.astype(np.int64), val_idx
