"""Derivatives as functions, in PyTorch's and JAX's habit: grad, jvp, hvp, hessian, jacobian.

* ``grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None)``:
  the vector-Jacobian product Σ_k u_kᵀ ∂y_k/∂x for each input, as a tuple,
  ``.grad`` untouched (`torch.autograd.grad`).  With ``create_graph`` the
  gradients are Values whose graphs can be differentiated again.
* ``jvp(f, primals, tangents)``: (f(x), ∂f/∂x · ẋ), by forward mode: one sweep
  of the recorded graph, each op's forward-mode rule (`torch.func.jvp`).
* ``hvp(f, primals, vectors)``: (f(x), ∇²f(x) · v), forward over reverse
  (the jvp of the gradient) or reverse over reverse (the gradient of ∇f·v).
* ``hessian(f, x)``: ∇²f(x), of shape ``x.shape + x.shape``.
* ``jacobian(f, x)``: ∂f/∂x, of shape ``f(x).shape + x.shape``.

``f`` takes Values (one per primal) and returns a Value; primals and
tangents are numbers or arrays (float64 unless float32 is given).  The
functional helpers return numpy data.
"""

from __future__ import annotations

import contextlib
import sys

import numpy as np

from . import modes
from . import namespace
from .backward import gradients
from .forward import push_forward, zero_tangent
from .modes import enable_grad

__all__ = ["grad", "jvp", "hvp", "hessian", "jacobian"]


def _value_module():
    from . import value

    return value


def grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None, allow_unused=False):
    """∂(Σ_k grad_outputs[k] · outputs[k])/∂inputs[j], one per input, as a tuple (``.grad`` untouched).

    ``outputs`` and ``inputs`` are Values or sequences of Values; a one-element
    output needs no ``grad_outputs`` (it is seeded with 1).  Without
    ``create_graph`` the gradients are numbers or arrays, and the graph is used
    up unless ``retain_graph=True``; with it they are Values with graphs (and
    the graph is kept).  An input that no output depends on is an error, unless
    ``allow_unused=True``, which gives it zeros.
    """
    value = _value_module()
    Value = value.Value
    if modes.state.tracing:
        caller = sys._getframe(1)
        raise modes.TracingError(
            f"minigrad.grad inside a function being traced (by minigrad.compile or onnx.export), at "
            f"{caller.f_code.co_filename}:{caller.f_lineno} (in {caller.f_code.co_name}): a compiled step cannot take a gradient inside itself yet; return the loss "
            "and let the step differentiate it, or call minigrad.grad outside the compiled function")
    outputs = _as_tuple(outputs, "outputs")
    inputs = _as_tuple(inputs, "inputs")
    for where, items in (("outputs", outputs), ("inputs", inputs)):
        for position, item in enumerate(items):
            if type(item) is not Value:
                raise TypeError(f"grad: {where}[{position}] must be a Value, got {type(item).__name__}")
    for position, output in enumerate(outputs):
        if not output.requires_grad:
            raise RuntimeError(f"grad: outputs[{position}] does not require grad (it was made from constants only, "
                               "or under no_grad()), so there is no path to any input to differentiate")
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    else:
        grad_outputs = _as_tuple(grad_outputs, "grad_outputs")
        if len(grad_outputs) != len(outputs):
            raise ValueError(f"grad: {len(grad_outputs)} grad_outputs for {len(outputs)} outputs; give one each")
    seeds = [_seed(output, seed, position, create_graph) for position, (output, seed) in
             enumerate(zip(outputs, grad_outputs))]
    if retain_graph is None:
        retain_graph = create_graph
    with enable_grad() if create_graph else contextlib.nullcontext():
        found = gradients(list(outputs), seeds, list(inputs), create_graph, retain_graph)
    result = []
    for position, item in enumerate(inputs):
        gradient = found.get(item)
        if gradient is None:
            if not allow_unused:
                raise ValueError(f"grad: inputs[{position}] is not used by the outputs (no path leads to it); pass "
                                 "allow_unused=True for a zero gradient")
            gradient = zero_tangent(item._data)
            if create_graph:
                gradient = value.leaf(gradient)
        result.append(gradient)
    return tuple(result)


