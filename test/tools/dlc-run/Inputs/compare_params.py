"""Compares the parameter files (DIR/<name>.pb, raw float32) of two runs:
|a - b| <= atol + rtol * |b| for every element of every file of the first."""
import os
import struct
import sys


def raw_floats(path):
    data = open(path, "rb").read()
    # TensorProto field 9 (raw_data) is written last by dlc-run: find its key.
    pos = data.rfind(b"\x4a")
    while pos >= 0:
        length, shift, p = 0, 0, pos + 1
        while True:
            byte = data[p]
            length |= (byte & 0x7F) << shift
            p += 1
            shift += 7
            if not byte & 0x80:
                break
        if p + length == len(data):
            return struct.unpack("<%df" % (length // 4), data[p:])
        pos = data.rfind(b"\x4a", 0, pos)
    raise ValueError(path + ": no raw_data")


a_dir, b_dir, rtol, atol = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
worst = 0.0
for name in sorted(os.listdir(a_dir)):
    a, b = raw_floats(os.path.join(a_dir, name)), raw_floats(os.path.join(b_dir, name))
    assert len(a) == len(b), name
    for x, y in zip(a, b):
        if abs(x - y) > atol + rtol * abs(y):
            sys.exit(f"{name}: {x} vs {y}")
        worst = max(worst, abs(x - y))
print(f"{len(os.listdir(a_dir))} tensors agree (max abs diff {worst:.3g})")
