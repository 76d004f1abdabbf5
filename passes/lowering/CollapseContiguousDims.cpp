//===- CollapseContiguousDims.cpp - one loop per contiguous run of dims ---===//
//
// An elementwise linalg.generic over [8, 32, 16, 16] lowers to four nested
// loops whose innermost runs 16 times. LLVM fully unrolls such a short loop
// before its loop vectorizer runs, and then vectorizes the next loop out,
// 16 elements apart, with gathers and scatters (a batch norm after a
// transposed convolution ran at a fifth of its speed). Dims that are
// consecutive and in the same order in every operand address contiguous
// memory in every operand, so they can be one loop: [8, 32, 256], whose
// innermost loop LLVM vectorizes with plain vector loads.
//
// Only generics whose loops are all parallel and whose operands are indexed
// by loops alone (projected permutations, once inputs broadcast along a
// size-1 dim by a constant index 0 are read without that dim) are collapsed;
// reductions keep their loop structure (and so their order of summation).
// Dims of run-time size collapse as well: [2, tokens, 32] is one loop of
// 2 * tokens * 32 elements.
//
//===----------------------------------------------------------------------===//

#include "passes/lowering/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"

namespace dlc {
#define GEN_PASS_DEF_COLLAPSECONTIGUOUSDIMS
#include "passes/lowering/Passes.h.inc"
} // namespace dlc

using namespace mlir;

namespace {

/// The maximal runs of two or more consecutive loops that are contiguous in
/// every indexing map of `op`, each with at most one loop of run-time size:
/// expanding a run of two back (memref.expand_shape into [?, ?]) crashes
/// expand-strided-metadata in LLVM 22.
SmallVector<ReassociationIndices> contiguousRuns(linalg::GenericOp op) {
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  int64_t loops = op.getNumLoops();
  // A loop is of run-time size if any operand's dim along it is.
  SmallVector<bool> runtimeSized(loops, false);
  for (OpOperand &operand : op->getOpOperands()) {
    auto type = cast<RankedTensorType>(operand.get().getType());
    for (auto [i, e] :
         llvm::enumerate(op.getMatchingIndexingMap(&operand).getResults()))
      if (auto d = dyn_cast<AffineDimExpr>(e); d && type.isDynamicDim(i))
        runtimeSized[d.getPosition()] = true;
  }
  SmallVector<ReassociationIndices> runs;
  for (int64_t begin = 0; begin < loops;) {
    ReassociationIndices run = {begin};
    bool dynamic = runtimeSized[begin];
    while (run.back() + 1 < loops) {
      ReassociationIndices longer = run;
      longer.push_back(run.back() + 1);
      bool next = runtimeSized[longer.back()];
      if ((dynamic && next) ||
          !linalg::areDimSequencesPreserved(maps, {longer}))
        break;
      dynamic |= next;
      run = longer;
    }
    begin = run.back() + 1;
    if (run.size() > 1)
      runs.push_back(run);
  }
  return runs;
}

/// Reads of a size-1 dim at constant index 0 (a per-channel vector [C, 1, 1]
/// broadcast over [N, C, H, W]) read the operand collapsed without that dim
/// instead, so that the map is a projected permutation.
void dropUnitIndices(linalg::GenericOp op, OpBuilder &b) {
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  bool changed = false;
  for (OpOperand *operand : op.getDpsInputOperands()) {
    unsigned number = operand->getOperandNumber();
    auto type = dyn_cast<RankedTensorType>(operand->get().getType());
    if (!type)
      continue;
    SmallVector<AffineExpr> kept;
    SmallVector<int64_t> shape;
    SmallVector<ReassociationIndices> groups;
    ReassociationIndices pending;
    bool drops = false;
    for (auto [i, expr] : llvm::enumerate(maps[number].getResults())) {
      pending.push_back(i);
      auto constant = dyn_cast<AffineConstantExpr>(expr);
      if (constant && constant.getValue() == 0 && type.getDimSize(i) == 1) {
        drops = true;
        continue;
      }
      kept.push_back(expr);
      shape.push_back(type.getDimSize(i));
      groups.push_back(pending);
      pending.clear();
    }
    if (!drops)
      continue;
    // Dropped dims after the last kept one join its group.
    if (!pending.empty() && !groups.empty())
      groups.back().append(pending.begin(), pending.end());
    b.setInsertionPoint(op);
    operand->set(tensor::CollapseShapeOp::create(
        b, op.getLoc(), RankedTensorType::get(shape, type.getElementType()),
        operand->get(), groups));
    maps[number] =
        AffineMap::get(maps[number].getNumDims(), 0, kept, op.getContext());
    changed = true;
  }
  if (changed)
    op.setIndexingMapsAttr(b.getAffineMapArrayAttr(maps));
}

struct CollapseContiguousDimsPass
    : public dlc::impl::CollapseContiguousDimsBase<CollapseContiguousDimsPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> candidates;
    getOperation().walk([&](linalg::GenericOp op) {
      if (op.hasPureTensorSemantics() &&
          op.getNumLoops() == op.getNumParallelLoops() &&
          llvm::all_of(op->getOperandTypes(),
                       [](Type type) { return isa<RankedTensorType>(type); }))
        candidates.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : candidates) {
      dropUnitIndices(op, rewriter);
      if (!llvm::all_of(op.getIndexingMapsArray(), [](AffineMap map) {
            return map.isProjectedPermutation();
          }))
        continue;
      SmallVector<ReassociationIndices> runs = contiguousRuns(op);
      if (runs.empty())
        continue;
      rewriter.setInsertionPoint(op);
      FailureOr<linalg::CollapseResult> collapsed =
          linalg::collapseOpIterationDims(op, runs, rewriter);
      if (failed(collapsed))
        continue;
      rewriter.replaceOp(op, collapsed->results);
    }
  }
};

} // namespace
