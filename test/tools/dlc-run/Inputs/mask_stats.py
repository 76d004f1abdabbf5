"""Prints the fraction of zeros of a saved float32 gradient (raw_data last in
the file) and its distinct nonzero values."""
import struct
import sys

data = open(sys.argv[1], "rb").read()
values = struct.unpack("<2000f", data[-8000:])
zeros = sum(1 for v in values if v == 0.0)
print(f"zero fraction {zeros / len(values):.2f}")
print("nonzero values", sorted({round(v, 9) for v in values if v != 0.0}))
