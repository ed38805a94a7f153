"""Networks built from minigrad's primitive ops.

`Module` finds its parameters by walking its attributes (Values, Modules,
lists and dicts of them), so the names are the attribute paths.  A
one-hidden-layer `MLP([I, H, O])` uses the chapter's names: ``w`` (I×H, input
to hidden), ``bias_hidden``, ``v`` (H×O, hidden to output), ``bias_output``.
`ScalarMLP` is the same network built weight by weight from scalar Values
(micrograd style): the same names with element indices (``w[0,1]``), the same
initial numbers for the same seed, and the chapter's names on its nodes
(``NdInpt_0``, ``H_1``, ``A_0``), which is what drawing and `explain` show.

Every module can be saved and restored: `Module.state_dict` gives
``{name: numpy array}`` (for a `ScalarMLP` the same keys and arrays as the
matching `MLP`, so the two load each other's weights), `load_state_dict`
checks every name, shape and dtype before it changes anything, and
`save` / `load` write and read that dict as an ``.npz`` file, atomically and
without pickle.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..core import namespace
from ..core import checks
from ..core._types import DType, Seed
from ..core.creation import as_generator
from ..core.value import Value, sse
from ..core.files import write_atomically
from ..core.modes import record_guard
from . import functional

__all__ = ["Module", "Linear", "Sigmoid", "Tanh", "ReLU", "Softmax", "Dropout", "CrossEntropyLoss", "MSELoss",
           "SSELoss", "Sequential", "MLP", "ScalarMLP", "example_network",
           "example_pattern",
           "ACTIVATIONS", "initial_arrays",
           "parameter_names"]


class Module:
    """Base class: parameters found by walking attributes, no magic lookups.

    ``training`` is True until ``eval()`` (and again after ``train()``): layers
    such as `Dropout` act only in training mode.
    """

    training = True

    def forward(self, *inputs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *inputs):
        return self.forward(*inputs)

    def modules(self) -> list[Module]:
        """This module and every module inside it (attributes, lists, dicts), each once, in attribute order."""
        found: list[Module] = []
        seen = set()
        stack: list[Any] = [self]
        while stack:
            item = stack.pop()
            if isinstance(item, Module):
                if id(item) in seen:
                    continue
                seen.add(id(item))
                found.append(item)
                stack.extend(reversed([child for name, child in vars(item).items() if not name.startswith("_")]))
            elif isinstance(item, (list, tuple)):
                stack.extend(reversed(item))
            elif isinstance(item, dict):
                stack.extend(reversed(list(item.values())))
        return found

    def train(self, mode: bool = True) -> Module:
        """Training mode (``mode=True``) or evaluation mode, for this module and every module in
        it; sets ``.training``.  Returns the module, as PyTorch's does."""
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"train: mode must be True or False, got {mode!r}")
        for module in self.modules():
            module.training = bool(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: ``train(False)`` (`Dropout` passes its input through unchanged)."""
        return self.train(False)

    def to(self, dtype: DType | Any) -> Module:
        """Every parameter cast to ``dtype`` (float64 or float32), in place; gradients are cleared
        (they belonged to the old numbers).  Returns the module.

        ``dtype`` may instead be a place: an array namespace (numpy, torch, array_api_strict, cupy)
        or a device of the parameters' library (``torch.device("cuda")``): every parameter's data
        moves there, in place (see `minigrad.core.namespace`)."""
        if namespace.is_place(dtype):
            for value in self.parameters():
                value.data = namespace.move(value.data, dtype)
                value.grad = None
            return self
        try:
            target = np.dtype(dtype)
        except TypeError:
            target = None
        if target not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise TypeError(f"to: dtype must be float64 or float32, got {dtype!r}")
        parameters = self.named_parameters()
        scalars = [name for name, value in parameters if type(value.data) is float]
        if scalars and target == np.float32:
            raise TypeError(f"to: {type(self).__name__} holds its weights as Python floats (float64), which "
                            f"cannot become float32 (first: {scalars[0]!r}); use a tensor model (MLP, Linear)")
        for _, value in parameters:
            data = value.data
            if type(data) is not float and namespace.numpy_dtype(data.dtype) != target:
                xp = namespace.of(data)  # numpy, or the parameter's own library
                value.data = data.astype(target) if xp is np else xp.astype(data, getattr(xp, target.name))
                value.grad = None
        return self

    def float(self) -> Module:
        """``to(np.float32)``."""
        return self.to(np.float32)

    def double(self) -> Module:
        """``to(np.float64)``."""
        return self.to(np.float64)

    def named_parameters(self) -> list[tuple[str, Value]]:
        """``[(name, Value), ...]`` for every Value that requires grad, in attribute order."""
        found: list[tuple[str, Value]] = []
        seen = set()
        # Iterative walk: (prefix, object) pairs, children pushed in reverse to keep order.
        stack = [("", self)]
        while stack:
            prefix, item = stack.pop()
            if isinstance(item, Value):
                if item.requires_grad and id(item) not in seen:
                    seen.add(id(item))
                    found.append((prefix, item))
            elif isinstance(item, Module):
                children = [(name, child) for name, child in vars(item).items() if not name.startswith("_")]
                for name, child in reversed(children):
                    stack.append((f"{prefix}.{name}" if prefix else name, child))
            elif isinstance(item, (list, tuple)):
                for index in reversed(range(len(item))):
                    stack.append((_index_name(prefix, index), item[index]))
            elif isinstance(item, dict):
                for key in reversed(list(item)):
                    stack.append((f"{prefix}.{key}" if prefix else str(key), item[key]))
        return found

    def parameters(self) -> list[Value]:
        """Every parameter Value, in the order of `named_parameters`."""
        return [value for _, value in self.named_parameters()]

    def zero_grad(self) -> None:
        """Forget every parameter's accumulated gradient."""
        for value in self.parameters():
            value.grad = None

    def parameter_count(self) -> int:
        """How many numbers the parameters hold (Σ of their sizes)."""
        return sum(value.size for value in self.parameters())

    # -- state: arrays by name ------------------------------------------------

    def _state_slots(self):
        """``[(name, shape, read(), write(array)), ...]``: what a state dict holds.

        By default one slot per named parameter; `ScalarMLP` overrides this to
        present each grid of scalar weights as one array.
        """
        slots = []
        for name, value in self.named_parameters():
            slots.append((name, value.shape, _reader(value), _writer(value)))
        return slots

    def state_dict(self) -> dict[str, np.ndarray]:
        """``{name: numpy array}``: a copy of every parameter, in parameter order."""
        return {name: read() for name, _, read, _ in self._state_slots()}

    def load_state_dict(self, state: Mapping[str, Any], *, strict: bool = False) -> Module:
        """Copy the arrays of ``state`` into the parameters, all or nothing.

        Every name must match (no missing, no extra), every array must have
        its parameter's shape and hold real numbers.  Everything is checked
        before anything is written, so on an error the model is unchanged.
        Values are cast to each parameter's dtype; gradients are cleared,
        since they belonged to the old weights.

        A state holding nan or inf is loaded with a RuntimeWarning that names
        the parameter and the first element (a diverged run saves such
        weights, and may be worth inspecting); with ``strict=True`` it is
        refused with a ValueError and the model is unchanged.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"load_state_dict: expected a mapping of names to arrays, got {type(state).__name__}")
        slots = self._state_slots()
        names = [name for name, _, _, _ in slots]
        missing = [name for name in names if name not in state]
        unexpected = [str(key) for key in state if key not in set(names)]
        if missing or unexpected:
            raise ValueError(f"load_state_dict: {_mismatch(missing, unexpected, 'parameter', names)}")
        checked = []
        for name, shape, _, write in slots:
            array = _checked_array(state[name], name, shape)
            checked.append((write, array))
        not_finite = _not_finite([(name, array) for (name, _, _, _), (_, array) in zip(slots, checked)])
        if not_finite and strict:
            raise ValueError(f"load_state_dict: {not_finite}; refused (strict=True), the model is unchanged")
        for write, array in checked:
            write(array)
        if not_finite:
            warnings.warn(f"load_state_dict: {not_finite}; loaded as it is (strict=True refuses such a state)",
                          RuntimeWarning, stacklevel=2)
        return self

    def save(self, path: str | os.PathLike[str]) -> str:
        """Write `state_dict` to ``path`` as an ``.npz`` archive, atomically.

        The archive is written to a temporary file in the same folder and
        moved over ``path`` (`minigrad.core.files.write_atomically`), so a reader
        never sees half a file and a failure leaves any old file as it was.
        A missing folder or a read-only target is a clear error.  No pickle
        is ever written.  Returns ``path`` as a string.
        """
        arrays = self.state_dict()
        return write_atomically(path, lambda file: _write_npz(file, arrays), caller="save")

    def load(self, path: str | os.PathLike[str], *, strict: bool = False) -> Module:
        """Read an ``.npz`` written by `save` into this module (all or nothing).

        Nothing in the file is trusted before it is checked: member names
        against the model before any member is decompressed, each member's
        declared dtype and shape (its ``.npy`` header) before its data is
        read, and the member's size against what that header implies, so a
        hostile file costs no more memory than the model itself.  Pickles are
        never read.  An empty, truncated, non-npz, pickle-bearing or
        mismatched file is refused with an error naming the file (and the
        member at fault), and the model is left unchanged.  Weights that are
        nan or inf load with a RuntimeWarning, or are refused with
        ``strict=True`` (see `load_state_dict`).  Returns the module.
        """
        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"load: {path!r} does not exist")
        shapes = {name: tuple(shape) for name, shape, _, _ in self._state_slots()}
        state = _read_npz(path, shapes)
        try:
            with warnings.catch_warnings(record=True) as caught:  # restated below with the file's name
                warnings.simplefilter("always")
                self.load_state_dict(state, strict=strict)
        except (ValueError, TypeError) as error:
            raise type(error)(f"load: {path!r}: {error}") from None
        for warning in caught:
            message = str(warning.message)
            if message.startswith("load_state_dict: "):
                message = f"load: {path!r}: {message.removeprefix('load_state_dict: ')}"
            warnings.warn(message, warning.category, stacklevel=2)
        return self

    def parameter_table(self) -> list[tuple[str, tuple[int, ...], str, int]]:
        """``[(name, shape, dtype, count), ...]`` for every parameter array (a
        `ScalarMLP`'s grid of scalar weights is one row, as in `state_dict`)."""
        rows = []
        for name, shape, read, _ in self._state_slots():
            rows.append((name, tuple(shape), str(np.asarray(read()).dtype), int(math.prod(shape))))
        return rows

    def _header(self):
        sizes = getattr(self, "sizes", None)
        details = [] if sizes is None else [f"sizes={list(sizes)}"]
        activation = getattr(self, "activation", "sigmoid")
        if activation != "sigmoid":
            details.append(f"activation={activation!r}")
        if getattr(self, "output", activation) != activation:
            details.append(f"output={self.output!r}")
        if getattr(self, "alpha", None) is not None and "sigmoid" in (activation, getattr(self, "output", activation)):
            details.append(f"alpha={self.alpha!r}")
        return f"{type(self).__name__}({', '.join(details)})"

    def __repr__(self):
        rows = self.parameter_table()
        if not rows:
            return f"{self._header()}: no parameters"
        cells = [("parameter", "shape", "dtype", "numbers")] + [
            (name, str(shape), dtype, f"{count:,}") for name, shape, dtype, count in rows]
        widths = [max(len(row[k]) for row in cells) for k in range(4)]
        lines = [f"{self._header()}: {sum(row[3] for row in rows):,} numbers in {len(rows)} parameters"]
        for row in cells:
            lines.append("  " + "  ".join(cell.rjust(width) if k == 3 else cell.ljust(width)
                                          for k, (cell, width) in enumerate(zip(row, widths))).rstrip())
        return "\n".join(lines)

    def _repr_html_(self):
        import html

        rows = "".join(f"<tr><td><code>{html.escape(name)}</code></td><td>{shape}</td><td>{dtype}</td>"
                       f"<td style='text-align:right'>{count:,}</td></tr>"
                       for name, shape, dtype, count in self.parameter_table())
        total = sum(row[3] for row in self.parameter_table())
        return (f"<div><b>{html.escape(self._header())}</b>: {total:,} numbers"
                "<table><thead><tr><th>parameter</th><th>shape</th><th>dtype</th><th>numbers</th></tr></thead>"
                f"<tbody>{rows}</tbody></table></div>")


def _mismatch(missing, unexpected, extra_kind, names):
    """``missing parameter(s) 'v'; unexpected member(s) 'x.npy' (the model has 'w', 'v')``."""
    parts = []
    if missing:
        parts.append(f"missing parameter(s) {', '.join(map(repr, missing))}")
    if unexpected:
        parts.append(f"unexpected {extra_kind}(s) {', '.join(map(repr, unexpected))}")
    text = f"{'; '.join(parts)} (the model has {', '.join(map(repr, names))})"
    if missing and len(missing) == len(unexpected):
        text += (". The state names as many parameters differently: it comes from another kind of model "
                 "(an MLP names them w, bias_hidden, v, bias_output, or weight_1, bias_1, ... when deeper; "
                 "a Sequential layers[0].weight, layers[0].bias, ...)")
    return text


def _reader(value):
    def read():
        return np.array(namespace.to_numpy(value.data), copy=True)  # state files are numpy's: moved explicitly
    return read


def _writer(value):
    def write(array):
        if type(value.data) is float:
            value.data = float(array)
        else:
            data = value.data
            array = np.array(array, dtype=namespace.numpy_dtype(data.dtype), copy=True)
            value.data = namespace.move_like(array, data) if namespace.is_foreign(data) else array
        value.grad = None
    return write


def _not_finite(arrays):
    """'parameter 'w' holds nan at (0, 1) (3 numbers that are not finite in all)', or '' when all are finite."""
    count, first = 0, None
    for name, array in arrays:
        if array.dtype.kind != "f":
            continue
        bad = ~np.isfinite(array)
        if bad.any():
            count += int(bad.sum())
            if first is None:
                index = tuple(int(k) for k in np.argwhere(bad)[0]) if array.ndim else ()
                first = (name, array[index] if array.ndim else array[()], index)
    if first is None:
        return ""
    name, value, index = first
    where = f" at {index}" if index else ""
    return (f"parameter {name!r} holds {value}{where}"
            f" ({count:,} number{'s' if count != 1 else ''} that {'are' if count != 1 else 'is'} not finite in all)")


def _checked_array(item, name, shape):
    """``item`` as a numpy array of real numbers with exactly ``shape``, or an error naming ``name``."""
    if isinstance(item, Value):
        item = item.data
    try:
        array = np.asarray(item)
    except (ValueError, TypeError) as error:
        raise ValueError(f"load_state_dict: parameter {name!r} is not an array of numbers ({error})") from None
    if array.dtype.kind not in "fiu":
        raise TypeError(f"load_state_dict: parameter {name!r} has dtype {array.dtype}; expected real numbers")
    if array.shape != tuple(shape):
        raise ValueError(f"load_state_dict: parameter {name!r} has shape {tuple(shape)} in the model "
                         f"but {array.shape} in the state")
    return array


def _write_npz(handle, arrays):
    """The ``np.savez`` format written by hand, so no key can clash with its
    keyword arguments and no pickle can slip in."""
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)


# The most bytes a member's .npy magic, header length and header may take
# (numpy itself refuses headers over 10,000 characters).
_MAX_HEADER_BYTES = 16384

# What np.savez and np.savez_compressed write; other methods (bzip2, lzma)
# decompress without an output bound in zipfile, so a small member could expand without limit.
_ZIP_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}

