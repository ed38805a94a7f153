"""Networks: modules (the chapter's `MLP`, `Sequential` and its layers), training, data sets,
and PyTorch's companions: `functional`, `init`, `utils` (``clip_grad_norm_``), `data` (``batches``),
and checkpoints (``save_checkpoint``, ``load_checkpoint``: weights with the optimizer's state)."""

from .modules import *  # noqa: F401,F403 - the modules are minigrad.nn's public names
from .modules import __all__ as _module_names
from .checkpoint import load_checkpoint, save_checkpoint
from . import data, datasets, functional, init, utils

__all__ = list(_module_names) + ["save_checkpoint", "load_checkpoint", "datasets", "data", "functional", "init",
                                 "utils"]
