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

struct MergeKernelModulesPass
    : public dlc::impl::MergeKernelModulesBase<MergeKernelModulesPass> {
  using Base::Base;

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
        op.emitOpError("in an outlined kernel module is not a kernel or a "
                       "global; cannot merge it");
        return signalPassFailure();
      }
      old.erase();
    }

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
