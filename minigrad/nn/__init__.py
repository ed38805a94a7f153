"""Networks: modules (the chapter's `MLP`, `Sequential` and its layers), training, data sets."""

from .modules import *  # noqa: F401,F403 - the modules are minigrad.nn's public names
from .modules import __all__ as _module_names
from . import datasets

__all__ = list(_module_names) + ["datasets"]