# What a broken or hostile archive raises inside zipfile and numpy's header
# readers (RuntimeError covers an encrypted member, an unsupported feature and
# a header nested too deeply to parse).
_UNREADABLE = (ValueError, OSError, EOFError, zipfile.BadZipFile, RuntimeError)


def _read_npz(path, shapes):
    """The arrays of the ``.npz`` file ``path``, checked against ``shapes`` ({name: shape}).

    Nothing is trusted before it is checked: member names before any member
    is opened, each ``.npy`` header (dtype, shape) before its data, and the
    member's uncompressed size against the header before any data is read.
    The data is read with a bounded read, never unpickled.
    """
    try:
        with open(path, "rb") as handle:
            start = handle.read(6)
    except OSError as error:
        raise ValueError(f"load: {path!r} is not a readable .npz state file ({error})") from None
    if not start:
        raise ValueError(f"load: {path!r} is empty, not an .npz state file")
    if start.startswith(b"\x93NUMPY"):
        raise ValueError(f"load: {path!r} holds a single .npy array, not an .npz archive of named parameters")
    if not start.startswith(b"PK"):
        # NOTE: numpy would try it as a pickle and say so, which misleads for a text file.
        raise ValueError(f"load: {path!r} is not an .npz state file (no zip archive header)")
    with _restated_as(f"load: {path!r} is not a readable .npz state file"):
        archive = zipfile.ZipFile(path)
    with archive:
        members = _members_by_name(archive, path, shapes)
        return {name: _read_member(archive, members[name], path, name, shapes[name]) for name in shapes}


