"""Modules, functional ops, initialisation, clipping, data and seeds, in PyTorch's habit (issue 19)."""

import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F

torch = pytest.importorskip("torch")


def test_train_and_eval_reach_every_module():
    model = nn.Sequential(nn.Linear(3, 4, seed=0), nn.ReLU(), nn.Dropout(0.5), nn.Linear(4, 2, seed=1))
    assert model.training and all(layer.training for layer in model.layers)
    assert model.eval() is model
    assert not model.training and not any(layer.training for layer in model.layers)
    model.train()
    assert all(module.training for module in model.modules()) and len(model.modules()) == 5
    with pytest.raises(TypeError, match="mode must be True or False, got 'no'"):
        model.train("no")


def test_dropout_is_inverted_seeded_and_off_in_eval():
    x = mg.Value(np.ones((200, 50)))
    layer = nn.Dropout(0.25, seed=3)
    out = layer(x)
    kept = out.data != 0
    np.testing.assert_array_equal(out.data[kept], np.full(kept.sum(), 1 / 0.75))  # scaled by 1/(1 − p)
    assert abs(kept.mean() - 0.75) < 0.01  # 10,000 elements: σ of the kept fraction is 0.004
    expected_mask = np.random.default_rng(3).random((200, 50)) >= 0.25
    np.testing.assert_array_equal(kept, expected_mask)  # the mask is the seed's
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, np.where(expected_mask, 1 / 0.75, 0.0))  # the gradient is masked too
    layer.eval()
    assert layer(x) is x
    assert nn.Dropout(1.0)(x).data.sum() == 0.0 and nn.Dropout(0.0)(x) is x
    for bad, kind in ((1.5, ValueError), (-0.1, ValueError), (math.nan, ValueError), ("0.5", TypeError)):
        with pytest.raises(kind, match="Dropout: p must be a probability"):
            nn.Dropout(bad)


def test_manual_seed_repeats_creation_init_and_dropout():
    def run():
        mg.manual_seed(7)
        model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5))
        return mg.rand((2,)).data, model.layers[0].weight.data.copy(), model(np.ones((5, 3))).data
    first, second = run(), run()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    mg.manual_seed(8)
    assert not np.array_equal(mg.rand((2,)).data, first[0])
    with pytest.raises(TypeError, match="manual_seed: seed must be a non-negative int, got -1"):
        mg.manual_seed(-1)


def test_to_float_double_cast_every_parameter():
    model = nn.MLP([2, 3, 2], seed=0)
    before = model.w.data.copy()
    model.w.grad = np.ones((2, 3))
    assert model.float() is model
    assert all(value.dtype == np.float32 for value in model.parameters()) and model.w.grad is None
    np.testing.assert_array_equal(model.w.data, before.astype(np.float32))
    assert model(np.ones(2)).dtype == np.float32
    model.double()
    assert all(value.dtype == np.float64 for value in model.parameters())
    model.to(np.float32)
    assert model.v.dtype == np.float32
    with pytest.raises(TypeError, match="to: dtype must be float64 or float32, got <class 'numpy.int64'>"):
        model.to(np.int64)
    with pytest.raises(TypeError, match="ScalarMLP holds its weights as Python floats"):
        nn.ScalarMLP([2, 2, 2]).float()


