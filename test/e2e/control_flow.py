#!/usr/bin/env python3
"""ONNX If, Loop and Scan compiled by dlc and run by dlc-run against values
computed here from the ONNX definitions (float64 in Python, compared at
rtol 1e-5, atol 1e-6: a handful of float32 operations per element).

- loop_runtime_trips: Loop whose trip count M is a graph input (0, 3 and 7
  with one library), carrying x [3]: x = x * 0.5 + iteration number.
- loop_scan_if: Loop with M = 4 carrying s [2], whose body holds an If on a
  run-time condition (iteration number even: s + 1, odd: s * -2) and stacks
  each new s as a scan output [4, 2].
- scan_reverse_axis1: Scan over axis 1 of x [2, 5] in reverse, state the
  running maximum [2], scan output the running maximum stacked along axis 0
  in reverse.
- if_nested_const: an If whose condition is known at compile time (a
  constant), whose taken branch holds a run-time If.
- if_shadowing: subgraphs whose initializer 'w' shadows the outer 'w' only
  inside them: an If folded at compile time and one chosen at run time
  (whose else branch reads the outer 'w'), then the outer 'w' again.
- loop_while: Loop whose body computes its condition (x = 2x while
  sum(x) < 50), with the trip count M and the first condition graph inputs:
  stopped by the condition, by M, or not entered.

Usage: control_flow.py --bin BUILD/tools --work DIR"""
import argparse
import os
import sys

from model_check import F32, I64, compile_model, expect, tensor


def vtype(elem, dims):
    shape = " ".join("dim { dim_value: %d }" % d for d in dims)
    return "type { tensor_type { elem_type: %d shape { %s } } }" % (elem, shape)


def value_info(name, elem, dims):
    return 'name: "%s" %s' % (name, vtype(elem, dims))


def node(op, inputs, outputs, attrs="", name=""):
    return 'node { %s op_type: "%s" %s %s %s }' % (
        'name: "%s"' % name if name else "", op,
        " ".join('input: "%s"' % i for i in inputs),
        " ".join('output: "%s"' % o for o in outputs), attrs)


def const(name, elem, dims, values):
    field = "float_data" if elem == F32 else "int64_data"
    t = "%s data_type: %d %s" % (" ".join("dims: %d" % d for d in dims), elem,
                                 " ".join("%s: %r" % (field, v) for v in values))
    return node("Constant", [], [name],
                'attribute { name: "value" type: TENSOR t { %s } }' % t)


def graph_attr(name, graph):
    return 'attribute { name: "%s" type: GRAPH g { %s } }' % (name, graph)


def ints_attr(name, values):
    return 'attribute { name: "%s" type: INTS %s }' % (
        name, " ".join("ints: %d" % v for v in values))


def model(nodes, inputs, outputs):
    return ('ir_version: 8 opset_import { domain: "" version: 17 } graph { name: "cf" '
            + " ".join(nodes)
            + " ".join(" input { %s }" % i for i in inputs)
            + " ".join(" output { %s }" % o for o in outputs) + " }")


def loop_runtime_trips():
    body = " ".join([
        node("Cast", ["i"], ["i_f"], 'attribute { name: "to" type: INT i: 1 }'),
        const("half", F32, [], [0.5]),
        node("Mul", ["x_in", "half"], ["x_half"]),
        node("Add", ["x_half", "i_f"], ["x_out"]),
        node("Identity", ["c_in"], ["c_out"]),
        'name: "body"',
        " input { %s }" % value_info("i", I64, []),
        " input { %s }" % value_info("c_in", 9, []),
        " input { %s }" % value_info("x_in", F32, [3]),
        " output { %s }" % value_info("c_out", 9, []),
        " output { %s }" % value_info("x_out", F32, [3])])
    text = model([node("Loop", ["M", "", "x"], ["y"], graph_attr("body", body), "loop")],
                 [value_info("M", I64, []), value_info("x", F32, [3])],
                 [value_info("y", F32, [3])])
    x = [1.0, -2.0, 8.0]
    sets = []
    for m in (0, 3, 7):
        y = list(x)
        for i in range(m):
            y = [v * 0.5 + i for v in y]
        sets.append(([("M", I64, [], [m]), ("x", F32, [3], x)], [("y", F32, [3], y)]))
    return text, sets