@contextlib.contextmanager
def _restated_as(message):
    """Turn what a broken archive raises into one ValueError: ``message (the error's first line)``."""
    try:
        yield
    except _UNREADABLE as error:
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"{message} ({detail})") from None


def _members_by_name(archive, path, shapes):
    """``{parameter name: ZipInfo}`` from the zip directory alone (nothing is decompressed).

    Every parameter must have exactly one ``NAME.npy`` member and no other member may be present.
    """
    members, unexpected = {}, []
    with _restated_as(f"load: {path!r} is not a readable .npz state file"):
        listing = archive.infolist()
    for info in listing:
        name = info.filename[:-len(".npy")] if info.filename.endswith(".npy") else None
        if name not in shapes:
            unexpected.append(info.filename)
        elif name in members:
            raise ValueError(f"load: {path!r}: member {info.filename!r} appears twice")
        else:
            members[name] = info
    missing = [name for name in shapes if name not in members]
    if missing or unexpected:
        raise ValueError(f"load: {path!r}: {_mismatch(missing, unexpected, 'member', shapes)}")
    return members


def _read_member(archive, info, path, name, shape):
    """One member's array, after its header and size are checked against the model's ``shape``."""
    where = f"load: {path!r}: member {info.filename!r}"
    if info.compress_type not in _ZIP_METHODS:
        raise ValueError(f"{where} uses zip compression method {info.compress_type}; "
                         f"only {' and '.join(_ZIP_METHODS.values())} (what numpy writes) are read")
    unreadable = f"{where} is not a readable .npy array"
    with _restated_as(unreadable):
        member = archive.open(info)
    with member:
        header = _BoundedReader(member, _MAX_HEADER_BYTES)
        with _restated_as(unreadable):
            declared_shape, fortran_order, dtype = _read_npy_header(header)
        if dtype.hasobject:
            raise ValueError(f"{where} holds Python objects (dtype {dtype}); load never unpickles")
        if dtype.kind not in "fiu":
            raise TypeError(f"{where}: parameter {name!r} needs real numbers, but the member has dtype {dtype}")
        if tuple(declared_shape) != tuple(shape):
            raise ValueError(f"{where}: parameter {name!r} has shape {tuple(shape)} in the model "
                             f"but {tuple(declared_shape)} in the file")
        size = dtype.itemsize * math.prod(shape)
        expected = header.consumed + size
        if info.file_size != expected:
            # NOTE: np.load reads only what the header asks for, so a zip bomb
            # behind a plausible header would go unnoticed.
            raise ValueError(f"{where} is {info.file_size:,} bytes uncompressed, but its header "
                             f"({dtype}, shape {tuple(shape)}) implies {expected:,}")
        with _restated_as(unreadable):
            data = member.read(size)
    if len(data) != size:
        raise ValueError(f"{where} is truncated: {len(data):,} of {size:,} data bytes")
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran_order else "C")


