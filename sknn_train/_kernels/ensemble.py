"""An ensemble's members in one flat buffer: their slices, their steps, their ties.

Member ``k`` of an ensemble (:class:`~sknn_train._kernels.network.Members`)
is the slice ``theta[k * size:(k + 1) * size]``, laid out as one network; a
batch ensemble's members hold equal copies of the shared parameters, which
:func:`tie_gradients` keeps equal. A single network has no members: these
kernels then take ``ensemble=None`` and numba compiles none of this.
"""

import math

import numpy as np

from .._jit import kernel
from .blas import as_dtype_of
from .step import (
    DIAG_BATCHES,
    DIAG_LAYERS,
    DIAG_NORM,
    clip_factor,
    clipped_step,
    finish_gradient,
    step_rate,
    take_step,
)

#: Odd 64-bit constant spreading the ensemble members' dropout keys (member 0
#: keeps the single network's).
MEMBER_STRIDE = np.uint64(0xD1B54A32D192ED03)


@kernel(inline=True)
def member_slice(buffer, member, ensemble):
    """Ensemble member ``member``'s slice of a parameter-sized buffer (an empty one
    stays empty); the whole buffer of a single network (``ensemble`` None).

    Parameters
    ----------
    buffer : ndarray of shape (n_members * size,) or (0,)
        A parameter-sized buffer (parameters, gradient, optimizer state).
    member : int
        The member.
    ensemble : Members or None
        The ensemble's layout (``size``: values per member).
    """
    if ensemble is None:
        return buffer
    if buffer.shape[0] == 0:
        return buffer
    lo = member * ensemble.size
    return buffer[lo : lo + ensemble.size]


@kernel
def member_step(
    theta, grad, state1, state2, step, member, ensemble, net, sw_sum, hyper, diag, recipe, extras
):
    """:func:`take_step` of ensemble member ``member`` on its slices of the buffers.

    Parameters
    ----------
    theta, grad, state1, state2 : ndarray of shape (n_members * size,), float32 or float64
        The ensemble's parameters, gradient and optimizer state (``state2``
        empty for SGD), member after member.
    step : ndarray of shape (n_members,), int64
        Each member's count of updates taken.
    member : int
        The member that steps.
    ensemble : Members
        The ensemble's layout.
    net, sw_sum, hyper, diag, recipe, extras
        As for :func:`~sknn_train._kernels.step.take_step`.

    Returns
    -------
    float
        The member's ``sum_l ||W_l||^2`` before the step.
    """
    return take_step(
        member_slice(theta, member, ensemble),
        member_slice(grad, member, ensemble),
        member_slice(state1, member, ensemble),
        member_slice(state2, member, ensemble),
        step[member : member + 1],
        net,
        sw_sum,
        hyper,
        diag,
        recipe,
        extras,
    )


@kernel
def tied_steps(
    theta, grad, state1, state2, step, ensemble, net, sw_sum, hyper, diag, recipe, extras
):
    """Every member's step of a batch ensemble, after :func:`tie_gradients`.

    Returns the members' summed L2 penalties. Without clipping each member
    steps as a network of its own. Clipping multiplies every member's
    gradient by one factor, from the root mean square of the members'
    gradient norms: a factor per member would update the shared copies
    differently and untie them. (One member would be clipped by its own norm,
    as a single network is.)

    Parameters
    ----------
    theta, grad, state1, state2 : ndarray of shape (n_members * size,), float32 or float64
        The ensemble's parameters, gradient and optimizer state (``state2``
        empty for SGD), member after member.
    step : ndarray of shape (n_members,), int64
        Each member's count of updates taken.
    ensemble : Members
        The ensemble's layout.
    net, sw_sum, hyper, diag, recipe, extras
        As for :func:`~sknn_train._kernels.step.take_step` (clipping needs ``extras``).
    """
    n_members = ensemble.count
    w2 = 0.0
    if extras is None or hyper.max_norm <= 0:
        for member in range(n_members):
            w2 += member_step(
                theta,
                grad,
                state1,
                state2,
                step,
                member,
                ensemble,
                net,
                sw_sum,
                hyper,
                diag,
                recipe,
                extras,
            )
        return w2
    return w2 + clipped_tied_steps(
        theta, grad, state1, state2, step, ensemble, net, sw_sum, hyper, diag, recipe
    )


@kernel
def clipped_tied_steps(
    theta, grad, state1, state2, step, ensemble, net, sw_sum, hyper, diag, recipe
):
    """:func:`tied_steps` with clipping: one factor for every member.

    Returns the members' summed L2 penalties.
    """
    n_members = ensemble.count
    w2 = 0.0
    squares = 0.0
    for member in range(n_members):  # finish every gradient first: the factor needs them all
        w2_k, norm = finish_gradient(
            member_slice(theta, member, ensemble),
            member_slice(grad, member, ensemble),
            net,
            sw_sum,
            diag[DIAG_LAYERS:],
            hyper,
            member_slice(state1, member, ensemble),
            member_slice(state2, member, ensemble),
            0.0,
            1.0,
            np.int64(0),
            recipe,
        )
        w2 += w2_k
        squares += norm * norm
        diag[DIAG_NORM] += norm
        diag[DIAG_BATCHES] += 1.0
    gscale = clip_factor(math.sqrt(squares / n_members), hyper.max_norm)
    for member in range(n_members):
        step[member] += 1
        lr, scheduled = step_rate(step[member], hyper, recipe)
        decay = 1.0
        if recipe is not None:
            decay = 1.0 - scheduled * hyper.weight_decay
        clipped_step(
            member_slice(theta, member, ensemble),
            member_slice(grad, member, ensemble),
            member_slice(state1, member, ensemble),
            member_slice(state2, member, ensemble),
            net,
            lr,
            decay,
            gscale,
            hyper,
            diag,
        )
    return w2


@kernel
def tie_gradients(grad, ensemble):
    """A batch ensemble's shared parameters: every member's gradient becomes their mean.

    The members hold copies of the shared weights (``shared_weights_end``
    values from the start of a member's slice: every weight matrix but the
    output layer's) and biases (``shared_biases_lo:shared_biases_hi``); the
    same gradient and the same optimizer state give every copy the same
    update, so they stay equal.

    Parameters
    ----------
    grad : ndarray of shape (n_members * size,), float32 or float64
        The members' gradients, member after member; tied in place.
    ensemble : Members
        The ensemble's layout and shared ranges.
    """
    n_members = ensemble.count
    size_member = ensemble.size
    inv = as_dtype_of(1.0 / n_members, grad)
    shared = (
        (np.int64(0), ensemble.shared_weights_end),
        (ensemble.shared_biases_lo, ensemble.shared_biases_hi),
    )
    for lo, hi in shared:
        for q in range(lo, hi):
            total = grad[q]
            for member in range(1, n_members):
                total += grad[member * size_member + q]
            total *= inv
            for member in range(n_members):
                grad[member * size_member + q] = total
