"""Wraps serialized onnx.TensorProto files in an onnx.SequenceProto or
OptionalProto (encoded by hand: protoc has no onnx-data.proto here).

  wrap_value.py seq NAME OUT T.pb...   a sequence of the tensors
  wrap_value.py opt NAME OUT T.pb      an optional tensor
  wrap_value.py optseq NAME OUT T.pb...  an optional sequence
  wrap_value.py none NAME OUT          an absent optional
"""
import sys


def varint(v):
    out = b""
    while v >= 0x80:
        out += bytes([v & 0x7F | 0x80])
        v >>= 7
    return out + bytes([v])


def field(number, payload):
    """A length-delimited field."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def enum(number, value):
    return varint(number << 3) + varint(value)


def sequence(name, tensors):
    # SequenceProto: name 1, elem_type 2 (TENSOR 1), tensor_values 3.
    return field(1, name.encode()) + enum(2, 1) + b"".join(field(3, t) for t in tensors)


kind, name, out, files = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
tensors = [open(f, "rb").read() for f in files]
if kind == "seq":
    data = sequence(name, tensors)
elif kind == "opt":
    # OptionalProto: name 1, elem_type 2 (TENSOR 1, SEQUENCE 3),
    # tensor_value 3, sequence_value 5.
    data = field(1, name.encode()) + enum(2, 1) + field(3, tensors[0])
elif kind == "optseq":
    data = field(1, name.encode()) + enum(2, 3) + field(5, sequence(name, tensors))
else:
    data = field(1, name.encode()) + enum(2, 0)
open(out, "wb").write(data)