def test_softmax_and_loss_modules_match_torch():
    rng = np.random.default_rng(0)
    logits, labels = rng.normal(size=(5, 4)), np.array([0, 3, 1, 1, 2])
    outputs, targets = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    t_logits = torch.tensor(logits, requires_grad=True)
    np.testing.assert_allclose(nn.Softmax()(mg.Value(logits)).data, torch.softmax(t_logits, -1).detach().numpy(),
                               rtol=1e-14)
    np.testing.assert_allclose(nn.Softmax(axis=0)(mg.Value(logits)).data, torch.softmax(t_logits, 0).detach().numpy(),
                               rtol=1e-14)
    for reduction in ("mean", "sum"):
        ours = mg.Value(logits)
        loss = nn.CrossEntropyLoss(reduction)(ours, labels)
        reference = torch.nn.CrossEntropyLoss(reduction=reduction)(t_logits, torch.tensor(labels))
        assert loss.item() == pytest.approx(reference.item(), rel=1e-14)
        loss.backward()
        t_logits.grad = None
        reference.backward()
        np.testing.assert_allclose(ours.grad, t_logits.grad.numpy(), rtol=1e-13, atol=1e-16)
    assert nn.MSELoss()(mg.Value(outputs), targets).item() == pytest.approx(
        torch.nn.MSELoss()(torch.tensor(outputs), torch.tensor(targets)).item(), rel=1e-14)
    assert nn.SSELoss()(mg.Value(outputs), targets).item() == pytest.approx(0.5 * np.sum((targets - outputs) ** 2),
                                                                             rel=1e-14)
    with pytest.raises(ValueError, match="CrossEntropyLoss: reduction must be 'mean' or 'sum', got 'none'"):
        nn.CrossEntropyLoss("none")


def test_functional_ops_match_torch_and_the_chapter():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 4))
    t = torch.tensor(x)
    alpha = 2.5
    np.testing.assert_allclose(F.sigmoid(x, alpha).data, 1 / (1 + np.exp(-alpha * x)), rtol=1e-15)  # Eq. 6.1
    np.testing.assert_allclose(F.relu(x).data, torch.relu(t).numpy(), rtol=0)
    np.testing.assert_allclose(F.tanh(x).data, torch.tanh(t).numpy(), rtol=1e-15)
    np.testing.assert_allclose(F.softmax(x, 0).data, torch.softmax(t, 0).numpy(), rtol=1e-14)
    np.testing.assert_allclose(F.log_softmax(x, -1).data, torch.log_softmax(t, -1).numpy(), rtol=1e-14)
    weight, bias = rng.normal(size=(4, 2)), rng.normal(size=2)
    # minigrad's weight is (inputs, outputs); torch's F.linear takes (outputs, inputs).
    np.testing.assert_allclose(F.linear(x, weight, bias).data,
                               torch.nn.functional.linear(t, torch.tensor(weight.T), torch.tensor(bias)).numpy(),
                               rtol=1e-14)
    assert F.cross_entropy is mg.cross_entropy and F.mse is mg.mse and F.sse is mg.sse
    assert F.dropout(x, 0.5, training=False) is x
    np.testing.assert_array_equal(F.dropout(x, 0.5, seed=2).data,
                                  x * (np.random.default_rng(2).random(x.shape) >= 0.5) * 2.0)


def test_clip_grad_norm_matches_torch():
    rng = np.random.default_rng(2)
    arrays = [rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=())]
    for norm_type in (2.0, 1.0, 3.0, math.inf):
        for max_norm in (0.5, 100.0):
            ours = [mg.Value(a) for a in arrays]
            theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
            for value, tensor, array in zip(ours, theirs, arrays):
                value.grad = np.asarray(3.0 * array)  # a 0-d array stays one
                tensor.grad = torch.tensor(3.0 * array)
            total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
            reference = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
            assert total == pytest.approx(reference.item(), rel=1e-13), (norm_type, max_norm)
            for value, tensor in zip(ours, theirs):
                np.testing.assert_allclose(value.grad, tensor.grad.numpy(), rtol=1e-13, atol=1e-15)
                assert np.shape(value.grad) == value.shape and value.grad.dtype == np.float64
    model = nn.MLP([2, 2, 2], seed=0)
    assert nn.utils.clip_grad_norm_(model, 1.0) == 0.0  # no gradients yet
    model.w.grad = np.full((2, 2), np.inf)
    with pytest.raises(RuntimeError, match="total norm of the gradients is inf"):
        nn.utils.clip_grad_norm_(model, 1.0, error_if_nonfinite=True)
    with pytest.raises(ValueError, match="max_norm must be a number > 0, got -1"):
        nn.utils.clip_grad_norm_(model, -1)


