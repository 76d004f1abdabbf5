//===- MemRefCopyToLinalg.cpp - memref.copy as a linalg copy --------------===//

#include "passes/lowering/Passes.h"

#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"

namespace dlc {
#define GEN_PASS_DEF_MEMREFCOPYTOLINALG
#include "passes/lowering/Passes.h.inc"
} // namespace dlc

using namespace mlir;

namespace {

struct MemRefCopyToLinalgPass
    : public dlc::impl::MemRefCopyToLinalgBase<MemRefCopyToLinalgPass> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    getOperation().walk([&](memref::CopyOp copy) {
      rewriter.setInsertionPoint(copy);
      linalg::makeMemRefCopyOp(rewriter, copy.getLoc(), copy.getSource(),
                               copy.getTarget());
      rewriter.eraseOp(copy);
    });
  }
};

} // namespace
