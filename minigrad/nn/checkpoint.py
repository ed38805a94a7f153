"""Checkpoints: a model's weights with its optimizer's and scheduler's state, in one file, so
training resumes exactly where it stopped.

    save_checkpoint("run.npz", model, optimizer, scheduler, epoch=12, best=0.97)
    extra = load_checkpoint("run.npz", model, optimizer, scheduler)   # {"epoch": 12, "best": 0.97}

The file is a zip archive like `Module.save`'s ``.npz``: ``model/NAME.npy`` for
each weight, ``optimizer/K/ENTRY.npy`` for each array of the optimizer's state
(K counts the parameters through the groups, as ``state_dict()`` does), and
``checkpoint.json`` for everything that is not an array (hyper-parameters,
step counts, the schedule, the extra numbers).  It is written atomically and
read without pickle: every member name is checked against the model and the
optimizer before anything is read, each array's header against the shape it
must have before its data, and nothing changes unless everything fits.
"""

from __future__ import annotations

import json
import os
import zipfile
from typing import Any

import numpy as np

from ..core.files import write_atomically
from ..optim.lr_scheduler import LRScheduler
from ..optim.optimizers import Optimizer
from .modules import Module, _read_member, _restated_as

__all__ = ["save_checkpoint", "load_checkpoint"]

_JSON = "checkpoint.json"
_MAX_JSON_BYTES = 1 << 20  # hyper-parameters and counts: far less than this


def save_checkpoint(path: str | os.PathLike[str], model: Module, optimizer: Optimizer | None = None,
                    scheduler: LRScheduler | None = None, **extra: Any) -> str:
    """Write the model's weights, the optimizer's and the scheduler's state and ``extra``
    (numbers, strings, lists: whatever JSON holds) to ``path``, atomically.  Returns ``path``."""
    _check_kinds(model, optimizer, scheduler, "save_checkpoint")
    arrays = {f"model/{name}": array for name, array in model.state_dict().items()}
    info: dict[str, Any] = {"format": 1, "model": type(model).__name__, "extra": extra}
    if optimizer is not None:
        state = optimizer.state_dict()
        numbers: dict[str, dict] = {}
        for index, entries in state["state"].items():
            for key, value in entries.items():
                if key == "step":
                    numbers.setdefault(str(index), {})[key] = value
                else:
                    arrays[f"optimizer/{index}/{key}"] = np.asarray(value)
        info["optimizer"] = {"optimizer": state["optimizer"], "steps": state["steps"], "numbers": numbers,
                             "param_groups": state["param_groups"]}
    if scheduler is not None:
        info["scheduler"] = {"kind": type(scheduler).__name__, "state": scheduler.state_dict()}
    try:
        text = json.dumps(info, default=_plain, allow_nan=True)
    except TypeError as error:
        raise TypeError(f"save_checkpoint: extra values must be numbers, strings, lists or dicts ({error})") from None

    def write(handle):
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED) as archive:
            for name, array in arrays.items():
                with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)
            archive.writestr(_JSON, text)
    return write_atomically(path, write, caller="save_checkpoint")


