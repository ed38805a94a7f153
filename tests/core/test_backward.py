"""Reverse mode: reuse, repeated backward, deep graphs, modes."""

import gc
import threading
import weakref

import numpy as np
import pytest

import minigrad as mg


def test_node_used_twice_gets_both_contributions():
    a = mg.Value(3.0)
    (a + a).backward()
    assert a.grad == 2.0
    x = mg.Value(3.0)
    (x * x).backward()
    assert x.grad == 6.0


def test_diamond_b_equals_a_plus_a_then_c_equals_b_plus_b():
    a = mg.Value(1.5)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad == 4.0 and b.grad == 2.0 and c.grad == 1.0


def test_parents_keep_argument_order_and_duplicates():
    x = mg.Value(2.0)
    y = x * x
    assert y.parents == (x, x)
    z = mg.Value(5.0) - x
    assert z.parents[1] is x and z.op.name == "sub"


def test_second_backward_accumulates_leaves_but_not_intermediates():
    x = mg.Value(2.0)
    hidden = x * 3.0
    out = hidden ** 2
    out.backward(retain_graph=True)  # the graph is kept for the next pass, as in PyTorch
    assert x.grad == pytest.approx(36.0) and hidden.grad == pytest.approx(12.0)
    out.backward(retain_graph=True)
    assert x.grad == pytest.approx(72.0)      # leaf: accumulated, as in PyTorch
    assert hidden.grad == pytest.approx(12.0)  # intermediate: overwritten, never double counted
    x.zero_grad()
    out.backward()
    assert x.grad == pytest.approx(36.0)
    with pytest.raises(mg.FreedGraphError, match="already used up .* retain_graph=True"):
        out.backward()  # that pass did not keep it


def test_tensor_leaf_accumulates_and_owns_its_gradient(rng):
    w = mg.Value(rng.standard_normal((2, 2)))
    loss = (w + w).sum()
    loss.backward(retain_graph=True)
    first = w.grad.copy()
    loss.backward()
    np.testing.assert_array_equal(w.grad, 2 * first)
    w.grad[0, 0] = 100.0  # writable, and shared with no other node
    assert loss.grad == 1.0


def test_every_node_carries_a_gradient_after_backward():
    a, b = mg.Value(0.5), mg.Value(-1.0)
    h = (a * b).sigmoid()
    out = h * h + a
    assert h.grad is None
    out.backward()
    for node in (a, b, h, out, h.parents[0]):
        assert node.grad is not None
    assert out.grad == 1.0


def test_deep_chain_of_a_million_ops():
    y = x = mg.Value(1.0)
    for _ in range(500_000):
        y = y * 1.0000001 + 0.0
    y.backward()
    assert x.grad == pytest.approx(1.0000001 ** 500_000, rel=1e-9)


def test_deep_tensor_chain_and_long_sum():
    x = mg.Value(np.ones(3))
    y = x
    for _ in range(5_000):
        y = y * 1.0 + 1.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones(3))
    scalars = [mg.Value(float(i)) for i in range(2_000)]
    total = scalars[0]
    for s in scalars[1:]:
        total = total + s * s
    total.backward()
    assert scalars[1999].grad == 2 * 1999.0 and scalars[0].grad == 1.0


def test_nonscalar_root_needs_a_gradient(rng):
    x = mg.Value(rng.standard_normal((2, 3)))
    y = x * 2.0
    with pytest.raises(ValueError, match=r"shape \(2, 3\).*gradient="):
        y.backward()
    seed = rng.standard_normal((2, 3))
    y.backward(seed)
    np.testing.assert_allclose(x.grad, 2.0 * seed)
    with pytest.raises(ValueError, match=r"gradient has shape \(3,\)"):
        y.backward(np.ones(3))


def test_no_grad_records_nothing_and_is_per_thread():
    w = mg.Value(2.0)
    with mg.no_grad():
        y = w * 3.0
        assert not mg.is_grad_enabled()
        with mg.enable_grad():
            z = w * 3.0
    assert mg.is_grad_enabled()
    assert not y.requires_grad and y.parents == () and y.data == 6.0
    assert z.requires_grad and z.parents[0] is w
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()

    seen = {}

    def other_thread():
        seen["enabled"] = mg.is_grad_enabled()
        seen["recorded"] = (w * 2.0).requires_grad

    with mg.no_grad():
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
    assert seen == {"enabled": True, "recorded": True}


def test_no_grad_as_decorator():
    @mg.no_grad()
    def evaluate(v):
        return v * 2.0

    assert not evaluate(mg.Value(1.0)).requires_grad


def test_detach_and_constants_stop_gradients():
    x = mg.Value(2.0)
    y = x * x
    z = y.detach() * x
    z.backward()
    assert x.grad == 4.0  # only the direct factor
    c = mg.Value(5.0, requires_grad=False)
    out = c * x
    out.backward()
    assert c.grad is None and x.grad == 9.0


def test_backward_of_constant_graph_is_an_error():
    c = mg.Value(1.0, requires_grad=False)
    with pytest.raises(RuntimeError, match="no path to any leaf"):
        (c * 2.0).backward()


def test_graph_is_freed_by_reference_counting_alone(rng):
    gc.disable()
    try:
        w = mg.Value(rng.standard_normal((3, 3)))
        loss = ((w @ w).sigmoid() * 2.0).sum()
        loss.backward()
        middle = weakref.ref(loss.parents[0])
        del loss
        assert middle() is None
    finally:
        gc.enable()


def test_topological_order_puts_every_parent_before_its_children():
    from minigrad import topological_order

    x = mg.Value(0.5)
    s = x.sigmoid()
    y = s * x  # x is an ancestor of the first argument and the second argument itself
    order = topological_order(y)
    assert order == [x, s, y]
    a = mg.Value(1.0)
    b = a * 2.0
    c = (b + a) * (a + b.exp())
    position = {node: k for k, node in enumerate(topological_order(c))}
    for node in position:
        for parent in node.parents:
            assert position[parent] < position[node]
