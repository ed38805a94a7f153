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

import os
import zipfile
from collections.abc import Mapping

import numpy as np

from .value import Value, sse
from .files import write_atomically

__all__ = ["Module", "Linear", "Sigmoid", "Sequential", "MLP", "ScalarMLP", "example_network", "initial_arrays",
           "parameter_names"]


class Module:
    """Base class: parameters found by walking attributes, no magic lookups."""

    def forward(self, *inputs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *inputs):
        return self.forward(*inputs)

    def named_parameters(self):
        """``[(name, Value), ...]`` for every Value that requires grad, in attribute order."""
        found = []
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

    def parameters(self):
        """Every parameter Value, in the order of `named_parameters`."""
        return [value for _, value in self.named_parameters()]

    def zero_grad(self):
        """Forget every parameter's accumulated gradient."""
        for value in self.parameters():
            value.grad = None

    def parameter_count(self):
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

    def state_dict(self):
        """``{name: numpy array}``: a copy of every parameter, in parameter order."""
        return {name: read() for name, _, read, _ in self._state_slots()}

    def load_state_dict(self, state):
        """Copy the arrays of ``state`` into the parameters, all or nothing.

        Every name must match (no missing, no extra), every array must have
        its parameter's shape and hold real numbers.  Everything is checked
        before anything is written, so on an error the model is unchanged.
        Values are cast to each parameter's dtype; gradients are cleared,
        since they belonged to the old weights.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"load_state_dict: expected a mapping of names to arrays, got {type(state).__name__}")
        slots = self._state_slots()
        names = [name for name, _, _, _ in slots]
        missing = [name for name in names if name not in state]
        unexpected = [str(key) for key in state if key not in set(names)]
        if missing or unexpected:
            parts = []
            if missing:
                parts.append(f"missing parameter(s) {', '.join(map(repr, missing))}")
            if unexpected:
                parts.append(f"unexpected parameter(s) {', '.join(map(repr, unexpected))}")
            raise ValueError(f"load_state_dict: {'; '.join(parts)} (the model has {', '.join(map(repr, names))})")
        checked = []
        for name, shape, _, write in slots:
            array = _checked_array(state[name], name, shape)
            checked.append((write, array))
        for write, array in checked:
            write(array)
        return self

    def save(self, path):
        """Write `state_dict` to ``path`` as an ``.npz`` archive, atomically.

        The archive is written to a temporary file in the same folder and
        moved over ``path`` (`minigrad.files.write_atomically`), so a reader
        never sees half a file and a failure leaves any old file as it was.
        A missing folder or a read-only target is a clear error.  No pickle
        is ever written.  Returns ``path`` as a string.
        """
        arrays = self.state_dict()
        return write_atomically(path, lambda file: _write_npz(file, arrays), caller="save")

    def load(self, path):
        """Read an ``.npz`` written by `save` into this module (all or nothing).

        Read with ``allow_pickle=False``: an empty, truncated, non-npz or
        pickle-bearing file is refused with a ValueError naming the file, and
        the model is left unchanged.  Returns the module.
        """
        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"load: {path!r} does not exist")
        state = _read_npz(path)
        try:
            return self.load_state_dict(state)
        except (ValueError, TypeError) as error:
            raise type(error)(f"load: {path!r}: {error}") from None

    def __repr__(self):
        shapes = ", ".join(f"{name}: {value.shape}" for name, value in self.named_parameters()[:8])
        return f"{type(self).__name__}({shapes})"


def _reader(value):
    def read():
        return np.array(value.data, copy=True)
    return read


def _writer(value):
    def write(array):
        if type(value.data) is float:
            value.data = float(array)
        else:
            value.data = np.array(array, dtype=value.data.dtype, copy=True)
        value.grad = None
    return write


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


def _read_npz(path):
    """Every array of an ``.npz`` file, read eagerly with ``allow_pickle=False``."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(6)
    except OSError as error:
        raise ValueError(f"load: {path!r} is not a readable .npz state file ({error})") from None
    if not header:
        raise ValueError(f"load: {path!r} is empty, not an .npz state file")
    if not header.startswith(b"PK") and not header.startswith(b"\x93NUMPY"):
        # NOTE: numpy would try it as a pickle and say so, which misleads for a text file.
        raise ValueError(f"load: {path!r} is not an .npz state file (no zip archive header)")
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"load: {path!r} is not a readable .npz state file ({error})") from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise ValueError(f"load: {path!r} holds a single .npy array, not an .npz archive of named parameters")
    try:
        with loaded:
            return {name: loaded[name] for name in loaded.files}
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile) as error:
        raise ValueError(f"load: {path!r} is not a readable .npz state file ({error})") from None


def _index_name(prefix, index):
    """``w`` + 1 → ``w[1]``;  ``w[1]`` + 0 → ``w[1,0]`` (the chapter's w[i,h])."""
    if prefix.endswith("]"):
        return f"{prefix[:-1]},{index}]"
    return f"{prefix}[{index}]"


def parameter_names(sizes):
    """Names of the (weight, bias) pair of each layer of an MLP with these sizes.

    One hidden layer gets the chapter's names; deeper nets get numbered ones.
    """
    layers = len(sizes) - 1
    if layers == 2:
        return [("w", "bias_hidden"), ("v", "bias_output")]
    return [(f"weight_{k}", f"bias_{k}") for k in range(1, layers + 1)]


