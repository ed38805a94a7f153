"""Every update rule and schedule of minigrad.optim against PyTorch's, in float64, over several steps."""

import math

import numpy as np
import pytest

import minigrad as mg
from minigrad.optim import SGD, Adam, AdamW
from minigrad.optim import lr_scheduler

torch = pytest.importorskip("torch")

STEPS = 12


def pair(seed=0, shapes=((3, 2), (2,), ())):
    """The same parameters in minigrad and in torch (a 0-d array among them)."""
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(size=shape) for shape in shapes]
    ours = [mg.Value(array.copy()) for array in arrays]
    theirs = [torch.tensor(array.copy(), dtype=torch.float64, requires_grad=True) for array in arrays]
    return ours, theirs


def gradient(data, step, position):
    """A gradient that depends on where the parameter is (so a wrong step shows in later ones)."""
    rng = np.random.default_rng(1000 * step + position)
    return 2.0 * data + np.sin(3.0 * data) + rng.normal(size=np.shape(data))


def run_both(ours, theirs, optimizer, reference, steps=STEPS, after_step=None):
    for step in range(steps):
        for position, (mine, torch_parameter) in enumerate(zip(ours, theirs)):
            mine.grad = gradient(np.asarray(mine.data), step, position)
            torch_parameter.grad = torch.tensor(gradient(torch_parameter.detach().numpy(), step, position))
        optimizer.step()
        reference.step()
        if after_step is not None:
            after_step(step)
        for mine, torch_parameter in zip(ours, theirs):
            np.testing.assert_allclose(mine.data, torch_parameter.detach().numpy(), rtol=1e-12, atol=1e-12,
                                       err_msg=f"step {step}")


SGD_SETTINGS = [
    {},
    {"momentum": 0.9},
    {"momentum": 0.9, "dampening": 0.3},
    {"momentum": 0.8, "nesterov": True},
    {"weight_decay": 0.05},
    {"momentum": 0.9, "weight_decay": 0.01, "nesterov": True},
    {"momentum": 0.5, "maximize": True},
]


@pytest.mark.parametrize("settings", SGD_SETTINGS, ids=lambda settings: ",".join(settings) or "plain")
def test_sgd_matches_torch(settings):
    ours, theirs = pair()
    run_both(ours, theirs, SGD(ours, lr=0.05, **settings), torch.optim.SGD(theirs, lr=0.05, **settings))


ADAM_SETTINGS = [
    {},
    {"betas": (0.8, 0.95), "eps": 1e-6},
    {"weight_decay": 0.1},
    {"amsgrad": True},
    {"weight_decay": 0.05, "amsgrad": True, "maximize": True},
]


@pytest.mark.parametrize("settings", ADAM_SETTINGS, ids=lambda settings: ",".join(settings) or "plain")
@pytest.mark.parametrize("kind", ["Adam", "AdamW"])
def test_adam_and_adamw_match_torch(kind, settings):
    ours, theirs = pair(1)
    mine = {"Adam": Adam, "AdamW": AdamW}[kind](ours, lr=0.01, **settings)
    run_both(ours, theirs, mine, getattr(torch.optim, kind)(theirs, lr=0.01, **settings))


def test_adamw_decays_the_weights_and_adam_the_gradient():
    """The two differ exactly where the decay goes: AdamW's first step is p(1 − lr·λ) − lr·sign(g)."""
    value_w, value_a = mg.Value([2.0]), mg.Value([2.0])
    value_w.grad, value_a.grad = np.array([0.5]), np.array([0.5])
    AdamW([value_w], lr=0.1, weight_decay=0.5).step()
    Adam([value_a], lr=0.1, weight_decay=0.5).step()
    assert value_w.data[0] == pytest.approx(2.0 * (1 - 0.05) - 0.1 * 0.5 / (0.5 + 1e-8), abs=1e-15)
    assert value_a.data[0] == pytest.approx(2.0 - 0.1 * 1.5 / (1.5 + 1e-8), abs=1e-15)
    assert AdamW([mg.Value(1.0)]).param_groups[0]["weight_decay"] == 0.01  # PyTorch's default


