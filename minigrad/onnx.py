"""``minigrad.onnx``: export to ONNX (``mg.onnx.export(fn_or_model, example_inputs, "model.onnx")``).

Only names: the exporter is `minigrad.onnx_export`, which imports the onnx
package when a model is built, so ``import minigrad`` never needs it.  (An
absolute ``import onnx`` anywhere still finds the real onnx package.)
"""

from .onnx_export import MAPPED_OPS, OPSET, ExportError, UnsupportedOp, export, to_onnx

__all__ = ["export", "to_onnx", "ExportError", "UnsupportedOp", "MAPPED_OPS", "OPSET"]
