"""Networks: modules (the chapter's `MLP`, `Sequential` and its layers), training, data sets,
and PyTorch's companions: `functional`, `init`, `utils` (``clip_grad_norm_``), `data` (``batches``)."""

from .modules import *  # noqa: F401,F403 - the modules are minigrad.nn's public names
from .modules import __all__ as _module_names
from . import data, datasets, functional, init, utils

__all__ = list(_module_names) + ["datasets", "data", "functional", "init", "utils"]