def test_param_groups_with_their_own_settings_match_torch():
    ours, theirs = pair(2)
    optimizer = SGD([{"params": ours[:1]}, {"params": ours[1:], "lr": 0.2, "weight_decay": 0.1}],
                    lr=0.05, momentum=0.9)
    reference = torch.optim.SGD([{"params": theirs[:1]}, {"params": theirs[1:], "lr": 0.2, "weight_decay": 0.1}],
                                lr=0.05, momentum=0.9)
    assert [group["lr"] for group in optimizer.param_groups] == [0.05, 0.2]
    assert optimizer.param_groups[1]["momentum"] == 0.9  # the defaults fill what a group leaves out
    run_both(ours, theirs, optimizer, reference)


def test_add_param_group_matches_torch():
    ours, theirs = pair(3)
    optimizer, reference = Adam(ours[:2], lr=0.01), torch.optim.Adam(theirs[:2], lr=0.01)
    optimizer.add_param_group({"params": [ours[2]], "lr": 0.1, "betas": (0.5, 0.9)})
    reference.add_param_group({"params": [theirs[2]], "lr": 0.1, "betas": (0.5, 0.9)})
    assert optimizer.params == ours
    run_both(ours, theirs, optimizer, reference)


@pytest.mark.parametrize("kind, settings", [("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
                                            ("Adam", {"lr": 0.01, "amsgrad": True}),
                                            ("AdamW", {"lr": 0.01})])
def test_state_dict_resumes_exactly(kind, settings):
    """Six steps, save, a fresh optimizer on a copy of the weights loads the state: the next six
    steps are bit for bit those of the optimizer that never stopped."""
    make = {"SGD": SGD, "Adam": Adam, "AdamW": AdamW}[kind]
    ours, _ = pair(4)
    optimizer = make(ours, **settings)
    for step in range(6):
        for position, value in enumerate(ours):
            value.grad = gradient(np.asarray(value.data), step, position)
        optimizer.step()
    state = optimizer.state_dict()
    copies = [mg.Value(np.array(value.data)) for value in ours]
    resumed = make(copies, **{**settings, "lr": 0.5})  # the state's lr wins
    resumed.load_state_dict(state)
    assert resumed.lr == settings["lr"] and resumed.steps == 6
    for step in range(6, 12):
        for values, opt in ((ours, optimizer), (copies, resumed)):
            for position, value in enumerate(values):
                value.grad = gradient(np.asarray(value.data), step, position)
            opt.step()
        for a, b in zip(ours, copies):
            np.testing.assert_array_equal(a.data, b.data)
    # The state is a copy: stepping on does not change it.
    assert state["steps"] == 6


def test_state_dict_layout_is_torchs():
    ours, theirs = pair(5)
    optimizer, reference = Adam(ours, lr=0.01), torch.optim.Adam(theirs, lr=0.01)
    run_both(ours, theirs, optimizer, reference, steps=2)
    mine, torchs = optimizer.state_dict(), reference.state_dict()
    assert sorted(mine["state"]) == sorted(torchs["state"]) == [0, 1, 2]
    assert set(mine["state"][0]) == set(torchs["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    assert mine["state"][1]["step"] == int(torchs["state"][1]["step"]) == 2
    np.testing.assert_allclose(mine["state"][0]["exp_avg_sq"], torchs["state"][0]["exp_avg_sq"].numpy(), rtol=1e-12)
    assert mine["param_groups"][0]["params"] == torchs["param_groups"][0]["params"] == [0, 1, 2]


def test_load_state_dict_refuses_what_does_not_fit():
    ours, _ = pair(6)
    optimizer = SGD(ours, lr=0.1, momentum=0.9)
    for position, value in enumerate(ours):
        value.grad = gradient(np.asarray(value.data), 0, position)
    optimizer.step()
    state = optimizer.state_dict()
    with pytest.raises(ValueError, match="the state was saved from SGD, not Adam"):
        Adam(ours).load_state_dict(state)
    with pytest.raises(ValueError, match=r"the state has 1 parameter group\(s\), the optimizer 2"):
        SGD([{"params": ours[:1]}, {"params": ours[1:]}], lr=0.1).load_state_dict(state)
    with pytest.raises(ValueError, match="parameter group 0 has 3 parameters in the state but 2"):
        SGD(ours[:2], lr=0.1).load_state_dict(state)
    wrong = [mg.Value(np.zeros((2, 3))), mg.Value(np.zeros(2)), mg.Value(np.zeros(()))]
    target = SGD(wrong, lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match=r"parameter 0's 'momentum_buffer' has shape \(3, 2\).*has shape \(2, 3\)"):
        target.load_state_dict(state)
    assert target.state == {} and target.steps == 0  # nothing changed
    bad = optimizer.state_dict()
    bad["state"][0]["exp_avg"] = bad["state"][0].pop("momentum_buffer")
    with pytest.raises(ValueError, match="parameter 0's state has 'exp_avg'; SGD keeps 'momentum_buffer'"):
        SGD(ours, lr=0.1).load_state_dict(bad)


def test_load_state_dict_checks_parameter_names_from_a_module():
    from minigrad.nn import MLP

    first, second = MLP([2, 3, 2], seed=0), MLP([2, 3, 3, 2], seed=0)
    state = Adam(first).state_dict()
    assert state["param_groups"][0]["param_names"] == ["w", "bias_hidden", "v", "bias_output"]
    deeper = Adam(second)
    with pytest.raises(ValueError, match="4 parameters in the state but 6"):
        deeper.load_state_dict(state)
    renamed = MLP([2, 3, 2], seed=0)
    optimizer = Adam(list(zip(["a", "b", "c", "d"], renamed.parameters())))
    with pytest.raises(ValueError, match=r"holds \['w', 'bias_hidden', 'v', 'bias_output'\] in the state but "
                                         r"\['a', 'b', 'c', 'd'\].*'w' against 'a'"):
        optimizer.load_state_dict(state)


def test_an_optimizer_refuses_a_non_leaf_value():
    weight = mg.Value([1.0, 2.0])
    for make in (lambda p: SGD(p, lr=0.1), lambda p: Adam(p), lambda p: AdamW(p)):
        with pytest.raises(ValueError, match=r"params\[0\] is not a leaf: op 'mul' computed it.*w, not w \* 2"):
            make([weight * 2])
    optimizer = SGD([weight], lr=0.1)
    with pytest.raises(ValueError, match=r"param_groups\[1\]\['params'\]\[0\] is not a leaf: op 'add'"):
        optimizer.add_param_group({"params": [weight + 1]})


def test_bad_group_settings_name_the_setting():
    value = mg.Value([1.0])
    with pytest.raises(ValueError, match="nesterov=True needs momentum > 0 and dampening 0"):
        SGD([value], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="weight_decay must be finite and ≥ 0, got -0.1"):
        SGD([value], lr=0.1, weight_decay=-0.1)
    with pytest.raises(ValueError, match="weight_decay must be finite and ≥ 0, got nan"):
        AdamW([value], weight_decay=math.nan)
    with pytest.raises(TypeError, match="amsgrad must be True or False, got str 'yes'"):
        Adam([value], amsgrad="yes")
    with pytest.raises(ValueError, match=r"SGD \(parameter group 1\): lr \(the learning rate\) must be finite and > 0"):
        SGD([{"params": [value]}, {"params": [mg.Value(2.0)], "lr": -1.0}], lr=0.1)
    with pytest.raises(ValueError, match=r"setting\(s\) 'momentun' are not SGD's"):
        SGD([{"params": [value], "momentun": 0.9}], lr=0.1)
    with pytest.raises(ValueError, match="is in parameter group 0 already"):
        SGD([{"params": [value]}, {"params": [value]}], lr=0.1)
    with pytest.raises(ValueError, match="needs 'params'"):
        SGD([{"lr": 0.1}], lr=0.1)
    with pytest.raises(TypeError, match="mixes parameter groups"):
        SGD([{"params": [value]}, mg.Value(1.0)], lr=0.1)


# -- schedules ------------------------------------------------------------------


def schedules_agree(make_ours, make_theirs, optimizer="SGD", steps=40, groups=False, per_batch_step=True):
    """Step a schedule and torch's side by side; the learning rates (and momentum, beta1) must agree."""
    ours, theirs = pair(7)
    if groups:
        ours_params, theirs_params = [{"params": ours[:1]}, {"params": ours[1:], "lr": 0.3}], \
            [{"params": theirs[:1]}, {"params": theirs[1:], "lr": 0.3}]
    else:
        ours_params, theirs_params = ours, theirs
    if optimizer == "SGD":
        mine, reference = SGD(ours_params, lr=0.1, momentum=0.9), torch.optim.SGD(theirs_params, lr=0.1, momentum=0.9)
    else:
        mine, reference = AdamW(ours_params, lr=0.1), torch.optim.AdamW(theirs_params, lr=0.1)
    ours_schedule, theirs_schedule = make_ours(mine), make_theirs(reference)
    assert ours_schedule.get_last_lr() == pytest.approx(theirs_schedule.get_last_lr(), rel=1e-12, abs=0)

    def after(step):
        ours_schedule.step()
        theirs_schedule.step()
        assert ours_schedule.get_last_lr() == pytest.approx(theirs_schedule.get_last_lr(), rel=1e-12, abs=1e-15)
        for a, b in zip(mine.param_groups, reference.param_groups):
            assert a["lr"] == pytest.approx(b["lr"], rel=1e-12, abs=1e-15)
            key = "momentum" if optimizer == "SGD" else "betas"
            assert np.allclose(a[key], b[key], rtol=1e-12, atol=0), step
    run_both(ours, theirs, mine, reference, steps=steps, after_step=after)
    return ours_schedule


@pytest.mark.parametrize("groups", [False, True])
def test_step_lr_matches_torch(groups):
    schedule = schedules_agree(lambda o: lr_scheduler.StepLR(o, step_size=7, gamma=0.5),
                               lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.5), groups=groups)
    assert schedule.get_last_lr()[0] == pytest.approx(0.1 * 0.5 ** (40 // 7), rel=1e-14)


@pytest.mark.parametrize("groups", [False, True])
def test_exponential_lr_matches_torch(groups):
    schedule = schedules_agree(lambda o: lr_scheduler.ExponentialLR(o, gamma=0.9),
                               lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9), groups=groups)
    assert schedule.get_last_lr()[0] == pytest.approx(0.1 * 0.9 ** 40, rel=1e-12)


@pytest.mark.parametrize("eta_min", [0.0, 0.01])
def test_cosine_annealing_matches_torch_past_t_max(eta_min):
    schedule = schedules_agree(lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=15, eta_min=eta_min),
                               lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=15, eta_min=eta_min),
                               steps=45, groups=True)
    # The closed form: eta_min + ½(base − eta_min)(1 + cos(π t / T_max)), t = 45.
    assert schedule.get_last_lr()[0] == pytest.approx(eta_min + 0.5 * (0.1 - eta_min) * (1 + math.cos(math.pi * 3)),
                                                      abs=1e-12)


@pytest.mark.parametrize("options", [{}, {"anneal_strategy": "linear"}, {"three_phase": True},
                                     {"pct_start": 0.5, "div_factor": 10.0, "final_div_factor": 100.0}])
@pytest.mark.parametrize("optimizer", ["SGD", "AdamW"])
def test_one_cycle_matches_torch_with_momentum_cycled(optimizer, options):
    schedules_agree(lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.5, total_steps=30, **options),
                    lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.5, total_steps=30, **options),
                    optimizer=optimizer, steps=29)


