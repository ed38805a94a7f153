"""The core: a Value, the op table, reverse mode, and nothing else.

Reading order: `value` (the Value and `apply`, the one way a node is made),
`ops` (the op table: each primitive's forward, backward and display facts),
`backward` (reverse mode), with `modes` (no_grad, detect_anomaly, tracing)
and `numerics` (the numerical helpers the rules call) beside.  `creation`
makes Values, `losses` writes the losses as ops, `files` writes files
atomically.  The core imports nothing outside itself.
"""
