"""Second derivatives and forward mode on the random graphs of tests/strategies.py (every op of the
table), against PyTorch in float64: grad of grad (create_graph), hvp (both modes), hessian and jvp
(`torch.func.jvp`), to 1e-10 relative."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import minigrad as mg
from strategies import make_leaves, programs, run

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")  # torch.func's

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
RTOL = 1e-10


def _tensor(x):
    return torch.as_tensor(np.asarray(x, dtype=np.float64))


class TorchOps:
    """The instructions of tests/strategies.py on torch tensors, written independently."""

    def add(self, a, b): return a + b
    def sub(self, a, b): return a - b
    def mul(self, a, b): return a * b
    def div(self, a, b): return a / (b * b + 1.0)
    # NOTE: as exp(b·ln u), not u ** b: torch's pow masks its slope b·uᵇ⁻¹ to 0 where b = 0, which
    # also drops that slope's derivative with respect to b (1/u there), so torch's Hessian of uᵇ at
    # b = 0 is not symmetric; minigrad keeps it (see core/differentiable.py's power_slope).
    def powv(self, a, b): return torch.exp((b * 0.5) * torch.log(_as_tensor(a * a + 0.5)))
    def neg(self, x): return -x
    def exp(self, x): return torch.exp(x * 0.5)
    def log(self, x): return torch.log(x * x + 0.5)
    def tanh(self, x): return torch.tanh(x)
    def relu(self, x): return torch.relu(x)
    def sigmoid(self, x, alpha): return torch.sigmoid(alpha * x)
    def pow(self, x, exponent): return x ** exponent
    def pow_guarded(self, x, exponent): return (x * x + 1.0) ** exponent

    def _reduce(self, function, x, axis, keepdims):
        if axis is None:
            out = function(x)
            return out.reshape((1,) * x.ndim) if keepdims else out
        return function(x, dim=axis, keepdim=keepdims)

    def sum(self, x, axis, keepdims): return self._reduce(torch.sum, x, axis, keepdims)
    def mean(self, x, axis, keepdims): return self._reduce(torch.mean, x, axis, keepdims)
    def max(self, x, axis, keepdims): return self._reduce(torch.amax, x, axis, keepdims)
    def min(self, x, axis, keepdims): return self._reduce(torch.amin, x, axis, keepdims)

    def transpose(self, x, axes):
        if axes == "T" or not axes:
            return x.permute(tuple(reversed(range(x.ndim))))
        return x.permute(tuple(axis % x.ndim for axis in axes))

    def reshape(self, x, shape): return x.reshape(shape)

    def getitem(self, x, index):
        # numpy's indexing of the element numbers, gathered: every index numpy takes (steps of −1 too)
        numbers = np.arange(x.numel()).reshape(tuple(x.shape))[np.asarray(index) if isinstance(index, list) else index]
        return x.reshape(-1)[torch.as_tensor(np.array(numbers))]

    def matmul(self, a, b): return torch.matmul(a, b)

    def sse(self, desired, actual):
        if isinstance(actual, list):
            return 0.5 * sum((d - a) ** 2 for d, a in zip(desired, actual))
        return 0.5 * torch.sum((desired - actual) ** 2)

    def stack(self, items, axis): return torch.stack([_as_tensor(item) for item in items], dim=axis)
    def abs(self, x): return torch.abs(x)
    def sqrt(self, x): return torch.sqrt(x * x + 0.5)
    def maximum(self, a, b): return torch.maximum(_as_tensor(a), _as_tensor(b))
    def minimum(self, a, b): return torch.minimum(_as_tensor(a), _as_tensor(b))
    def clip(self, x, lo, hi): return torch.clamp(x, lo, hi)
    def softmax(self, x, axis): return torch.softmax(x, dim=axis)
    def log_softmax(self, x, axis): return torch.log_softmax(x, dim=axis)
    def mse(self, desired, actual): return torch.mean((desired - actual) ** 2)

    def cross_entropy(self, logits, targets, axis, reduction, kind):
        axis = axis % logits.ndim
        classes = logits.shape[axis]
        if kind == "labels":
            targets = _tensor(np.moveaxis(np.eye(classes)[np.asarray(targets).astype(int)], -1, axis))
        else:
            targets = torch.softmax(targets, dim=axis)
        total = -torch.sum(targets * torch.log_softmax(logits, dim=axis))
        return total / (logits.numel() // classes) if reduction == "mean" else total


def _as_tensor(x):
    return x if isinstance(x, torch.Tensor) else _tensor(x)


def _torch_operand(operand, nodes):
    if isinstance(operand, list):
        return [_torch_operand(item, nodes) for item in operand]
    if operand[0] == "node":
        return nodes[operand[1]]
    _, form, data = operand
    if form == "labels":
        return data
    if form == "number":
        return data
    return _tensor(data)


def torch_loss(program, leaves):
    """The program on torch tensors: the sum of every op node's sum, as `strategies.run` computes it."""
    ops = TorchOps()
    nodes, total = [], None
    for op, operands, params in program.instructions:
        if op == "leaf":
            nodes.append(leaves[params[0]])
            continue
        out = getattr(ops, op)(*[_torch_operand(operand, nodes) for operand in operands], *params)
        nodes.append(out)
        total = out.sum() if total is None else total + out.sum()
    return total


