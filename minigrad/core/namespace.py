"""Which array library a Value's data lives in: the Array API namespace, chosen by the data.

A Value holds a Python float, a numpy array, or an array of another library
that follows the Python Array API standard (PyTorch tensors, CuPy,
array-api-strict, ...): a *foreign* array.  The ops' rules and the numerics
helpers ask `of` for the namespace of their inputs and call the standard's
names on it (``xp.exp``, ``xp.matmul``, ``xp.permute_dims``, ...):

* floats and numpy arrays give ``numpy`` itself (numpy 2 is an Array API
  namespace), decided by one type test, so the numpy path costs nothing new;
* a foreign array gives ``array_api_compat.array_namespace(x)``: the
  library's own namespace, or array_api_compat's wrapper of it (PyTorch's).
  array-api-compat is imported here only when such an array is first seen:
  it is an optional extra, not a dependency of minigrad.

Data of two libraries, or of two devices, never meet in one op: `check`
raises a TypeError naming both.  `move` (behind ``Value.to``) and `to_numpy`
(behind ``Value.numpy``) move data explicitly.
"""

from __future__ import annotations

import types

import numpy as np

__all__ = ["of", "is_foreign", "check", "device", "describe", "to_numpy", "move", "as_data", "MixedArraysError"]

#: The top-level modules of array libraries that may not define ``__array_namespace__`` on their arrays.
_LIBRARIES = frozenset({"torch", "cupy", "jax", "jaxlib", "dask", "sparse", "ndonnx", "array_api_strict"})
_ndarray = np.ndarray  # NOTE: one global lookup: is_foreign asks it of every rule's data
_namespaces: dict = {}  # array type -> its namespace (array_namespace asks a lot for each call)
_foreign_types: dict = {}  # type -> is_foreign's answer


class MixedArraysError(TypeError):
    """Data of two array libraries, or of two devices, met in one op."""


def _compat():
    try:
        import array_api_compat
    except ImportError:  # pragma: no cover - the extra is installed wherever a foreign array exists in the tests
        raise ImportError("minigrad: arrays of libraries other than numpy need the optional package "
                          "array-api-compat (pip install array-api-compat)") from None
    return array_api_compat


def is_foreign(x) -> bool:
    """True for an array of an Array API library other than numpy (a torch tensor, a CuPy array, ...)."""
    kind = type(x)
    if kind is float or kind is _ndarray:
        return False
    known = _foreign_types.get(kind)  # NOTE: decided once per type: a rule on torch data asks it often
    if known is None:
        known = _foreign_types[kind] = _is_foreign_type(kind)
    return known


def _is_foreign_type(kind):
    if issubclass(kind, (int, np.ndarray, np.generic)) or hasattr(kind, "__minigrad_helper__"):
        return False  # numbers, numpy's arrays and scalars, a Value or the compiler's stand-in
    return hasattr(kind, "__array_namespace__") or kind.__module__.partition(".")[0] in _LIBRARIES


def library(x) -> str:
    """The library's name: ``numpy``, ``torch``, ``array_api_strict``, ``cupy``, ..."""
    if not is_foreign(x):
        return "numpy"
    return type(x).__module__.partition(".")[0]


def device(x):
    """The device an array lives on (``"cpu"`` for floats and numpy arrays)."""
    return _compat().device(x) if is_foreign(x) else "cpu"


def describe(x) -> str:
    """How an error names data: ``a torch array (float64) on cpu``, ``an array_api_strict array (float32) on
    ...``, ``a numpy array``, ``a Python float``."""
    if type(x) is float:
        return "a Python float"
    if not is_foreign(x):
        return "a numpy array"
    name = library(x)
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name} array ({_dtype_name(x)}) on {device(x)}"


def _dtype_name(x):
    return str(x.dtype).rpartition(".")[2]


def numpy_dtype(dtype):
    """numpy's dtype of the same name (``torch.float32`` → float32): for checks made in numpy."""
    return dtype if isinstance(dtype, np.dtype) else np.dtype(str(dtype).rpartition(".")[2])


def of(*data):
    """The Array API namespace of ``data``: numpy for floats and numpy arrays, else the foreign
    arrays' library (all of one library, or a `MixedArraysError`; devices are `check`'s to compare,
    before an op runs)."""
    foreign = None
    for item in data:
        if is_foreign(item):
            if foreign is None:
                foreign = item
            elif type(item) is not type(foreign):
                _refuse("an op", foreign, item)
    if foreign is None:
        return np
    kind = type(foreign)
    xp = _namespaces.get(kind)
    if xp is None:
        xp = _namespaces[kind] = _compat().array_namespace(foreign)
    return xp


def check(where, data):
    """`MixedArraysError` unless every array among ``data`` is of one library and on one device
    (Python numbers go with any)."""
    first = None
    for item in data:
        if type(item) is float or type(item) is int:
            continue
        if first is None:
            first = item
        elif (is_foreign(item) or is_foreign(first)) and (
                library(item) != library(first) or device(item) != device(first)):
            _refuse(where, first, item)


