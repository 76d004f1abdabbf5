"""What the e2e scripts that build small models share: tensors as ONNX
TensorProto text, compiling a model text with dlc, and running the library
with dlc-run against expected outputs (dlc-run --expect compares)."""
import os
import struct
import subprocess

from conv_pool_reference import encode

F32, I64 = 1, 7


def tensor(name, elem, dims, values):
    """A TensorProto text of `values` (float32, int64, int32, bool, uint8 or
    int8)."""
    fmt = {F32: "f", I64: "q", 6: "i", 9: "B", 2: "B", 3: "b"}[elem]
    raw = struct.pack("<%d%s" % (len(values), fmt), *values)
    return '%s data_type: %d name: "%s" raw_data: "%s"' % (
        " ".join("dims: %d" % d for d in dims), elem, name,
        "".join("\\%03o" % b for b in raw))


def compile_model(bin_dir, work, name, text, flags=()):
    """Encodes ModelProto `text` as WORK/NAME.onnx and compiles it to
    WORK/NAME.so; the library's path, or None (reported) when dlc fails."""
    path = os.path.join(work, name + ".onnx")
    encode("ModelProto", text, path)
    lib = os.path.join(work, name + ".so")
    c = subprocess.run([os.path.join(bin_dir, "dlc", "dlc"), path, "-o", lib] + list(flags),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if c.returncode != 0:
        print("%s: FAILED (compile): %s" % (name, c.stdout.decode()[-2000:]))
        return None
    return lib


def expect(bin_dir, work, lib, label, inputs, outputs, rtol, atol, threads=("1",)):
    """Runs `lib` on `inputs` and compares with `outputs`, both lists of
    (name, elem, dims, values), at each thread count; prints each result and
    returns how many runs failed."""
    files = {}
    for kind, tensors in (("in", inputs), ("out", outputs)):
        files[kind] = []
        for t_name, elem, dims, values in tensors:
            path = os.path.join(work, "%s_%s_%s.pb" % (label.replace(" ", "_"), kind, t_name))
            encode("TensorProto", tensor(t_name, elem, dims, values), path)
            files[kind].append(path)
    failed = 0
    for count in threads:
        r = subprocess.run([os.path.join(bin_dir, "dlc-run", "dlc-run"), lib,
                            "--threads", count, "--inputs"] + files["in"]
                           + ["--expect"] + files["out"]
                           + ["--rtol", str(rtol), "--atol", str(atol)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        failed += r.returncode != 0
        print("%s, %s thread(s): %s\n  %s" % (
            label, count, "ok" if r.returncode == 0 else "FAILED",
            r.stdout.decode().strip().replace("\n", "\n  ")))
    return failed
