"""One flat parameter buffer with per-layer offsets.

The layout is scikit-learn's packing order (every weight matrix, then every
bias vector), so the vector handed to L-BFGS is the buffer itself, and
``coefs_`` / ``intercepts_`` are reshaped views into it.

An ensemble of ``n_members`` networks (``n_ensemble``) stores them one after
the other: member ``k`` is the contiguous slice ``theta[k * P:(k + 1) * P]``
of ``P = member_size`` values, laid out as a single network, so that every
kernel runs a member on its slice unchanged. Its user views carry a leading
member axis: ``coefs_[l]`` has shape ``(n_members, fan_in, fan_out)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ._kernels.network import Members


def shares_weights(batch: bool, n_members: int, n_weight_layers: int) -> bool:
    """Whether an ``ensemble='batch'`` network shares weights: with several members
    and a hidden layer (the output layer is every member's own)."""
    return bool(batch) and n_members > 1 and n_weight_layers > 1


class Layout:
    """Offsets of every weight matrix and bias vector in the flat buffer.

    Parameters
    ----------
    layer_units : sequence of int
        ``[n_features, *hidden_layer_sizes, n_outputs]``.
    """

    def __init__(
        self,
        layer_units: ArrayLike,
        n_scale: int = 0,
        n_members: int = 1,
        shared: bool = False,
        n_tables: int = 0,
        n_numeric: int = 0,
    ) -> None:
        self.units = np.asarray(layer_units, dtype=np.int64)
        n = len(self.units) - 1
        self.coef_off = np.zeros(n + 1, dtype=np.int64)
        for i in range(n):
            self.coef_off[i + 1] = self.coef_off[i] + self.units[i] * self.units[i + 1]
        self.int_off = np.zeros(n + 1, dtype=np.int64)
        self.int_off[0] = self.coef_off[n]
        for i in range(n):
            self.int_off[i + 1] = self.int_off[i] + self.units[i + 1]
        #: Input scaling (SPEC 4.5): ``n_scale`` factors after the biases (0: none).
        self.n_scale = int(n_scale)
        self.scale_off = int(self.int_off[n])
        #: Categorical embeddings (SPEC 5.2): ``n_tables`` values of tables after the
        #: scaling, then the numeric embeddings' ``n_numeric`` parameters (SPEC 5.5).
        self.n_tables = int(n_tables)
        self.table_off = self.scale_off + self.n_scale
        self.n_numeric = int(n_numeric)
        self.numeric_off = self.table_off + self.n_tables
        #: Values of one member; ``size`` is the whole buffer's.
        self.member_size = self.numeric_off + self.n_numeric
        self.n_members = int(n_members)
        self.size = self.member_size * self.n_members
        #: A batch ensemble (``ensemble='batch'``): the members hold equal copies of
        #: every layer but the output layer (``shared_ranges``), and differ by the
        #: input scaling (their adapters) and the output layer.
        self.shared = shares_weights(shared, self.n_members, n)
        self.shared_ranges = (
            (int(self.coef_off[n - 1]), int(self.int_off[0]), int(self.int_off[n - 1]))
            if self.shared
            else (0, 0, 0)
        )
        self.n_weight_layers = n
        #: The members' counts and offsets as the kernels take them: None for a
        #: single network, which they compile without the ensemble's code.
        info = (self.n_members, self.member_size, *self.shared_ranges, 0, self.n_members)
        self.ensemble = None if self.n_members == 1 else Members(*(np.int64(v) for v in info))
        # Plain ints for the per-call arithmetic of small predicts and
        # partial_fits (BLAS thread choice, chunk size): numpy reductions
        # on these few values cost microseconds each time.
        #: Multiply-adds of one row's forward pass (through every member).
        self.macs_per_row = int((self.units[:-1] * self.units[1:]).sum()) * self.n_members
        #: Activations of one row (every layer but the input) of one member.
        self.row_width = int(self.units[1:].sum())

    def member_of(self) -> Layout:
        """The layout of one member alone."""
        if self.n_members == 1:
            return self
        return Layout(self.units, self.n_scale, n_tables=self.n_tables, n_numeric=self.n_numeric)

    def member_form(self) -> Members | None:
        """What the kernels take to run one member alone: an ensemble's "members" of
        one (its compiled form, so a member's pass compiles nothing more), or None
        for a single network."""
        if self.ensemble is None:
            return None
        zero = np.int64(0)
        one = np.int64(1)
        return self.ensemble._replace(
            count=one,
            shared_weights_end=zero,
            shared_biases_lo=zero,
            shared_biases_hi=zero,
            first=zero,
            stop=one,
        )

    def _slot(self, theta: np.ndarray, lo: int, hi: int, shape: tuple[int, ...]) -> np.ndarray:
        """``theta[lo:hi]`` of every member, shaped ``shape`` (with the member axis first
        in an ensemble): a view."""
        if self.n_members == 1:
            return theta[lo:hi].reshape(shape)
        members = theta.reshape(self.n_members, self.member_size)[:, lo:hi]
        return members.reshape((self.n_members, *shape))

    def coef_views(self, theta: np.ndarray) -> list[np.ndarray]:
        """Weight matrices as views of ``theta``."""
        u = self.units.tolist()
        c = self.coef_off.tolist()
        return [
            self._slot(theta, c[i], c[i + 1], (u[i], u[i + 1])) for i in range(self.n_weight_layers)
        ]

    def intercept_views(self, theta: np.ndarray) -> list[np.ndarray]:
        """Bias vectors as views of ``theta``."""
        b = self.int_off.tolist()
        return [
            self._slot(theta, b[i], b[i + 1], (b[i + 1] - b[i],))
            for i in range(self.n_weight_layers)
        ]

    def scale_view(self, theta: np.ndarray) -> np.ndarray | None:
        """The input scaling factors as a view of ``theta``, or None without them."""
        if not self.n_scale:
            return None
        return self._slot(theta, self.scale_off, self.table_off, (self.n_scale,))

    def table_view(self, theta: np.ndarray) -> np.ndarray | None:
        """The categorical embedding tables (every table's rows, flat) as a view of
        ``theta``, or None without them."""
        if not self.n_tables:
            return None
        return self._slot(theta, self.table_off, self.numeric_off, (self.n_tables,))

    def numeric_view(self, theta: np.ndarray) -> np.ndarray | None:
        """The numeric embeddings' parameters (every feature's, flat) as a view of
        ``theta``, or None without them."""
        if not self.n_numeric:
            return None
        return self._slot(theta, self.numeric_off, self.member_size, (self.n_numeric,))

    def member_view(self, theta: np.ndarray, k: int) -> np.ndarray:
        """Member ``k``'s slice of ``theta``, a single network's buffer."""
        return theta[k * self.member_size : (k + 1) * self.member_size]

    def pack(
        self,
        coefs: Sequence[ArrayLike],
        intercepts: Sequence[ArrayLike],
        dtype: DTypeLike,
        scale: ArrayLike | None = None,
        tables: ArrayLike | None = None,
        numeric: ArrayLike | None = None,
    ) -> np.ndarray:
        """A new flat buffer holding copies of ``coefs``, ``intercepts``, the
        input scaling factors (``scale``; ones when None), the embedding
        tables (``tables``) and the numeric embeddings (``numeric``; zeros when None)."""
        theta = np.empty(self.size, dtype=dtype)
        for view, c in zip(self.coef_views(theta), coefs):
            view[...] = c
        for view, b in zip(self.intercept_views(theta), intercepts):
            view[...] = b
        scale_view = self.scale_view(theta)
        if scale_view is not None:
            scale_view[...] = 1.0 if scale is None else scale
        for part, values in ((self.table_view(theta), tables), (self.numeric_view(theta), numeric)):
            if part is not None:
                part[...] = 0.0 if values is None else values
        return theta

    def is_view_of(
        self, theta: np.ndarray, coefs: Sequence[np.ndarray], intercepts: Sequence[np.ndarray]
    ) -> bool:
        """Whether ``coefs``/``intercepts`` are still the views of ``theta``."""
        if len(coefs) != self.n_weight_layers or len(intercepts) != self.n_weight_layers:
            return False
        ptr = theta.__array_interface__["data"][0]
        item = theta.itemsize
        views = (*self.coef_views(theta), *self.intercept_views(theta))
        for arr, view, off in zip(
            (*coefs, *intercepts), views, (*self.coef_off[:-1], *self.int_off[:-1])
        ):
            if (
                arr.base is not theta
                or arr.__array_interface__["data"][0] != ptr + int(off) * item
                or arr.shape != view.shape
                or arr.strides != view.strides
            ):
                return False
        return True


def initial_params(
    layout: Layout, weight_init: str, glorot_factor: float, rng: np.random.RandomState
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Initial weight matrices and bias vectors, drawn from ``rng`` layer by layer.

    ``glorot_uniform`` is scikit-learn's scheme: Glorot's bound
    ``sqrt(glorot_factor / (fan_in + fan_out))`` (the factor is 2 instead of 6
    for logistic units), biases drawn too, each layer's weights first. The
    others draw the weights only and start the biases at zero.
    """
    coefs: list[np.ndarray] = []
    intercepts: list[np.ndarray] = []
    for fan_in, fan_out in zip(layout.units[:-1].tolist(), layout.units[1:].tolist()):
        if weight_init == "glorot_uniform":
            bound = np.sqrt(glorot_factor / (fan_in + fan_out))
            coefs.append(rng.uniform(-bound, bound, (fan_in, fan_out)))
            intercepts.append(rng.uniform(-bound, bound, fan_out))
            continue
        if weight_init == "he_uniform":
            bound = np.sqrt(6.0 / fan_in)
            coefs.append(rng.uniform(-bound, bound, (fan_in, fan_out)))
        elif weight_init == "he_normal":
            coefs.append(rng.normal(0.0, np.sqrt(2.0 / fan_in), (fan_in, fan_out)))
        else:  # lecun_normal
            coefs.append(rng.normal(0.0, np.sqrt(1.0 / fan_in), (fan_in, fan_out)))
        intercepts.append(np.zeros(fan_out))
    return coefs, intercepts