def _read_npy_header(stream):
    """``(shape, fortran_order, dtype)`` from the start of an ``.npy`` stream (numpy's own parser)."""
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(stream)
    if version in ((2, 0), (3, 0)):
        # NOTE: 3.0 differs from 2.0 only in the header's encoding (utf8, for
        # field names), which matters only for structured dtypes, refused anyway.
        return np.lib.format.read_array_header_2_0(stream)
    raise ValueError(f"unknown .npy format version {version[0]}.{version[1]}")


class _BoundedReader:
    """A file's ``read`` that stops after ``limit`` bytes in all, counting what it gave.

    numpy's header readers trust the length field (up to 4 GiB for version 2.0);
    this keeps them from reading a hostile member's data as a header.
    """

    def __init__(self, stream, limit):
        self._stream = stream
        self._left = limit
        self.consumed = 0

    def read(self, size=-1):
        size = self._left if size is None or size < 0 else min(size, self._left)
        data = self._stream.read(size)
        self._left -= len(data)
        self.consumed += len(data)
        return data


def _index_name(prefix, index):
    """``w`` + 1 → ``w[1]``;  ``w[1]`` + 0 → ``w[1,0]`` (the chapter's w[i,h])."""
    if prefix.endswith("]"):
        return f"{prefix[:-1]},{index}]"
    return f"{prefix}[{index}]"


