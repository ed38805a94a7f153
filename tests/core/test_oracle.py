"""Random expression graphs (every op of `minigrad.core.ops.OPS`, scalar and
tensor Values mixed, nodes reused, constants on either side, the new ops'
kinks and ties avoided as described in tests/strategies.py) checked against
the HIPS autograd package, an independent autodiff, and against central
differences.  `tests/fuzz.py` runs the same checks on thousands of graphs."""

from hypothesis import HealthCheck, given, seed, settings

from minigrad.core.numerics import is_basic_index
from minigrad.core.ops import CROSS_ENTROPY, GETITEM, MATMUL, MAX, MIN, OPS, POW, SSE_SCALARS
from strategies import (ENGINE_OPS_EXERCISED, check_against_autograd, check_against_central_differences,
                        make_leaves, programs, run)

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@settings(max_examples=150, **SETTINGS)
@given(programs())
def test_float64_graphs_match_autograd(program):
    check_against_autograd(program)


@settings(max_examples=100, **SETTINGS)
@given(programs(max_steps=6))
def test_float64_graphs_match_central_differences(program):
    check_against_central_differences(program)


@settings(max_examples=100, **SETTINGS)
@given(programs(max_steps=6, dtypes=("float32", "mixed")))
def test_float32_and_mixed_graphs_keep_dtypes_and_match_autograd(program):
    check_against_autograd(program)


def _features(loss):
    """The engine ops (and the notable variants) in the graph that ends at ``loss``."""
    found, stack, seen = set(), [loss], set()
    while stack:
        node = stack.pop()
        if id(node) in seen or node.op is None:
            continue
        seen.add(id(node))
        found.add(node.op.name)
        parents = node.parents
        if node.op is GETITEM and not is_basic_index(node.saved):
            found.add("getitem with an integer array")
        if node.op is MATMUL and all(parent.requires_grad for parent in parents):
            found.add("matmul of two Values")
        if node.op is POW and all(parent.requires_grad for parent in parents):
            found.add("pow with a Value base and exponent")
        if node.op is SSE_SCALARS:
            found.add("sse of scalar lists")
        if node.op is CROSS_ENTROPY and parents[1].requires_grad:
            found.add("cross_entropy with targets that need a gradient")
        if node.op in (MAX, MIN) and node.saved[0] is not None:
            found.add("max or min over an axis")
        kinds = {type(parent.data) is float for parent in parents}
        if kinds == {True, False}:
            found.add("scalar and tensor mixed")
        stack.extend(parents)
    return found


def test_the_strategy_covers_every_engine_op():
    """The fuzzed graphs exercise every op of the engine, and the variants that matter."""
    found = set()

    @seed(0)
    @settings(max_examples=500, database=None, **SETTINGS)
    @given(programs())
    def collect(program):
        loss, _ = run(program, make_leaves(program))
        found.update(_features(loss))

    collect()
    # NOTE: one_hot records only where its labels are a traced input (tests/compile/test_integer_inputs.py):
    # in eager mode labels need no gradient, so its output is a constant
    assert {op.name for op in OPS} - {"one_hot"} <= found
    assert set(ENGINE_OPS_EXERCISED.values()) <= found
    assert {"getitem with an integer array", "matmul of two Values", "pow with a Value base and exponent",
            "sse of scalar lists", "scalar and tensor mixed", "cross_entropy with targets that need a gradient",
            "max or min over an axis"} <= found
