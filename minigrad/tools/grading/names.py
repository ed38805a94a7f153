"""Agreement to a tolerance, and how a diagnosis names the factors (the chapter's symbols or explain's)."""

from __future__ import annotations

import numpy as np

from ...core import ops
from ..compare import element_name, relative_difference


def agrees(yours, reference, scale, tolerance):
    if reference is None or np.shape(yours) != np.shape(reference):
        return False
    return bool(np.all(relative_difference(yours, reference, scale) <= tolerance))


# ---------------------------------------------------------------------------
# Names of the factors
# ---------------------------------------------------------------------------

# The chapter's factors, symbolically, by (role, layer).
_CHAPTER_COLUMNS = {
    ("loss", 0): ("∂SSE/∂A_o = −E_o", "6.17·6.21"),
    ("slope", 1): ("∂A_o/∂NdInpt_o = α F_o (1 − F_o)", "6.23"),
    ("slope", 2): ("∂H_h/∂NdInpt_hidden_h = α H_h (1 − H_h)", "6.2"),
    ("weight", 1): ("∂NdInpt_o/∂H_h = v[h,o]", "6.25"),
}
_CHAPTER_ACTIVATIONS = {"v": ("∂NdInpt_o/∂v[h,o] = H_h", "6.27"),
                        "w": ("∂NdInpt_hidden_h/∂w[i,h] = I_i", "6.27 one layer down")}
# bias: (its factor, equation, the factor its weight has instead, that weight)
CHAPTER_BIASES = {"bias_output": ("∂NdInpt_o/∂bias_output_o = 1", "6.27", "H_h", "v"),
                   "bias_hidden": ("∂NdInpt_hidden_h/∂bias_hidden_h = 1", "6.27 one layer down", "I_i", "w")}
_CHAPTER_SLOPE_SYMBOLS = {1: "F_o", 2: "H_h"}
_CHAPTER_INDICES = {"v": "[h,o]", "w": "[i,h]", "bias_output": "_o", "bias_hidden": "_h"}


class Names:
    """How a diagnosis names things: the chapter's symbols on the chapter's
    network (∂A_o/∂NdInpt_o), explain's own names with the first path's
    indices on any other graph (∂y_0/∂(x @ W)[0])."""

    def __init__(self, case, wrt, chapter):
        self.case = case
        self.wrt = wrt
        self.chapter = chapter
        self.sse = case.loss.op in (ops.SSE, ops.SSE_SCALARS)
        self.loss = "SSE" if self.sse else "loss"

    def _column(self, role, layer):
        for group in self.case.table.groups:
            for column in group.columns:
                if column.role == role and column.layer == layer:
                    return column
        return None

    def factor(self, role, layer):
        """(text, equation or None) for one kind of factor."""
        if self.chapter:
            if role == "activation" and self.wrt in _CHAPTER_ACTIVATIONS:
                return _CHAPTER_ACTIVATIONS[self.wrt]
            if (role, layer) in _CHAPTER_COLUMNS:
                return _CHAPTER_COLUMNS[(role, layer)]
        column = self._column(role, layer)
        if column is None or not column.factors:
            return f"∂{self.loss}/∂{self.case.table.outputs[0]}", None
        formula = " · ".join(factor.formula.split(" = ")[0] for factor in column.factors)
        equations = "·".join(factor.equation for factor in column.factors if factor.equation) or None
        if role == "loss":
            return f"∂{self.loss}/∂{self.case.table.outputs[0]} = {formula}", equations
        return f"∂{column.factors[0].child_name}/∂{column.factors[-1].parent_name} = {formula}", equations

    def cite(self, role, layer):
        text, equation = self.factor(role, layer)
        return f"{text} (Eq. {equation})" if equation else text

    def slope_symbol(self, layer):
        if self.chapter:
            return _CHAPTER_SLOPE_SYMBOLS.get(layer, "F")
        column = self._column("slope", layer)
        return column.factors[0].child_name if column is not None else "F"

    def node(self, node):
        return node.name or "the activation"

    def node_element(self, node, flat):
        if node.ndim == 0:
            return self.node(node)
        return element_name(self.node(node), tuple(int(k) for k in np.unravel_index(int(flat), node.shape)))

    def element(self, flat):
        shape = self.case.param.shape
        return element_name(self.wrt, tuple(int(k) for k in np.unravel_index(int(flat), shape)) if shape else ())

    def indexed(self):
        """``v[h,o]`` on the chapter's network, else the parameter's name."""
        return self.wrt + _CHAPTER_INDICES.get(self.wrt, "") if self.chapter else self.wrt

