"""mg.check_backward: a learner's backward rule against central differences of its forward.

Every mistake of the catalogue (minigrad/tools/backward_mistakes.py) is made
once in a wrong rule, and must be named; the right rules for the exercises
(exp, tanh, the chapter's sigmoid with gain α, broadcast multiplication,
matmul, the SSE, a gather with repeated indices) pass on every case; the
learner's exceptions, SystemExit included, and endless loops are failures.
"""

import subprocess
import sys

import numpy as np
import pytest

import minigrad as mg
from minigrad.tools.backward_mistakes import MISTAKES, ORDER


def function(name, forward, backward):
    return type(name, (mg.Function,), {"forward": staticmethod(forward), "backward": staticmethod(backward)})


# -- the right rules ---------------------------------------------------------------


def exp_forward(ctx, x):
    out = np.exp(x)
    ctx.save_for_backward(x, out)
    return out


def tanh_forward(ctx, x):
    out = np.tanh(x)
    ctx.save_for_backward(x, out)
    return out


def sigmoid_forward(ctx, x, alpha):
    out = 1.0 / (1.0 + np.exp(-alpha * x))
    ctx.save_for_backward(x, out)
    ctx.alpha = alpha
    return out


def mul_forward(ctx, a, b):
    ctx.save_for_backward(a, b)
    return a * b


