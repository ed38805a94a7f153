"""Model files that hold nan or inf (a warning, or a refusal with strict=True), and a sigmoid gain
refused when the model is built, not at its first forward pass."""

import math
import warnings

import numpy as np
import pytest

import minigrad as mg


def state_with(value):
    state = mg.nn.MLP([2, 3, 2], seed=0).state_dict()
    state["w"][0, 1] = value
    state["v"][2, 0] = -np.inf
    return state


@pytest.mark.parametrize("value, shown", [(np.nan, "nan"), (np.inf, "inf")])
def test_load_state_dict_warns_about_nan_or_inf_and_loads(value, shown):
    net = mg.nn.MLP([2, 3, 2], seed=1)
    with pytest.warns(RuntimeWarning, match=rf"^load_state_dict: parameter 'w' holds {shown} at \(0, 1\) \(2 numbers "
                                            r"that are not finite in all\); loaded as it is \(strict=True refuses"):
        net.load_state_dict(state_with(value))
    np.testing.assert_array_equal(net.w.data, state_with(value)["w"])


def test_load_state_dict_strict_refuses_nan_and_leaves_the_model_unchanged():
    net = mg.nn.MLP([2, 3, 2], seed=1)
    before = net.state_dict()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"parameter 'w' holds nan at \(0, 1\).*refused \(strict=True\), the "
                                             r"model is unchanged"):
            net.load_state_dict(state_with(np.nan), strict=True)
        for name, array in net.state_dict().items():
            np.testing.assert_array_equal(array, before[name])
        net.load_state_dict(mg.nn.MLP([2, 3, 2], seed=5).state_dict(), strict=True)  # finite: no warning


def test_load_of_a_file_with_inf_warns_naming_the_file_or_refuses(tmp_path):
    source = mg.nn.MLP([2, 3, 2], seed=0)
    with pytest.warns(RuntimeWarning):
        source.load_state_dict(state_with(np.inf))
    path = str(tmp_path / "diverged.npz")
    source.save(path)
    net = mg.nn.MLP([2, 3, 2], seed=1)
    with pytest.warns(RuntimeWarning, match=rf"^load: {path!r}: parameter 'w' holds inf at \(0, 1\)") as caught:
        net.load(path)
    assert caught[0].filename == __file__  # the warning points at the caller's line
    assert math.isinf(net.w.data[0, 1])
    fresh = mg.nn.MLP([2, 3, 2], seed=1)
    with pytest.raises(ValueError, match=rf"^load: {path!r}: .*holds inf .*refused \(strict=True\)"):
        fresh.load(path, strict=True)
    np.testing.assert_array_equal(fresh.w.data, mg.nn.MLP([2, 3, 2], seed=1).w.data)


def test_the_shape_and_dtype_checks_stay(tmp_path):
    net = mg.nn.MLP([2, 3, 2], seed=0)
    state = net.state_dict()
    state["w"] = np.zeros((3, 2))
    with pytest.raises(ValueError, match="has shape"):
        net.load_state_dict(state, strict=True)
    state["w"] = np.array([["a"] * 3] * 2)
    with pytest.raises(TypeError, match="expected real numbers"):
        net.load_state_dict(state)


@pytest.mark.parametrize("alpha", [math.nan, -1, 0, -0.0, math.inf, -math.inf])
@pytest.mark.parametrize("build", [lambda a: mg.nn.MLP([2, 3, 1], alpha=a), lambda a: mg.nn.ScalarMLP([2, 2, 1], alpha=a),
                                   lambda a: mg.nn.Sigmoid(a)], ids=["MLP", "ScalarMLP", "Sigmoid"])
def test_a_bad_gain_is_refused_when_the_model_is_built(build, alpha):
    with pytest.raises(ValueError, match=r"alpha \(.*gain\) must be finite and > 0, got"):
        build(alpha)


def test_a_gain_that_is_not_a_number_is_refused_when_built():
    with pytest.raises(TypeError, match=r"^MLP: alpha \(the sigmoid's gain\) must be a real number, got str '2'"):
        mg.nn.MLP([2, 3, 1], alpha="2")
    assert mg.nn.MLP([2, 3, 1], alpha=2).alpha == 2  # a good gain is kept as given