def loop_scan_if():
    then_g = " ".join([const("one", F32, [], [1.0]), node("Add", ["s_in", "one"], ["t_out"]),
                       'name: "then"', " output { %s }" % value_info("t_out", F32, [2])])
    else_g = " ".join([const("m2", F32, [], [-2.0]), node("Mul", ["s_in", "m2"], ["e_out"]),
                       'name: "else"', " output { %s }" % value_info("e_out", F32, [2])])
    body = " ".join([
        const("two", I64, [], [2]), const("zero", I64, [], [0]),
        node("Mod", ["i", "two"], ["r"]),
        node("Equal", ["r", "zero"], ["even"]),
        node("If", ["even"], ["s_out"], graph_attr("then_branch", then_g) + " "
             + graph_attr("else_branch", else_g), "if_even"),
        node("Identity", ["s_out"], ["scan_out"]),
        node("Identity", ["c_in"], ["c_out"]),
        'name: "body"',
        " input { %s }" % value_info("i", I64, []),
        " input { %s }" % value_info("c_in", 9, []),
        " input { %s }" % value_info("s_in", F32, [2]),
        " output { %s }" % value_info("c_out", 9, []),
        " output { %s }" % value_info("s_out", F32, [2]),
        " output { %s }" % value_info("scan_out", F32, [2])])
    text = model([const("M", I64, [], [4]),
                  node("Loop", ["M", "", "s"], ["s_final", "stack"],
                       graph_attr("body", body), "loop")],
                 [value_info("s", F32, [2])],
                 [value_info("s_final", F32, [2]), value_info("stack", F32, [4, 2])])
    s = [0.75, -1.5]
    stack = []
    for i in range(4):
        s = [v + 1 for v in s] if i % 2 == 0 else [v * -2 for v in s]
        stack += s
    return text, [([("s", F32, [2], [0.75, -1.5])],
                   [("s_final", F32, [2], s), ("stack", F32, [4, 2], stack)])]


def scan_reverse_axis1():
    body = " ".join([
        node("Max", ["m_in", "col"], ["m_out"]),
        node("Identity", ["m_out"], ["each"]),
        'name: "body"',
        " input { %s }" % value_info("m_in", F32, [2]),
        " input { %s }" % value_info("col", F32, [2]),
        " output { %s }" % value_info("m_out", F32, [2]),
        " output { %s }" % value_info("each", F32, [2])])
    attrs = " ".join([graph_attr("body", body),
                      'attribute { name: "num_scan_inputs" type: INT i: 1 }',
                      ints_attr("scan_input_axes", [1]), ints_attr("scan_input_directions", [1]),
                      ints_attr("scan_output_axes", [0]),
                      ints_attr("scan_output_directions", [1])])
    text = model([node("Scan", ["m0", "x"], ["m", "running"], attrs, "scan")],
                 [value_info("m0", F32, [2]), value_info("x", F32, [2, 5])],
                 [value_info("m", F32, [2]), value_info("running", F32, [5, 2])])
    x = [3.0, -1.0, 4.0, 1.0, -5.0,
         -9.0, 2.0, -6.0, 5.0, 3.0]
    m0 = [-10.0, 0.0]
    m = list(m0)
    running = [None] * 5
    for k in range(5):          # reverse: columns 4, 3, ..., 0
        col = 4 - k
        m = [max(m[r], x[r * 5 + col]) for r in range(2)]
        running[4 - k] = list(m)  # reverse output: iteration k at row 4 - k
    return text, [([("m0", F32, [2], m0), ("x", F32, [2, 5], x)],
                   [("m", F32, [2], m), ("running", F32, [5, 2], sum(running, []))])]


def if_nested_const():
    inner_then = " ".join([node("Neg", ["x"], ["a"]), 'name: "inner_then"',
                           " output { %s }" % value_info("a", F32, [4])])
    inner_else = " ".join([node("Abs", ["x"], ["b"]), 'name: "inner_else"',
                           " output { %s }" % value_info("b", F32, [4])])
    outer_then = " ".join([
        node("ReduceSum", ["x"], ["total"], 'attribute { name: "keepdims" type: INT i: 0 }'),
        const("zero_f", F32, [], [0.0]),
        node("Greater", ["total", "zero_f"], ["positive"]),
        node("If", ["positive"], ["inner"], graph_attr("then_branch", inner_then) + " "
             + graph_attr("else_branch", inner_else), "inner_if"),
        'name: "outer_then"', " output { %s }" % value_info("inner", F32, [4])])
    outer_else = " ".join([node("Identity", ["x"], ["same"]), 'name: "outer_else"',
                           " output { %s }" % value_info("same", F32, [4])])
    text = model([node("Shape", ["x"], ["shape"]),
                  const("four", I64, [1], [4]),
                  node("Equal", ["shape", "four"], ["is_four"]),
                  node("If", ["is_four"], ["y"], graph_attr("then_branch", outer_then) + " "
                       + graph_attr("else_branch", outer_else), "outer_if")],
                 [value_info("x", F32, [4])], [value_info("y", F32, [4])])
    sets = []
    for x in ([1.0, -2.0, 3.0, 0.5], [-1.0, 2.0, -3.0, 0.5]):
        y = [-v for v in x] if sum(x) > 0 else [abs(v) for v in x]
        sets.append(([("x", F32, [4], x)], [("y", F32, [4], y)]))
    return text, sets