def unbroadcast(grad, shape, reduce=np.sum):
    while grad.ndim > len(shape):
        grad = reduce(grad, axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = reduce(grad, axis=axis, keepdims=True)
    return grad


def matmul_forward(ctx, a, b):
    ctx.save_for_backward(a, b)
    return a @ b


def sse_forward(ctx, desired, actual):
    ctx.save_for_backward(desired, actual)
    return np.asarray(0.5 * np.sum((desired - actual) ** 2))


def gather_forward(ctx, x, index):
    ctx.save_for_backward(x)
    ctx.index = index
    return x[index]


def gather_backward(ctx, grad):
    (x,) = ctx.saved_tensors
    buffer = np.zeros_like(x)
    np.add.at(buffer, ctx.index, grad)
    return buffer, None


Exp = function("Exp", exp_forward, lambda ctx, grad: grad * ctx.saved_tensors[1])
Tanh = function("Tanh", tanh_forward, lambda ctx, grad: grad * (1.0 - ctx.saved_tensors[1] ** 2))
Sigmoid = function("Sigmoid", sigmoid_forward,
                   lambda ctx, grad: (grad * ctx.alpha * ctx.saved_tensors[1] * (1.0 - ctx.saved_tensors[1]), None))
Mul = function("Mul", mul_forward, lambda ctx, grad: (unbroadcast(grad * ctx.saved_tensors[1], ctx.saved_tensors[0].shape),
                                                      unbroadcast(grad * ctx.saved_tensors[0], ctx.saved_tensors[1].shape)))
MatMul = function("MatMul", matmul_forward,
                  lambda ctx, grad: (grad @ ctx.saved_tensors[1].T, ctx.saved_tensors[0].T @ grad))
SSE = function("SSE", sse_forward, lambda ctx, grad: (grad * (ctx.saved_tensors[0] - ctx.saved_tensors[1]),
                                                      grad * (ctx.saved_tensors[1] - ctx.saved_tensors[0])))
Gather = function("Gather", gather_forward, gather_backward)

X = np.linspace(-1.5, 1.5, 5)
RIGHT = [
    (Exp, (X,)),
    (Tanh, (X * 0.6,)),
    (Sigmoid, (X, 2.5)),
    (Mul, (np.linspace(-1, 1, 6).reshape(2, 3), np.array([0.5, -1.0, 2.0]))),
    (MatMul, (np.linspace(-1, 1, 6).reshape(2, 3), np.linspace(0, 2, 12).reshape(3, 4))),
    (SSE, (np.array([0.0, 1.0, 0.0]), np.array([0.2, 0.7, 0.4]))),
    (Gather, (X, np.array([0, 1, 1, 4, 1]))),
]


@pytest.mark.parametrize("op, inputs", RIGHT, ids=[op.__name__ for op, _ in RIGHT])
def test_a_right_rule_passes_on_every_case(op, inputs):
    report = mg.check_backward(op, inputs)
    assert report.ok, str(report)
    assert all(result.ok for result in report.results) and len(report.results) >= 3
    assert report.mistake is None and "ok" in str(report)
    # every case compared the rule's numbers with central differences of forward, to the tolerance
    for result in report.results:
        for yours, right in zip(result.yours, result.right):
            assert yours.shape == right.shape
            np.testing.assert_allclose(yours, right, rtol=1e-6, atol=1e-6)


def test_the_cases_include_other_shapes_and_broadcast_inputs():
    report = mg.check_backward(Mul, RIGHT[3][1])
    shapes = {result.case.description.split(";")[0] for result in report.results}
    assert "shapes a (2, 3), b (3,)" in shapes  # as given: b broadcast along a's first axis
    assert "shapes a (3,), b (3,)" in shapes
    assert {"shapes a (2, 3), b (1,)", "shapes a (2, 3), b ()", "shapes a (1, 3), b (3,)"} <= shapes
    one = mg.check_backward(Exp, (X,))
    assert {result.case.inputs[0].shape for result in one.results} == {(5,), (), (4,), (2, 3)}
    matrices = mg.check_backward(MatMul, RIGHT[4][1])
    assert {tuple(item.shape for item in result.case.inputs) for result in matrices.results} == \
        {((2, 3), (3, 4)), ((3, 4), (4, 5))}


# -- each mistake of the catalogue, made once ---------------------------------------------------


def sigmoid_no_alpha(ctx, grad):
    out = ctx.saved_tensors[1]
    return grad * out * (1.0 - out), None


def mul_not_unbroadcast(ctx, grad):
    a, b = ctx.saved_tensors
    return unbroadcast(grad * b, a.shape), grad * a


def mul_mean(ctx, grad):
    a, b = ctx.saved_tensors
    return unbroadcast(grad * b, a.shape), unbroadcast(grad * a, b.shape, np.mean)


def gather_assigned(ctx, grad):
    (x,) = ctx.saved_tensors
    buffer = np.zeros_like(x)
    buffer[ctx.index] = grad  # NOTE: the mistake: repeated indices keep the last contribution only
    return buffer, None


def exp_buffer_forward(ctx, x):
    out = np.exp(x)
    ctx.save_for_backward(out)
    ctx.buffer = np.zeros_like(out)
    return out


def exp_buffer_backward(ctx, grad):
    ctx.buffer += grad * ctx.saved_tensors[0]
    return ctx.buffer


MISTAKEN = {
    "output_for_input": (function("ExpAtOutput", exp_forward, lambda ctx, grad: grad * np.exp(ctx.saved_tensors[1])),
                         (X,), "a"),
    "input_for_output": (function("TanhOfInput", tanh_forward,
                                  lambda ctx, grad: grad * (1.0 - ctx.saved_tensors[0] ** 2)), (X * 0.6,), "a"),
    "upstream_dropped": (function("ExpNoGrad", exp_forward, lambda ctx, grad: ctx.saved_tensors[1]), (X,), "a"),
    "sign_flipped": (function("SSESign", sse_forward,
                              lambda ctx, grad: (grad * (ctx.saved_tensors[0] - ctx.saved_tensors[1]),
                                                 grad * (ctx.saved_tensors[0] - ctx.saved_tensors[1]))),
                     RIGHT[5][1], "b"),
    "factor_missing": (function("SigmoidNoGain", sigmoid_forward, sigmoid_no_alpha), (X, 2.5), "a"),
    "broadcast_not_undone": (function("MulKeepsShape", mul_forward, mul_not_unbroadcast), RIGHT[3][1], "b"),
    "broadcast_mean": (function("MulMean", mul_forward, mul_mean), RIGHT[3][1], "b"),
    "transposes_swapped": (function("MatMulSwapped", matmul_forward,
                                    lambda ctx, grad: (grad @ ctx.saved_tensors[1].T, grad.T @ ctx.saved_tensors[0])),
                           RIGHT[4][1], "b"),
    "assigned_not_accumulated": (function("GatherAssigned", gather_forward, gather_assigned), RIGHT[6][1], "a"),
    "state_between_calls": (function("ExpBuffer", exp_buffer_forward, exp_buffer_backward), (X,), "a"),
}


def test_the_catalogue_is_all_tested():
    assert set(MISTAKEN) == set(MISTAKES) == set(ORDER) | {"state_between_calls"}


@pytest.mark.parametrize("code", sorted(MISTAKEN))
def test_each_mistake_is_named(code):
    op, inputs, wrong = MISTAKEN[code]
    report = mg.check_backward(op, inputs)
    assert not report.ok
    assert report.mistakes[wrong] == code, str(report)
    assert report.mistake == code
    # the other input (where there is one) is right and named so
    assert all(found is None for name, found in report.mistakes.items() if name != wrong)
    text = str(report)
    assert "WRONG" in text and MISTAKES[code].text.split(":")[0] in text


def test_the_diagnosis_says_the_missing_factor_and_the_axes():
    op, inputs, _ = MISTAKEN["factor_missing"]
    assert "0.4 × the right one" in str(mg.check_backward(op, inputs))  # 1/α for α = 2.5
    op, inputs, _ = MISTAKEN["broadcast_not_undone"]
    text = str(mg.check_backward(op, inputs))
    assert "the output's shape (2, 3), but b has shape (3,)" in text and "axis=0" in text
    op, inputs, _ = MISTAKEN["transposes_swapped"]
    assert "grad.T @ A" in str(mg.check_backward(op, inputs))


def test_a_mistake_outside_the_catalogue_gives_the_worst_element():
    odd = function("Odd", exp_forward, lambda ctx, grad: grad * ctx.saved_tensors[1] + 0.01 * ctx.saved_tensors[0] ** 3)
    report = mg.check_backward(odd, (X,))
    assert not report.ok and report.mistake is None
    worst = report.worst
    assert worst is not None
    # the worst element is where 0.01 x³ is largest: |x| largest
    expected = max(float(np.max(np.abs(0.01 * result.case.inputs[0] ** 3), initial=0.0)) for result in report.results)
    assert worst["difference"] == pytest.approx(expected, rel=1e-6)
    text = str(report)
    assert "no mistake in the catalogue" in text and "worst:" in text and "inputs there:" in text


# -- the learner's code misbehaving ---------------------------------------------------------------


def test_exceptions_and_exits_are_reported_never_a_pass():
    def exits(ctx, grad):
        sys.exit(0)

    def raises(ctx, grad):
        raise ZeroDivisionError("oops")

    for backward, words in ((exits, "sys.exit(0)"), (raises, "ZeroDivisionError: oops")):
        report = mg.check_backward(function("Bad", exp_forward, backward), (X,))
        assert not report.ok and words in str(report) and "FAILED" in str(report)

    def forward_exits(ctx, x):
        raise SystemExit(3)

    report = mg.check_backward(function("Exits", forward_exits, lambda ctx, grad: grad), (X,))
    assert not report.ok and "sys.exit(3)" in str(report)


def test_an_endless_backward_is_stopped():
    def loops(ctx, grad):
        while True:
            pass

    report = mg.check_backward(function("Loops", exp_forward, loops), (X,), time_limit=0.2)
    assert not report.ok and "did not return within 0.2 s" in str(report)


def test_a_wrong_count_or_a_missing_gradient_is_reported():
    report = mg.check_backward(function("Two", exp_forward, lambda ctx, grad: (grad, grad)), (X,))
    assert not report.ok and "returned 2 gradients but forward takes 1 argument" in str(report)
    report = mg.check_backward(function("NoneBack", mul_forward, lambda ctx, grad: (None, grad)), RIGHT[3][1])
    assert not report.ok and "returned None for a" in str(report)


def test_bad_arguments_are_refused_by_name():
    with pytest.raises(TypeError, match="subclass of minigrad.Function"):
        mg.check_backward(np.exp, (X,))
    with pytest.raises(TypeError, match="no numpy array"):
        mg.check_backward(Exp, (1.0,))
    with pytest.raises(ValueError, match="finite"):
        mg.check_backward(Exp, (np.array([1.0, np.nan]),))
    with pytest.raises(ValueError, match="wrt holds 3"):
        mg.check_backward(Exp, (X,), wrt=3)


def test_the_command_line_checks_a_file(tmp_path):
    source = tmp_path / "my_ops.py"
    source.write_text(
        "import numpy as np\nimport minigrad as mg\n\n"
        "class Softplus(mg.Function):\n"
        "    @staticmethod\n    def forward(ctx, x):\n        ctx.save_for_backward(x)\n"
        "        return np.logaddexp(0.0, x)\n\n"
        "    @staticmethod\n    def backward(ctx, grad):\n        (x,) = ctx.saved_tensors\n"
        "        return grad / (1.0 + np.exp(-x))\n\n"
        "class Forgetful(Softplus):\n"
        "    @staticmethod\n    def backward(ctx, grad):\n        (x,) = ctx.saved_tensors\n"
        "        return 1.0 / (1.0 + np.exp(-x))\n\n"
        "def plain(x):\n    return x\n")

    def run(*arguments):
        return subprocess.run([sys.executable, "-m", "minigrad", "check-backward", *arguments], capture_output=True,
                              text=True, timeout=120, cwd=tmp_path)

    good = run("my_ops.py:Softplus")
    assert good.returncode == 0 and "check_backward(Softplus): ok" in good.stdout
    bad = run("my_ops.py:Forgetful", "--shape", "3")
    assert bad.returncode == 1 and "upstream gradient dropped" in bad.stdout
    wrong = run("my_ops.py:plain")
    assert wrong.returncode == 2 and "not a subclass of minigrad.Function" in wrong.stderr


def test_the_explore_command_takes_a_mode(tmp_path):
    out = tmp_path / "both.html"
    result = subprocess.run([sys.executable, "-m", "minigrad", "explore", "--mode", "both", "--out", str(out)],
                            capture_output=True, text=True, timeout=120)
    if result.returncode == 1 and "dot" in result.stderr:
        pytest.skip("graphviz's dot is not installed")
    assert result.returncode == 0 and '"mode":"both"' in out.read_text()