def parameter_names(sizes: Sequence[int]) -> list[tuple[str, str]]:
    """Names of the (weight, bias) pair of each layer of an MLP with these sizes.

    One hidden layer gets the chapter's names; deeper nets get numbered ones.
    """
    layers = len(sizes) - 1
    if layers == 2:
        return [("w", "bias_hidden"), ("v", "bias_output")]
    return [(f"weight_{k}", f"bias_{k}") for k in range(1, layers + 1)]


def initial_arrays(sizes: Sequence[int], bias: bool = True, init: str | float = "uniform", seed: Seed = None,
                   dtype: DType = np.float64) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """The initial (weight, bias) arrays of each layer, in a fixed draw order.

    ``init``: ``"uniform"`` draws from (−1, 1] as in the author's course code;
    ``"scaled"`` shrinks that by √(6/(n_in + n_out)) (Glorot), which keeps the
    summed inputs of wide layers out of the sigmoid's flat tails; a number is
    used as the half-width (biases are drawn like the weights).  By name, as
    `minigrad.nn.init` draws them, with biases at 0: ``"xavier"`` (Glorot
    uniform, ±√(6/(n_in + n_out))), ``"xavier_normal"`` (σ = √(2/(n_in + n_out))),
    ``"he"`` (Kaiming uniform for ReLU, ±√(6/n_in)), ``"he_normal"``
    (σ = √(2/n_in)).  ``seed`` is an int, a numpy Generator, or None for the
    generator `minigrad.manual_seed` seeds.
    """
    sizes = _check_sizes(sizes, "initial_arrays")
    rng = as_generator(seed, "initial_arrays")
    arrays = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        if isinstance(init, str) and init in NAMED_INITS:
            spread = NAMED_INITS[init](n_in, n_out)
            if init.endswith("_normal"):
                weight = spread * rng.standard_normal((n_in, n_out))
            else:
                weight = rng.uniform(-spread, spread, (n_in, n_out))
            bias_values = np.zeros(n_out) if bias else None
        else:
            scale = _init_scale(init, n_in, n_out)
            # NOTE: 1 − U[0, 1) lies in (0, 1], so this is uniform on (−scale, scale].
            weight = scale * (1.0 - 2.0 * rng.random((n_in, n_out)))
            bias_values = scale * (1.0 - 2.0 * rng.random(n_out)) if bias else None
        arrays.append((weight.astype(dtype), None if bias_values is None else bias_values.astype(dtype)))
    return arrays


#: The initialisations by name: each gives the uniform half-width or the normal σ for (n_in, n_out).
NAMED_INITS = {
    "xavier": lambda n_in, n_out: math.sqrt(6.0 / (n_in + n_out)),
    "xavier_normal": lambda n_in, n_out: math.sqrt(2.0 / (n_in + n_out)),
    "he": lambda n_in, n_out: math.sqrt(6.0 / n_in),
    "he_normal": lambda n_in, n_out: math.sqrt(2.0 / n_in),
}

_INIT_CHOICES = "'uniform', 'scaled', 'xavier', 'xavier_normal', 'he', 'he_normal' or a positive number"


def _init_scale(init, n_in, n_out):
    if isinstance(init, str):
        if init == "uniform":
            return 1.0
        if init == "scaled":
            return float(np.sqrt(6.0 / (n_in + n_out)))
        raise ValueError(f"init must be {_INIT_CHOICES}, got {init!r}")
    if isinstance(init, (int, float)) and not isinstance(init, bool) and init > 0:
        return float(init)
    raise ValueError(f"init must be {_INIT_CHOICES}, got {init!r}")


def _check_sizes(sizes, caller):
    """``sizes`` as a tuple of ints, or an error naming ``caller`` and the bad entry.

    Checked as the caller gave them: ``int(2.5)`` or ``int(True)`` would hide the mistake.
    """
    if isinstance(sizes, (str, bytes)):
        raise TypeError(f"{caller}: sizes must be a list of positive integers (inputs, ..., outputs), "
                        f"got {type(sizes).__name__} {sizes!r}")
    try:
        entries = list(sizes)
    except TypeError:
        raise TypeError(f"{caller}: sizes must be a list of positive integers (inputs, ..., outputs), "
                        f"got {type(sizes).__name__}") from None
    for index, size in enumerate(entries):
        if isinstance(size, (bool, np.bool_)) or not isinstance(size, numbers.Integral):
            raise TypeError(f"{caller}: sizes must be positive integers, but sizes[{index}] is "
                            f"{size!r} ({type(size).__name__}) in {entries!r}")
        if size < 1:
            raise ValueError(f"{caller}: sizes must be positive integers, but sizes[{index}] is {size!r} "
                             f"in {entries!r}")
    if len(entries) < 2:
        raise ValueError(f"{caller}: sizes must be at least two positive integers (inputs, ..., outputs), "
                         f"got {entries!r}")
    return tuple(int(size) for size in entries)


