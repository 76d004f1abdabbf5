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

constexpr llvm::StringLiteral kOutputShape = "dlc.output_shape";

/// Allocates the caller's buffer, copies `source` into it (unless null, for
/// an empty buffer of static `type`) and stores its address and dims in
/// `slot`.
void exportThrough(OpBuilder &b, Location loc, Value source, MemRefType type,
                   Value slot) {
  SmallVector<Value> dims;
  for (int64_t d = 0; d < type.getRank(); ++d)
    dims.push_back(
        source ? memref::DimOp::create(b, loc, source, d).getResult()
               : arith::ConstantIndexOp::create(b, loc, type.getDimSize(d))
                     .getResult());
  SmallVector<Value> dynamicDims;
  for (int64_t d = 0; d < type.getRank() && source; ++d)
    if (type.isDynamicDim(d))
      dynamicDims.push_back(dims[d]);
  // An empty buffer is 1-D: a static shape like [2, 0] has no strided
  // layout the LLVM lowering takes.
  auto bufferType =
      source ? MemRefType::get(type.getShape(), type.getElementType())
             : MemRefType::get({0}, type.getElementType());
  Value buffer = memref::AllocOp::create(b, loc, bufferType, dynamicDims,
                                         b.getI64IntegerAttr(64));
  if (source)
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
}

/// Notes on each dynamic out-param the static shape of the value copied
/// into it, where that value is a cast of a static buffer.
void recordStaticShapes(func::FuncOp func) {
  for (BlockArgument arg : func.getArguments()) {
    auto type = dyn_cast<MemRefType>(arg.getType());
    if (!type || type.hasStaticShape())
      continue;
    for (Operation *user : arg.getUsers()) {
      auto copy = dyn_cast<memref::CopyOp>(user);
      if (!copy || copy.getTarget() != arg)
        continue;
      Value source = copy.getSource();
      while (auto cast = source.getDefiningOp<memref::CastOp>())
        source = cast.getSource();
      auto sourceType = cast<MemRefType>(source.getType());
      if (sourceType.hasStaticShape())
        func.setArgAttr(
            arg.getArgNumber(), kOutputShape,
            DenseI64ArrayAttr::get(func.getContext(), sourceType.getShape()));
    }
  }
}

struct ExportDynamicOutputsPass
    : public dlc::impl::ExportDynamicOutputsBase<ExportDynamicOutputsPass> {
  using ExportDynamicOutputsBase::ExportDynamicOutputsBase;
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal() || !func.isPublic())
        continue;
      if (recordStaticShapes) {
        ::recordStaticShapes(func);
        continue;
      }
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
        auto recorded = func.getArgAttrOfType<DenseI64ArrayAttr>(
            arg.getArgNumber(), kOutputShape);
        func.removeArgAttr(arg.getArgNumber(), kOutputShape);
        if (copies.empty() &&
            (!recorded || llvm::product_of(recorded.asArrayRef()) != 0)) {
          func.emitError("an output of a run-time shape is never written");
          return signalPassFailure();
        }
        auto slotType = MemRefType::get({1 + type.getRank()},
                                        IntegerType::get(&getContext(), 64));
        arg.setType(slotType);
        inputs[arg.getArgNumber()] = slotType;
        for (memref::CopyOp copy : copies) {
          OpBuilder b(copy);
          exportThrough(b, copy.getLoc(), copy.getSource(),
                        cast<MemRefType>(copy.getSource().getType()), arg);
          copy.erase();
        }
        if (copies.empty()) {
          // The copy of an empty value was folded away: an empty buffer
          // of the recorded shape.
          OpBuilder b = OpBuilder::atBlockBegin(&func.front());
          exportThrough(
              b, func.getLoc(), Value(),
              MemRefType::get(recorded.asArrayRef(), type.getElementType()),
              arg);
        }
        changed = true;
      }
      if (changed)
        func.setType(
            FunctionType::get(&getContext(), inputs, func.getResultTypes()));
    }
  }
};

} // namespace
