//===- Passes.td - passes of the CUDA target ---------------*- tablegen -*-===//

#ifndef DLC_PASSES_GPU
#define DLC_PASSES_GPU

include "mlir/Pass/PassBase.td"

def DistributeLoopsToGpu : Pass<"gpu-distribute-loops", "mlir::func::FuncOp"> {
  let summary = "Maps each kernel's loops to CUDA blocks and threads";
  let description = [{
    After bufferization and linalg-to-parallel-loops, every top-level
    scf.parallel of the function is one kernel: its iterations become one
    linear range, run by blocks of `block-size` threads (thread x fastest, so
    neighbouring threads touch neighbouring elements), with a guard for the
    last block. Nested loops run in each thread. Code that touches memory
    outside any parallel loop (a reduction to a scalar, a single store) runs
    in a kernel of one thread, since the buffers live on the device; host
    loops that contain kernels (a recurrent layer's time loop) stay on the
    host. Constants read by a kernel (memref.get_global) move into it, so
    that outlining gives the device module its own copy. The loops get
    the mapping attributes convert-parallel-loops-to-gpu reads.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", "256",
           "Threads per block">,
  ];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::gpu::GPUDialect",
    "mlir::scf::SCFDialect", "mlir::memref::MemRefDialect"
  ];
}

def MergeKernelModules : Pass<"gpu-merge-kernel-modules", "mlir::ModuleOp"> {
  let summary = "Puts every outlined kernel in one device module";
  let description = [{
    gpu-kernel-outlining makes one gpu.module per kernel, each with copies of
    the globals it reads. This pass moves every kernel into one gpu.module
    named `module-name` (one PTX image, loaded once), keeps one copy of each
    global, and points the launches at the merged kernels. Globals of at
    least `upload-bytes` bytes (the weights) keep no initial value on the
    device: the host copy stays in the library, marked `dlc.device_copy`,
    and the runtime uploads it once, so the PTX does not carry the weights
    as text. A kernel's report of a failed run-time check (a call of
    dlc_report_error) becomes an atomic write of its site into the device
    global dlc_device_error_site, which the runtime reads after the call.
  }];
  let options = [
    Option<"moduleName", "module-name", "std::string", "\"dlc_kernels\"",
           "Name of the merged gpu.module">,
    Option<"uploadBytes", "upload-bytes", "int64_t", "1024",
           "Globals this large are uploaded at run time, not in the PTX">,
  ];
  let dependentDialects = ["mlir::arith::ArithDialect", "mlir::gpu::GPUDialect",
                           "mlir::memref::MemRefDialect"];
}

#endif // DLC_PASSES_GPU