def _check_inputs(inputs, expected, caller, one_pattern=False):
    """Refuse ``inputs`` whose last axis is not ``expected`` long (or, for
    ``one_pattern``, that are not a vector), naming ``caller`` and the shape."""
    if isinstance(inputs, (list, tuple)) and any(isinstance(item, Value) for item in inputs):
        inputs = [item.data if isinstance(item, Value) else item for item in inputs]  # np.shape refuses Values
    try:
        shape = tuple(inputs.shape if isinstance(inputs, (Value, np.ndarray)) else np.shape(inputs))
    except (ValueError, TypeError):
        return  # ragged: the first op says so
    if one_pattern and len(shape) != 1:
        raise ValueError(f"{caller}: takes one pattern at a time, a vector of {expected} inputs, "
                         f"got input shape {shape}")
    if not shape or shape[-1] != expected:
        got = shape[-1] if shape else "a single number"
        raise ValueError(f"{caller}: expected {expected} inputs per pattern (the first layer size), got {got} "
                         f"(input shape {shape})")


class Linear(Module):
    """x @ weight + bias, with weight of shape (n_in, n_out) (the chapter's w[i, h]).

    ``init`` as `initial_arrays` takes it: ``"uniform"`` (the course code's), ``"scaled"``, a
    half-width, or by name ``"xavier"``, ``"xavier_normal"``, ``"he"``, ``"he_normal"`` (PyTorch's
    formulas, biases at 0); ``seed=None`` draws from the generator `minigrad.manual_seed` seeds.
    """

    def __init__(self, n_in: int, n_out: int, bias: bool = True, init: str | float = "uniform", seed: Seed = None,
                 dtype: DType = np.float64) -> None:
        (weight, bias_values), = initial_arrays(_check_sizes([n_in, n_out], "Linear"), bias, init, seed, dtype)
        self.weight = Value(weight, name="weight")
        self.bias = Value(bias_values, name="bias") if bias else None

    def forward(self, x):
        out = x @ self.weight
        return out + self.bias if self.bias is not None else out


class Sigmoid(Module):
    """The chapter's transfer function F(x) = 1/(1 + exp(−αx)) as a layer."""

    def __init__(self, alpha: float = 1.0) -> None:
        checks.positive_real(alpha, "alpha (the gain)", "Sigmoid")
        self.alpha = alpha

    def forward(self, x):
        return x.sigmoid(self.alpha)


class Tanh(Module):
    """tanh(x) as a layer: values in (−1, 1), slope 1 − tanh²(x)."""

    def forward(self, x):
        return x.tanh()


class ReLU(Module):
    """max(x, 0) as a layer: slope 1 for x > 0, else 0."""

    def forward(self, x):
        return x.relu()


class Softmax(Module):
    """softmax(x) = exp(x) / Σ exp(x) along ``axis`` (the classes; the last by default), as a layer."""

    def __init__(self, axis: int = -1) -> None:
        self.axis = axis

    def forward(self, x):
        return functional.softmax(x, self.axis)


class Dropout(Module):
    """Inverted dropout: in training mode each element is zeroed with probability ``p`` and the
    others are scaled by 1/(1 − p), so the expected output is the input; in evaluation mode
    (``model.eval()``) it is the identity.

    The mask is drawn from ``seed``'s generator (an int or a numpy Generator) or, when
    ``seed`` is None, from the one `minigrad.manual_seed` seeds.  The gradient flows
    through the kept elements, scaled by the same 1/(1 − p).
    """

    def __init__(self, p: float = 0.5, seed: Seed = None) -> None:
        self.p = functional.check_probability(p, "Dropout")
        #: Where the masks come from: a numpy Generator, or None for the default one (`minigrad.manual_seed`).
        self.generator = None if seed is None else as_generator(seed, "Dropout")

    def forward(self, x):
        record_guard(self, "training", self.training)  # a compiled step traced in one mode serves only that mode
        return functional.dropout(x, self.p, self.training, self.generator)

    def __repr__(self):
        return f"Dropout(p={self.p:g})"


class CrossEntropyLoss(Module):
    """``loss(logits, targets)``: `minigrad.cross_entropy` (softmax cross-entropy; targets are
    integer labels or probabilities), in PyTorch's argument order; ``reduction`` "mean" or "sum"."""

    def __init__(self, reduction: str = "mean") -> None:
        if reduction not in ("mean", "sum"):
            raise ValueError(f"CrossEntropyLoss: reduction must be 'mean' or 'sum', got {reduction!r}")
        self.reduction = reduction

    def forward(self, logits, targets):
        return functional.cross_entropy(logits, targets, reduction=self.reduction)


class MSELoss(Module):
    """``loss(outputs, targets)``: the mean squared error (1/N) Σ (targets − outputs)², in PyTorch's
    argument order (`minigrad.mse` takes desired first)."""

    def forward(self, outputs, targets):
        return functional.mse(targets, outputs)


class SSELoss(Module):
    """``loss(outputs, targets)``: the chapter's SSE ½ Σ (targets − outputs)² (Eq. 6.5), in
    PyTorch's argument order (`minigrad.sse` takes desired first)."""

    def forward(self, outputs, targets):
        return functional.sse(targets, outputs)


#: The activations an MLP takes by name.
ACTIVATIONS = ("sigmoid", "tanh", "relu")


def _activate(x, activation, alpha):
    if activation == "sigmoid":
        return x.sigmoid(alpha)
    if activation == "tanh":
        return x.tanh()
    if activation == "relu":
        return x.relu()
    return x  # "linear"


