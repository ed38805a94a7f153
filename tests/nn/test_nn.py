"""minigrad.nn: parameter names and counts, scalar-built and tensor-built nets
agreeing, and state dicts / .npz files that load all or nothing."""

import os
import pickle

import numpy as np
import pytest

import minigrad as mg
from minigrad.nn import MLP, Linear, Module, ScalarMLP, Sequential, Sigmoid


def snapshot(model):
    return {name: np.array(value.data, copy=True) for name, value in model.named_parameters()}


def assert_unchanged(model, before):
    after = snapshot(model)
    assert list(after) == list(before)
    for name in before:
        assert np.array_equal(after[name], before[name]), name


# -- names and counts ---------------------------------------------------------


def test_one_hidden_layer_uses_the_chapters_names():
    model = MLP([3, 4, 2], seed=0)
    assert [(name, value.shape) for name, value in model.named_parameters()] == [
        ("w", (3, 4)), ("bias_hidden", (4,)), ("v", (4, 2)), ("bias_output", (2,))]
    assert model.parameter_count() == 3 * 4 + 4 + 4 * 2 + 2
    assert [value.name for value in model.parameters()] == ["w", "bias_hidden", "v", "bias_output"]


def test_deeper_nets_get_numbered_names_and_bias_can_be_left_out():
    model = MLP([3, 5, 4, 2], seed=0)
    assert [name for name, _ in model.named_parameters()] == [
        "weight_1", "bias_1", "weight_2", "bias_2", "weight_3", "bias_3"]
    assert model.parameter_count() == 15 + 5 + 20 + 4 + 8 + 2
    bare = MLP([2, 2, 2], bias=False, seed=0)
    assert [name for name, _ in bare.named_parameters()] == ["w", "v"]
    assert bare.parameter_count() == 8


def test_scalar_net_names_every_weight_by_its_indices():
    model = ScalarMLP([2, 3, 2], seed=0)
    names = [name for name, _ in model.named_parameters()]
    assert names[:7] == ["w[0,0]", "w[0,1]", "w[0,2]", "w[1,0]", "w[1,1]", "w[1,2]", "bias_hidden[0]"]
    assert names[-2:] == ["bias_output[0]", "bias_output[1]"]
    assert model.parameter_count() == len(names) == 2 * 3 + 3 + 3 * 2 + 2


def test_walk_finds_values_in_lists_dicts_and_submodules_in_order():
    class Custom(Module):
        def __init__(self):
            self.first = mg.Value([1.0, 2.0])
            self.blocks = [Linear(2, 3, seed=0), {"gate": mg.Value(0.5)}]
            self.constant = mg.Value(3.0, requires_grad=False)  # not a parameter
            self.alias = self.first  # the same Value twice: listed once
            self._hidden = mg.Value(1.0)  # private attributes are skipped

    model = Custom()
    assert [name for name, _ in model.named_parameters()] == [
        "first", "blocks[0].weight", "blocks[0].bias", "blocks[1].gate"]
    assert model.parameter_count() == 2 + 6 + 3 + 1
    with pytest.raises(AttributeError):
        model.misspelled  # no __getattr__ fallback hides typos


def test_sequential_of_layers_names_and_computes_like_mlp():
    mlp = MLP([2, 3, 2], alpha=2.0, seed=4)
    net = Sequential(Linear(2, 3), Sigmoid(2.0), Linear(3, 2), Sigmoid(2.0))
    assert [name for name, _ in net.named_parameters()] == [
        "layers[0].weight", "layers[0].bias", "layers[2].weight", "layers[2].bias"]
    for (_, target), (_, source) in zip(net.named_parameters(), mlp.named_parameters()):
        target.data = source.data.copy()
    x = np.array([[0.3, -0.7], [1.0, 0.5]])
    assert np.array_equal(net(x).data, mlp(x).data)


def test_initial_weights_are_uniform_on_the_open_closed_interval():
    layer = Linear(200, 50, seed=1)
    assert layer.weight.shape == (200, 50) and layer.bias.shape == (50,)
    assert -1.0 < layer.weight.data.min() < -0.99 and 0.99 < layer.weight.data.max() <= 1.0
    scaled = Linear(200, 50, init="scaled", seed=1)
    bound = np.sqrt(6.0 / 250)
    assert np.abs(scaled.weight.data).max() <= bound
    assert np.allclose(scaled.weight.data, bound * layer.weight.data, rtol=1e-15)
    assert Linear(3, 2, bias=False).bias is None
    with pytest.raises(ValueError, match="init must be"):
        Linear(2, 2, init="gaussian")
    with pytest.raises(ValueError, match="sizes must be"):
        MLP([2])


