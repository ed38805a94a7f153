"""Reverse mode reproduces the chapter's hand-derived gradients.

The formulas are written out here in plain numpy (not taken from
minigrad.textbook, and not from the engine):

    dSSE/dv[h,o] = -alpha E_o F_o (1 - F_o) H_h                                   (Eq. 6.30)
    dSSE/dw[i,h] = -alpha H_h (1 - H_h) I_i * sum_o alpha E_o F_o (1 - F_o) v[h,o]

on random one-hidden-layer sigmoid networks, built both weight by weight from
scalar Values and from tensors with @.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg

REL = 1e-12


def chapter_gradients(I, w, v, desired, alpha):
    """The formulas, plus for each gradient the scale its rounding error is relative to."""
    hidden_input, output_input = I @ w, None
    H = 1.0 / (1.0 + np.exp(-alpha * hidden_input))
    one_minus_H = 1.0 / (1.0 + np.exp(alpha * hidden_input))  # 1 - H, without cancellation
    output_input = H @ v
    F = 1.0 / (1.0 + np.exp(-alpha * output_input))
    one_minus_F = 1.0 / (1.0 + np.exp(alpha * output_input))
    E = desired - F
    delta_output = alpha * E * F * one_minus_F                      # alpha E_o F_o (1 - F_o)
    grad_v = -np.outer(H, delta_output)                             # Eq. 6.30
    grad_w = -np.outer(I, alpha * H * one_minus_H * (v @ delta_output))
    # A sum over o of terms of both signs can cancel: its error is relative to
    # the sum of the terms' magnitudes, not to the (possibly tiny) result.
    scale_w = np.abs(np.outer(I, alpha * H * one_minus_H * (np.abs(v) @ np.abs(delta_output))))
    sse = 0.5 * np.sum(E ** 2)
    return sse, grad_w, grad_v, scale_w


def tensor_network(I, w, v, desired, alpha):
    w_value, v_value = mg.Value(w, name="w"), mg.Value(v, name="v")
    hidden = (mg.Value(I, requires_grad=False) @ w_value).sigmoid(alpha)
    output = (hidden @ v_value).sigmoid(alpha)
    loss = mg.sse(desired, output)
    loss.backward()
    return loss.item(), w_value.grad, v_value.grad


def scalar_network(I, w, v, desired, alpha):
    """Weight by weight: NdInpt_h = sum_i w[i,h] I_i, H_h = F(NdInpt_h), ... (Eq. 6.3-6.10)."""
    w_values = [[mg.Value(float(w[i, h])) for h in range(w.shape[1])] for i in range(w.shape[0])]
    v_values = [[mg.Value(float(v[h, o])) for o in range(v.shape[1])] for h in range(v.shape[0])]
    hidden = []
    for h in range(w.shape[1]):
        total = w_values[0][h] * float(I[0])
        for i in range(1, w.shape[0]):
            total = total + w_values[i][h] * float(I[i])
        hidden.append(total.sigmoid(alpha))
    outputs = []
    for o in range(v.shape[1]):
        total = v_values[0][o] * hidden[0]
        for h in range(1, v.shape[0]):
            total = total + v_values[h][o] * hidden[h]
        outputs.append(total.sigmoid(alpha))
    errors = [mg.Value(float(d), requires_grad=False) - a for d, a in zip(desired, outputs)]  # Eq. 6.6
    loss = errors[0] * errors[0]
    for e in errors[1:]:
        loss = loss + e * e
    loss = 0.5 * loss                                                                      # Eq. 6.5
    loss.backward()
    grad_w = np.array([[x.grad for x in row] for row in w_values])
    grad_v = np.array([[x.grad for x in row] for row in v_values])
    return loss.item(), grad_w, grad_v


def assert_relative(got, want, scale=None, rel=REL):
    """max |got - want| / scale <= rel, elementwise (scale defaults to |want|)."""
    got, want = np.asarray(got), np.asarray(want)
    scale = np.abs(want) if scale is None else scale
    exact_zero = scale == 0
    assert np.all(got[exact_zero] == 0.0)  # e.g. I_i = 0: no gradient at all
    worst = float(np.max(np.abs(got - want)[~exact_zero] / scale[~exact_zero], initial=0.0))
    assert worst <= rel, worst


sizes = st.integers(min_value=1, max_value=8)


@settings(max_examples=300, deadline=None)
@given(n_in=sizes, n_hidden=sizes, n_out=sizes, alpha=st.sampled_from([0.5, 1.0, 2.0, 4.0]),
       seed=st.integers(0, 2**32 - 1))
def test_autodiff_equals_eq_6_30_and_the_input_to_hidden_formula(n_in, n_hidden, n_out, alpha, seed):
    rng = np.random.default_rng(seed)
    I = rng.uniform(-1, 1, n_in)
    w = rng.uniform(-1, 1, (n_in, n_hidden))
    v = rng.uniform(-1, 1, (n_hidden, n_out))
    desired = rng.integers(0, 2, n_out).astype(float)
    sse, grad_w, grad_v, scale_w = chapter_gradients(I, w, v, desired, alpha)
    for build in (tensor_network, scalar_network):
        got_sse, got_w, got_v = build(I, w, v, desired, alpha)
        assert got_sse == pytest.approx(sse, rel=REL)
        assert_relative(got_v, grad_v)
        assert_relative(got_w, grad_w, scale_w)


def test_one_pattern_of_the_xor_net_by_hand():
    """The chapter's 2-2-2 net on pattern (0,1) -> (1,0), every number checked."""
    I = np.array([0.0, 1.0])
    w = np.array([[0.5, -0.3], [0.8, 0.2]])
    v = np.array([[0.1, -0.7], [0.4, 0.9]])
    desired = np.array([1.0, 0.0])
    H = 1 / (1 + np.exp(-np.array([0.8, 0.2])))
    F = 1 / (1 + np.exp(-np.array([0.1 * H[0] + 0.4 * H[1], -0.7 * H[0] + 0.9 * H[1]])))
    E = desired - F
    # Eq. 6.30 element by element.
    want_v = np.array([[-E[o] * F[o] * (1 - F[o]) * H[h] for o in range(2)] for h in range(2)])
    _, got_w, got_v = tensor_network(I, w, v, desired, 1.0)
    assert_relative(got_v, want_v)
    assert np.all(got_w[0] == 0.0)  # I_0 = 0: no gradient reaches w[0, h]
