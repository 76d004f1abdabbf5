#!/usr/bin/env python3
"""Reproduces every training reference of the shared corpus
(manifest.json["training"]) with `dlc --train` and `dlc-run --train`, and
compares the loss, the gradients, the updated parameters and the BatchNorm
buffers with the PyTorch references at every step, within the manifest's
tolerances.

For step k of a case, dlc-run runs k steps from the initial state (the
initializers of model_loss.onnx) on the case's batch, prints the loss of every
step and saves the state after step k and the gradients of step k; these are
compared with the references of step k. Each distinct (model, dlc flags) is
compiled once.

Exits 77 (skipped) when the corpus is absent, 1 when any case fails. No numpy:
the .bin files are read with `array`, the onnx TensorProto files are written
and read by the minimal protobuf code below."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from array import array

# Cases whose model_loss.onnx uses an op without a gradient rule in dlc yet:
# their compile failure ("no gradient rule" / "not supported") is reported as
# "not yet supported" instead of failing the test. Keep this list true: a case
# listed here that compiles is reported with a loud warning.
EXPECTED_UNSUPPORTED = [
]

UNSUPPORTED_MARKERS = ("no gradient rule", "not supported")

# The compare rule of the manifest: |y - ref| <= atol + rtol * |ref|.
RTOL = 1e-4


# --- minimal onnx.TensorProto encoding / decoding ------------------------------------
# Fields used: dims = 1 (varint, repeated; packed or not when reading),
# data_type = 2 (varint), name = 8 (string), raw_data = 9 (bytes).
FLOAT, INT64 = 1, 7
TYPECODE = {FLOAT: "f", INT64: "q"}
LITTLE = sys.byteorder == "little"


def _varint(n):
    n &= (1 << 64) - 1  # negative int64 values: two's complement, 10 bytes
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _read_varint(buf, pos):
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def encode_tensor(name, dims, data_type, raw):
    out = bytearray()
    for d in dims:
        out += _varint(1 << 3 | 0) + _varint(d)
    out += _varint(2 << 3 | 0) + _varint(data_type)
    for field, value in ((8, name.encode()), (9, raw)):
        out += _varint(field << 3 | 2) + _varint(len(value)) + value
    return bytes(out)


def decode_tensor(buf):
    """Returns (name, dims, data_type, values as an array)."""
    name, dims, data_type, raw = "", [], 0, None

    def signed(v):
        return v - (1 << 64) if v >> 63 else v

    for field, wire, value in _fields(buf):
        if field == 1 and wire == 0:
            dims.append(signed(value))
        elif field == 1 and wire == 2:  # packed dims
            p = 0
            while p < len(value):
                d, p = _read_varint(value, p)
                dims.append(signed(d))
        elif field == 2 and wire == 0:
            data_type = value
        elif field == 8 and wire == 2:
            name = bytes(value).decode()
        elif field == 9 and wire == 2:
            raw = bytes(value)
    if data_type not in TYPECODE or raw is None:
        raise ValueError(f"tensor '{name}': want raw_data float32 or int64, "
                         f"got data_type {data_type}, raw_data {raw is not None}")
    return name, dims, data_type, to_array(TYPECODE[data_type], raw)


def _fields(buf):
    """(field, wire, value) of one protobuf message; length-delimited values
    as bytes."""
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(buf, pos)
        elif wire == 2:
            length, pos = _read_varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield field, wire, value


def model_initializers(path, names):
    """The raw TensorProto bytes of the initializers `names` of an ONNX model
    (ModelProto.graph = 7, GraphProto.initializer = 5)."""
    with open(path, "rb") as f:
        model = f.read()
    found = {}
    for field, wire, graph in _fields(model):
        if field == 7 and wire == 2:
            for gf, gw, tensor in _fields(graph):
                if gf == 5 and gw == 2:
                    name = next((bytes(v).decode() for tf, tw, v in _fields(tensor)
                                 if tf == 8 and tw == 2), "")
                    if name in names:
                        found[name] = bytes(tensor)
    return found


def to_array(typecode, raw):
    a = array(typecode)
    a.frombytes(raw)
    if not LITTLE:
        a.byteswap()
    return a


def read_bin(path, typecode="f"):
    with open(path, "rb") as f:
        return to_array(typecode, f.read())


def read_pb(path):
    with open(path, "rb") as f:
        return decode_tensor(f.read())


def write_input_pb(path, name, bin_path, shape, dtype):
    data_type = {"float32": FLOAT, "int64": INT64}[dtype]
    values = read_bin(bin_path, TYPECODE[data_type])
    count = 1
    for d in shape:
        count *= d
    if len(values) != count:
        raise ValueError(f"{bin_path}: {len(values)} elements, shape {shape}")
    if not LITTLE:
        values.byteswap()
    with open(path, "wb") as f:
        f.write(encode_tensor(name, shape, data_type, values.tobytes()))


# --- the cases ------------------------------------------------------------------------
def loss_tol_rule(loss32, loss64):
    # The manifest's "loss.tol" rule of the rich cases, for the legacy cases
    # whose loss has no tolerance of its own.
    return {"rtol": RTOL, "atol": max(1e-6, 1e-6 * abs(loss32), 20 * abs(loss32 - loss64))}


def normalize(name, case, corpus):
    """The case as a list of steps in the rich format, plus the dlc flags."""
    if "steps_detail" in case:
        steps = case["steps_detail"]
        inputs = case["inputs"]
        adaptive = "adaptive_tolerance_rule" in case
        opt = dict(case["optimizer_params"])
    else:
        # Legacy (mlp_b64, lenet5_b64): one plain SGD step, lr from the case.
        if "SGD" not in case["optimizer"] or "momentum" in case["optimizer"]:
            raise ValueError(f"legacy optimizer '{case['optimizer']}' is not plain SGD")
        inputs = [dict(case["x"], name="x"), dict(case["labels"], name="labels")]
        loss = dict(case["loss"])
        if "tol" not in loss:
            loss["tol"] = loss_tol_rule(loss["value_f32"], loss["value_f64"])
        params = []
        for p in case["params"]:
            p = dict(p)
            if "updated_tol" not in p:
                # The legacy manifest gives no tolerance for the updated
                # parameters: rtol 1e-4, atol max(1e-7, 1e-6*max|p|) (the
                # rich cases' updated_tol rule without its f32-vs-f64 term,
                # which the legacy files cannot provide).
                ref = read_bin(os.path.join(corpus, p["updated"]))
                p["updated_tol"] = {"rtol": RTOL, "atol": max(
                    1e-7, 1e-6 * max((abs(v) for v in ref), default=0.0))}
            params.append(p)
        steps = [{"step": 1, "loss": loss, "params": params, "buffers": []}]
        adaptive = False
        opt = {"kind": "sgd", "lr": case["lr"]}

    flags = ["--train"]
    kind = opt.pop("kind")
    flags.append(f"--optimizer={kind}")
    flags.append(f"--lr={opt.pop('lr', case['lr'])!r}")
    momentum = opt.pop("momentum", 0)
    if momentum:
        flags.append(f"--momentum={momentum!r}")
    if opt.pop("nesterov", False):
        flags.append("--nesterov")
    if "betas" in opt:
        b1, b2 = opt.pop("betas")
        flags += [f"--beta1={b1!r}", f"--beta2={b2!r}"]
    for key, flag in (("eps", "--eps"), ("alpha", "--alpha"),
                      ("weight_decay", "--weight-decay")):
        if key in opt:
            flags.append(f"{flag}={opt.pop(key)!r}")
    if opt:
        raise ValueError(f"optimizer_params without a dlc flag: {sorted(opt)}")
    clip = case.get("clip_grad_norm")
    if clip:
        if float(clip.get("norm_type", 2.0)) != 2.0:
            raise ValueError(f"clip_grad_norm norm_type {clip['norm_type']}: dlc clips the L2 norm")
        flags.append(f"--clip-grad-norm={clip['max_norm']!r}")
    if case.get("frozen"):
        flags.append("--freeze=" + ",".join(case["frozen"]))
    return steps, inputs, adaptive, flags + DLC_FLAGS


# Extra dlc flags for every case (--dlc-flag), e.g. another target.
DLC_FLAGS = []


# How the library's state tensors are named: by the ONNX initializer
# ("onnx_initializer" in the manifest), or with --state-names torch by the
# PyTorch parameter ("name": a library the C++ DSL built, whose layers are
# named as the PyTorch modules).
STATE_NAME_KEY = "onnx_initializer"


def state_file(entry):
    # dlc-run escapes '%' and '/' in state names (see stateFileName).
    name = entry[STATE_NAME_KEY]
    return name.replace("%", "%25").replace("/", "%2F") + ".pb"


def compare(got, ref, tol, ill=None, ill_tol=None):
    """Element-wise |y - ref| <= atol + rtol*|ref|; entries flagged in `ill`
    use `ill_tol`. Returns (bad count, first bad index, max |y - ref|, max of
    |y - ref| / (atol + rtol*|ref|))."""
    bad, first, max_err, worst = 0, -1, 0.0, 0.0
    rtol, atol = tol["rtol"], tol["atol"]
    for i, (y, r) in enumerate(zip(got, ref)):
        if ill is not None and ill[i]:
            bound = ill_tol["atol"] + ill_tol["rtol"] * abs(r)
        else:
            bound = atol + rtol * abs(r)
        err = abs(y - r)
        if not err <= bound:  # NaN fails
            bad += 1
            if first < 0:
                first = i
        if err > max_err or err != err:
            max_err = err
        if bound > 0 and err / bound > worst:
            worst = err / bound
    return bad, first, max_err, worst


def check_tensor(what, path, ref_path, shape, tol, problems, notes,
                 ill=None, ill_tol=None):
    """One saved tensor against its reference; returns True when it matches."""
    if not os.path.exists(path):
        problems.append(f"{what}: dlc-run wrote no {os.path.basename(path)}")
        return False
    _, dims, data_type, got = read_pb(path)
    ref = read_bin(ref_path)
    if data_type != FLOAT or list(dims) != list(shape) or len(got) != len(ref):
        problems.append(f"{what}: got data_type {data_type} shape {dims}, "
                        f"want float32 {shape} ({len(ref)} elements)")
        return False
    bad, first, max_err, worst = compare(got, ref, tol, ill, ill_tol)
    tol_text = f"rtol {tol['rtol']:g} atol {tol['atol']:g}"
    if ill is not None:
        n_ill = sum(ill)
        tol_text += (f"; {n_ill} ill-conditioned entries: rtol {ill_tol['rtol']:g} "
                     f"atol {ill_tol['atol']:g}")
    notes.append(f"{what}: max abs err {max_err:.3g}, {worst:.3g} of the tolerance ({tol_text})")
    if bad:
        problems.append(f"{what}: {bad}/{len(ref)} outside tolerance ({tol_text}); "
                        f"max abs err {max_err:.3g}; first at {first}: "
                        f"got {got[first]:.9g}, want {ref[first]:.9g}")
        return False
    return True


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)


def run_case(name, case, args, dlc, dlc_run, compiled):
    """Returns (status, line, detail lines); status is ok, fail, unsupported
    or compile-fail."""
    corpus = args.corpus
    steps, inputs, adaptive, flags = normalize(name, case, corpus)
    work = os.path.join(args.work, name)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)

    model = os.path.join(corpus, case["model_loss"])
    key = (model, tuple(flags))
    if name in args.library:
        compiled[key] = (args.library[name], 0, "")
    if key not in compiled:
        lib = os.path.join(args.work, name + ".so")
        r = run([dlc, model, *flags, "-o", lib])
        compiled[key] = (lib, r.returncode, r.stderr)
    lib, rc, stderr = compiled[key]
    command = " ".join(["dlc", case["model_loss"], *flags])
    if rc != 0:
        if any(m in stderr.lower() for m in UNSUPPORTED_MARKERS):
            if name in EXPECTED_UNSUPPORTED:
                first = next((l for l in stderr.splitlines()
                              if any(m in l.lower() for m in UNSUPPORTED_MARKERS)), "")
                first = first.replace(f"dlc: error: {model}: ", "").strip()
                return "unsupported", f"not yet supported ({first})", []
            return "compile-fail", "FAIL (compile: unsupported, and not in EXPECTED_UNSUPPORTED)", \
                [command, stderr.rstrip()]
        return "compile-fail", "FAIL (compile)", [command, stderr.rstrip()]

    # BatchNorm buffers start from the inference model's running statistics:
    # torch's export of model_loss.onnx in training mode ran the forward once
    # and saved running statistics already updated by that batch (they equal
    # the step-1 references), while the references start from the model's.
    load = []
    init_buffers = case.get("init_buffers") or []
    if init_buffers:
        start = os.path.join(work, "initial")
        os.makedirs(start)
        found = model_initializers(os.path.join(corpus, case["inference_model"]),
                                   {b["name"] for b in init_buffers})
        for b in init_buffers:
            if b["name"] not in found:
                return "fail", f"FAIL (no initializer {b['name']} in " \
                    f"{case['inference_model']})", []
            with open(os.path.join(start, state_file(b)),
                      "wb") as f:
                f.write(found[b["name"]])
        load = ["--load-params", start]

    pbs = []
    for inp in inputs:
        pb = os.path.join(work, inp["name"] + ".pb")
        write_input_pb(pb, inp["name"], os.path.join(corpus, inp["file"]),
                       inp["shape"], inp["dtype"])
        pbs.append(pb)

    problems, notes, parts = [], [], []
    losses_seen = {}  # step -> loss printed by every run (determinism)
    # Adaptive optimizers: entry e of P is ill-conditioned at step k iff
    # |grad_ref_j(P)[e]| <= 10*grad_tol_j(P).atol for some step j <= k.
    ill = {}
    for sd in steps:
        k = sd["step"]
        out = os.path.join(work, f"step{k}")
        cmd = [dlc_run, lib, "--train", "--inputs", *pbs, "--steps", str(k), "--json", *load,
               "--save-params", os.path.join(out, "params"),
               "--save-grads", os.path.join(out, "grads")]
        r = run(cmd)
        losses = {}
        for line in r.stdout.splitlines():
            if line.startswith("{"):
                entry = json.loads(line)
                losses[entry["step"]] = entry["loss"]
        if r.returncode != 0 or k not in losses:
            problems.append(f"step {k}: dlc-run exited {r.returncode}\n"
                            f"{r.stdout}{r.stderr}".rstrip())
            parts.append(f"step {k} FAIL (run)")
            break
        for j, loss in losses.items():
            losses_seen.setdefault(j, set()).add(loss)

        ok = True
        loss_ref = read_bin(os.path.join(corpus, sd["loss"]["file"]))[0]
        tol = sd["loss"]["tol"]
        loss = losses[k]
        loss_ok = abs(loss - loss_ref) <= tol["atol"] + tol["rtol"] * abs(loss_ref)
        notes.append(f"step {k} loss: err {abs(loss - loss_ref):.3g} "
                     f"(atol {tol['atol']:g}, rtol {tol['rtol']:g})")
        if not loss_ok:
            problems.append(f"step {k}: loss {loss:.9g}, want {loss_ref:.9g} "
                            f"(rtol {tol['rtol']:g}, atol {tol['atol']:g})")
            ok = False

        grads_ok = params_ok = 0
        for p in sd["params"]:
            f = state_file(p)
            grad_ref = os.path.join(corpus, p["grad"])
            if check_tensor(f"step {k} grad {p['name']}", os.path.join(out, "grads", f),
                            grad_ref, p["shape"], p["grad_tol"], problems, notes):
                grads_ok += 1
            ill_mask = ill_tol = None
            if adaptive:
                threshold = 10 * p["grad_tol"]["atol"]
                mask = ill.setdefault(p["name"], bytearray(len(read_bin(grad_ref))))
                for i, g in enumerate(read_bin(grad_ref)):
                    if abs(g) <= threshold:
                        mask[i] = 1
                if sum(mask) != p["ill_conditioned_entries"]:
                    problems.append(f"step {k} {p['name']}: {sum(mask)} ill-conditioned "
                                    f"entries by the adaptive rule, the manifest says "
                                    f"{p['ill_conditioned_entries']}")
                    ok = False
                ill_mask, ill_tol = mask, p["updated_tol_ill_conditioned"]
            if check_tensor(f"step {k} param {p['name']}", os.path.join(out, "params", f),
                            os.path.join(corpus, p["updated"]), p["shape"], p["updated_tol"],
                            problems, notes, ill_mask, ill_tol):
                params_ok += 1
        buffers_ok = 0
        for b in sd["buffers"]:
            # The manifest gives BN buffers no tolerance: use its updated_tol
            # rule, rtol 1e-4, atol = max(1e-7, 1e-6*|b|max, 20*|b32-b64|max).
            ref_path = os.path.join(corpus, b["file"])
            absmax = max((abs(v) for v in read_bin(ref_path)), default=0.0)
            btol = {"rtol": RTOL, "atol": max(1e-7, 1e-6 * absmax, 20 * b["err_f32_vs_f64"])}
            if check_tensor(f"step {k} buffer {b['name']}",
                            os.path.join(out, "params", state_file(b)),
                            ref_path, b["shape"], btol, problems, notes):
                buffers_ok += 1

        # dlc must train exactly the reference's parameters (nothing frozen
        # trained, nothing trained left out) and update exactly its buffers.
        want_grads = {state_file(p) for p in sd["params"]}
        want_state = want_grads | {state_file(b) for b in sd["buffers"]}
        for what, sub, want in (("gradients", "grads", want_grads), ("state", "params", want_state)):
            have = set(os.listdir(os.path.join(out, sub))) if os.path.isdir(os.path.join(out, sub)) else set()
            if have != want:
                problems.append(f"step {k}: saved {what} differ from the reference's: "
                                f"extra {sorted(have - want)}, missing {sorted(want - have)}")
                ok = False

        n_p = len(sd["params"])
        ok = ok and grads_ok == n_p and params_ok == n_p and buffers_ok == len(sd["buffers"])
        part = (f"step {k} loss {loss:.8g} (ref {loss_ref:.8g}) "
                f"grads {grads_ok}/{n_p} params {params_ok}/{n_p}")
        if sd["buffers"]:
            part += f" buffers {buffers_ok}/{len(sd['buffers'])}"
        parts.append(part + (" ok" if ok else " FAIL"))

    for j, seen in sorted(losses_seen.items()):
        if len(seen) > 1:
            notes.append(f"WARNING: step {j} loss differs between runs: {sorted(seen)} "
                         "(the training step is not deterministic)")
    status = "fail" if problems else "ok"
    details = problems + (notes if args.verbose else
                          [n for n in notes if n.startswith("WARNING")])
    return status, "; ".join(parts), details


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--verbose", action="store_true",
                    help="print every tensor's max error and its share of the tolerance")
    ap.add_argument("--library", action="append", default=[], metavar="CASE=LIB",
                    help="run CASE with this training library instead of compiling "
                    "its model_loss.onnx (one built another way, with the case's "
                    "optimizer and loss)")
    ap.add_argument("--state-names", choices=["onnx", "torch"], default="onnx",
                    help="how the libraries name their state tensors")
    ap.add_argument("--dlc-flag", action="append", default=[],
                    help="an extra dlc flag for every case (repeat for several)")
    ap.add_argument("cases", nargs="*", help="default: every case of manifest['training']")
    args = ap.parse_args()
    DLC_FLAGS.extend(args.dlc_flag)
    args.library = dict(item.split("=", 1) for item in args.library)
    global STATE_NAME_KEY
    STATE_NAME_KEY = "name" if args.state_names == "torch" else "onnx_initializer"
    manifest_path = os.path.join(args.corpus, "manifest.json")
    if not os.path.exists(manifest_path):
        print(f"training: SKIPPED: no shared corpus at {args.corpus} "
              "(it lives in ../shared/corpus beside the checkout)")
        return 77
    manifest = json.load(open(manifest_path))["training"]
    os.makedirs(args.work, exist_ok=True)
    dlc = os.path.join(args.bin, "dlc", "dlc")
    dlc_run = os.path.join(args.bin, "dlc-run", "dlc-run")
    names = args.cases or list(manifest)
    compiled = {}
    failed, unsupported, passed = [], [], []
    start = time.time()
    for name in names:
        try:
            status, line, details = run_case(name, manifest[name], args, dlc, dlc_run, compiled)
        except (ValueError, KeyError, OSError, subprocess.TimeoutExpired) as e:
            status, line, details = "error", f"FAIL (harness: {type(e).__name__}: {e})", []
        print(f"training: {name}: {line}")
        for d in details:
            print("    " + d.replace("\n", "\n    "))
        if status in ("ok", "fail") and name in EXPECTED_UNSUPPORTED:
            bar = "!" * 78
            print(f"{bar}\ntraining: WARNING: {name} is listed in EXPECTED_UNSUPPORTED but now "
                  f"compiles{' and PASSES' if status == 'ok' else ' (and fails)'}:\n"
                  f"training: WARNING: remove it from EXPECTED_UNSUPPORTED in "
                  f"test/e2e/training.py\n{bar}")
        {"ok": passed, "fail": failed, "compile-fail": failed, "error": failed,
         "unsupported": unsupported}[status].append(name)
        sys.stdout.flush()
    summary = f"training: {len(passed)} passed, {len(failed)} failed"
    if unsupported:
        summary += f", {len(unsupported)} not yet supported ({', '.join(unsupported)})"
    if failed:
        summary += f" ({', '.join(failed)})"
    print(f"{summary}; {time.time() - start:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
