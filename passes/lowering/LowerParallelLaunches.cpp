//===- LowerParallelLaunches.cpp - launchers of parallel loops ------------===//
//
// parallelize-loops leaves, for each loop it outlined, a declared launcher
// `@x_launch(units, min_chunk, captures...)` marked with the body `@x`. Once
// everything is in the LLVM dialect the captures have their final types, and
// this pass defines the launcher and a task function:
//
//   @x_launch: frame = alloca {captures}; store each capture;
//              dlc_pool_parallel_for(@x_task, frame, units, min_chunk, name)
//   @x_task(frame, begin, end): load the captures; @x(begin, end, captures)
//
// dlc_pool_parallel_for is the thread pool that Codegen links into every
// generated module (runtime/ThreadPool.c); `name` (the kernel's ONNX node,
// a constant string) keys its per-kernel profile.
//
//===----------------------------------------------------------------------===//

#include "passes/lowering/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

namespace dlc {
#define GEN_PASS_DEF_LOWERPARALLELLAUNCHES
#include "passes/lowering/Passes.h.inc"
} // namespace dlc

using namespace mlir;

namespace {

constexpr StringLiteral kParallelFor = "dlc_pool_parallel_for";

struct LowerParallelLaunchesPass
    : public dlc::impl::LowerParallelLaunchesBase<LowerParallelLaunchesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<LLVM::LLVMFuncOp> launchers;
    for (auto func : module.getOps<LLVM::LLVMFuncOp>())
      if (func.isExternal() && func->hasAttr("dlc.parallel_body"))
        launchers.push_back(func);
    if (launchers.empty())
      return;

    MLIRContext *ctx = module.getContext();
    OpBuilder b(ctx);
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    auto i64 = IntegerType::get(ctx, 64);
    auto voidTy = LLVM::LLVMVoidType::get(ctx);
    auto parallelFor = module.lookupSymbol<LLVM::LLVMFuncOp>(kParallelFor);
    if (!parallelFor) {
      b.setInsertionPointToEnd(module.getBody());
      parallelFor = LLVM::LLVMFuncOp::create(
          b, module.getLoc(), kParallelFor,
          LLVM::LLVMFunctionType::get(voidTy, {ptr, ptr, i64, i64, ptr}));
    }

    for (LLVM::LLVMFuncOp launcher : launchers) {
      auto bodyRef = launcher->getAttrOfType<FlatSymbolRefAttr>(
          "dlc.parallel_body");
      auto body = module.lookupSymbol<LLVM::LLVMFuncOp>(bodyRef);
      LLVM::LLVMFunctionType launchType = launcher.getFunctionType();
      if (!body || launchType.getNumParams() < 2 ||
          body.getFunctionType().getNumParams() != launchType.getNumParams()) {
        launcher.emitOpError("has no parallel body of a matching signature");
        return signalPassFailure();
      }
      launcher->removeAttr("dlc.parallel_body");
      Location loc = launcher.getLoc();
      // The kernel's name for the profile: a NUL-terminated constant.
      std::string kernelName = body.getName().str();
      if (auto attr = launcher->getAttrOfType<StringAttr>("dlc.kernel_name"))
        kernelName = attr.str();
      launcher->removeAttr("dlc.kernel_name");
      kernelName.push_back('\0');
      b.setInsertionPoint(launcher);
      auto nameType = LLVM::LLVMArrayType::get(IntegerType::get(ctx, 8),
                                               kernelName.size());
      auto nameGlobal = LLVM::GlobalOp::create(
          b, loc, nameType, /*isConstant=*/true, LLVM::Linkage::Internal,
          (launcher.getName() + "_name").str(), b.getStringAttr(kernelName));
      ArrayRef<Type> captureTypes = launchType.getParams().drop_front(2);
      auto frameType = LLVM::LLVMStructType::getLiteral(ctx, captureTypes);

      // The task: unpack the frame and run the body over [begin, end).
      b.setInsertionPointAfter(body);
      auto task = LLVM::LLVMFuncOp::create(
          b, loc, (body.getName() + "_task").str(),
          LLVM::LLVMFunctionType::get(voidTy, {ptr, i64, i64}),
          LLVM::Linkage::Internal);
      Block *taskEntry = task.addEntryBlock(b);
      b.setInsertionPointToStart(taskEntry);
      SmallVector<Value> args = {taskEntry->getArgument(1),
                                 taskEntry->getArgument(2)};
      for (auto [i, type] : llvm::enumerate(captureTypes)) {
        Value field = LLVM::GEPOp::create(
            b, loc, ptr, frameType, taskEntry->getArgument(0),
            ArrayRef<LLVM::GEPArg>{0, static_cast<int32_t>(i)});
        args.push_back(LLVM::LoadOp::create(b, loc, type, field));
      }
      LLVM::CallOp::create(b, loc, body, args);
      LLVM::ReturnOp::create(b, loc, ValueRange{});

      // The launcher: pack the captures into a frame on the stack.
      launcher.setLinkage(LLVM::Linkage::Internal);
      Block *entry = launcher.addEntryBlock(b);
      b.setInsertionPointToStart(entry);
      Value one = LLVM::ConstantOp::create(b, loc, i64, b.getI64IntegerAttr(1));
      Value frame = LLVM::AllocaOp::create(b, loc, ptr, frameType, one);
      for (size_t i = 0; i < captureTypes.size(); ++i) {
        Value field = LLVM::GEPOp::create(
            b, loc, ptr, frameType, frame,
            ArrayRef<LLVM::GEPArg>{0, static_cast<int32_t>(i)});
        LLVM::StoreOp::create(b, loc, entry->getArgument(i + 2), field);
      }
      Value taskAddress = LLVM::AddressOfOp::create(b, loc, task);
      Value nameAddress = LLVM::AddressOfOp::create(b, loc, nameGlobal);
      LLVM::CallOp::create(b, loc, parallelFor,
                           ValueRange{taskAddress, frame,
                                      entry->getArgument(0),
                                      entry->getArgument(1), nameAddress});
      LLVM::ReturnOp::create(b, loc, ValueRange{});
    }
  }
};

} // namespace
