"""numpy's eight running sums of a pairwise leaf, as one vector of eight lanes.

numpy sums a block of up to 128 float64 values in eight running sums (value i
goes to sum i % 8), which are independent: each lane of a vector of eight
doubles is one of them, added in the same order, so the lane sums are the same
floats. numba leaves such code scalar (its SLP vectorizer is off by default
after miscompilations), so these intrinsics write the loop in LLVM vector
operations directly: IEEE additions and multiplications per lane, without fast-math
flags (no reassociation, no fused multiply-add), hence numpy's results bit for
bit (`tests/test_engine_pairwise.py`). `optimizer.pairwise` combines the lanes
in numpy's order.

Each takes a C-contiguous float64 array, the first index and the number of rows
of eight values (at least one) and returns its lane sums as a tuple.
"""

from __future__ import annotations

from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

LANES = 8
_VECTOR = ir.VectorType(ir.DoubleType(), LANES)


def _rows(context, builder, sig, args, first, step):
    """The loop over rows: ``first(row)`` gives the accumulators from row 0,
    ``step(accumulators, row)`` adds a later row; returns their lane sums."""
    array_type = sig.args[0]
    array = context.make_array(array_type)(context, builder, args[0])
    base = builder.gep(array.data, [args[1]])
    vector_pointer = _VECTOR.as_pointer()

    def row(index):
        at = builder.gep(base, [builder.mul(index, ir.Constant(index.type, LANES))])
        return builder.load(builder.bitcast(at, vector_pointer), align=8)

    accumulators = first(builder, row(ir.Constant(args[2].type, 0)), args)
    slots = [cgutils.alloca_once_value(builder, value) for value in accumulators]
    with cgutils.for_range_slice(builder, ir.Constant(args[2].type, 1), args[2], ir.Constant(args[2].type, 1)) as (
        index,
        _,
    ):
        updated = step(builder, [builder.load(slot) for slot in slots], row(index), args)
        for slot, value in zip(slots, updated, strict=True):
            builder.store(value, slot)
    lanes = [builder.extract_element(builder.load(slot), ir.Constant(ir.IntType(32), j))
             for slot in slots for j in range(LANES)]  # fmt: skip
    return context.make_tuple(builder, sig.return_type, lanes)


def _splat(builder, value):
    vector = ir.Constant(_VECTOR, ir.Undefined)
    for j in range(LANES):
        vector = builder.insert_element(vector, value, ir.Constant(ir.IntType(32), j))
    return vector


@intrinsic
def lane_sums(typingctx, a, lo, rows):
    """The eight lane sums of ``a[lo:lo + 8 * rows]``."""

    def codegen(context, builder, sig, args):
        return _rows(context, builder, sig, args, lambda b, x, _: [x], lambda b, acc, x, _: [b.fadd(acc[0], x)])

    return types.UniTuple(types.float64, LANES)(a, types.intp, types.intp), codegen


@intrinsic
def lane_squares(typingctx, a, lo, rows):
    """The lane sums of the squares of ``a[lo:lo + 8 * rows]``, then of the values (16)."""

    def first(b, x, _):
        return [b.fmul(x, x), x]

    def step(b, acc, x, _):
        return [b.fadd(acc[0], b.fmul(x, x)), b.fadd(acc[1], x)]

    def codegen(context, builder, sig, args):
        return _rows(context, builder, sig, args, first, step)

    return types.UniTuple(types.float64, 2 * LANES)(a, types.intp, types.intp), codegen


@intrinsic
def lane_deviations(typingctx, a, lo, rows, mean):
    """With d = a - ``mean`` over ``a[lo:lo + 8 * rows]``: the lane sums of d², of
    d²·d and of d²·d² (24), each product rounded before it is added, as numpy's
    ``squares * deviations`` is."""

    def first(b, x, args):
        d = b.fsub(x, _splat(b, args[3]))
        q = b.fmul(d, d)
        return [q, b.fmul(q, d), b.fmul(q, q)]

    def step(b, acc, x, args):
        d = b.fsub(x, _splat(b, args[3]))
        q = b.fmul(d, d)
        return [b.fadd(acc[0], q), b.fadd(acc[1], b.fmul(q, d)), b.fadd(acc[2], b.fmul(q, q))]

    def codegen(context, builder, sig, args):
        return _rows(context, builder, sig, args, first, step)

    return types.UniTuple(types.float64, 3 * LANES)(a, types.intp, types.intp, types.float64), codegen
