//===- MemRefCopyToLinalg.cpp - memref.copy as a linalg copy --------------===//
//
// A copy between buffers that are both contiguous copies them as 1-D views:
// one loop LLVM vectorizes with plain vector loads and stores, where the
// loop nest over [2, ?, 32] had its 32-long inner loop unrolled and the next
// one vectorized with gathers and scatters.
//
//===----------------------------------------------------------------------===//

#include "passes/lowering/Passes.h"

#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"

#include <numeric>

namespace dlc {
#define GEN_PASS_DEF_MEMREFCOPYTOLINALG
#include "passes/lowering/Passes.h.inc"
} // namespace dlc

using namespace mlir;

namespace {

ReassociationIndices allDims(MemRefType type) {
  ReassociationIndices all(type.getRank());
  std::iota(all.begin(), all.end(), 0);
  return all;
}

/// Whether `buffer` has two or more dims that one 1-D view can address.
/// Views at an offset known only at run time (a row tile's place in its
/// matrix) are left alone: expand-strided-metadata crashes on their
/// collapsed form in LLVM 22.
bool isContiguous(Value buffer) {
  auto type = cast<MemRefType>(buffer.getType());
  if (type.getRank() < 2)
    return false;
  auto [strides, offset] = type.getStridesAndOffset();
  return !ShapedType::isDynamic(offset) &&
         memref::CollapseShapeOp::isGuaranteedCollapsible(type,
                                                          {allDims(type)});
}

Value flatten(OpBuilder &b, Value buffer) {
  ReassociationIndices all = allDims(cast<MemRefType>(buffer.getType()));
  return memref::CollapseShapeOp::create(b, buffer.getLoc(), buffer,
                                         ArrayRef<ReassociationIndices>{all});
}

struct MemRefCopyToLinalgPass
    : public dlc::impl::MemRefCopyToLinalgBase<MemRefCopyToLinalgPass> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    getOperation().walk([&](memref::CopyOp copy) {
      rewriter.setInsertionPoint(copy);
      Value source = copy.getSource(), target = copy.getTarget();
      if (isContiguous(source) && isContiguous(target)) {
        source = flatten(rewriter, source);
        target = flatten(rewriter, target);
      }
      linalg::makeMemRefCopyOp(rewriter, copy.getLoc(), source, target);
      rewriter.eraseOp(copy);
    });
  }
};

} // namespace
