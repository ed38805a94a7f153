"""Values made from a shape (zeros, ones, full, rand, randn, uniform) and the
MLP's activation choices (nn.Tanh, nn.ReLU, MLP(activation=, output=))."""

import numpy as np
import pytest

import minigrad as mg


@pytest.mark.parametrize("make, expected", [
    (lambda **kw: mg.zeros((2, 3), **kw), np.zeros((2, 3))),
    (lambda **kw: mg.ones(4, **kw), np.ones(4)),
    (lambda **kw: mg.full((), 2.5, **kw), np.array(2.5)),
])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, "float32"])
def test_constant_makers(make, expected, dtype):
    value = make(dtype=dtype)
    assert type(value.data) is np.ndarray and value.data.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(value.data, expected)
    assert value.requires_grad is False and value.name is None
    named = make(dtype=dtype, requires_grad=True)
    assert named.requires_grad and named.is_leaf


def test_random_makers_are_seeded_and_draw_from_a_generator():
    np.testing.assert_array_equal(mg.rand((2, 2), seed=3).data, np.random.default_rng(3).random((2, 2)))
    np.testing.assert_array_equal(mg.randn(5, seed=3).data, np.random.default_rng(3).standard_normal(5))
    np.testing.assert_array_equal(mg.uniform(5, -2.0, 3.0, seed=3).data, np.random.default_rng(3).uniform(-2, 3, 5))
    generator = np.random.default_rng(0)
    first, second = mg.rand(3, seed=generator), mg.rand(3, seed=generator)
    assert not np.array_equal(first.data, second.data)           # the generator moves on
    values = mg.uniform(10_000, seed=1).data
    assert values.min() >= -1.0 and values.max() < 1.0 and abs(values.mean()) < 0.05
    assert mg.randn((3,), seed=0, dtype=np.float32, requires_grad=True, name="w").data.dtype == np.float32


@pytest.mark.parametrize("call, error, message", [
    (lambda: mg.zeros(-1), ValueError, r"zeros: shape -1 has a negative size"),
    (lambda: mg.ones((2, 1.5)), TypeError, r"ones: shape must be an int or a tuple of ints"),
    (lambda: mg.zeros("3"), TypeError, r"zeros: shape must be an int or a tuple of ints"),
    (lambda: mg.zeros(3, dtype=np.int64), TypeError, r"zeros: dtype must be float64 or float32"),
    (lambda: mg.full(3, "x"), TypeError, r"full: fill_value must be a real number"),
    (lambda: mg.rand(3, seed=-1), TypeError, r"rand: seed must be a non-negative int"),
    (lambda: mg.uniform(3, 1.0, 1.0), ValueError, r"uniform: low must be below high"),
    (lambda: mg.uniform(3, float("nan"), 1.0), ValueError, r"uniform: low must be a finite real number"),
])
def test_bad_arguments_name_the_function(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_tanh_and_relu_layers_match_their_ops():
    x = mg.Value([-1.0, 0.5, 2.0])
    np.testing.assert_array_equal(mg.nn.Tanh()(x).data, np.tanh(x.data))
    np.testing.assert_array_equal(mg.nn.ReLU()(x).data, [0.0, 0.5, 2.0])
    assert mg.nn.Tanh().parameters() == [] and mg.nn.ReLU().parameters() == []


@pytest.mark.parametrize("activation, function", [
    ("sigmoid", lambda z: 1 / (1 + np.exp(-1.5 * z))), ("tanh", np.tanh), ("relu", lambda z: np.maximum(z, 0))])
@pytest.mark.parametrize("output", [None, "linear"])
def test_mlp_activations_keep_the_chapter_names_and_compute_what_they_say(activation, function, output):
    net = mg.nn.MLP([3, 4, 2], alpha=1.5, seed=0, activation=activation, output=output)
    assert [name for name, _ in net.named_parameters()] == ["w", "bias_hidden", "v", "bias_output"]
    x = np.random.default_rng(1).random((5, 3))
    hidden = function(x @ net.w.data + net.bias_hidden.data)
    outputs = hidden @ net.v.data + net.bias_output.data
    expected = outputs if output == "linear" else function(outputs)
    np.testing.assert_allclose(net(x).data, expected, rtol=1e-13, atol=1e-15)
    loss = net.loss(x, np.zeros((5, 2)))
    loss.backward()
    assert all(value.grad is not None and np.all(np.isfinite(value.grad)) for value in net.parameters())


def test_the_default_mlp_is_the_chapters_and_bad_names_are_refused():
    net = mg.nn.MLP([2, 2, 2])
    assert (net.activation, net.output) == ("sigmoid", "sigmoid")
    with pytest.raises(ValueError, match=r"MLP: activation must be one of 'sigmoid', 'tanh', 'relu', got 'softplus'"):
        mg.nn.MLP([2, 2, 2], activation="softplus")
    with pytest.raises(ValueError, match=r"MLP: output must be one of .*'linear', got 'softmax'"):
        mg.nn.MLP([2, 2, 2], output="softmax")
    with pytest.raises(ValueError, match=r"compare: the chapter's formulas are for sigmoid layers"):
        mg.compare(mg.nn.MLP([2, 2, 2], activation="tanh"))
    with pytest.raises(ValueError, match=r"from_mlp: a ScalarMLP is the chapter's sigmoid net"):
        mg.nn.ScalarMLP.from_mlp(mg.nn.MLP([2, 2, 2], activation="relu"))