def load_checkpoint(path: str | os.PathLike[str], model: Module, optimizer: Optimizer | None = None,
                    scheduler: LRScheduler | None = None) -> dict:
    """Read a file written by `save_checkpoint` into the model (and the optimizer and scheduler,
    when given), all or nothing; return the ``extra`` numbers it was saved with.

    A file without an optimizer's state cannot resume one: asking for it is an error, as is a
    member the model or the optimizer has no place for, a shape that does not fit, or a
    state from another kind of optimizer or scheduler."""
    _check_kinds(model, optimizer, scheduler, "load_checkpoint")
    path = os.fspath(path)
    where = f"load_checkpoint: {path!r}"
    if not os.path.exists(path):
        raise FileNotFoundError(f"load_checkpoint: {path!r} does not exist")
    with _restated_as(f"{where} is not a readable checkpoint"):
        archive = zipfile.ZipFile(path)
    with archive:
        with _restated_as(f"{where} is not a readable checkpoint"):
            listing = {info.filename: info for info in archive.infolist()}
        if _JSON not in listing:
            raise ValueError(f"{where} has no {_JSON}: not a checkpoint (a model saved with Module.save loads "
                             f"with model.load)")
        if listing[_JSON].file_size > _MAX_JSON_BYTES:
            raise ValueError(f"{where}: {_JSON} is {listing[_JSON].file_size:,} bytes, more than a checkpoint's")
        with _restated_as(f"{where}: {_JSON} is not readable"):
            info = json.loads(archive.read(_JSON).decode("utf-8"))
        if not isinstance(info, dict) or info.get("format") != 1:
            raise ValueError(f"{where}: {_JSON} is not a checkpoint's description")
        shapes = {f"model/{name}.npy": (name, tuple(shape)) for name, shape, _, _ in model._state_slots()}
        parameters = optimizer.params if optimizer is not None else []
        if optimizer is not None and "optimizer" not in info:
            raise ValueError(f"{where} holds no optimizer state (it was saved without one)")
        if optimizer is not None and info["optimizer"].get("optimizer") != type(optimizer).__name__:
            raise ValueError(f"{where}: the optimizer state was saved from {info['optimizer'].get('optimizer')}, "
                             f"not {type(optimizer).__name__}")
        for name in listing:
            if name == _JSON or name in shapes:
                continue
            parts = name[:-len(".npy")].split("/") if name.endswith(".npy") else []
            if optimizer is None or len(parts) != 3 or parts[0] != "optimizer" or not parts[1].isdigit() \
                    or int(parts[1]) >= len(parameters) or parts[2] not in optimizer.state_names:
                raise ValueError(f"{where}: unexpected member {name!r}"
                                 + ("" if optimizer is not None else " (pass the optimizer to resume its state)"
                                    if name.startswith("optimizer/") else ""))
            shapes[name] = (name, parameters[int(parts[1])].shape)
        missing = [name for name, _, _, _ in model._state_slots() if f"model/{name}.npy" not in listing]
        if missing:
            raise ValueError(f"{where}: missing model parameter(s) {', '.join(map(repr, missing))} (the checkpoint "
                             f"holds a {info.get('model')!r})")
        arrays = {name: _read_member(archive, listing[name], path, label, shape)
                  for name, (label, shape) in shapes.items() if name in listing}
    weights = {name[len("model/"):-len(".npy")]: array for name, array in arrays.items() if name.startswith("model/")}
    optimizer_state: dict[str, Any] = {}
    if optimizer is not None:
        saved = info["optimizer"]
        entries: dict[int, dict] = {}
        for name, array in arrays.items():
            if name.startswith("optimizer/"):
                _, index, key = name[:-len(".npy")].split("/")
                entries.setdefault(int(index), {})[key] = array
        for index, numbers in saved.get("numbers", {}).items():
            entries.setdefault(int(index), {}).update(numbers)
        optimizer_state = {"optimizer": saved.get("optimizer"), "steps": saved.get("steps", 0),
                           "state": entries, "param_groups": saved.get("param_groups", [])}
    if scheduler is not None:
        if "scheduler" not in info:
            raise ValueError(f"{where} holds no scheduler state (it was saved without one)")
        if info["scheduler"].get("kind") != type(scheduler).__name__:
            raise ValueError(f"{where}: the scheduler state was saved from {info['scheduler'].get('kind')}, "
                             f"not {type(scheduler).__name__}")
    before = model.state_dict()
    model.load_state_dict(weights)
    old_optimizer = optimizer.state_dict() if optimizer is not None else {}
    try:
        if optimizer is not None:
            optimizer.load_state_dict(optimizer_state)
        if scheduler is not None:
            scheduler.load_state_dict(info["scheduler"]["state"])
    except (ValueError, TypeError) as error:
        model.load_state_dict(before)  # all or nothing
        if optimizer is not None:
            optimizer.load_state_dict(old_optimizer)
        raise type(error)(f"{where}: {error}") from None
    return dict(info.get("extra", {}))


def _check_kinds(model, optimizer, scheduler, where):
    if not isinstance(model, Module):
        raise TypeError(f"{where}: model must be a minigrad.nn.Module, got {type(model).__name__}")
    if optimizer is not None and not isinstance(optimizer, Optimizer):
        raise TypeError(f"{where}: optimizer must be a minigrad.optim.Optimizer, got {type(optimizer).__name__}")
    if scheduler is not None and not isinstance(scheduler, LRScheduler):
        raise TypeError(f"{where}: scheduler must be a minigrad.optim.lr_scheduler scheduler, "
                        f"got {type(scheduler).__name__}")


def _plain(value):
    """JSON for what json does not know: numpy numbers and arrays, tuples (as lists)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) and value.size <= 64:
        return value.tolist()
    raise TypeError(f"{type(value).__name__} {value!r} is not JSON")