def loop_while():
    body = " ".join([
        const("two", F32, [], [2.0]), const("limit", F32, [], [50.0]),
        node("Mul", ["x_in", "two"], ["x_out"]),
        node("ReduceSum", ["x_out"], ["total"], 'attribute { name: "keepdims" type: INT i: 0 }'),
        node("Less", ["total", "limit"], ["c_out"]),
        'name: "body"',
        " input { %s }" % value_info("i", I64, []),
        " input { %s }" % value_info("c_in", 9, []),
        " input { %s }" % value_info("x_in", F32, [3]),
        " output { %s }" % value_info("c_out", 9, []),
        " output { %s }" % value_info("x_out", F32, [3])])
    text = model([node("Loop", ["M", "go", "x"], ["y"], graph_attr("body", body), "loop")],
                 [value_info("M", I64, []), value_info("go", 9, []), value_info("x", F32, [3])],
                 [value_info("y", F32, [3])])
    x = [1.0, 2.0, 3.0]
    sets = []
    for m, go in ((100, 1), (2, 1), (100, 0)):
        y, i, cond = list(x), 0, bool(go)
        while cond and i < m:
            y = [2 * v for v in y]
            cond = sum(y) < 50
            i += 1
        sets.append(([("M", I64, [], [m]), ("go", 9, [], [go]), ("x", F32, [3], x)],
                     [("y", F32, [3], y)]))
    return text, sets


def if_shadowing():
    inner_w = 'initializer { %s }' % tensor("w", F32, [2], [1.0, 2.0])
    mul_inner = lambda out: " ".join([node("Mul", ["x", "w"], [out]), inner_w,
                                     'name: "b_%s"' % out,
                                     " output { %s }" % value_info(out, F32, [2])])
    outer_else = " ".join([node("Mul", ["x", "w"], ["e"]), 'name: "else"',
                           " output { %s }" % value_info("e", F32, [2])])
    text = model([node("Constant", [], ["yes"],
                       'attribute { name: "value" type: TENSOR t { data_type: 9 int32_data: 1 } }'),
                  node("If", ["yes"], ["y1"], graph_attr("then_branch", mul_inner("t1")) + " "
                       + graph_attr("else_branch", outer_else.replace('"e"', '"e1"')), "if_const"),
                  node("If", ["flag"], ["y2"], graph_attr("then_branch", mul_inner("t2")) + " "
                       + graph_attr("else_branch", outer_else), "if_flag"),
                  node("Mul", ["x", "w"], ["y3"], "", "after")],
                 [value_info("x", F32, [2]), value_info("flag", 9, [])],
                 [value_info(n, F32, [2]) for n in ("y1", "y2", "y3")])
    text = text.replace(' input { name: "x"', ' initializer { %s } input { name: "x"'
                        % tensor("w", F32, [2], [10.0, 20.0]), 1)
    x = [0.5, -3.0]
    sets = []
    for flag in (1, 0):
        inner = [x[0] * 1.0, x[1] * 2.0]
        outer = [x[0] * 10.0, x[1] * 20.0]
        sets.append(([("x", F32, [2], x), ("flag", 9, [], [flag])],
                     [("y1", F32, [2], inner), ("y2", F32, [2], inner if flag else outer),
                      ("y3", F32, [2], outer)]))
    return text, sets


CASES = [loop_runtime_trips, loop_scan_if, scan_reverse_axis1, if_nested_const, if_shadowing,
         loop_while]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin", required=True)
    p.add_argument("--work", required=True)
    a = p.parse_args()
    os.makedirs(a.work, exist_ok=True)
    failed = 0
    for case in CASES:
        name = case.__name__
        text, sets = case()
        lib = compile_model(a.bin, a.work, name, text)
        if not lib:
            failed += 1
            continue
        for k, (inputs, outputs) in enumerate(sets):
            failed += expect(a.bin, a.work, lib, "%s data set %d" % (name, k), inputs,
                             outputs, 1e-5, 1e-6, threads=("1", "2"))
    print("control_flow: %d failed" % failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
