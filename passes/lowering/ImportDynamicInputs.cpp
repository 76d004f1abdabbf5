//===- ImportDynamicInputs.cpp - inputs sized at run time from the caller -===//

#include "passes/lowering/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Builders.h"

namespace dlc {
#define GEN_PASS_DEF_IMPORTDYNAMICINPUTS
#include "passes/lowering/Passes.h.inc"
} // namespace dlc

using namespace mlir;

namespace {

/// Rewrites `func` so that each input of a dynamic shape arrives as a bare
/// pointer (a memref<1xT> argument) sized by a trailing dims argument.
/// Returns the number of dynamic dims it reads.
int64_t importDynamicInputs(func::FuncOp func) {
  MLIRContext *ctx = func.getContext();
  SmallVector<BlockArgument> dynamicArgs;
  int64_t count = 0;
  for (BlockArgument arg : func.getArguments())
    if (auto type = dyn_cast<MemRefType>(arg.getType());
        type && !type.hasStaticShape()) {
      dynamicArgs.push_back(arg);
      count += type.getNumDynamicDims();
    }
  if (dynamicArgs.empty())
    return 0;
  Block &entry = func.front();
  auto dimsType = MemRefType::get({count}, IntegerType::get(ctx, 64));
  unsigned dimsIndex = func.getNumArguments();
  if (failed(func.insertArgument(dimsIndex, dimsType, {}, func.getLoc())))
    return -1;
  Value dimsArg = entry.getArgument(dimsIndex);
  OpBuilder b = OpBuilder::atBlockBegin(&entry);
  Location loc = func.getLoc();
  int64_t next = 0;
  for (BlockArgument arg : dynamicArgs) {
    auto type = cast<MemRefType>(arg.getType());
    int64_t rank = type.getRank();
    SmallVector<OpFoldResult> sizes;
    for (int64_t d = 0; d < rank; ++d) {
      if (!type.isDynamicDim(d)) {
        sizes.push_back(b.getIndexAttr(type.getDimSize(d)));
        continue;
      }
      Value position = arith::ConstantIndexOp::create(b, loc, next++);
      Value dim = memref::LoadOp::create(b, loc, dimsArg, position);
      sizes.push_back(arith::IndexCastOp::create(b, loc, b.getIndexType(), dim)
                          .getResult());
    }
    // Row-major strides: static as far as the trailing dims are.
    SmallVector<OpFoldResult> strides(rank);
    OpFoldResult running = b.getIndexAttr(1);
    for (int64_t d = rank - 1; d >= 0; --d) {
      strides[d] = running;
      std::optional<int64_t> known = getConstantIntValue(running);
      if (d == 0)
        break;
      std::optional<int64_t> size = getConstantIntValue(sizes[d]);
      if (known && size) {
        running = b.getIndexAttr(*known * *size);
        continue;
      }
      auto asValue = [&](OpFoldResult v) -> Value {
        if (auto value = dyn_cast<Value>(v))
          return value;
        return arith::ConstantIndexOp::create(b, loc, *getConstantIntValue(v));
      };
      running =
          arith::MulIOp::create(b, loc, asValue(running), asValue(sizes[d]))
              .getResult();
    }
    auto pointerType = MemRefType::get({1}, type.getElementType());
    arg.setType(pointerType);
    // The view has the identity layout the uses expect (a strided view
    // cast to it had the cast folded into collapses whose strided result
    // expand-strided-metadata could not take).
    auto view = memref::ReinterpretCastOp::create(
        b, loc, type, arg, b.getIndexAttr(0), sizes, strides);
    arg.replaceAllUsesExcept(view, view);
  }
  SmallVector<Type> inputs;
  for (BlockArgument arg : entry.getArguments())
    inputs.push_back(arg.getType());
  func.setType(FunctionType::get(ctx, inputs, func.getResultTypes()));
  func->setAttr("dlc.dynamic_dims",
                IntegerAttr::get(IntegerType::get(ctx, 64), count));
  return count;
}

struct ImportDynamicInputsPass
    : public dlc::impl::ImportDynamicInputsBase<ImportDynamicInputsPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (!func.isExternal() && func.isPublic() &&
          importDynamicInputs(func) < 0)
        return signalPassFailure();
  }
};

} // namespace