def test_one_cycle_peaks_at_max_lr_and_refuses_a_step_too_many():
    optimizer = SGD([mg.Value([1.0])], lr=0.1)
    schedule = lr_scheduler.OneCycleLR(optimizer, max_lr=1.0, epochs=2, steps_per_epoch=5, pct_start=0.3)
    assert schedule.get_last_lr() == [pytest.approx(1.0 / 25)]
    rates = [schedule.get_last_lr()[0]]
    for _ in range(9):
        schedule.step()
        rates.append(schedule.get_last_lr()[0])
    assert max(rates) == pytest.approx(1.0) and rates.index(max(rates)) == 2  # end of 30% of 10 steps
    assert rates[-1] == pytest.approx(1.0 / 25 / 1e4)
    schedule.step()  # step 10 == total_steps is allowed (as in torch) ...
    with pytest.raises(ValueError, match="stepped 11 times, but total_steps is 10"):
        schedule.step()


def test_scheduler_state_dict_resumes_the_schedule():
    weights = [mg.Value([1.0])]
    optimizer = SGD(weights, lr=0.1)
    schedule = lr_scheduler.CosineAnnealingLR(optimizer, T_max=10)
    for _ in range(4):
        schedule.step()
    state, optimizer_state = schedule.state_dict(), optimizer.state_dict()
    assert state["last_epoch"] == 4 and "optimizer" not in state
    later = [schedule.get_last_lr()[0] for _ in range(3) if schedule.step() is None]
    fresh = SGD([mg.Value([1.0])], lr=0.1)
    fresh.load_state_dict(optimizer_state)
    resumed = lr_scheduler.CosineAnnealingLR(fresh, T_max=10)
    resumed.load_state_dict(state)
    assert [resumed.get_last_lr()[0] for _ in range(3) if resumed.step() is None] == later
    with pytest.raises(ValueError, match="does not fit a StepLR: missing .*'step_size'.*unexpected .*'T_max'"):
        lr_scheduler.StepLR(SGD([mg.Value([1.0])], lr=0.1), step_size=2).load_state_dict(state)