class Sequential(Module):
    """Layers applied in order.

    Its parameters are named by position: ``layers[0].weight``, ``layers[0].bias``,
    ``layers[2].weight``, ... (the index counts every layer, activations and
    `Dropout` included), so its state dict never fits an `MLP`'s (``w``,
    ``bias_hidden``, ...), and loading one into the other names both sets of keys.
    """

    def __init__(self, *layers: Module) -> None:
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class MLP(Module):
    """A multilayer perceptron on tensors: every layer is ``activation(x @ weight + bias)``.

    The default is the chapter's: the sigmoid with gain ``alpha`` at every
    layer, the output layer included.  ``activation`` may be ``"sigmoid"``,
    ``"tanh"`` or ``"relu"`` for the hidden layers; ``output`` is the output
    layer's (by default the same; ``"linear"`` leaves the outputs as they
    are, the logits that `minigrad.cross_entropy` takes).  ``alpha`` is the
    sigmoid's gain and is used only where a layer is a sigmoid.

    ``MLP([2, 2, 2])`` has parameters ``w``, ``bias_hidden``, ``v``,
    ``bias_output``; deeper nets have ``weight_1, bias_1, weight_2, ...``.
    Inputs are a vector (one pattern) or a (batch, inputs) matrix.
    """

    def __init__(self, sizes: Sequence[int], alpha: float = 1.0, bias: bool = True, init: str | float = "uniform",
                 seed: Seed = None, dtype: DType = np.float64, *,
                 activation="sigmoid", output=None):
        self.sizes = _check_sizes(sizes, "MLP")
        if activation not in ACTIVATIONS:
            raise ValueError(f"MLP: activation must be one of {', '.join(map(repr, ACTIVATIONS))}, "
                             f"got {activation!r}")
        output = activation if output is None else output
        if output not in ACTIVATIONS + ("linear",):
            raise ValueError(f"MLP: output must be one of {', '.join(map(repr, ACTIVATIONS + ('linear',)))}, "
                             f"got {output!r}")
        checks.positive_real(alpha, "alpha (the sigmoid's gain)", "MLP")  # now, not at the first forward pass
        self.alpha = alpha
        self.activation = activation
        self.output = output
        self._layer_names = parameter_names(self.sizes)
        for (weight_name, bias_name), (weight, bias_values) in zip(
                self._layer_names, initial_arrays(self.sizes, bias, init, seed, dtype)):
            setattr(self, weight_name, Value(weight, name=weight_name))
            setattr(self, bias_name, Value(bias_values, name=bias_name) if bias else None)

    def layers(self):
        """[(weight, bias or None), ...] in order from input to output."""
        return [(getattr(self, w), getattr(self, b)) for w, b in self._layer_names]

    def forward(self, x):
        _check_inputs(x, self.sizes[0], "MLP")
        layers = self.layers()
        for number, (weight, bias) in enumerate(layers):
            x = x @ weight
            if bias is not None:
                x = x + bias
            x = _activate(x, self.activation if number < len(layers) - 1 else self.output, self.alpha)
        return x

    def loss(self, inputs, desired):
        """The chapter's SSE (Eq. 6.5) of the network's outputs for ``inputs``."""
        return sse(desired, self.forward(inputs))