def initial_arrays(sizes, bias=True, init="uniform", seed=None, dtype=np.float64):
    """The initial (weight, bias) arrays of each layer, in a fixed draw order.

    ``init``: ``"uniform"`` draws from (−1, 1] as in the author's course code;
    ``"scaled"`` shrinks that by √(6/(n_in + n_out)) (Glorot), which keeps the
    summed inputs of wide layers out of the sigmoid's flat tails; a number is
    used as the half-width.  ``seed`` is an int or a numpy Generator.
    """
    _check_sizes(sizes)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    arrays = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        scale = _init_scale(init, n_in, n_out)
        # NOTE: 1 − U[0, 1) lies in (0, 1], so this is uniform on (−scale, scale].
        weight = scale * (1.0 - 2.0 * rng.random((n_in, n_out)))
        bias_values = scale * (1.0 - 2.0 * rng.random(n_out)) if bias else None
        arrays.append((weight.astype(dtype), None if bias_values is None else bias_values.astype(dtype)))
    return arrays


def _init_scale(init, n_in, n_out):
    if isinstance(init, str):
        if init == "uniform":
            return 1.0
        if init == "scaled":
            return float(np.sqrt(6.0 / (n_in + n_out)))
        raise ValueError(f"init must be 'uniform', 'scaled' or a positive number, got {init!r}")
    if isinstance(init, (int, float)) and not isinstance(init, bool) and init > 0:
        return float(init)
    raise ValueError(f"init must be 'uniform', 'scaled' or a positive number, got {init!r}")


def _check_sizes(sizes):
    if len(sizes) < 2 or any(not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1 for n in sizes):
        raise ValueError(f"sizes must be at least two positive integers (inputs, ..., outputs), got {list(sizes)!r}")


class Linear(Module):
    """x @ weight + bias, with weight of shape (n_in, n_out) (the chapter's w[i, h])."""

    def __init__(self, n_in, n_out, bias=True, init="uniform", seed=None, dtype=np.float64):
        (weight, bias_values), = initial_arrays([n_in, n_out], bias, init, seed, dtype)
        self.weight = Value(weight, name="weight")
        self.bias = Value(bias_values, name="bias") if bias else None

    def forward(self, x):
        out = x @ self.weight
        return out + self.bias if self.bias is not None else out


class Sigmoid(Module):
    """The chapter's transfer function F(x) = 1/(1 + exp(−αx)) as a layer."""

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def forward(self, x):
        return x.sigmoid(self.alpha)


class Sequential(Module):
    """Layers applied in order."""

    def __init__(self, *layers):
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class MLP(Module):
    """A sigmoid multilayer perceptron on tensors: every layer is
    ``(x @ weight + bias).sigmoid(alpha)``, output layer included, as in the chapter.

    ``MLP([2, 2, 2])`` has parameters ``w``, ``bias_hidden``, ``v``,
    ``bias_output``; deeper nets have ``weight_1, bias_1, weight_2, ...``.
    Inputs are a vector (one pattern) or a (batch, inputs) matrix.
    """

    def __init__(self, sizes, alpha=1.0, bias=True, init="uniform", seed=None, dtype=np.float64):
        self.sizes = tuple(int(n) for n in sizes)
        self.alpha = alpha
        self._layer_names = parameter_names(self.sizes)
        for (weight_name, bias_name), (weight, bias_values) in zip(
                self._layer_names, initial_arrays(self.sizes, bias, init, seed, dtype)):
            setattr(self, weight_name, Value(weight, name=weight_name))
            setattr(self, bias_name, Value(bias_values, name=bias_name) if bias else None)

    def layers(self):
        """[(weight, bias or None), ...] in order from input to output."""
        return [(getattr(self, w), getattr(self, b)) for w, b in self._layer_names]

    def forward(self, x):
        for weight, bias in self.layers():
            x = x @ weight
            if bias is not None:
                x = x + bias
            x = x.sigmoid(self.alpha)
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

    def __init__(self, sizes, alpha=1.0, bias=True, init="uniform", seed=None):
        self.sizes = tuple(int(n) for n in sizes)
        self.alpha = alpha
        self._layer_names = parameter_names(self.sizes)
        for (weight_name, bias_name), (weight, bias_values) in zip(
                self._layer_names, initial_arrays(self.sizes, bias, init, seed)):
            grid = [[Value(float(weight[i, j]), name=f"{weight_name}[{i},{j}]") for j in range(weight.shape[1])]
                    for i in range(weight.shape[0])]
            setattr(self, weight_name, grid)
            setattr(self, bias_name,
                    [Value(float(b), name=f"{bias_name}[{j}]") for j, b in enumerate(bias_values)] if bias else None)

    @classmethod
    def from_mlp(cls, mlp):
        """A scalar copy of a tensor `MLP` (same numbers, same names)."""
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
        activations = [item if isinstance(item, Value) else Value(float(item), name=f"I_{i}", requires_grad=False)
                       for i, item in enumerate(x)]
        if len(activations) != self.sizes[0]:
            raise ValueError(f"ScalarMLP: expected {self.sizes[0]} inputs, got {len(activations)}")
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


def example_network(sizes=(2, 2, 2), alpha=1.0, seed=0, bias=True, scalar=False):
    """The chapter's network with seeded weights and one seeded pattern.

    Returns ``(net, inputs, desired)``: an `MLP` (or a `ScalarMLP` when
    ``scalar``, holding the same numbers), inputs drawn from [0, 1) and a
    one-hot desired output.  `minigrad.compare`, `minigrad.explain`'s command
    line and the drawings all start from it.
    """
    sizes = list(sizes)
    _check_sizes(sizes)
    rng = np.random.default_rng(seed)
    net = (ScalarMLP if scalar else MLP)(sizes, alpha=alpha, bias=bias, seed=rng)
    inputs = rng.random(sizes[0])
    desired = np.zeros(sizes[-1])
    desired[rng.integers(sizes[-1])] = 1.0
    return net, inputs, desired


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