def _as_tuple(items, where):
    if isinstance(items, (list, tuple)):
        if not items:
            raise ValueError(f"grad: {where} is empty")
        return tuple(items)
    return (items,)


def _seed(output, seed, position, create_graph):
    value = _value_module()
    if seed is None:
        if output.size != 1:
            raise ValueError(f"grad: outputs[{position}] has shape {output.shape}; pass grad_outputs of that shape, "
                             "or reduce it to a scalar first (e.g. .sum())")
        data = output._data
        seed = 1.0 if type(data) is float else np.ones(data.shape, dtype=data.dtype) if type(data) is np.ndarray \
            else namespace.full(tuple(data.shape), 1.0, data)
    elif type(seed) is value.Value:
        if seed.shape != output.shape:
            raise ValueError(f"grad: grad_outputs[{position}] has shape {seed.shape} but outputs[{position}] has "
                             f"shape {output.shape}")
        return seed if create_graph else seed._data
    else:
        seed = value.as_data(seed, "grad", copy=True)
        if np.shape(seed) != output.shape:
            raise ValueError(f"grad: grad_outputs[{position}] has shape {np.shape(seed)} but outputs[{position}] "
                             f"has shape {output.shape}")
        from .backward import unbroadcast

        seed = unbroadcast(seed, output._data)
    return value.leaf(seed) if create_graph else seed


# ---------------------------------------------------------------------------
# Functions of functions
# ---------------------------------------------------------------------------


def _primals(primals, where):
    """(Values made from primals, whether a single primal was given)."""
    value = _value_module()
    single = not isinstance(primals, (list, tuple))
    items = (primals,) if single else tuple(primals)
    if not items:
        raise ValueError(f"{where}: give at least one primal")
    leaves = []
    for position, item in enumerate(items):
        data = item._data if type(item) is value.Value else value.as_data(item, where, copy=True)
        if type(data) is np.ndarray and type(item) is value.Value:
            data = data.copy()
        leaves.append(value.leaf(data, requires_grad=True))
    return leaves, single


def _tangents(tangents, leaves, single, where):
    value = _value_module()
    items = (tangents,) if single and not isinstance(tangents, (list, tuple)) else tuple(tangents)
    if len(items) != len(leaves):
        raise ValueError(f"{where}: {len(items)} tangents for {len(leaves)} primals; give one each")
    result = []
    for position, (item, leaf) in enumerate(zip(items, leaves)):
        data = item._data if type(item) is value.Value else value.as_data(item, where, copy=True)
        if np.shape(data) != leaf.shape:
            raise ValueError(f"{where}: tangent {position} has shape {np.shape(data)} but primal {position} has "
                             f"shape {leaf.shape}")
        if type(leaf._data) is float:
            data = float(np.reshape(data, ()))
        else:
            data = np.asarray(data, dtype=leaf._data.dtype)
        result.append(data)
    return result


def _call(f, leaves, where):
    value = _value_module()
    with enable_grad():
        out = f(*leaves)
    if type(out) is not value.Value:
        raise TypeError(f"{where}: f must return a Value, got {type(out).__name__}")
    return out


def jvp(f, primals, tangents):
    """(f(primals), ∂f/∂primals · tangents): forward mode, in `torch.func.jvp`'s habit.

    One forward sweep over the graph f records, each op applying its
    forward-mode rule to its inputs' tangents.  Returns numpy data (a float for
    a float result)."""
    leaves, single = _primals(primals, "jvp")
    moving = _tangents(tangents, leaves, single, "jvp")
    out = _call(f, leaves, "jvp")
    (tangent,) = push_forward([out], dict(zip(leaves, moving)))
    return out._data, tangent