def test_scheduler_arguments_are_checked():
    optimizer = SGD([mg.Value([1.0])], lr=0.1)
    with pytest.raises(ValueError, match="StepLR: step_size must be a positive integer, got 0"):
        lr_scheduler.StepLR(optimizer, step_size=0)
    with pytest.raises(ValueError, match=r"ExponentialLR: gamma must be finite and > 0, got -0.5"):
        lr_scheduler.ExponentialLR(optimizer, gamma=-0.5)
    with pytest.raises(TypeError, match="CosineAnnealingLR: T_max must be an integer, got float 2.5"):
        lr_scheduler.CosineAnnealingLR(optimizer, T_max=2.5)
    with pytest.raises(ValueError, match="OneCycleLR: give total_steps, or both epochs and steps_per_epoch"):
        lr_scheduler.OneCycleLR(optimizer, max_lr=1.0, epochs=3)
    with pytest.raises(ValueError, match=r"OneCycleLR: pct_start must be in \[0, 1\], got 1.5"):
        lr_scheduler.OneCycleLR(optimizer, max_lr=1.0, total_steps=10, pct_start=1.5)
    with pytest.raises(ValueError, match="anneal_strategy must be 'cos' or 'linear', got 'cosine'"):
        lr_scheduler.OneCycleLR(optimizer, max_lr=1.0, total_steps=10, anneal_strategy="cosine")
    with pytest.raises(TypeError, match="optimizer must be a minigrad.optim.Optimizer, got list"):
        lr_scheduler.StepLR([], step_size=1)
