"""The chapter's mathematics written out by hand, with numpy only.

This module reproduces Chapter 6 ("Backpropagation") of A. J. Maren's draft
textbook in the chapter's own notation, so it uses the chapter's symbols:

    alpha           the sigmoid's gain α
    I               the input pattern, I_i
    w[i, h]         input → hidden weights
    NdInpt_hidden   summed input of each hidden node
    H               hidden activations, H_h = F(NdInpt_hidden_h)
    v[h, o]         hidden → output weights
    NdInpt          summed input of each output node, NdInpt_o
    A               outputs (actual), A_o = F_o = F(NdInpt_o)
    E               errors, E_o = Desired_o − Actual_o

It deliberately imports nothing from minigrad: `minigrad.compare` checks the
engine's reverse mode against these formulas, and agreement between the two is
evidence only if they share no code.

Every gradient is written twice: ``*_literal`` follows the equations term by
term with loops over h, o and i, and the plain name is the vectorized form.
The tests show the two agree and that both agree with central differences of
`sse` (so the formulas are right on their own, not just equal to the engine).

One calling convention throughout: the data are positional (``I``, then
``desired`` where a function needs it, then ``w``, ``v``; or a `ForwardPass`),
and everything else is keyword-only: ``alpha=``, ``bias_hidden=``,
``bias_output=``, ``eta=``.  So ``training_step(I, desired, w, v, 2.0)`` is a
TypeError, never a bias of 2.0.

Derivations: ``docs/derivation.md``.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

__all__ = [
    "COURSE_ALPHA", "COURSE_ETA",
    "transfer", "transfer_complement", "transfer_derivative",
    "ForwardPass", "forward", "errors", "sse",
    "gradient_v", "gradient_v_literal", "gradient_bias_output", "gradient_bias_output_literal",
    "gradient_w", "gradient_w_literal", "gradient_bias_hidden", "gradient_bias_hidden_literal",
    "gradients", "TrainingStep", "training_step", "initial_weights",
]

#: The author's course code: gain α = 1.0 and learning rate η = 0.5.
COURSE_ALPHA = 1.0
COURSE_ETA = 0.5


# ---------------------------------------------------------------------------
# The transfer function (Section 6.3)
# ---------------------------------------------------------------------------


def _pair(x, alpha):
    """(F(x), 1 − F(x)) without overflow and without cancellation.

    With z = αx and e = exp(−|z|) ≤ 1 (never overflows):
        z ≥ 0:  F = 1/(1 + e),  1 − F = e/(1 + e)
        z < 0:  F = e/(1 + e),  1 − F = 1/(1 + e)
    which are Eq. 6.1 multiplied through by exp(±z).
    """
    x = np.asarray(x, dtype=np.float64)
    # NOTE: α·x may overflow to ±inf for huge x; that is the right limit
    # (F = 0 or 1), so the overflow is not worth a warning.
    with np.errstate(over="ignore"):
        z = alpha * x
    e = np.exp(-np.abs(z))
    big = 1.0 / (1.0 + e)
    small = e / (1.0 + e)
    positive = z >= 0
    return np.where(positive, big, small), np.where(positive, small, big)


def transfer(x, *, alpha=COURSE_ALPHA):
    """The sigmoid transfer function, Eq. 6.1:

        F(x) = 1 / (1 + exp(−αx))

    Numerically stable for every finite x and α > 0 (no overflow warnings).
    Returns a numpy array (0-d for a number).
    """
    return _pair(x, alpha)[0]


def transfer_complement(x, *, alpha=COURSE_ALPHA):
    """1 − F(x) = F(−x), computed directly rather than by subtraction, so it
    keeps full relative accuracy where F(x) is within rounding of 1."""
    return _pair(x, alpha)[1]


def transfer_derivative(x, *, alpha=COURSE_ALPHA):
    """The derivative of the transfer function, Eq. 6.2 (and Eq. 6.23):

        ∂F/∂x = α F(x) [1 − F(x)]
    """
    value, complement = _pair(x, alpha)
    return alpha * value * complement


# ---------------------------------------------------------------------------
# The forward pass (Eq. 6.3/6.9, 6.4/6.10) and the error (Eq. 6.5, 6.6)
# ---------------------------------------------------------------------------


class ForwardPass(NamedTuple):
    """Every quantity of one forward pass, in the chapter's names.

    ``one_minus_H`` and ``one_minus_A`` are 1 − H and 1 − A computed as F(−x)
    (see `transfer_complement`), for the α F (1 − F) terms.
    """

    I: np.ndarray
    NdInpt_hidden: np.ndarray
    H: np.ndarray
    one_minus_H: np.ndarray
    NdInpt: np.ndarray
    A: np.ndarray
    one_minus_A: np.ndarray


def forward(I, w, v, *, alpha=COURSE_ALPHA, bias_hidden=None, bias_output=None):
    """One pattern through a one-hidden-layer network.

        NdInpt_hidden_h = Σ_i w[i,h] I_i + bias_hidden_h
        H_h             = F(NdInpt_hidden_h)
        NdInpt_o        = Σ_h v[h,o] H_h + bias_output_o      (Eq. 6.3, 6.9)
        A_o             = F(NdInpt_o)                          (Eq. 6.4, 6.10)

    Eq. 6.3 and 6.9 print the upper limit of the sum over h as O; it runs over
    the H hidden nodes, as in Eq. 6.8 and 6.25 (see docs/derivation.md).  The
    bias vectors are optional, as in the author's course code.
    """
    I = np.asarray(I, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    if I.ndim != 1 or w.ndim != 2 or v.ndim != 2 or w.shape[0] != I.shape[0] or v.shape[0] != w.shape[1]:
        raise ValueError(
            f"forward: shapes do not fit a one-hidden-layer network: I {I.shape}, w {w.shape}, v {v.shape} "
            "(expected I (inputs,), w (inputs, hidden), v (hidden, outputs))")
    NdInpt_hidden = I @ w
    if bias_hidden is not None:
        NdInpt_hidden = NdInpt_hidden + np.asarray(bias_hidden, dtype=np.float64)
    H, one_minus_H = _pair(NdInpt_hidden, alpha)
    NdInpt = H @ v
    if bias_output is not None:
        NdInpt = NdInpt + np.asarray(bias_output, dtype=np.float64)
    A, one_minus_A = _pair(NdInpt, alpha)
    return ForwardPass(I, NdInpt_hidden, H, one_minus_H, NdInpt, A, one_minus_A)


def errors(desired, actual):
    """The error at each output node, Eq. 6.6 (and 6.19):

        E_o = Desired_o − Actual_o
    """
    return np.asarray(desired, dtype=np.float64) - np.asarray(actual, dtype=np.float64)


def sse(desired, actual):
    """The summed squared error, Eq. 6.5 (and 6.13):

        SSE = ½ Σ_o (Desired_o − Actual_o)² = ½ Σ_o E_o²

    With the ½, as the chapter defines it, so that ∂SSE/∂E_o = E_o (Eq. 6.17).
    """
    E = errors(desired, actual)
    return 0.5 * float(np.sum(E * E))


# ---------------------------------------------------------------------------
# Hidden → output: Eq. 6.30 and the output bias
# ---------------------------------------------------------------------------


def gradient_v_literal(forward_pass, desired, *, alpha=COURSE_ALPHA):
    """∂SSE/∂v[h,o] term by term, Eq. 6.28–6.30:

        ∂SSE/∂v[h,o] = ∂SSE/∂E_o · ∂E_o/∂F_o · ∂F_o/∂NdInpt_o · ∂NdInpt_o/∂v[h,o]
                     = E_o · (−1) · α F_o [1 − F_o] · H_h                 (6.17, 6.21, 6.23, 6.27)
                     = −α E_o F_o [1 − F_o] H_h                           (6.30)
    """
    H, A, one_minus_A = forward_pass.H, forward_pass.A, forward_pass.one_minus_A
    E = errors(desired, A)
    gradient = np.zeros((H.shape[0], A.shape[0]))
    for h in range(H.shape[0]):
        for o in range(A.shape[0]):
            dSSE_dE = E[o]                                  # Eq. 6.17
            dE_dF = -1.0                                    # Eq. 6.21
            dF_dNdInpt = alpha * A[o] * one_minus_A[o]      # Eq. 6.23
            dNdInpt_dv = H[h]                               # Eq. 6.27
            gradient[h, o] = dSSE_dE * dE_dF * dF_dNdInpt * dNdInpt_dv   # Eq. 6.29
    return gradient


def _delta_output(forward_pass, desired, alpha):
    """∂SSE/∂NdInpt_o = E_o · (−1) · α F_o [1 − F_o], grouped as in Eq. 6.29."""
    dSSE_dF = errors(desired, forward_pass.A) * -1.0                  # Eq. 6.17 · Eq. 6.21
    dF_dNdInpt = alpha * forward_pass.A * forward_pass.one_minus_A    # Eq. 6.23
    return dSSE_dF * dF_dNdInpt


def gradient_v(forward_pass, desired, *, alpha=COURSE_ALPHA):
    """Eq. 6.30 for every weight at once: ∂SSE/∂v = outer(H, −α E F (1 − F))."""
    return np.outer(forward_pass.H, _delta_output(forward_pass, desired, alpha))


def gradient_bias_output_literal(forward_pass, desired, *, alpha=COURSE_ALPHA):
    """∂SSE/∂bias_output_o: Eq. 6.30 with H_h replaced by 1, since
    ∂NdInpt_o/∂bias_output_o = 1 where Eq. 6.27 has H_h:

        ∂SSE/∂bias_output_o = E_o · (−1) · α F_o [1 − F_o] · 1
    """
    A, one_minus_A = forward_pass.A, forward_pass.one_minus_A
    E = errors(desired, A)
    gradient = np.zeros(A.shape[0])
    for o in range(A.shape[0]):
        gradient[o] = E[o] * (-1.0) * (alpha * A[o] * one_minus_A[o]) * 1.0
    return gradient


def gradient_bias_output(forward_pass, desired, *, alpha=COURSE_ALPHA):
    """∂SSE/∂bias_output = −α E F (1 − F), vectorized."""
    return _delta_output(forward_pass, desired, alpha)


# ---------------------------------------------------------------------------
# Input → hidden: the chapter's "next subsection", carried out in the docs
# ---------------------------------------------------------------------------


def gradient_w_literal(forward_pass, desired, v, *, alpha=COURSE_ALPHA):
    """∂SSE/∂w[i,h] term by term.  w[i,h] reaches the SSE through H_h and
    then through every output node o, so the chain rule sums over o:

        ∂SSE/∂w[i,h] = Σ_o ∂SSE/∂E_o · ∂E_o/∂F_o · ∂F_o/∂NdInpt_o · ∂NdInpt_o/∂H_h
                           · ∂H_h/∂NdInpt_hidden_h · ∂NdInpt_hidden_h/∂w[i,h]
                     = Σ_o E_o · (−1) · α F_o [1 − F_o] · v[h,o] · α H_h [1 − H_h] · I_i
                     = −α H_h (1 − H_h) I_i · Σ_o α E_o F_o (1 − F_o) v[h,o]
    """
    I, H, one_minus_H = forward_pass.I, forward_pass.H, forward_pass.one_minus_H
    A, one_minus_A = forward_pass.A, forward_pass.one_minus_A
    E = errors(desired, A)
    v = np.asarray(v, dtype=np.float64)
    gradient = np.zeros((I.shape[0], H.shape[0]))
    for i in range(I.shape[0]):
        for h in range(H.shape[0]):
            total = 0.0
            for o in range(A.shape[0]):
                dSSE_dE = E[o]                                   # Eq. 6.17
                dE_dF = -1.0                                     # Eq. 6.21
                dF_dNdInpt = alpha * A[o] * one_minus_A[o]       # Eq. 6.23
                dNdInpt_dH = v[h, o]                             # from Eq. 6.25
                dH_dNdInpt_hidden = alpha * H[h] * one_minus_H[h]  # Eq. 6.2 at a hidden node
                dNdInpt_hidden_dw = I[i]                         # Eq. 6.27, one layer down
                total += dSSE_dE * dE_dF * dF_dNdInpt * dNdInpt_dH * dH_dNdInpt_hidden * dNdInpt_hidden_dw
            gradient[i, h] = total
    return gradient


def _delta_hidden(forward_pass, desired, v, alpha):
    """−α H (1 − H) · Σ_o α E_o F_o (1 − F_o) v[h,o]: ∂SSE/∂NdInpt_hidden_h."""
    dSSE_dH = np.asarray(v, dtype=np.float64) @ _delta_output(forward_pass, desired, alpha)  # Σ_o over v[h,o]
    return dSSE_dH * (alpha * forward_pass.H * forward_pass.one_minus_H)


def gradient_w(forward_pass, desired, v, *, alpha=COURSE_ALPHA):
    """∂SSE/∂w[i,h] = −α H_h (1 − H_h) I_i · Σ_o α E_o F_o (1 − F_o) v[h,o], vectorized."""
    return np.outer(forward_pass.I, _delta_hidden(forward_pass, desired, v, alpha))


def gradient_bias_hidden_literal(forward_pass, desired, v, *, alpha=COURSE_ALPHA):
    """∂SSE/∂bias_hidden_h: the w[i,h] chain with I_i replaced by 1:

        ∂SSE/∂bias_hidden_h = Σ_o E_o · (−1) · α F_o [1 − F_o] · v[h,o] · α H_h [1 − H_h] · 1
    """
    H, one_minus_H = forward_pass.H, forward_pass.one_minus_H
    A, one_minus_A = forward_pass.A, forward_pass.one_minus_A
    E = errors(desired, A)
    v = np.asarray(v, dtype=np.float64)
    gradient = np.zeros(H.shape[0])
    for h in range(H.shape[0]):
        total = 0.0
        for o in range(A.shape[0]):
            total += E[o] * (-1.0) * (alpha * A[o] * one_minus_A[o]) * v[h, o] * (alpha * H[h] * one_minus_H[h]) * 1.0
        gradient[h] = total
    return gradient


def gradient_bias_hidden(forward_pass, desired, v, *, alpha=COURSE_ALPHA):
    """∂SSE/∂bias_hidden = −α H (1 − H) · (v @ (α E F (1 − F))), vectorized."""
    return _delta_hidden(forward_pass, desired, v, alpha)


def gradient_scales(I, desired, w, v, *, alpha=COURSE_ALPHA, bias_hidden=None, bias_output=None):
    """The size of the terms each gradient element adds up, for judging rounding.

    ∂SSE/∂v[h,o] and ∂SSE/∂bias_output_o are single products (Eq. 6.30), so
    their scale is their own size.  ∂SSE/∂w[i,h] and ∂SSE/∂bias_hidden_h are
    sums over o of terms of either sign, and the rounding error of a sum is
    relative to the sizes of its terms, not to the sum, which can cancel to
    nearly nothing:

        scale of ∂SSE/∂w[i,h] = |I_i| · α H_h (1 − H_h) · Σ_o |α E_o F_o (1 − F_o) v[h,o]|

    Same keys as `gradients`.
    """
    forward_pass = forward(I, w, v, alpha=alpha, bias_hidden=bias_hidden, bias_output=bias_output)
    output_terms = np.abs(_delta_output(forward_pass, desired, alpha))
    hidden_terms = (np.abs(np.asarray(v, dtype=np.float64)) @ output_terms) * (
        alpha * forward_pass.H * forward_pass.one_minus_H)
    scales = {"w": np.abs(np.outer(forward_pass.I, hidden_terms)), "v": np.outer(forward_pass.H, output_terms)}
    if bias_hidden is not None:
        scales["bias_hidden"] = hidden_terms
    if bias_output is not None:
        scales["bias_output"] = output_terms
    return scales


# ---------------------------------------------------------------------------
# All four at once, and the author's training step
# ---------------------------------------------------------------------------


def gradients(I, desired, w, v, *, alpha=COURSE_ALPHA, bias_hidden=None, bias_output=None, literal=False):
    """∂SSE/∂(every parameter) for one pattern, as a dict keyed by the
    parameter names ``"w"``, ``"bias_hidden"``, ``"v"``, ``"bias_output"``
    (the biases only when given).  ``literal=True`` uses the term-by-term forms.
    """
    forward_pass = forward(I, w, v, alpha=alpha, bias_hidden=bias_hidden, bias_output=bias_output)
    if literal:
        rule_w, rule_v = gradient_w_literal, gradient_v_literal
        rule_bias_hidden, rule_bias_output = gradient_bias_hidden_literal, gradient_bias_output_literal
    else:
        rule_w, rule_v = gradient_w, gradient_v
        rule_bias_hidden, rule_bias_output = gradient_bias_hidden, gradient_bias_output
    result = {"w": rule_w(forward_pass, desired, v, alpha=alpha), "v": rule_v(forward_pass, desired, alpha=alpha)}
    if bias_hidden is not None:
        result["bias_hidden"] = rule_bias_hidden(forward_pass, desired, v, alpha=alpha)
    if bias_output is not None:
        result["bias_output"] = rule_bias_output(forward_pass, desired, alpha=alpha)
    return result


class TrainingStep(NamedTuple):
    """The weights after one online step, and the SSE before it."""

    w: np.ndarray
    v: np.ndarray
    bias_hidden: Optional[np.ndarray]
    bias_output: Optional[np.ndarray]
    sse_before: float


def training_step(I, desired, w, v, *, alpha=COURSE_ALPHA, bias_hidden=None, bias_output=None, eta=COURSE_ETA):
    """One online (per-pattern) gradient step, in the author's order:

        1. forward pass on the pattern I;
        2. v ← v − η ∂SSE/∂v   (Eq. 6.30)  and  bias_output ← bias_output − η ∂SSE/∂bias_output;
        3. w ← w − η ∂SSE/∂w  and  bias_hidden ← bias_hidden − η ∂SSE/∂bias_hidden,
           using the v from *before* step 2 (the one the forward pass used).

    Returns new arrays (the inputs are not modified).  Course defaults:
    α = 1.0, η = 0.5.
    """
    forward_pass = forward(I, w, v, alpha=alpha, bias_hidden=bias_hidden, bias_output=bias_output)
    v_before = np.array(v, dtype=np.float64)
    new_v = v_before - eta * gradient_v(forward_pass, desired, alpha=alpha)
    new_bias_output = None
    if bias_output is not None:
        new_bias_output = np.asarray(bias_output, dtype=np.float64) - eta * gradient_bias_output(
            forward_pass, desired, alpha=alpha)
    # NOTE: the hidden layer's gradients use v_before, not new_v: both layers'
    # gradients belong to the same forward pass.
    new_w = np.asarray(w, dtype=np.float64) - eta * gradient_w(forward_pass, desired, v_before, alpha=alpha)
    new_bias_hidden = None
    if bias_hidden is not None:
        new_bias_hidden = np.asarray(bias_hidden, dtype=np.float64) - eta * gradient_bias_hidden(
            forward_pass, desired, v_before, alpha=alpha)
    return TrainingStep(new_w, new_v, new_bias_hidden, new_bias_output, sse(desired, forward_pass.A))


def initial_weights(inputs, hidden, outputs, seed=None, bias=True):
    """Course-code initial weights: every entry uniform in (−1, 1].

    Returns ``(w, v, bias_hidden, bias_output)`` (biases None when ``bias`` is
    false); ``seed`` is an int or a numpy Generator.  The draws are made layer
    by layer (w, bias_hidden, then v, bias_output), as `minigrad.nn.MLP` makes
    them, so the same seed gives the same weights.
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)

    def uniform(shape):
        return 1.0 - 2.0 * rng.random(shape)  # 1 − 2·U[0, 1) lies in (−1, 1]

    # NOTE: drawn in the order w, bias_hidden, v, bias_output (each layer's
    # weights, then its bias), the order of `minigrad.nn.initial_arrays`, so one
    # seed gives the same numbers here and in minigrad's MLP.
    w = uniform((inputs, hidden))
    bias_hidden = uniform(hidden) if bias else None
    v = uniform((hidden, outputs))
    bias_output = uniform(outputs) if bias else None
    return w, v, bias_hidden, bias_output