def _refuse(where, first, second):
    raise MixedArraysError(
        f"{where}: mixes {describe(first)} with {describe(second)}; one op takes data of one library on one "
        "device: move one of them first with Value.to(namespace or device) (or .numpy())")


def to_numpy(x):
    """The numbers as a numpy array (a float stays a float): device memory is copied to the host."""
    if type(x) is float or not is_foreign(x):
        return x
    name = library(x)
    if name == "torch":
        return x.detach().cpu().numpy()
    if name == "cupy":
        return x.get()
    if name == "array_api_strict":
        import array_api_strict

        x = x.to_device(array_api_strict.Device("CPU_DEVICE"))
    return np.asarray(x)


def _is_namespace(target):
    return isinstance(target, types.ModuleType) or target is np


def is_place(target) -> bool:
    """True for where data can be moved to: an array namespace, or a device object of a library
    (``torch.device``, an array_api_strict ``Device``, ``cupy.cuda.Device``)."""
    return _is_namespace(target) or "device" in type(target).__name__.lower()


def move(x, target):
    """``x`` in ``target``: a namespace (numpy, ``array_api_strict``, torch or its array_api_compat
    wrapper, cupy) or a device of x's own library (``torch.device("cuda")``, ``"cpu"``, an
    array_api_strict Device).  A float stays a float."""
    if type(x) is float:
        return x
    if _is_namespace(target):
        name = target.__name__.rpartition("array_api_compat.")[2].partition(".")[0]
        if name == "numpy":
            return np.array(to_numpy(x), copy=True)
        if is_foreign(x) and library(x) == name:
            return x
        if name == "torch":
            import torch

            return torch.asarray(np.array(to_numpy(x), copy=True))
        if name == "cupy":
            import cupy  # type: ignore[import-not-found]

            return cupy.asarray(to_numpy(x))
        return target.asarray(np.array(to_numpy(x), copy=True))
    if not is_foreign(x):
        raise TypeError(f"to: {target!r} is not a namespace, and a numpy array has no other device; pass the "
                        "namespace to move to (torch, cupy, array_api_strict, ...), then a device")
    return _compat().to_device(x, target)


def move_like(x, like):
    """``x`` moved to the library and device of ``like`` (a gradient sent back through ``Value.to``)."""
    if type(like) is float:
        return float(to_numpy(x)) if type(x) is not float else x
    if not is_foreign(like):
        return np.asarray(to_numpy(x))
    if is_foreign(x) and library(x) == library(like):
        return _compat().to_device(x, device(like))
    moved = move(x, of(like))
    return _compat().to_device(moved, device(like))


def as_data(x, where, copy):
    """A foreign array as a Value holds it: float64 or float32 on its own device (integers become
    float64, or float32 on a device without float64; float16 and bfloat16 float32), copied when ``copy``."""
    xp = of(x)
    if getattr(x, "requires_grad", False):  # NOTE: a torch tensor that records torch's own graph: numbers only
        x = x.detach()
    dtype = x.dtype
    if dtype == xp.float64 or dtype == xp.float32:
        return xp.asarray(x, copy=True) if copy else x
    if xp.isdtype(dtype, "bool"):
        raise TypeError(f"{where}: got a boolean array; convert it to floats if numbers are meant")
    if xp.isdtype(dtype, "complex floating"):
        raise TypeError(f"{where}: complex data is not supported (dtype {_dtype_name(x)})")
    if xp.isdtype(dtype, "real floating"):
        return xp.astype(x, xp.float32)
    if xp.isdtype(dtype, "integral"):  # float64 as numpy gives, where the device has it (torch's default is float32)
        info = xp.__array_namespace_info__()
        floating = "float64" in info.dtypes(device=device(x), kind="real floating")
        return xp.astype(x, xp.float64 if floating else info.default_dtypes(device=device(x))["real floating"])
    raise TypeError(f"{where}: expected numbers, got {describe(x)} of dtype {_dtype_name(x)}")


def full(shape, number, like):
    """An array of ``shape`` filled with ``number``, of ``like``'s dtype, library and device."""
    if not is_foreign(like):
        return np.full(shape, number, dtype=np.result_type(like))
    return of(like).full(shape, number, dtype=like.dtype, device=device(like))


def numpy_only(roots, where):
    """A TypeError when a graph ending at ``roots`` (Values) holds data of another array library:
    for the tools that read or write numbers as numpy (drawings, explain, explore, ONNX export)."""
    from .backward import topological_order

    for root in roots:
        if not hasattr(root, "parents"):  # an argument that is not a Value
            if is_foreign(root):
                raise TypeError(f"{where}: works on numpy data only, but got {describe(root)}; move it first "
                                "(Value.to(numpy), .numpy())")
            continue
        for node in topological_order(root):
            if is_foreign(node.data):
                what = f"'{node.name}'" if node.name else "a leaf" if node.op is None else f"a result of {node.op.name}"
                raise TypeError(f"{where}: works on numpy data only, but {what} holds {describe(node.data)}; build "
                                "the graph on numpy data (Value.to(numpy), Module.to(numpy)) to use it here")
