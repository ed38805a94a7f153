"""`minigrad.compile`: trace a step once, replay it as generated numpy code."""

from .step import CompileCheckError, CompiledStep, CompileError, Trace, TracingError, compile  # noqa: A004

__all__ = ["compile", "CompiledStep", "Trace", "TracingError", "CompileError", "CompileCheckError"]