@pytest.mark.parametrize("name, bound, normal", [
    ("xavier_uniform_", math.sqrt(6 / (300 + 200)), False),
    ("xavier_normal_", math.sqrt(2 / (300 + 200)), True),
    ("kaiming_uniform_", math.sqrt(2) * math.sqrt(3 / 300), False),
    ("kaiming_normal_", math.sqrt(2) / math.sqrt(300), True),
])
def test_init_functions_follow_torchs_formulas(name, bound, normal):
    weight = mg.Value(np.zeros((300, 200)))  # (inputs, outputs): fan_in 300, fan_out 200
    version = weight.version
    assert getattr(nn.init, name)(weight, seed=0) is weight and weight.version > version
    data = weight.data
    if normal:  # 60,000 draws: the sample σ is within 1% of σ
        assert data.std() == pytest.approx(bound, rel=0.01) and abs(data.mean()) < 0.01 * bound
    else:
        assert np.abs(data).max() <= bound and np.abs(data).max() > 0.999 * bound
        assert data.std() == pytest.approx(bound / math.sqrt(3), rel=0.01)
    torch_weight = torch.empty(200, 300, dtype=torch.float64)  # torch's layout (outputs, inputs)
    getattr(torch.nn.init, name)(torch_weight)
    assert torch_weight.std().item() == pytest.approx(data.std(), rel=0.02)


def test_init_gains_modes_and_errors():
    assert nn.init.calculate_gain("tanh") == 5 / 3 and nn.init.calculate_gain("relu") == math.sqrt(2)
    for name in ("linear", "sigmoid", "tanh", "relu", "selu", "leaky_relu"):
        assert nn.init.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name), rel=1e-15)
    weight = mg.Value(np.zeros((400, 100)))
    nn.init.kaiming_normal_(weight, mode="fan_out", nonlinearity="relu", seed=1)
    assert weight.data.std() == pytest.approx(math.sqrt(2 / 100), rel=0.01)
    with pytest.raises(ValueError, match=r"fan_in and fan_out need a weight of two axes .* got shape \(3,\)"):
        nn.init.xavier_uniform_(mg.Value(np.zeros(3)))
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out', got 'fan'"):
        nn.init.kaiming_uniform_(weight, mode="fan")
    with pytest.raises(ValueError, match="nonlinearity must be one of"):
        nn.init.kaiming_uniform_(weight, nonlinearity="swish")


@pytest.mark.parametrize("init, spread, normal", [("xavier", math.sqrt(6 / 500), False),
                                                  ("he", math.sqrt(6 / 300), False),
                                                  ("xavier_normal", math.sqrt(2 / 500), True),
                                                  ("he_normal", math.sqrt(2 / 300), True)])
def test_layers_take_an_init_by_name(init, spread, normal):
    layer = nn.Linear(300, 200, init=init, seed=0)
    data = layer.weight.data
    np.testing.assert_array_equal(layer.bias.data, np.zeros(200))
    if normal:
        assert data.std() == pytest.approx(spread, rel=0.01)
    else:
        assert np.abs(data).max() <= spread and data.std() == pytest.approx(spread / math.sqrt(3), rel=0.01)
    assert nn.MLP([300, 200, 10], init=init, seed=0).w.data.std() == pytest.approx(data.std(), rel=1e-12)
    with pytest.raises(ValueError, match="init must be 'uniform', 'scaled', 'xavier', 'xavier_normal', 'he'"):
        nn.Linear(2, 2, init="kaiming")