def _torch_leaves(program):
    return [_tensor(data).requires_grad_(True) for data, _, _ in program.leaves]


def _primals(program):
    """The leaves' values as minigrad takes them: Python floats for kind "float"."""
    return [float(data) if kind == "float" else np.asarray(data, dtype=np.float64)
            for data, kind, _ in program.leaves]


def _function(program):
    """The program as a function of its leaves (Values)."""
    def function(*values):
        return run(program, list(values), "minigrad")[0]
    return function


def _directions(program, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(np.shape(data)) for data, _, _ in program.leaves]


def _close(got, want, what):
    want = np.asarray(want, dtype=np.float64)
    scale = 1.0 + float(np.max(np.abs(want), initial=0.0))
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), want, rtol=RTOL, atol=RTOL * scale, err_msg=what)


def _torch_hvp(program, vectors):
    leaves = _torch_leaves(program)
    loss = torch_loss(program, leaves)
    first = torch.autograd.grad(loss, leaves, create_graph=True, allow_unused=True)
    projected = sum((g * _tensor(v)).sum() for g, v in zip(first, vectors) if g is not None and g.requires_grad)
    if not isinstance(projected, torch.Tensor):
        return [np.zeros(np.shape(v)) for v in vectors]
    second = torch.autograd.grad(projected, leaves, allow_unused=True)
    return [np.zeros(np.shape(v)) if s is None else s.detach().numpy(force=True) for s, v in zip(second, vectors)]


@settings(max_examples=120, **SETTINGS)
@given(programs(max_steps=6))
def test_grad_of_grad_matches_torch(program):
    vectors = _directions(program, 1)
    leaves = make_leaves(program)
    loss, _ = run(program, leaves, "minigrad")
    first = mg.grad(loss, leaves, create_graph=True, allow_unused=True)
    projected = sum((g * v).sum() for g, v in zip(first, vectors))
    second = mg.grad(projected, leaves, allow_unused=True) if projected.requires_grad else \
        [np.zeros(np.shape(v)) for v in vectors]
    for number, (got, want) in enumerate(zip(second, _torch_hvp(program, vectors))):
        _close(got, want, f"leaf {number}: grad of grad vs torch")


@settings(max_examples=80, **SETTINGS)
@given(programs(max_steps=6))
def test_hvp_both_modes_match_torch(program):
    vectors = _directions(program, 2)
    want = _torch_hvp(program, vectors)
    for mode in ("forward-over-reverse", "reverse-over-reverse"):
        _, got = mg.hvp(_function(program), tuple(_primals(program)), tuple(vectors), mode=mode)
        for number, (g, w) in enumerate(zip(got, want)):
            _close(g, w, f"leaf {number}: hvp ({mode}) vs torch")


@settings(max_examples=60, **SETTINGS)
@given(programs(max_inputs=1, max_steps=5))
def test_hessian_matches_torch(program):
    """The Hessian with respect to the first leaf, the other leaves (fresh partners) held fixed."""
    primal, *others = _primals(program)

    def function(x):
        return run(program, [x] + [mg.Value(other, requires_grad=False) for other in others], "minigrad")[0]

    def loss(x):
        return torch_loss(program, [x] + [_tensor(other) for other in others])

    got = mg.hessian(function, primal)
    want = torch.autograd.functional.hessian(loss, _tensor(primal)).numpy()
    assert np.shape(got) == np.shape(primal) * 2
    _close(got, want, "hessian vs torch")


@settings(max_examples=120, **SETTINGS)
@given(programs(max_steps=8))
def test_jvp_matches_torch_func_jvp(program):
    tangents = _directions(program, 3)
    out, got = mg.jvp(_function(program), tuple(_primals(program)), tuple(tangents))

    def loss(*xs):
        return torch_loss(program, list(xs))

    want_out, want = torch.func.jvp(loss, tuple(_tensor(p) for p in _primals(program)),
                                    tuple(_tensor(t) for t in tangents))
    _close(out, want_out.numpy(), "jvp's output vs torch")
    _close(got, want.numpy(), "jvp's tangent vs torch")
