//===- ExportDynamicOutputs.cpp - outputs sized at run time to the caller -===//

#include "passes/lowering/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"

namespace dlc {
#define GEN_PASS_DEF_EXPORTDYNAMICOUTPUTS
#include "passes/lowering/Passes.h.inc"
} // namespace dlc

using namespace mlir;

namespace {

/// Rewrites the copy into `out` (a dynamic-shape out-param) as an allocation
/// the caller receives through `slot`.
void exportThrough(memref::CopyOp copy, Value slot) {
  OpBuilder b(copy);
  Location loc = copy.getLoc();
  Value source = copy.getSource();
  auto type = cast<MemRefType>(source.getType());
  SmallVector<Value> dims;
  for (int64_t d = 0; d < type.getRank(); ++d)
    dims.push_back(memref::DimOp::create(b, loc, source, d));
  SmallVector<Value> dynamicDims;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.isDynamicDim(d))
      dynamicDims.push_back(dims[d]);
  auto bufferType = MemRefType::get(type.getShape(), type.getElementType());
  Value buffer = memref::AllocOp::create(b, loc, bufferType, dynamicDims,
                                         b.getI64IntegerAttr(64));
  memref::CopyOp::create(b, loc, source, buffer);
  auto store = [&](Value index, int64_t position) {
    Value v = arith::IndexCastOp::create(b, loc, b.getI64Type(), index);
    memref::StoreOp::create(
        b, loc, v, slot,
        ValueRange{arith::ConstantIndexOp::create(b, loc, position)});
  };
  store(memref::ExtractAlignedPointerAsIndexOp::create(b, loc, buffer), 0);
  for (int64_t d = 0; d < type.getRank(); ++d)
    store(dims[d], 1 + d);
  copy.erase();
}

struct ExportDynamicOutputsPass
    : public dlc::impl::ExportDynamicOutputsBase<ExportDynamicOutputsPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal() || !func.isPublic())
        continue;
      SmallVector<Type> inputs(func.getArgumentTypes());
      bool changed = false;
      for (BlockArgument arg : func.getArguments()) {
        auto type = dyn_cast<MemRefType>(arg.getType());
        if (!type || type.hasStaticShape())
          continue;
        SmallVector<memref::CopyOp> copies;
        for (Operation *user : arg.getUsers()) {
          auto copy = dyn_cast<memref::CopyOp>(user);
          if (!copy || copy.getTarget() != arg) {
            user->emitError("an argument of a run-time shape that is not an "
                            "output (dynamic input dims are not supported)");
            return signalPassFailure();
          }
          copies.push_back(copy);
        }
        auto slotType = MemRefType::get({1 + type.getRank()},
                                        IntegerType::get(&getContext(), 64));
        arg.setType(slotType);
        inputs[arg.getArgNumber()] = slotType;
        for (memref::CopyOp copy : copies)
          exportThrough(copy, arg);
        changed = true;
      }
      if (changed)
        func.setType(
            FunctionType::get(&getContext(), inputs, func.getResultTypes()));
    }
  }
};

} // namespace