def test_batches_cover_every_row_once_per_epoch():
    inputs, labels = np.arange(20).reshape(10, 2), np.arange(10)
    seen = []
    for batch_inputs, batch_labels in mg.data.batches(inputs, labels, 4, seed=0):
        np.testing.assert_array_equal(batch_inputs[:, 0] // 2, batch_labels)  # rows stay paired
        seen.append(len(batch_labels))
        assert list(batch_labels) != list(range(len(batch_labels))) or len(seen) > 1
    assert seen == [4, 4, 2]
    order = np.concatenate([labels for _, labels in mg.data.batches(inputs, labels, 4, seed=0)])
    np.testing.assert_array_equal(order, np.random.default_rng(0).permutation(10))
    assert sorted(order) == list(range(10))
    assert [len(b) for b in mg.data.batches(inputs, batch_size=4, shuffle=False, drop_last=True)] == [4, 4]
    np.testing.assert_array_equal(next(iter(mg.data.batches(inputs, batch_size=3, shuffle=False))), inputs[:3])
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        mg.data.batches(inputs, labels, 0)
    with pytest.raises(ValueError, match=r"inputs have 10 rows but targets have shape \(9,\)"):
        mg.data.batches(inputs, labels[:9], 2)
    with pytest.raises(TypeError, match="batches: batch_size must be an integer, got float 2.5"):
        mg.data.batches(inputs, labels, 2.5)
    with pytest.raises(TypeError, match="batches: shuffle must be True or False, got str 'yes'"):
        mg.data.batches(inputs, labels, 2, shuffle="yes")
    with pytest.raises(TypeError, match="batches: drop_last must be True or False, got int 1"):
        mg.data.batches(inputs, labels, 2, drop_last=1)


def test_accuracy_is_exported_where_users_look():
    assert mg.accuracy is mg.training.accuracy is mg.nn.training.accuracy


def test_state_dicts_of_mlp_and_sequential_keep_their_names_and_refuse_each_other():
    mlp = nn.MLP([2, 3, 2], seed=0)
    sequential = nn.Sequential(nn.Linear(2, 3, seed=0), nn.Sigmoid(), nn.Linear(3, 2, seed=1), nn.Sigmoid())
    assert list(mlp.state_dict()) == ["w", "bias_hidden", "v", "bias_output"]
    assert list(sequential.state_dict()) == ["layers[0].weight", "layers[0].bias", "layers[2].weight",
                                             "layers[2].bias"]
    with pytest.raises(ValueError, match=r"missing parameter\(s\) 'layers\[0\].weight'.*unexpected parameter\(s\) "
                                         r"'w', 'bias_hidden'.*another kind of model"):
        sequential.load_state_dict(mlp.state_dict())
    with pytest.raises(ValueError, match=r"missing parameter\(s\) 'w'.*unexpected parameter\(s\) "
                                         r"'layers\[0\].weight'.*another kind of model"):
        mlp.load_state_dict(sequential.state_dict())


def test_predict_accuracy_and_train_checks_run_in_evaluation_mode():
    model = nn.Sequential(nn.Linear(3, 8, seed=0), nn.ReLU(), nn.Dropout(0.5, seed=1), nn.Linear(8, 2, seed=2))
    inputs = np.random.default_rng(0).random((6, 3))
    first, second = mg.training.predict(model, inputs), mg.training.predict(model, inputs)
    np.testing.assert_array_equal(first, second)  # no dropout: the same numbers twice
    assert model.training and model.layers[2].training  # the mode is put back
    model.eval()
    np.testing.assert_array_equal(model(inputs).data, first)
    model.train()
    assert not np.array_equal(model(inputs).data, first)  # in training mode the mask thins the layer
    labels = np.array([0, 1, 0, 1, 1, 0])
    result = mg.train(model, inputs, labels, mode="batch", loss="cross_entropy", lr=0.1, epochs=3, quiet=True)
    assert result.history[0] == pytest.approx(mg.training.total_loss(
        nn.Sequential(nn.Linear(3, 8, seed=0), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 2, seed=2)),
        inputs, labels, "cross_entropy"), rel=1e-15)
    assert model.training
