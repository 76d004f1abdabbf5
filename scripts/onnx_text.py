"""What the scripts that write ONNX models share: a ModelProto in protobuf
text format, encoded with protoc against Debian's onnx.proto."""
import subprocess


def encode(text, path):
    """Writes ModelProto `text` to `path` in binary form."""
    r = subprocess.run(["protoc", "-I/usr/include", "--encode=onnx.ModelProto",
                        "onnx/onnx.proto"], input=text.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
    with open(path, "wb") as f:
        f.write(r.stdout)