# -- scalar-built and tensor-built nets agree ------------------------------------


@pytest.mark.parametrize("sizes, alpha, seed", [([2, 2, 2], 1.0, 0), ([3, 4, 2], 0.5, 1), ([4, 3, 3, 2], 2.0, 2)])
def test_scalar_and_tensor_nets_give_the_same_loss_and_gradients(sizes, alpha, seed):
    tensor_net = MLP(sizes, alpha=alpha, seed=seed)
    scalar_net = ScalarMLP(sizes, alpha=alpha, seed=seed)
    # Same seed, same numbers: the state dicts match exactly.
    for name, array in tensor_net.state_dict().items():
        assert np.array_equal(scalar_net.state_dict()[name], array)
    rng = np.random.default_rng(seed)
    inputs = rng.random(sizes[0])
    desired = np.eye(sizes[-1])[rng.integers(sizes[-1])]
    tensor_loss = tensor_net.loss(inputs, desired)
    scalar_loss = scalar_net.loss(inputs, desired)
    tensor_loss.backward()
    scalar_loss.backward()
    assert scalar_loss.data == pytest.approx(float(tensor_loss.data), rel=1e-13)
    tensor_grads = {name: value.grad for name, value in tensor_net.named_parameters()}
    for name, value in scalar_net.named_parameters():
        stem, _, index = name.partition("[")
        element = tensor_grads[stem][tuple(int(i) for i in index.rstrip("]").split(","))]
        assert value.grad == pytest.approx(float(element), rel=1e-12, abs=1e-300), name


def test_from_mlp_copies_the_numbers_not_the_values():
    tensor_net = MLP([2, 2, 2], seed=3)
    scalar_net = ScalarMLP.from_mlp(tensor_net)
    assert scalar_net.state_dict().keys() == tensor_net.state_dict().keys()
    scalar_net.w[0][0].data = 5.0
    assert tensor_net.w.data[0, 0] != 5.0


# -- state dicts -----------------------------------------------------------------


def test_state_dict_round_trips_between_tensor_and_scalar_nets():
    source = MLP([3, 2, 2], seed=1)
    state = source.state_dict()
    assert list(state) == ["w", "bias_hidden", "v", "bias_output"]
    state["w"][0, 0] = 99.0  # a copy: the model is not changed through it
    assert source.w.data[0, 0] != 99.0

    scalar = ScalarMLP([3, 2, 2], seed=7)
    scalar.load_state_dict(source.state_dict())
    assert scalar.w[2][1].data == source.w.data[2, 1]
    assert scalar.bias_output[1].data == source.bias_output.data[1]
    back = MLP([3, 2, 2], seed=8)
    back.load_state_dict(scalar.state_dict())
    for name, array in source.state_dict().items():
        assert np.array_equal(back.state_dict()[name], array)
    x = np.array([0.2, 0.9, -0.4])
    assert np.array_equal(back(x).data, source(x).data)


def test_load_keeps_dtype_and_clears_stale_gradients():
    model = MLP([2, 2, 2], seed=0, dtype=np.float32)
    model.loss([0.0, 1.0], [1.0, 0.0]).backward()
    model.load_state_dict(MLP([2, 2, 2], seed=1).state_dict())  # float64 arrays
    assert all(value.dtype == np.float32 and value.grad is None for value in model.parameters())
    assert np.allclose(model.w.data, MLP([2, 2, 2], seed=1).w.data, rtol=1e-7)


@pytest.mark.parametrize("edit, error, message", [
    (lambda s: s.update(v=np.zeros((3, 2))), ValueError, r"'v' has shape \(2, 2\) in the model but \(3, 2\)"),
    (lambda s: s.pop("bias_output"), ValueError, r"missing parameter\(s\) 'bias_output'"),
    (lambda s: s.update(extra=np.zeros(2)), ValueError, r"unexpected parameter\(s\) 'extra'"),
    (lambda s: s.update(bias_output=np.array(["a", "b"])), TypeError, r"'bias_output' has dtype"),
    (lambda s: s.update(bias_output=np.array([True, False])), TypeError, r"'bias_output' has dtype"),
])
def test_mismatched_state_is_refused_and_nothing_is_half_loaded(edit, error, message):
    model = MLP([2, 2, 2], seed=0)
    before = snapshot(model)
    state = MLP([2, 2, 2], seed=1).state_dict()  # w (first) would load fine on its own
    edit(state)
    with pytest.raises(error, match=message):
        model.load_state_dict(state)
    assert_unchanged(model, before)


