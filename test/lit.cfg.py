# lit configuration for dlc: FileCheck tests of dialects, passes and tools.
import os
import lit.formats

config.name = "dlc"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".test"]
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "e2e", "unit", "models", "Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.dlc_binary_dir, "test")

tools = [os.path.join(config.dlc_tools_dir, d) for d in ("dlc", "dlc-opt", "dlc-run")]
config.environment["PATH"] = os.pathsep.join(
    tools + [config.llvm_tools_dir, config.environment.get("PATH", os.environ["PATH"])])
config.substitutions.append(("%models", os.path.join(config.test_source_root, "tools", "models")))
config.substitutions.append(("%onnx_node", os.path.join(config.onnx_testdata, "node")))
config.substitutions.append(("%onnx_proto_encode",
                             "protoc -I/usr/include --encode=onnx.ModelProto onnx/onnx.proto"))
config.substitutions.append(("%tensor_proto_encode",
                             "protoc -I/usr/include --encode=onnx.TensorProto onnx/onnx.proto"))
config.substitutions.append(("%readme", os.path.join(config.dlc_source_dir, "README.md")))

# Tests on the shared corpus run where it is (CI, developer machines) and are
# reported as unsupported elsewhere.
if os.path.isfile(os.path.join(config.shared_corpus, "manifest.json")):
    config.available_features.add("corpus")
config.substitutions.append(("%corpus", config.shared_corpus))
import sys
config.substitutions.append(("%python", sys.executable))

# The data-parallel example needs MPI (built when CMake finds it) and mpirun.
import shutil
train_mpi = os.path.join(config.dlc_binary_dir, "examples", "data-parallel-mpi", "train-mpi")
if os.path.isfile(train_mpi) and shutil.which("mpirun"):
    config.available_features.add("mpi")
config.substitutions.append(("%train_mpi", train_mpi))
# As root on a 2-core machine Open MPI wants both flags.
config.substitutions.append(("%mpirun", "mpirun --allow-run-as-root --oversubscribe"))

# The test double of the CUDA driver (test/unit/FakeCudaDriver.c).
config.substitutions.append(("%fake_cuda", os.path.join(config.dlc_binary_dir, "test", "unit",
                                                        "fake_cuda.so")))

# A hand-written library of sequence and optional inputs and outputs
# (test/unit/FakeSequenceLibrary.cpp).
config.substitutions.append(("%fake_sequence", os.path.join(config.dlc_binary_dir, "test", "unit",
                                                            "fake_sequence.so")))

# PTX from --target=cuda is checked with NVIDIA's assembler where CUDA is
# installed (not a Debian package: /usr/local/cuda on the CI image).
ptxas = shutil.which("ptxas") or "/usr/local/cuda/bin/ptxas"
if os.access(ptxas, os.X_OK):
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))