def hvp(f, primals, vectors, mode="forward-over-reverse"):
    """(f(primals), ∇²f(primals) · vectors) for a scalar f, in `torch.autograd.functional.hvp`'s habit.

    ``mode`` "forward-over-reverse" pushes the vectors forward through the
    graph of the gradient (one backward with create_graph, one forward sweep);
    "reverse-over-reverse" differentiates ∇f · v again (two backward sweeps).
    The products have the primals' structure (one array for one primal)."""
    if mode not in ("forward-over-reverse", "reverse-over-reverse"):
        raise ValueError(f"hvp: mode must be 'forward-over-reverse' or 'reverse-over-reverse', got {mode!r}")
    leaves, single = _primals(primals, "hvp")
    directions = _tangents(vectors, leaves, single, "hvp")
    out = _call(f, leaves, "hvp")
    if out.size != 1:
        raise ValueError(f"hvp: f must return one number, got shape {out.shape}")
    if not out.requires_grad:  # f does not depend on the primals: its Hessian is zero (as jacobian's is)
        products = tuple(zero_tangent(leaf._data) for leaf in leaves)
        return out._data, (products[0] if single else products)
    with enable_grad():
        first = grad(out, leaves, create_graph=True, allow_unused=True)
        if mode == "forward-over-reverse":
            products = push_forward(list(first), dict(zip(leaves, directions)))
        else:
            used = [(g, d) for g, d in zip(first, directions) if g.requires_grad]
            if used:
                products = grad([g for g, _ in used], leaves, grad_outputs=[d for _, d in used], allow_unused=True)
            else:
                products = tuple(zero_tangent(leaf._data) for leaf in leaves)
    products = tuple(zero_tangent(leaf._data) if p is None else p for p, leaf in zip(products, leaves))
    return out._data, (products[0] if single else products)


def hessian(f, x):
    """∇²f(x) for a scalar f of one input, shaped ``x.shape + x.shape`` (one backward sweep per element of x)."""
    (leaf,), _ = _primals(x, "hessian")
    out = _call(f, [leaf], "hessian")
    if out.size != 1:
        raise ValueError(f"hessian: f must return one number, got shape {out.shape}")
    shape = leaf.shape
    rows = np.zeros((leaf.size,) + shape, dtype=np.result_type(leaf._data))
    # f that does not depend on x has a zero Hessian (as jacobian's is zero), not an error
    first = grad(out, leaf, create_graph=True, allow_unused=True)[0] if out.requires_grad else None
    if first is not None and first.requires_grad:
        flat = first.reshape(-1) if first.ndim != 1 else first
        for index in range(leaf.size):
            element = flat[index] if first.ndim else first
            (row,) = grad(element, leaf, retain_graph=True, allow_unused=True)
            rows[index] = row
    return rows.reshape(shape + shape) if shape else float(rows.reshape(()))


def jacobian(f, x, mode="reverse"):
    """∂f/∂x for one input, shaped ``f(x).shape + x.shape``.

    ``mode`` "reverse": one backward sweep per element of f(x); "forward": one
    forward sweep per element of x; "auto" picks the fewer sweeps."""
    if mode not in ("reverse", "forward", "auto"):
        raise ValueError(f"jacobian: mode must be 'reverse', 'forward' or 'auto', got {mode!r}")
    (leaf,), _ = _primals(x, "jacobian")
    out = _call(f, [leaf], "jacobian")
    if mode == "auto":
        mode = "forward" if leaf.size < out.size else "reverse"
    shape_in, shape_out = leaf.shape, out.shape
    result = np.zeros(shape_out + shape_in, dtype=np.result_type(out._data, leaf._data))
    flat = result.reshape((out.size, leaf.size))
    if not out.requires_grad:
        return result
    if mode == "reverse":
        for index in range(out.size):
            seed = np.zeros(shape_out, dtype=flat.dtype)
            seed.reshape(-1)[index] = 1.0
            (row,) = grad(out, leaf, grad_outputs=seed if shape_out else None, retain_graph=True,
                          allow_unused=True)
            flat[index] = np.reshape(row, -1)
    else:
        for index in range(leaf.size):
            direction = np.zeros(shape_in, dtype=flat.dtype)
            direction.reshape(-1)[index] = 1.0
            (column,) = push_forward([out], {leaf: direction if shape_in else float(direction)})
            flat[:, index] = np.reshape(column, -1)
    return result if result.ndim else float(result)
