"""Export a graph to other formats: `onnx` (``mg.onnx.export``)."""
