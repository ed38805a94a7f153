"""Names for the types the public API takes and gives (for annotations only)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, Sequence, Union

import numpy as np

if TYPE_CHECKING:
    from .value import Value

#: What a Value holds: a Python float (the scalar path) or a float64/float32 array.
Data = Union[float, np.ndarray]

#: What may stand where a Value's data is expected: numbers, nested lists, arrays.
ArrayLike = Union[float, int, Sequence[Any], np.ndarray, np.generic]

#: A seed for numpy's random generator, or the generator itself.
Seed = Union[int, np.random.Generator, None]

#: A numpy dtype for a Value: float64 or float32.
DType = Union[type, np.dtype, str]


class HasParameters(Protocol):
    """Anything with ``parameters()``, as a `minigrad.nn.Module` has: what an optimizer takes.
    (A protocol, so the layers below `nn` need not import it.)"""

    def parameters(self) -> list[Value]: ...
