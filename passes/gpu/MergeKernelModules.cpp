//===- MergeKernelModules.cpp - one device module for all kernels ---------===//

#include "passes/gpu/Passes.h"

#include "mlir/IR/SymbolTable.h"

namespace dlc {
#define GEN_PASS_DEF_MERGEKERNELMODULES
#include "passes/gpu/Passes.h.inc"
} // namespace dlc

using namespace mlir;

namespace {

int64_t globalBytes(memref::GlobalOp global) {
  MemRefType type = global.getType();
  if (!type.hasStaticShape() || !type.getElementType().isIntOrFloat())
    return 0;
  return type.getNumElements() *
         llvm::divideCeil(type.getElementType().getIntOrFloatBitWidth(), 8);
}

/// What a run-time check calls when it fails (Codegen defines it for the
/// host; see DataMovementToLinalg.cpp).
constexpr llvm::StringLiteral kReportError = "dlc_report_error";
/// The device module's error site: 0, or the first failed check's site.
constexpr llvm::StringLiteral kErrorSite = "dlc_device_error_site";

struct MergeKernelModulesPass
    : public dlc::impl::MergeKernelModulesBase<MergeKernelModulesPass> {
  using Base::Base;

  /// A kernel's report of a failed run-time check becomes a write of its
  /// site into the device global `dlc_device_error_site` (an atomic
  /// compare-and-swap, so that the first failure is kept), which the driver
  /// shim reads after the call; the module names it in
  /// `dlc.device_error_site`.
  LogicalResult reportChecksThroughGlobal(ModuleOp module,
                                          gpu::GPUModuleOp merged) {
    SmallVector<func::CallOp> reports;
    WalkResult other = merged.walk([&](func::CallOp call) {
      if (call.getCallee() != kReportError || call.getNumOperands() != 1) {
        call.emitOpError("in a GPU kernel: only run-time checks' reports "
                         "can be called");
        return WalkResult::interrupt();
      }
      reports.push_back(call);
      return WalkResult::advance();
    });
    if (other.wasInterrupted())
      return failure();
    if (reports.empty())
      return success();
    MLIRContext *ctx = module.getContext();
    Type i32 = IntegerType::get(ctx, 32);
    auto type = MemRefType::get({}, i32);
    OpBuilder b = OpBuilder::atBlockBegin(merged.getBody());
    auto site = memref::GlobalOp::create(
        b, module.getLoc(), kErrorSite, /*sym_visibility=*/nullptr, type,
        DenseElementsAttr::get(RankedTensorType::get({}, i32),
                               b.getI32IntegerAttr(0).getValue()),
        /*constant=*/false, /*alignment=*/nullptr);
    (void)site;
    module->setAttr("dlc.device_error_site", b.getStringAttr(kErrorSite));
    for (func::CallOp call : reports) {
      b.setInsertionPoint(call);
      Location loc = call.getLoc();
      Value global = memref::GetGlobalOp::create(b, loc, type, kErrorSite);
      auto rmw =
          memref::GenericAtomicRMWOp::create(b, loc, global, ValueRange{});
      OpBuilder body = OpBuilder::atBlockBegin(rmw.getBody());
      Value current = rmw.getCurrentValue();
      Value zero = arith::ConstantIntOp::create(body, loc, 0, 32);
      Value unset = arith::CmpIOp::create(body, loc, arith::CmpIPredicate::eq,
                                          current, zero);
      Value value = arith::SelectOp::create(body, loc, unset,
                                            call.getOperand(0), current);
      memref::AtomicYieldOp::create(body, loc, value);
      call.erase();
    }
    return success();
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> outlined(module.getOps<gpu::GPUModuleOp>());
    if (outlined.empty())
      return;
    MLIRContext *ctx = &getContext();
    if (SymbolTable::lookupSymbolIn(module, moduleName)) {
      module.emitError("gpu-merge-kernel-modules: the module already has a "
                       "symbol named '")
          << moduleName << "'";
      return signalPassFailure();
    }
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    auto merged = gpu::GPUModuleOp::create(b, module.getLoc(), moduleName);
    SymbolTable mergedSymbols(merged);
    llvm::StringMap<StringAttr> kernelOf; // old module name -> kernel name

    for (gpu::GPUModuleOp old : outlined) {
      for (Operation &op :
           llvm::make_early_inc_range(old.getBody()->getOperations())) {
        if (auto global = dyn_cast<memref::GlobalOp>(op)) {
          // Copies of one host global: keep the first.
          if (mergedSymbols.lookup(global.getSymName()))
            continue;
          global->remove();
          mergedSymbols.insert(global);
          continue;
        }
        if (auto func = dyn_cast<gpu::GPUFuncOp>(op)) {
          // Outlining names the module uniquely, the kernel after its
          // function: the module's name is the kernel's in the merged one.
          StringAttr name = StringAttr::get(ctx, old.getName());
          SymbolTable::setSymbolName(func, name);
          func->remove();
          mergedSymbols.insert(func);
          kernelOf[old.getName()] = name;
          continue;
        }
        // Outlining copies the declaration of what a kernel calls: the
        // run-time checks' report, rewritten below.
        if (auto decl = dyn_cast<func::FuncOp>(op))
          if (decl.isExternal() && decl.getSymName() == kReportError)
            continue;
        op.emitOpError("in an outlined kernel module is not a kernel or a "
                       "global; cannot merge it");
        return signalPassFailure();
      }
      old.erase();
    }

    if (failed(reportChecksThroughGlobal(module, merged)))
      return signalPassFailure();

    module.walk([&](gpu::LaunchFuncOp launch) {
      auto it = kernelOf.find(launch.getKernelModuleName().getValue());
      if (it == kernelOf.end())
        return;
      launch.setKernelAttr(
          SymbolRefAttr::get(StringAttr::get(ctx, moduleName),
                             FlatSymbolRefAttr::get(it->second)));
    });

    // The weights are uploaded at run time from their host copies; the
    // module lists them for the library's upload table (Codegen.cpp).
    SmallVector<Attribute> uploads;
    for (auto global : merged.getOps<memref::GlobalOp>()) {
      auto initial = global.getInitialValue();
      if (!initial || !isa<ElementsAttr>(*initial) ||
          globalBytes(global) < uploadBytes)
        continue;
      global.setInitialValueAttr(UnitAttr::get(ctx));
      global.setConstant(false);
      // Public, so that LLVM does not take the never-written contents of
      // the array as undefined and fold the loads from it away.
      SymbolTable::setSymbolVisibility(global, SymbolTable::Visibility::Public);
      auto host = module.lookupSymbol<memref::GlobalOp>(global.getSymName());
      if (!host) {
        global.emitOpError("has no host copy to upload");
        return signalPassFailure();
      }
      host->setAttr("dlc.device_copy", StringAttr::get(ctx, moduleName));
      uploads.push_back(global.getSymNameAttr());
    }
    if (!uploads.empty())
      module->setAttr("dlc.device_uploads", ArrayAttr::get(ctx, uploads));
  }
};

} // namespace