class ScalarMLP(Module):
    """The same sigmoid MLP built weight by weight from scalar Values.

    ``self.w[i][h]`` is the scalar weight from input i to hidden node h (named
    ``w[i,h]``), ``self.v[h][o]`` from hidden node h to output o.  With the same
    sizes, init and seed as an `MLP` it holds exactly the same numbers.  Each
    forward pass names its nodes as the chapter does: ``NdInpt_o`` (summed
    input of output node o), ``A_o`` (its activation), ``H_h`` (hidden
    activations) and ``NdInpt_hidden_h`` for the hidden summed inputs.
    """

    def __init__(self, sizes: Sequence[int], alpha: float = 1.0, bias: bool = True, init: str | float = "uniform",
                 seed: Seed = None) -> None:
        self.sizes = _check_sizes(sizes, "ScalarMLP")
        checks.positive_real(alpha, "alpha (the sigmoid's gain)", "ScalarMLP")
        self.alpha = alpha
        self._layer_names = parameter_names(self.sizes)
        for (weight_name, bias_name), (weight, bias_values) in zip(
                self._layer_names, initial_arrays(self.sizes, bias, init, seed)):
            grid = [[Value(float(weight[i, j]), name=f"{weight_name}[{i},{j}]") for j in range(weight.shape[1])]
                    for i in range(weight.shape[0])]
            setattr(self, weight_name, grid)
            setattr(self, bias_name, None if bias_values is None else
                    [Value(float(b), name=f"{bias_name}[{j}]") for j, b in enumerate(bias_values)])

    @classmethod
    def from_mlp(cls, mlp: MLP) -> ScalarMLP:
        """A scalar copy of a sigmoid tensor `MLP` (same numbers, same names)."""
        if getattr(mlp, "activation", "sigmoid") != "sigmoid" or getattr(mlp, "output", "sigmoid") != "sigmoid":
            raise ValueError(f"ScalarMLP.from_mlp: a ScalarMLP is the chapter's sigmoid net; this MLP has "
                             f"activation {mlp.activation!r} and output {mlp.output!r}")
        net = cls.__new__(cls)
        net.sizes, net.alpha, net._layer_names = mlp.sizes, mlp.alpha, mlp._layer_names
        for (weight_name, bias_name), (weight, bias) in zip(mlp._layer_names, mlp.layers()):
            data = np.asarray(weight.data, dtype=np.float64)
            setattr(net, weight_name, [[Value(float(data[i, j]), name=f"{weight_name}[{i},{j}]")
                                        for j in range(data.shape[1])] for i in range(data.shape[0])])
            setattr(net, bias_name, None if bias is None else
                    [Value(float(b), name=f"{bias_name}[{j}]") for j, b in enumerate(np.asarray(bias.data))])
        return net

    def layers(self):
        """[(weight grid, bias list or None), ...] in order from input to output."""
        return [(getattr(self, w), getattr(self, b)) for w, b in self._layer_names]

    def _state_slots(self):
        # The same keys and array shapes as the tensor MLP: ``w`` is I×H, etc.
        slots = []
        for (weight_name, bias_name), (weight, bias) in zip(self._layer_names, self.layers()):
            slots.append((weight_name, (len(weight), len(weight[0])), _grid_reader(weight), _grid_writer(weight)))
            if bias is not None:
                slots.append((bias_name, (len(bias),), _grid_reader(bias), _grid_writer(bias)))
        return slots

    def forward(self, x):
        """One pattern (a sequence of numbers or scalar Values) → list of output Values."""
        _check_inputs(x, self.sizes[0], "ScalarMLP", one_pattern=True)
        activations = [item if isinstance(item, Value) else Value(float(item), name=f"I_{i}", requires_grad=False)
                       for i, item in enumerate(x)]
        last = len(self._layer_names) - 1
        for layer, (weight, bias) in enumerate(self.layers()):
            outputs = []
            for j in range(len(weight[0])):
                total = weight[0][j] * activations[0]
                for i in range(1, len(activations)):
                    total = total + weight[i][j] * activations[i]
                if bias is not None:
                    total = total + bias[j]
                total.name = f"NdInpt_{j}" if layer == last else _hidden_name("NdInpt_hidden", layer, last, j)
                out = total.sigmoid(self.alpha)
                out.name = f"A_{j}" if layer == last else _hidden_name("H", layer, last, j)
                outputs.append(out)
            activations = outputs
        return activations

    def loss(self, inputs, desired):
        """The chapter's SSE (Eq. 6.5): one op whose parents are the outputs A_o."""
        desired = [Value(float(d), name=f"Desired_{o}", requires_grad=False)
                   for o, d in enumerate(np.asarray(desired, dtype=np.float64).ravel())]
        return sse(desired, self.forward(inputs))


def example_network(sizes: Sequence[int] = (2, 2, 2), alpha: float = 1.0, seed: Seed = 0, bias: bool = True,
                    scalar: bool = False) -> tuple[MLP | ScalarMLP, np.ndarray, np.ndarray]:
    """The chapter's network with seeded weights and one seeded pattern.

    Returns ``(net, inputs, desired)``: an `MLP` (or a `ScalarMLP` when
    ``scalar``, holding the same numbers), inputs drawn from [0, 1) and a
    one-hot desired output.  `minigrad.compare`, `minigrad.explain`'s command
    line and the drawings all start from it.
    """
    sizes = list(_check_sizes(sizes, "example_network"))
    rng = np.random.default_rng(seed)
    net = (ScalarMLP if scalar else MLP)(sizes, alpha=alpha, bias=bias, seed=rng)
    inputs = rng.random(sizes[0])
    desired = np.zeros(sizes[-1])
    desired[rng.integers(sizes[-1])] = 1.0
    return net, inputs, desired


def example_pattern(sizes: Sequence[int], inputs: Any = None, desired: Any = None, *, seed: Seed = 0,
                    bias: bool = True, caller: str = "example_pattern") -> tuple[np.ndarray, np.ndarray]:
    """One pattern for a one-hidden-layer net of ``sizes``: ``inputs`` and ``desired`` as
    given, checked against the first and last layer sizes, or `example_network`'s seeded
    pattern where they are None.  Errors name ``caller``."""
    sizes = list(sizes)
    if inputs is None or desired is None:
        _, default_inputs, default_desired = example_network(sizes, seed=seed, bias=bias)
        inputs = default_inputs if inputs is None else inputs
        desired = default_desired if desired is None else desired
    inputs, desired = np.array(inputs, dtype=np.float64), np.array(desired, dtype=np.float64)
    if inputs.shape != (sizes[0],):
        raise ValueError(f"{caller}: inputs must be one pattern of shape ({sizes[0]},), got shape {inputs.shape}")
    if desired.shape != (sizes[-1],):
        raise ValueError(f"{caller}: desired must have shape ({sizes[-1]},), got shape {desired.shape}")
    return inputs, desired


def _grid_reader(grid):
    def read():
        return np.array([[item.data for item in row] if isinstance(row, list) else row.data for row in grid])
    return read


def _grid_writer(grid):
    def write(array):
        for index, row in enumerate(grid):
            if isinstance(row, list):
                for column, item in enumerate(row):
                    item.data, item.grad = float(array[index, column]), None
            else:
                row.data, row.grad = float(array[index]), None
    return write


def _hidden_name(stem, layer, last, index):
    return f"{stem}_{index}" if last == 1 else f"{stem}{layer + 1}_{index}"
