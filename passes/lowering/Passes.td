//===- Passes.td - passes between bufferization and LLVM ---*- tablegen -*-===//

#ifndef DLC_PASSES_LOWERING
#define DLC_PASSES_LOWERING

include "mlir/Pass/PassBase.td"

def MemRefCopyToLinalg : Pass<"memref-copy-to-linalg", "mlir::func::FuncOp"> {
  let summary = "Rewrites memref.copy as a linalg copy so that it becomes loops";
  let description = [{
    The LLVM lowering of a memref.copy between non-contiguous views calls
    `memrefCopy` from MLIR's runner utilities, a library a standalone model
    must not need. As a linalg.generic the copy becomes plain loops.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def VectorizeMatmul : Pass<"vectorize-matmul", "mlir::func::FuncOp"> {
  let summary = "Register-tiled vector code for 2-D linalg.matmul on tensors";
  let description = [{
    Rewrites C += A x B into loops over tiles of `rows` x (`lanes` *
    `vectors`) elements of C, whose accumulators stay in vector registers across the
    whole reduction: for each k, the row of B is loaded once as vectors and
    each A element is broadcast and multiplied into it (outer products with
    fused multiply-adds). Columns past the end are masked; the rows past the
    last full tile form one smaller tile. A plain matmul's M, N and K may be
    known only at run time: then every column vector is masked and the rows
    past the last full tile run as tiles of halving height.
  }];
  let options = [
    Option<"lanes", "lanes", "int64_t", "16",
           "f32 elements per vector: 16 for AVX-512, 8 for AVX2">,
    Option<"rows", "rows", "int64_t", "8", "Rows of C per register tile">,
    Option<"vectors", "vectors", "int64_t", "2",
           "Vectors of C per register tile row">,
  ];
  let dependentDialects = [
    "mlir::scf::SCFDialect", "mlir::vector::VectorDialect",
    "mlir::arith::ArithDialect", "mlir::tensor::TensorDialect"
  ];
}

def VectorizeRowReductions : Pass<"vectorize-row-reductions", "mlir::func::FuncOp"> {
  let summary = "Reductions along the innermost loop as vector code, one row at a time";
  let description = [{
    Rewrites a linalg.generic on tensors that reduces its innermost loop
    (add, maximum or minimum of floats; arith/math body; inputs read along
    the row contiguously or not along it) into one loop over its rows,
    marked `dlc.parallel`, whose body folds the row into `lanes` partial
    results in a vector register (the last partial chunk masked) and reduces
    them into the row's element. Sums come out in another order than one
    element at a time; maxima and minima are exact.
  }];
  let options = [
    Option<"lanes", "lanes", "int64_t", "16",
           "Elements per vector: 16 for AVX-512 f32, 8 for AVX2">,
  ];
  let dependentDialects = [
    "mlir::scf::SCFDialect", "mlir::vector::VectorDialect",
    "mlir::arith::ArithDialect", "mlir::tensor::TensorDialect",
    "mlir::affine::AffineDialect"
  ];
}

def VectorizeSlidingWindow : Pass<"vectorize-sliding-window", "mlir::func::FuncOp"> {
  let summary = "Vector code along output rows for depthwise convolution and pooling";
  let description = [{
    Rewrites loop nests over (n, c, oh, ow, kh, kw) on static f32 tensors:
    the depthwise convolution generic that convert-kernel-to-linalg builds
    (one filter per channel) and linalg's NCHW max and sum pooling, with a
    horizontal stride of 1 or 2, into loops over output vectors of `lanes`
    elements along each output row, one channel plane per iteration of an
    outer loop marked `dlc.parallel`. The window taps are unrolled (filter
    taps broadcast once per plane); each output vector stays in a register
    across all taps and is stored once, with the op's elementwise consumer
    applied in registers. The last vector of a row is masked.
  }];
  let options = [
    Option<"lanes", "lanes", "int64_t", "16",
           "f32 elements per vector: 16 for AVX-512, 8 for AVX2">,
  ];
  let dependentDialects = [
    "mlir::scf::SCFDialect", "mlir::vector::VectorDialect",
    "mlir::arith::ArithDialect", "mlir::tensor::TensorDialect"
  ];
}

def CollapseContiguousDims : Pass<"collapse-contiguous-dims", "mlir::func::FuncOp"> {
  let summary = "Merges the loops of elementwise generics that are contiguous in every operand";
  let description = [{
    Each run of consecutive loops of an all-parallel linalg.generic on static
    tensors that every indexing map keeps consecutive and in order becomes
    one loop (operands collapsed, results expanded back), so that the
    innermost loop is long enough for LLVM to vectorize it instead of
    unrolling it.
  }];
  let dependentDialects = [
    "mlir::linalg::LinalgDialect", "mlir::tensor::TensorDialect"
  ];
}

def FuseElementwiseChains : Pass<"fuse-elementwise-chains", "mlir::func::FuncOp"> {
  let summary = "Merges chains of elementwise linalg.generic ops into one";
  let description = [{
    Upstream elementwise fusion, limited to an all-parallel producer with
    one user fused into an all-parallel consumer: matrix products,
    convolutions and pooling keep the form the vector kernels match.
  }];
  let dependentDialects = [
    "mlir::linalg::LinalgDialect", "mlir::tensor::TensorDialect"
  ];
}

def SplitEmptyTensors : Pass<"split-empty-tensors", "mlir::func::FuncOp"> {
  let summary = "Gives each user of a shared tensor.empty its own";
  let description = [{
    After CSE one tensor.empty may be the destination of every elementwise
    op of a function; one-shot bufferization's conflict analysis is then
    quadratic in their number. Run right before bufferization.
  }];
  let dependentDialects = ["mlir::tensor::TensorDialect"];
}

def CopyRepeatedResults : Pass<"copy-repeated-results", "mlir::func::FuncOp"> {
  let summary = "Gives each result of a function its own tensor";
  let description = [{
    After CSE two results of a function may be one value (a training step's
    gradients of two biases that feed the same sum are equal). Bufferization
    would return one buffer twice, and buffer-results-to-out-params then
    writes the first out-parameter and fails on the second. Each repeat is
    returned as a copy. Run right before bufferization.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect", "mlir::tensor::TensorDialect"];
}

def ReleaseUnusedWeights : Pass<"release-unused-weights", "mlir::ModuleOp"> {
  let summary = "Frees the blobs of the weights the module no longer uses";
  let description = [{
    Large constants are dense_resource attributes whose blobs hold their
    bytes (dialects/graph/Weights.h). A transformed constant (a filter with
    batch norm folded in, packed in panels, Winograd-transformed) replaces
    the one it was made from, which would otherwise stay in memory until
    the context goes. Frees the data of every weight blob nothing in the
    module references; run after the stages that transform constants. The
    module owns its weights: another module of the same context must not
    use them afterwards.
  }];
  let statistics = [
    Statistic<"releasedBytes", "released-bytes", "Bytes of weights freed">
  ];
}

def ApproximateMath : Pass<"approximate-math", "mlir::func::FuncOp"> {
  let summary = "Replaces tanh, exp, log and erf with polynomial approximations";
  let description = [{
    libm calls are scalar and stop the vectorizer; MLIR's polynomial and
    rational approximations of these functions are plain arithmetic, accurate
    to a few ulp in f32, and vectorize. Other math ops keep libm.
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::math::MathDialect",
    "mlir::vector::VectorDialect"
  ];
}

def PlanWorkspace : Pass<"plan-workspace", "mlir::ModuleOp"> {
  let summary = "Places every static intermediate buffer in one workspace argument";
  let description = [{
    After bufferization, each public function's top-level memref.alloc of a
    static shape becomes a memref.view into a new trailing argument, an
    i8 workspace the caller provides. Buffers whose lifetimes (from the alloc
    to the last use of anything aliasing it) do not overlap share memory.
    The workspace size is recorded as `dlc.workspace_bytes` on the function.
    Generated code then allocates nothing per call: no malloc, no page faults.
  }];
  let options = [
    Option<"alignment", "alignment", "int64_t", "64",
           "Byte alignment of every buffer in the workspace">,
  ];
  let dependentDialects = ["mlir::memref::MemRefDialect", "mlir::arith::ArithDialect"];
}

def ImportDynamicInputs : Pass<"import-dynamic-inputs", "mlir::ModuleOp"> {
  let summary = "Takes inputs whose dims are known only at run time from the caller";
  let description = [{
    Runs after bufferization, before results become out-params: every
    argument of a public function is an input then. The bare-pointer calling
    convention passes static memrefs only, so an input of a dynamic shape
    becomes a memref<1xT> argument (its data pointer) and the function takes
    one more argument after the inputs, a memref<Sxi64> of the S dynamic dims
    of all its inputs, in argument then dim order. The body reads the input
    through a memref.reinterpret_cast to its row-major shape. The count S is
    recorded as `dlc.dynamic_dims` on the function.
  }];
  let dependentDialects = ["mlir::memref::MemRefDialect", "mlir::arith::ArithDialect"];
}

def ZeroSizeArguments : Pass<"zero-size-arguments", "mlir::ModuleOp"> {
  let summary = "Passes empty buffers with a zero-size dim after the first as memref<0xT>";
  let description = [{
    Runs on public functions once their results are out-params. The
    bare-pointer calling convention cannot take a memref whose zero-size dim
    follows another (no static strides are found for memref<3x0x5xf32>);
    such an argument holds no element, so it becomes a memref<0xT> argument
    that the body reads through a memref.reinterpret_cast to its shape.
  }];
  let dependentDialects = ["mlir::memref::MemRefDialect"];
}

def ExportDynamicOutputs : Pass<"export-dynamic-outputs", "mlir::ModuleOp"> {
  let summary = "Hands outputs whose shape is known only at run time to the caller";
  let description = [{
    After buffer-results-to-out-params, a public function's result of a
    dynamic shape is an out-param the caller cannot size, written by one
    memref.copy. Such an argument becomes a slot of 1 + rank int64 values:
    the function allocates the result (a 64-byte aligned allocation that
    free() releases; the caller owns it), copies into it, and stores the
    address in slot[0] and the dims in slot[1..rank]. Runs after the
    deallocation pipeline, so nothing frees the handed-over buffer.

    Canonicalization erases a copy of an empty buffer of static shape (a
    run-time result that folded to, say, [2, 0]), which would leave the slot
    unwritten: `record-static-shapes`, run before that, notes a copied
    value's static shape on the argument (`dlc.output_shape`), and the
    export then hands over an empty buffer of that shape.
  }];
  let options = [
    Option<"recordStaticShapes", "record-static-shapes", "bool", "false",
           "Only note the static shapes of the values copied into dynamic "
           "out-params (run before canonicalization)">
  ];
  let dependentDialects = ["mlir::memref::MemRefDialect", "mlir::arith::ArithDialect"];
}

def ParallelizeLoops : Pass<"parallelize-loops", "mlir::ModuleOp"> {
  let summary = "Runs each kernel's outer parallel loops on the library's thread pool";
  let description = [{
    Outlines every outermost scf.parallel, and every scf.for marked
    `dlc.parallel` by the code that made it (rows and column tiles of the
    matmul kernel), whose estimated work reaches `min-work` operations into a
    function over a range of iterations, and calls it through a launcher that
    lower-parallel-launches defines. Smaller loops stay on the calling
    thread. Only loops whose iterations write disjoint data are split, so
    results do not depend on the thread count.
  }];
  let options = [
    Option<"minWork", "min-work", "int64_t", "16384",
           "Estimated operations below which a loop is not split (each chunk "
           "does at least half as many: about 1 us, while handing a chunk to "
           "a spinning worker costs well under that; measured against 262144 "
           "and 4096 on the corpus at 1 and 2 threads)">,
  ];
  let dependentDialects = [
    "mlir::func::FuncDialect", "mlir::scf::SCFDialect",
    "mlir::arith::ArithDialect"
  ];
}

def OutlineKernels : Pass<"outline-kernels", "mlir::ModuleOp"> {
  let summary = "Moves each serial kernel of an entry function into a function of its own";
  let description = [{
    After bufferization an entry function is the whole model: one block
    holding every kernel's loops. Passes from here on (SCF to CFG, LLVM's
    loop and code generation passes) cost more than linearly in the size of
    one function, so a model of thousands of nodes would compile in minutes.
    Each kernel (a run of consecutive top-level ops from one ONNX node: its
    loop nests, or the straight-line vector code of a small one) becomes a
    private function marked noinline, called in its place; what it uses
    from outside is recreated inside or passed as arguments, as
    parallelize-loops does for its tasks (workspace buffers marked noalias
    where they are disjoint). A run whose results are used after it, or
    whose captures the bare-pointer calling convention cannot pass, stays
    where it is. Functions of at most `min-kernels` kernels are left alone.
  }];
  let options = [
    Option<"minKernels", "min-kernels", "int64_t", "16",
           "Functions with at most this many kernels keep them inline">,
  ];
  let dependentDialects = ["mlir::func::FuncDialect"];
}

def LowerParallelLaunches : Pass<"lower-parallel-launches", "mlir::ModuleOp"> {
  let summary = "Defines the launchers parallelize-loops declared, in the LLVM dialect";
  let description = [{
    Each launcher packs its captured values into a stack frame and calls the
    thread pool's `dlc_pool_parallel_for` with a task function that unpacks
    the frame and calls the loop's outlined body over a range of iterations.
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect"];
}

#endif // DLC_PASSES_LOWERING
