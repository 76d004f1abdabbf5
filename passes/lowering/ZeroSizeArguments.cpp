//===- ZeroSizeArguments.cpp - empty tensors across the bare-pointer ABI --===//
//
// MLIR's bare-pointer calling convention refuses a memref whose zero-size
// dim follows another dim (memref<3x0x5xf32>: it finds no static strides
// for it), which left such functions unconverted. Their arguments hold no
// element, so the pointer is never read: they become memref<0xT> and the
// body views them at their shape.
//
//===----------------------------------------------------------------------===//

#include "passes/lowering/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/IR/Builders.h"

namespace dlc {
#define GEN_PASS_DEF_ZEROSIZEARGUMENTS
#include "passes/lowering/Passes.h.inc"
} // namespace dlc

using namespace mlir;

namespace {

void viewZeroSizeArguments(func::FuncOp func) {
  Block &entry = func.front();
  OpBuilder b = OpBuilder::atBlockBegin(&entry);
  bool changed = false;
  for (BlockArgument arg : entry.getArguments()) {
    auto type = dyn_cast<MemRefType>(arg.getType());
    if (!type || !type.hasStaticShape() || type.getNumElements() != 0 ||
        type.getRank() < 2 || !type.getLayout().isIdentity())
      continue;
    // Row-major strides, zero-size dims included.
    SmallVector<int64_t> strides = computeSuffixProduct(type.getShape());
    arg.setType(MemRefType::get({0}, type.getElementType()));
    auto view = memref::ReinterpretCastOp::create(
        b, func.getLoc(), type, arg, /*offset=*/0, type.getShape(), strides);
    arg.replaceAllUsesExcept(view, view);
    changed = true;
  }
  if (!changed)
    return;
  SmallVector<Type> inputs;
  for (BlockArgument arg : entry.getArguments())
    inputs.push_back(arg.getType());
  func.setType(
      FunctionType::get(func.getContext(), inputs, func.getResultTypes()));
}

struct ZeroSizeArgumentsPass
    : public dlc::impl::ZeroSizeArgumentsBase<ZeroSizeArgumentsPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (!func.isExternal() && func.isPublic())
        viewZeroSizeArguments(func);
  }
};

} // namespace