def test_scalar_net_refuses_a_mismatched_state_unchanged():
    model = ScalarMLP([2, 2, 2], seed=0)
    before = snapshot(model)
    state = MLP([2, 3, 2], seed=1).state_dict()
    with pytest.raises(ValueError, match=r"'w' has shape \(2, 2\) in the model but \(2, 3\)"):
        model.load_state_dict(state)
    assert_unchanged(model, before)


# -- save / load -------------------------------------------------------------------


def test_save_and_load_round_trip(tmp_path):
    source = MLP([2, 3, 2], seed=1)
    path = tmp_path / "weights.npz"
    assert source.save(path) == str(path)
    with np.load(path, allow_pickle=False) as archive:
        assert sorted(archive.files) == ["bias_hidden", "bias_output", "v", "w"]
        assert np.array_equal(archive["w"], source.w.data)
    target = MLP([2, 3, 2], seed=2)
    assert target.load(path) is target
    assert all(np.array_equal(target.state_dict()[k], a) for k, a in source.state_dict().items())
    scalar = ScalarMLP([2, 3, 2], seed=3).load(str(path))
    assert scalar.v[2][1].data == source.v.data[2, 1]
    assert [p.name for p in tmp_path.iterdir()] == ["weights.npz"]  # no temporary files left


def test_save_is_atomic_when_the_final_move_fails(tmp_path, monkeypatch):
    path = tmp_path / "weights.npz"
    MLP([2, 2, 2], seed=0).save(path)
    old_bytes = path.read_bytes()

    def broken_replace(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        MLP([2, 2, 2], seed=1).save(path)
    assert path.read_bytes() == old_bytes
    assert [p.name for p in tmp_path.iterdir()] == ["weights.npz"]


def test_save_into_a_missing_folder_is_a_clear_error(tmp_path):
    path = tmp_path / "no" / "such" / "weights.npz"
    with pytest.raises(FileNotFoundError) as raised:
        MLP([2, 2, 2]).save(path)
    assert str(raised.value) == (f"save: cannot write {str(path)!r}: folder {str(path.parent)!r} does not exist; "
                                 "nothing was written")
    assert list(tmp_path.iterdir()) == []


def test_save_over_a_read_only_file_leaves_it_intact(tmp_path):
    path = tmp_path / "weights.npz"
    MLP([2, 2, 2], seed=0).save(path)
    old_bytes = path.read_bytes()
    path.chmod(0o444)
    try:
        with pytest.raises(PermissionError, match="read-only"):
            MLP([2, 2, 2], seed=1).save(path)
        assert path.read_bytes() == old_bytes
        assert [p.name for p in tmp_path.iterdir()] == ["weights.npz"]
    finally:
        path.chmod(0o644)


def corrupt_files(folder):
    """name -> path of files that `load` must refuse."""
    good = folder / "good.npz"
    MLP([2, 2, 2], seed=5).save(good)
    data = good.read_bytes()
    files = {}
    files["truncated"] = folder / "truncated.npz"
    files["truncated"].write_bytes(data[: len(data) // 2])
    files["empty"] = folder / "empty.npz"
    files["empty"].write_bytes(b"")
    files["text"] = folder / "text.npz"
    files["text"].write_text("w = [[1, 2], [3, 4]]\n")
    files["pickle"] = folder / "pickle.npz"
    files["pickle"].write_bytes(pickle.dumps({"w": np.zeros((2, 2))}))
    files["object array"] = folder / "object.npz"
    np.savez(files["object array"], w=np.array([None, 1], dtype=object))
    files["single npy"] = folder / "single.npy"
    np.save(files["single npy"], np.zeros((2, 2)))
    return files


@pytest.mark.parametrize("kind", ["truncated", "empty", "text", "pickle", "object array", "single npy"])
def test_corrupt_or_pickle_bearing_files_are_refused_and_the_model_is_unchanged(tmp_path, kind):
    path = corrupt_files(tmp_path)[kind]
    for model in (MLP([2, 2, 2], seed=0), ScalarMLP([2, 2, 2], seed=0)):
        before = snapshot(model)
        with pytest.raises(ValueError, match=r"load: .*" + path.name):
            model.load(path)
        assert_unchanged(model, before)


def test_loading_a_file_for_another_shape_names_the_parameter(tmp_path):
    path = tmp_path / "wide.npz"
    MLP([2, 5, 2]).save(path)
    model = MLP([2, 2, 2], seed=0)
    before = snapshot(model)
    with pytest.raises(ValueError, match=r"wide.npz.*parameter 'w' has shape \(2, 2\) in the model but \(2, 5\)"):
        model.load(path)
    assert_unchanged(model, before)
    with pytest.raises(FileNotFoundError):
        model.load(tmp_path / "missing.npz")
