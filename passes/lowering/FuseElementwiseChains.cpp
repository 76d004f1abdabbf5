//===- FuseElementwiseChains.cpp - one loop nest per elementwise chain ----===//
//
// Elementwise ops that kernels did not absorb (activations, arithmetic,
// normalizations' final scale) are one linalg.generic each: a chain of n of
// them is n loop nests, n intermediate tensors and, for long chains, code
// that LLVM's passes handle in more than linear time (a 10,000-op chain: 4
// minutes). Upstream's elementwise fusion merges a producer into its
// consumer (its fusion step, without the pattern set's other rewrites);
// here only when both are all-parallel generics and the producer
// has no other user, so that nothing is computed twice and the reductions
// and contractions the vector kernels match (matrix products, convolutions,
// pooling) keep their exact form. Their epilogues can still grow: a chain
// behind a kernel's epilogue joins it. A fused body stops growing at
// kMaxFusedOps operations: each fusion copies both bodies, so unbounded
// bodies would make a long chain quadratic again (10,000 ops: 9 s).
//
//===----------------------------------------------------------------------===//

#include "passes/lowering/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"

namespace dlc {
#define GEN_PASS_DEF_FUSEELEMENTWISECHAINS
#include "passes/lowering/Passes.h.inc"
} // namespace dlc

using namespace mlir;

namespace {

constexpr size_t kMaxFusedOps = 128;

size_t bodySize(Operation *op) {
  return cast<linalg::GenericOp>(op).getBody()->getOperations().size();
}

/// An all-parallel generic at the top level of its function (recurrent
/// loops' bodies are left as they are: fused, their loop-carried buffers
/// need ownership tracking at run time that the deallocation pipeline
/// lowers to a helper call).
bool isTopLevelElementwise(Operation *op) {
  auto generic = dyn_cast_or_null<linalg::GenericOp>(op);
  return generic && isa<func::FuncOp>(generic->getParentOp()) &&
         generic.hasPureTensorSemantics() &&
         generic.getNumLoops() == generic.getNumParallelLoops();
}

/// Fuses the producer of one of `consumer`'s operands into it, if allowed;
/// returns the fused op.
linalg::GenericOp fuseOneProducer(IRRewriter &rewriter,
                                  linalg::GenericOp consumer) {
  for (OpOperand &operand : consumer->getOpOperands()) {
    Operation *producer = operand.get().getDefiningOp();
    if (!isTopLevelElementwise(producer) || !producer->hasOneUse() ||
        bodySize(producer) + bodySize(consumer) > kMaxFusedOps ||
        !linalg::areElementwiseOpsFusable(&operand))
      continue;
    rewriter.setInsertionPoint(consumer);
    FailureOr<linalg::ElementwiseOpFusionResult> fused =
        linalg::fuseElementwiseOps(rewriter, &operand);
    if (failed(fused))
      continue;
    for (auto [original, replacement] : fused->replacements)
      rewriter.replaceAllUsesExcept(original, replacement, fused->fusedOp);
    rewriter.eraseOp(consumer);
    if (producer->use_empty())
      rewriter.eraseOp(producer);
    return cast<linalg::GenericOp>(fused->fusedOp);
  }
  return {};
}

struct FuseElementwiseChainsPass
    : public dlc::impl::FuseElementwiseChainsBase<FuseElementwiseChainsPass> {
  void runOnOperation() override {
    // Producers before consumers: each consumer absorbs its chain as far
    // as allowed, then the next one starts from the fused op's users.
    SmallVector<linalg::GenericOp> consumers;
    getOperation().walk([&](linalg::GenericOp op) {
      if (isTopLevelElementwise(op))
        consumers.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp consumer : consumers) {
      while (linalg::GenericOp fused = fuseOneProducer(rewriter, consumer))
        consumer = fused;
    }
  }
};

} // namespace
