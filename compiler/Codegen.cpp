//===- Codegen.cpp - LLVM dialect to object file and shared library -------===//

#include "compiler/Codegen.h"
#include "compiler/ExternalWeights.h"
#include "compiler/Manifest.h"
#include "compiler/Version.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Linker/Linker.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;

namespace dlc {

/// runtime/ThreadPool.c as LLVM bitcode for the host (compiler/CMakeLists.txt).
static const unsigned char kThreadPoolBitcode[] = {
#include "compiler/ThreadPoolBitcode.inc"
};

/// runtime/CudaDriver.c as LLVM bitcode for the host.
static const unsigned char kCudaDriverBitcode[] = {
#include "compiler/CudaDriverBitcode.inc"
};

/// Parses `bitcode` (a runtime file compiled to bitcode when dlc was built)
/// and links it into `module` when the target is the architecture and OS it
/// was built for; `linked` says whether it was. Fails, with `error` naming
/// `what`, when it does not load or link.
static bool linkEmbeddedBitcode(llvm::Module &module,
                                llvm::ArrayRef<unsigned char> bitcode,
                                llvm::StringRef what, bool &linked,
                                std::string &error) {
  linked = false;
  llvm::MemoryBufferRef buffer(
      llvm::StringRef(reinterpret_cast<const char *>(bitcode.data()),
                      bitcode.size()),
      what);
  llvm::Expected<std::unique_ptr<llvm::Module>> parsed =
      llvm::parseBitcodeFile(buffer, module.getContext());
  if (!parsed) {
    error = "the embedded " + what.str() +
            " does not load: " + llvm::toString(parsed.takeError());
    return false;
  }
  const llvm::Triple &target = module.getTargetTriple();
  const llvm::Triple &built = (*parsed)->getTargetTriple();
  if (target.getArch() != built.getArch() || target.getOS() != built.getOS())
    return true;
  (*parsed)->setDataLayout(module.getDataLayout());
  (*parsed)->setTargetTriple(target);
  if (llvm::Linker::linkModules(module, std::move(*parsed))) {
    error = "linking the " + what.str() + " into the model failed";
    return false;
  }
  linked = true;
  return true;
}

/// Links the CUDA driver shim (the mgpu* functions and the entry wrapper's
/// dlc_cuda_* calls) into a module with GPU kernels.
static bool linkCudaDriver(llvm::Module &module, std::string &error) {
  bool linked;
  if (!linkEmbeddedBitcode(module, kCudaDriverBitcode, "CUDA driver shim",
                           linked, error))
    return false;
  if (!linked)
    error = "--target=cuda: the host code must be for the machine dlc was "
            "built for";
  return linked;
}

/// Defines the thread pool the parallel loops' launchers call
/// (dlc_pool_parallel_for, dlc_pool_set_num_threads, dlc_pool_num_threads,
/// dlc_pool_profile, dlc_pool_profile_read) and the buffer allocation
/// functions (_mlir_memref_to_llvm_aligned_alloc / _free, which cache freed
/// buffers):
/// runtime/ThreadPool.c when the target is the architecture and OS it was
/// built for, else a pool of one thread (the caller runs every loop).
static bool linkThreadPool(llvm::Module &module, std::string &error) {
  bool linked;
  if (!linkEmbeddedBitcode(module, kThreadPoolBitcode, "thread pool", linked,
                           error))
    return false;
  if (linked)
    return true;
  llvm::LLVMContext &ctx = module.getContext();
  llvm::IRBuilder<> b(ctx);
  auto *ptrTy = b.getPtrTy();
  // The generated code has declared the functions it calls: those
  // declarations get the bodies (a new function of a taken name would be
  // renamed, and the calls left undefined).
  auto define = [&](llvm::StringRef name, llvm::FunctionType *type) {
    llvm::Function *f = module.getFunction(name);
    if (!f || f->getFunctionType() != type || !f->isDeclaration())
      f = llvm::Function::Create(type, llvm::GlobalValue::InternalLinkage, name,
                                 module);
    f->setLinkage(llvm::GlobalValue::InternalLinkage);
    b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", f));
    return f;
  };
  auto *parallelFor = define(
      "dlc_pool_parallel_for",
      llvm::FunctionType::get(
          b.getVoidTy(), {ptrTy, ptrTy, b.getInt64Ty(), b.getInt64Ty(), ptrTy},
          false));
  auto *taskTy = llvm::FunctionType::get(
      b.getVoidTy(), {ptrTy, b.getInt64Ty(), b.getInt64Ty()}, false);
  b.CreateCall(taskTy, parallelFor->getArg(0),
               {parallelFor->getArg(1), b.getInt64(0), parallelFor->getArg(2)});
  b.CreateRetVoid();
  define("dlc_pool_set_num_threads",
         llvm::FunctionType::get(b.getInt32Ty(), {b.getInt32Ty()}, false));
  b.CreateRet(b.getInt32(1));
  define("dlc_pool_num_threads",
         llvm::FunctionType::get(b.getInt32Ty(), {}, false));
  b.CreateRet(b.getInt32(1));
  // No profile either.
  define("dlc_pool_profile",
         llvm::FunctionType::get(b.getInt32Ty(), {b.getInt32Ty()}, false));
  b.CreateRet(b.getInt32(0));
  define("dlc_pool_profile_read",
         llvm::FunctionType::get(b.getInt64Ty(),
                                 {ptrTy, ptrTy, ptrTy, b.getInt64Ty()}, false));
  b.CreateRet(b.getInt64(0));
  // Buffers straight from libc, no cache.
  llvm::FunctionCallee alignedAlloc = module.getOrInsertFunction(
      "aligned_alloc", ptrTy, b.getInt64Ty(), b.getInt64Ty());
  llvm::FunctionCallee freeFn =
      module.getOrInsertFunction("free", b.getVoidTy(), ptrTy);
  auto *alloc = define(
      "_mlir_memref_to_llvm_aligned_alloc",
      llvm::FunctionType::get(ptrTy, {b.getInt64Ty(), b.getInt64Ty()}, false));
  b.CreateRet(b.CreateCall(alignedAlloc, {alloc->getArg(0), alloc->getArg(1)}));
  auto *release =
      define("_mlir_memref_to_llvm_free",
             llvm::FunctionType::get(b.getVoidTy(), {ptrTy}, false));
  b.CreateCall(freeFn, {release->getArg(0)});
  b.CreateRetVoid();
  return true;
}

std::unique_ptr<llvm::TargetMachine> createTargetMachine(TargetSpec &spec,
                                                         std::string &error) {
  llvm::InitializeAllTargetInfos();
  llvm::InitializeAllTargets();
  llvm::InitializeAllTargetMCs();
  llvm::InitializeAllAsmPrinters();
  bool host = spec.triple.empty();
  if (host)
    spec.triple = llvm::sys::getDefaultTargetTriple();
  if (spec.cpu.empty() || spec.cpu == "native")
    spec.cpu = host ? llvm::sys::getHostCPUName().str() : "generic";
  if (spec.features.empty() && host && spec.cpu == llvm::sys::getHostCPUName()) {
    std::string features;
    for (const auto &f : llvm::sys::getHostCPUFeatures())
      features += (features.empty() ? "" : ",") +
                  std::string(f.second ? "+" : "-") + f.first().str();
    spec.features = features;
  }
  llvm::Triple triple(spec.triple);
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return nullptr;
  llvm::TargetOptions options;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, spec.cpu, spec.features, options, llvm::Reloc::PIC_,
      std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  if (!tm)
    error = "cannot create a target machine for " + spec.triple + " (" +
            spec.cpu + ")";
  return tm;
}

unsigned vectorRegisterBits(const llvm::TargetMachine &tm) {
  if (!tm.getTargetTriple().isX86())
    return 128;
  // The CPU's own features and the -mattr list, combined by the subtarget.
  const llvm::MCSubtargetInfo *sti = tm.getMCSubtargetInfo();
  if (sti->checkFeatures("+avx512f"))
    return 512;
  if (sti->checkFeatures("+avx"))
    return 256;
  return 128;
}

std::unique_ptr<llvm::Module>
buildLLVMModule(ModuleOp module, llvm::LLVMContext &llvmContext,
                llvm::TargetMachine &tm, const TargetSpec &spec,
                const onnx_frontend::ModelSignature &signature,
                const std::string &sourcePath, ExportSpec &exports,
                std::string &error) {
  ManifestFields fields;
  fields.parameterCount = exports.parameterCount;
  fields.parameterBytes = exports.parameterBytes;
  const auto &training = exports.training;
  // The workspace plan-workspace gave each entry function, if any.
  auto workspaceOf = [&](StringRef name) -> int64_t {
    int64_t bytes = 0;
    module.walk([&](LLVM::LLVMFuncOp func) {
      if (func.getName() == name)
        if (auto attr = func->getAttrOfType<IntegerAttr>("dlc.workspace_bytes"))
          bytes = attr.getInt();
    });
    return bytes;
  };
  fields.workspaceBytes = workspaceOf(signature.entryName);
  if (!exports.cudaChip.empty()) {
    // Device memory, allocated by the shim: the caller passes none.
    exports.deviceWorkspaceBytes = fields.workspaceBytes;
    fields.workspaceBytes = 0;
    fields.device = "cuda:" + exports.cudaChip;
  }
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmContext, "dlc_model");
  if (!llvmModule) {
    error = "translation to LLVM IR failed";
    return nullptr;
  }
  llvmModule->setDataLayout(tm.createDataLayout());
  llvmModule->setTargetTriple(tm.getTargetTriple());
  if (!linkThreadPool(*llvmModule, error))
    return nullptr;
  bool cuda = !exports.cudaChip.empty();
  if (cuda && !linkCudaDriver(*llvmModule, error))
    return nullptr;

  // Only the wrappers, the manifest and the initial state are visible
  // outside the library. Every function says which CPU it is for, as clang's
  // output does, so that the IR optimizer's cost models agree with the code
  // generator.
  auto setTarget = [&](llvm::Function &f) {
    f.addFnAttr("target-cpu", spec.cpu);
    if (!spec.features.empty())
      f.addFnAttr("target-features", spec.features);
  };
  for (llvm::Function &f : *llvmModule)
    if (!f.isDeclaration()) {
      f.setLinkage(llvm::GlobalValue::InternalLinkage);
      setTarget(f);
    }
  for (llvm::GlobalVariable &g : llvmModule->globals())
    if (!g.isDeclaration() && !g.getName().starts_with("llvm."))
      g.setLinkage(llvm::GlobalValue::InternalLinkage);

  // void <symbol>(void **inputs, void **outputs, void *workspace) calling
  // `function`, which takes the first `numInputs` input pointers (a training
  // library's forward ignores the optimizer's state), `numOutputs` output
  // pointers and the workspace when it has one.
  llvm::IRBuilder<> b(llvmContext);
  auto *ptrTy = b.getPtrTy();
  // With --target=cuda the entry function takes device pointers: the
  // wrapper has the shim copy the inputs to the device, runs the entry
  // function when that worked, and copies the outputs back
  // (runtime/CudaDriver.c). The byte sizes come from the signature.
  auto addDeviceCall = [&](llvm::Function *wrapper, llvm::Function *entry,
                           size_t numInputs, size_t numOutputs,
                           bool hasWorkspace) -> bool {
    auto *i64 = b.getInt64Ty();
    auto byteSizes =
        [&](const std::vector<onnx_frontend::TensorSignature> &tensors,
            size_t count, const char *name) -> llvm::Value * {
      SmallVector<uint64_t> sizes;
      for (size_t i = 0; i < count && i < tensors.size(); ++i)
        sizes.push_back(tensorBytes(tensors[i]));
      if (sizes.size() != count || llvm::is_contained(sizes, UINT64_MAX))
        return nullptr;
      if (sizes.empty())
        sizes.push_back(0);
      auto *data = llvm::ConstantDataArray::get(llvmContext, sizes);
      return new llvm::GlobalVariable(*llvmModule, data->getType(), true,
                                      llvm::GlobalValue::InternalLinkage, data,
                                      name);
    };
    llvm::Value *inputBytes =
        byteSizes(signature.inputs, numInputs, "dlc_cuda_input_bytes");
    llvm::Value *outputBytes =
        byteSizes(signature.outputs, numOutputs, "dlc_cuda_output_bytes");
    llvm::Function *enter = llvmModule->getFunction("dlc_cuda_enter");
    llvm::Function *ok = llvmModule->getFunction("dlc_cuda_ok");
    llvm::Function *leave = llvmModule->getFunction("dlc_cuda_leave");
    if (!enter || !ok || !leave) {
      error = "--target=cuda: the CUDA driver shim is missing";
      return false;
    }
    if (!inputBytes || !outputBytes) {
      error = "--target=cuda: the entry point's tensors are not all of a "
              "dtype and a static shape the library can copy";
      return false;
    }
    auto *devInputs =
        b.CreateAlloca(i64, b.getInt64(std::max<size_t>(1, numInputs)));
    auto *devOutputs =
        b.CreateAlloca(i64, b.getInt64(std::max<size_t>(1, numOutputs)));
    auto *devWorkspace = b.CreateAlloca(i64);
    llvm::Value *call = b.CreateCall(
        enter, {wrapper->getArg(0), inputBytes, b.getInt32(numInputs),
                outputBytes, b.getInt32(numOutputs),
                b.getInt64(hasWorkspace ? exports.deviceWorkspaceBytes : 0),
                devInputs, devOutputs, devWorkspace});
    auto *run = llvm::BasicBlock::Create(llvmContext, "run", wrapper);
    auto *done = llvm::BasicBlock::Create(llvmContext, "done", wrapper);
    b.CreateCondBr(b.CreateICmpNE(b.CreateCall(ok, {call}), b.getInt32(0)), run,
                   done);
    b.SetInsertPoint(run);
    SmallVector<llvm::Value *> args;
    auto devicePointer = [&](llvm::Value *array, size_t i) {
      return b.CreateIntToPtr(
          b.CreateLoad(i64, b.CreateConstGEP1_64(i64, array, i)), ptrTy);
    };
    for (size_t i = 0; i < numInputs; ++i)
      args.push_back(devicePointer(devInputs, i));
    for (size_t i = 0; i < numOutputs; ++i)
      args.push_back(devicePointer(devOutputs, i));
    if (hasWorkspace)
      args.push_back(devicePointer(devWorkspace, 0));
    b.CreateCall(entry, args);
    b.CreateBr(done);
    b.SetInsertPoint(done);
    b.CreateCall(leave,
                 {call, wrapper->getArg(1), outputBytes, b.getInt32(numOutputs),
                  devInputs, b.getInt32(numInputs), devOutputs,
                  b.CreateLoad(i64, devWorkspace)});
    b.CreateRetVoid();
    return true;
  };
  auto addWrapper = [&](StringRef function, const std::string &symbol,
                        size_t numInputs, size_t numOutputs,
                        bool hasWorkspace) -> bool {
    llvm::Function *entry = llvmModule->getFunction(function);
    size_t arity = numInputs + numOutputs + (hasWorkspace ? 1 : 0);
    if (!entry || entry->arg_size() != arity) {
      error = "the lowered entry function '" + function.str() +
              "' does not take one pointer per input and output (and the "
              "workspace)";
      return false;
    }
    auto *wrapperTy =
        llvm::FunctionType::get(b.getVoidTy(), {ptrTy, ptrTy, ptrTy}, false);
    auto *wrapper = llvm::Function::Create(
        wrapperTy, llvm::GlobalValue::ExternalLinkage, symbol, llvmModule.get());
    b.SetInsertPoint(llvm::BasicBlock::Create(llvmContext, "entry", wrapper));
    SmallVector<llvm::Value *> args;
    auto loadPointers = [&](llvm::Value *array, size_t count) {
      for (size_t i = 0; i < count; ++i) {
        llvm::Value *slot = b.CreateConstGEP1_64(ptrTy, array, i);
        args.push_back(b.CreateLoad(ptrTy, slot));
      }
    };
    // A call's run-time checks report into a clear slot.
    if (llvm::Function *clear = llvmModule->getFunction("dlc_clear_error"))
      b.CreateCall(clear);
    if (cuda) {
      if (!addDeviceCall(wrapper, entry, numInputs, numOutputs, hasWorkspace))
        return false;
      setTarget(*wrapper);
      return true;
    }
    loadPointers(wrapper->getArg(0), numInputs);
    loadPointers(wrapper->getArg(1), numOutputs);
    if (hasWorkspace)
      args.push_back(wrapper->getArg(2));
    b.CreateCall(entry, args);
    b.CreateRetVoid();
    setTarget(*wrapper);
    return true;
  };

  // Run-time checks (graph.check_indices): the generated code calls
  // dlc_report_error(site) on the calling thread when one fails; the first
  // site is kept per thread until int <prefix>_take_error(void) reads and
  // clears it. Thread-local, so that concurrent calls keep their own.
  //
  // The slot is only touched in functions of their own, never inlined:
  // LLVM takes the __tls_get_addr call of a general-dynamic access to keep
  // the AVX-512 registers xmm16-31, but that call may run malloc and an
  // AVX-512 memset (glibc's first access from a thread, or an interposer
  // such as AddressSanitizer's), which clobber them: inlined into a kernel,
  // a pointer kept in xmm16 across it was lost (found by make
  // check-sanitize).
  auto noInline = [](llvm::Function &f) {
    f.addFnAttr(llvm::Attribute::NoInline);
  };
  {
    auto *i32 = b.getInt32Ty();
    auto *errorSite = new llvm::GlobalVariable(
        *llvmModule, i32, /*isConstant=*/false,
        llvm::GlobalValue::InternalLinkage, llvm::ConstantInt::get(i32, 0),
        "dlc_error_site", nullptr,
        llvm::GlobalValue::GeneralDynamicTLSModel);
    llvm::Function *report = llvmModule->getFunction("dlc_report_error");
    if (!report)
      report = llvm::Function::Create(
          llvm::FunctionType::get(b.getVoidTy(), {i32}, false),
          llvm::GlobalValue::InternalLinkage, "dlc_report_error",
          llvmModule.get());
    report->setLinkage(llvm::GlobalValue::InternalLinkage);
    noInline(*report);
    report->addFnAttr(llvm::Attribute::Cold);
    auto *entry = llvm::BasicBlock::Create(llvmContext, "entry", report);
    auto *keep = llvm::BasicBlock::Create(llvmContext, "keep", report);
    auto *done = llvm::BasicBlock::Create(llvmContext, "done", report);
    b.SetInsertPoint(entry);
    llvm::Value *first =
        b.CreateICmpEQ(b.CreateLoad(i32, errorSite), b.getInt32(0));
    b.CreateCondBr(first, keep, done);
    b.SetInsertPoint(keep);
    b.CreateStore(report->getArg(0), errorSite);
    b.CreateBr(done);
    b.SetInsertPoint(done);
    b.CreateRetVoid();
    setTarget(*report);
    auto *clear = llvm::Function::Create(
        llvm::FunctionType::get(b.getVoidTy(), {}, false),
        llvm::GlobalValue::InternalLinkage, "dlc_clear_error",
        llvmModule.get());
    noInline(*clear);
    b.SetInsertPoint(llvm::BasicBlock::Create(llvmContext, "entry", clear));
    b.CreateStore(b.getInt32(0), errorSite);
    b.CreateRetVoid();
    setTarget(*clear);
    auto *take = llvm::Function::Create(
        llvm::FunctionType::get(i32, {}, false),
        llvm::GlobalValue::ExternalLinkage,
        exports.symbolPrefix + "_take_error", llvmModule.get());
    b.SetInsertPoint(llvm::BasicBlock::Create(llvmContext, "entry", take));
    llvm::Value *site = b.CreateLoad(i32, errorSite);
    b.CreateStore(b.getInt32(0), errorSite);
    b.CreateRet(site);
    setTarget(*take);
  }
  if (cuda) {
    // const dlc_cuda_upload *dlc_cuda_upload_table(uint64_t *count): the
    // host copies of the weights the device module's globals receive.
    auto *i64 = b.getInt64Ty();
    auto *entryTy = llvm::StructType::get(llvmContext, {ptrTy, ptrTy, i64});
    SmallVector<llvm::Constant *> entries;
    if (auto names = module->getAttrOfType<ArrayAttr>("dlc.device_uploads"))
      for (auto name : names.getAsValueRange<StringAttr>()) {
        llvm::GlobalVariable *host = llvmModule->getGlobalVariable(name, true);
        if (!host) {
          error =
              "--target=cuda: no host copy of the weights '" + name.str() + "'";
          return nullptr;
        }
        uint64_t bytes =
            llvmModule->getDataLayout().getTypeAllocSize(host->getValueType());
        auto *text = b.CreateGlobalString(name, "", 0, llvmModule.get());
        entries.push_back(llvm::ConstantStruct::get(
            entryTy, {text, host, llvm::ConstantInt::get(i64, bytes)}));
      }
    auto *tableTy = llvm::ArrayType::get(entryTy, entries.size());
    auto *table = new llvm::GlobalVariable(
        *llvmModule, tableTy, true, llvm::GlobalValue::InternalLinkage,
        llvm::ConstantArray::get(tableTy, entries), "dlc_cuda_uploads");
    llvm::Function *lookup = llvmModule->getFunction("dlc_cuda_upload_table");
    if (!lookup) {
      error = "--target=cuda: the driver shim is missing";
      return nullptr;
    }
    lookup->setLinkage(llvm::GlobalValue::InternalLinkage);
    b.SetInsertPoint(llvm::BasicBlock::Create(llvmContext, "entry", lookup));
    b.CreateStore(b.getInt64(entries.size()), lookup->getArg(0));
    b.CreateRet(table);
    setTarget(*lookup);
    // const char *dlc_cuda_error_site_name(void): the device global the
    // kernels' run-time checks write their site into, or null.
    if (llvm::Function *name =
            llvmModule->getFunction("dlc_cuda_error_site_name")) {
      name->setLinkage(llvm::GlobalValue::InternalLinkage);
      b.SetInsertPoint(llvm::BasicBlock::Create(llvmContext, "entry", name));
      if (auto site =
              module->getAttrOfType<StringAttr>("dlc.device_error_site"))
        b.CreateRet(
            b.CreateGlobalString(site.getValue(), "", 0, llvmModule.get()));
      else
        b.CreateRet(llvm::ConstantPointerNull::get(ptrTy));
      setTarget(*name);
    }
    // const char *<prefix>_device_error(void): the calling thread's last
    // device failure.
    llvm::Function *last = llvmModule->getFunction("dlc_cuda_last_error");
    auto *f = llvm::Function::Create(
        last->getFunctionType(), llvm::GlobalValue::ExternalLinkage,
        exports.symbolPrefix + "_device_error", llvmModule.get());
    b.SetInsertPoint(llvm::BasicBlock::Create(llvmContext, "entry", f));
    b.CreateRet(b.CreateCall(last));
    setTarget(*f);
  }
  if (auto checks = module->getAttrOfType<ArrayAttr>("dlc.runtime_checks"))
    for (Attribute message : checks)
      fields.runtimeChecks.push_back(cast<StringAttr>(message).str());

  // int <prefix>_set_num_threads(int n) and int <prefix>_num_threads(void):
  // the thread pool's size, for the runtime and for embedders.
  auto exportPoolFunction = [&](llvm::StringRef pool, const std::string &symbol) {
    llvm::Function *target = llvmModule->getFunction(pool);
    auto *f = llvm::Function::Create(target->getFunctionType(),
                                     llvm::GlobalValue::ExternalLinkage, symbol,
                                     llvmModule.get());
    b.SetInsertPoint(llvm::BasicBlock::Create(llvmContext, "entry", f));
    SmallVector<llvm::Value *> args;
    for (llvm::Argument &a : f->args())
      args.push_back(&a);
    b.CreateRet(b.CreateCall(target, args));
    setTarget(*f);
  };
  exportPoolFunction("dlc_pool_set_num_threads",
                     exports.symbolPrefix + "_set_num_threads");
  exportPoolFunction("dlc_pool_num_threads",
                     exports.symbolPrefix + "_num_threads");
  // int <prefix>_profile(int enable) and size_t <prefix>_profile_read(const
  // char **kernels, int64_t *calls, int64_t *nanoseconds, size_t capacity).
  exportPoolFunction("dlc_pool_profile", exports.symbolPrefix + "_profile");
  exportPoolFunction("dlc_pool_profile_read",
                     exports.symbolPrefix + "_profile_read");

  fields.entrySymbol = exports.symbolPrefix + "_" + signature.entryName;
  exports.workspaceBytes = fields.workspaceBytes;
  size_t forwardState = training ? training->layout.numForwardState : 0;
  // Inputs of dynamic dims are followed by one array of those dims
  // (import-dynamic-inputs), which the runtime passes after the inputs.
  size_t dimsArray = signature.hasDynamicInputs() ? 1 : 0;
  if (!addWrapper(signature.entryName, fields.entrySymbol,
                  signature.inputs.size() + dimsArray + forwardState,
                  signature.outputs.size(),
                  fields.workspaceBytes + exports.deviceWorkspaceBytes > 0))
    return nullptr;

  if (training) {
    TrainingFields t;
    t.stepSymbol = exports.symbolPrefix + "_train_step";
    t.loss = training->loss;
    t.optimizer = training->optimizer;
    t.hyperparameters = training->hyperparameters;
    t.frozen = signature.frozen;
    t.inputs = training->inputs;
    t.applySymbol = exports.symbolPrefix + "_apply_gradients";
    int64_t applyWorkspace = workspaceOf("apply_gradients");
    t.stepWorkspaceBytes = std::max(workspaceOf("train_step"), applyWorkspace);
    // Every state tensor 64-byte aligned in one buffer; the initial buffer
    // holds the parameters' starting values, zeros elsewhere.
    int64_t offset = 0;
    for (const StateTensor &s : training->layout.state) {
      int64_t elements = 1;
      for (int64_t d : s.shape)
        elements *= d;
      t.state.push_back({s.name, s.role, s.parameter, s.shape, offset});
      offset += (elements * 4 + 63) / 64 * 64;
    }
    t.stateBytes = offset;
    std::vector<uint8_t> initial(offset, 0);
    for (const auto &s : t.state) {
      if (s.role != "parameter" && s.role != "buffer")
        continue;
      auto it = llvm::find_if(signature.parameters, [&](const auto &p) {
        return p.tensor.name == s.name;
      });
      if (it == signature.parameters.end()) {
        error = "no initial value for the parameter '" + s.name + "'";
        return nullptr;
      }
      std::copy(it->data.begin(), it->data.end(), initial.begin() + s.offset);
    }
    size_t numState = t.state.size();
    if (!addWrapper("train_step", t.stepSymbol,
                    t.inputs.size() + 1 + numState,
                    1 + numState + training->layout.numParameters,
                    workspaceOf("train_step") > 0))
      return nullptr;
    if (!addWrapper("apply_gradients", t.applySymbol,
                    1 + numState + training->layout.numParameters, numState,
                    applyWorkspace > 0))
      return nullptr;
    auto *data = llvm::ConstantDataArray::get(llvmContext, initial);
    auto *global = new llvm::GlobalVariable(
        *llvmModule, data->getType(), /*isConstant=*/true,
        llvm::GlobalValue::ExternalLinkage, data,
        exports.symbolPrefix + "_initial_state");
    global->setAlignment(llvm::Align(64));
    // The source model without its trained tensors: what the runtime's
    // tools fill with trained values to export an ONNX file.
    auto *source = llvm::ConstantDataArray::getString(
        llvmContext, signature.strippedModel, /*AddNull=*/false);
    new llvm::GlobalVariable(*llvmModule, source->getType(), true,
                             llvm::GlobalValue::ExternalLinkage, source,
                             exports.symbolPrefix + "_source_model");
    new llvm::GlobalVariable(
        *llvmModule, b.getInt64Ty(), true, llvm::GlobalValue::ExternalLinkage,
        b.getInt64(signature.strippedModel.size()),
        exports.symbolPrefix + "_source_model_size");
    exports.trainingFields = t;
    fields.training = std::move(t);
  }

  if (llvm::verifyModule(*llvmModule, &llvm::errs())) {
    error = "the generated LLVM IR does not verify";
    return nullptr;
  }
  auto optimize = makeOptimizingTransformer(3, 0, &tm);
  if (llvm::Error err = optimize(llvmModule.get())) {
    error = "LLVM optimization failed: " + llvm::toString(std::move(err));
    return nullptr;
  }
  // After the optimizer, which has compiled the code for the constant
  // weights it saw (their loads are invariant, they alias nothing written):
  // at run time the arrays hold those values before any call.
  if (!exports.weightsPath.empty()) {
    WeightsFields weights;
    if (!externalizeWeights(*llvmModule, exports.symbolPrefix,
                            exports.weightsPath, weights, error))
      return nullptr;
    fields.weights = std::move(weights);
  }

  fields.targetTriple = spec.triple;
  fields.targetCpu = spec.cpu;
  fields.source = sourcePath;
  std::vector<uint8_t> manifest;
  if (!buildManifest(signature, fields, manifest, error))
    return nullptr;
  auto *bytes = llvm::ConstantDataArray::get(llvmContext, manifest);
  // Aligned as FlatBuffers lays the buffer out (for readers that use it in
  // place; the runtime reads a copy).
  auto *manifestGlobal = new llvm::GlobalVariable(
      *llvmModule, bytes->getType(), /*isConstant=*/true,
      llvm::GlobalValue::ExternalLinkage, bytes,
      exports.symbolPrefix + "_manifest");
  manifestGlobal->setAlignment(llvm::Align(8));
  new llvm::GlobalVariable(
      *llvmModule, b.getInt64Ty(), true, llvm::GlobalValue::ExternalLinkage,
      b.getInt64(manifest.size()), exports.symbolPrefix + "_manifest_size");
  return llvmModule;
}

/// The embedding header's part for a training library: the state layout and
/// the step's and update's calling conventions.
static std::string trainingSection(const ExportSpec &exports,
                                   const std::string &p,
                                   const std::string &upper) {
  if (!exports.trainingFields)
    return "";
  const TrainingFields &t = *exports.trainingFields;
  size_t parameters = 0, forwardState = 0;
  std::string h;
  llvm::raw_string_ostream os(h);
  os << "/* Training (dlc --train): loss " << t.loss << ", optimizer "
     << t.optimizer << ". The state is one buffer of " << upper
     << "_STATE_BYTES bytes,\n * float32 tensors at these byte offsets:\n";
  for (const auto &s : t.state) {
    parameters += s.role == "parameter";
    forwardState += s.role == "parameter" || s.role == "buffer";
    os << " *   " << s.offset << ": " << s.role << " '" << s.name << "' [";
    llvm::interleaveComma(s.shape, os);
    os << "]\n";
  }
  os << " * Start from a copy of " << p << "_initial_state. " << p
     << "_forward takes, after the\n * inputs, pointers to the first "
     << forwardState << " state tensors (parameters and buffers).\n"
     << " * " << p << "_train_step: inputs = [step inputs (";
  llvm::interleaveComma(t.inputs, os, [&](const auto &in) { os << "'" << in.name << "'"; });
  os << "),\n *   &lr (float), state tensors], outputs = [&loss (float), new "
        "state tensors\n *   (another buffer: they must not alias), the "
        "gradient of each parameter].\n"
     << " * " << p << "_apply_gradients: inputs = [&lr, state tensors, one "
        "gradient per\n *   parameter], outputs = [new state tensors]. */\n"
     << "#define " << upper << "_STATE_BYTES " << t.stateBytes << "\n"
     << "#define " << upper << "_NUM_STATE " << t.state.size() << "\n"
     << "#define " << upper << "_NUM_PARAMETERS " << parameters << "\n"
     << "#define " << upper << "_STEP_WORKSPACE_BYTES " << t.stepWorkspaceBytes
     << "\n"
     << "extern const uint8_t " << p << "_initial_state[];\n"
     << "void " << p << "_train_step(void **inputs, void **outputs, void "
        "*workspace);\n"
     << "void " << p << "_apply_gradients(void **inputs, void **outputs, "
        "void *workspace);\n\n";
  return h;
}

std::string buildEmbeddingHeader(const onnx_frontend::ModelSignature &signature,
                                 const ExportSpec &exports) {
  std::string p = exports.symbolPrefix;
  std::string upper = llvm::StringRef(p).upper();
  std::string guard = upper + "_MODEL_H";
  std::string h;
  llvm::raw_string_ostream os(h);
  os << "/* Generated by dlc " << kVersion << ": the C interface of a model\n"
     << " * object. Link the object with -pthread; it needs libc, libm and\n"
     << " * pthreads only. */\n"
     << "#ifndef " << guard << "\n#define " << guard << "\n\n"
     << "#include <stddef.h>\n#include <stdint.h>\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
  auto tensors = [&](const char *what,
                     const std::vector<onnx_frontend::TensorSignature> &list) {
    os << "/* " << what << ", in call order:\n";
    for (size_t i = 0; i < list.size(); ++i) {
      os << " *   " << i << ": '" << list[i].name << "' " << list[i].dtype
         << " [";
      // An input's dims given by each call show their names.
      for (auto [d, size] : llvm::enumerate(list[i].shape)) {
        os << (d ? ", " : "");
        if (size >= 0 || list[i].dimNames.empty())
          os << size;
        else if (d < list[i].dimNames.size() && !list[i].dimNames[d].empty())
          os << list[i].dimNames[d];
        else
          os << "?";
      }
      os << "]\n";
    }
    os << " */\n";
  };
  tensors("inputs", signature.inputs);
  tensors("outputs", signature.outputs);
  if (llvm::any_of(signature.outputs,
                   [](const auto &t) { return t.hasRuntimeShape(); }))
    os << "/* A dim of -1 is known only at run time: that output's pointer is\n"
       << " * to int64_t slot[1 + rank]; the call stores in slot[0] the "
          "address\n"
       << " * of a 64-byte aligned buffer it allocated with the result (the\n"
       << " * caller releases it with free()) and in slot[1..rank] its dims, "
          "also\n"
       << " * when a check fails (the buffer then has a fallback shape). */\n";
  if (signature.hasDynamicInputs())
    os << "/* Dims given by each call (names, or ?): inputs[NUM_INPUTS] "
          "points\n"
       << " * to their sizes, int64_t, in input then dim order; dims of one\n"
       << " * name must be one size (the call does not check that). */\n";
  os << "#define " << upper << "_NUM_INPUTS " << signature.inputs.size()
     << "\n#define " << upper << "_NUM_OUTPUTS " << signature.outputs.size()
     << "\n/* Scratch bytes each call needs, 64-byte aligned; calls that run\n"
     << " * at the same time need separate workspaces. */\n#define " << upper
     << "_WORKSPACE_BYTES " << exports.workspaceBytes << "\n\n"
     << "/* Runs the model: inputs[i] and outputs[i] point to dense row-major\n"
     << " * data of the dtypes and shapes above. */\n"
     << "void " << p << "_" << signature.entryName
     << "(void **inputs, void **outputs, void *workspace);\n\n"
     << "/* Kernels run on a pool of threads inside the object, the calling\n"
     << " * thread included: by default DLC_NUM_THREADS, else the CPUs this\n"
     << " * process may use. Results do not depend on the count. n < 1 restores\n"
     << " * the default; returns the count now in effect. */\n"
     << "int " << p << "_set_num_threads(int n);\n"
     << "int " << p << "_num_threads(void);\n"
     << "/* Per-kernel profile of the multithreaded kernels: enable != 0\n"
     << " * starts recording from zero, 0 stops; returns whether it was on.\n"
     << " * _profile_read copies up to `capacity` entries (ONNX node name,\n"
     << " * calls, nanoseconds) and returns how many there are. */\n"
     << "/* A call whose inputs fail a check of the generated code (an index\n"
     << " * outside its tensor) still returns, with unspecified outputs: this\n"
     << " * returns 1 + the position of the first failed check in the\n"
     << " * manifest's runtime_checks (their messages), or 0, for the calling\n"
     << " * thread's last call (each call starts clear), and clears it. */\n"
     << "int " << p << "_take_error(void);\n"
     << "int " << p << "_profile(int enable);\n"
     << "size_t " << p << "_profile_read(const char **kernels, int64_t *calls,\n"
     << "    int64_t *nanoseconds, size_t capacity);\n\n"
     << trainingSection(exports, p, upper)
     << "/* The FlatBuffers manifest (runtime/manifest.fbs). */\n"
     << "extern const uint8_t " << p << "_manifest[];\n"
     << "extern const uint64_t " << p << "_manifest_size;\n\n"
     << "#ifdef __cplusplus\n}\n#endif\n\n#endif /* " << guard << " */\n";
  return h;
}

bool emitObjectFile(llvm::Module &module, llvm::TargetMachine &tm,
                    const std::string &path, std::string &error) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_None);
  if (ec) {
    error = path + ": cannot write: " + ec.message();
    return false;
  }
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr,
                             llvm::CodeGenFileType::ObjectFile)) {
    error = "the target cannot emit object files";
    return false;
  }
  pm.run(module);
  os.flush();
  return true;
}

bool linkSharedLibrary(const std::string &objectPath,
                       const std::string &libraryPath, std::string &error,
                       const std::vector<std::string> &assemblyPaths) {
  std::string driver = kLinkerDriver;
  if (const char *env = std::getenv("DLC_CC"))
    driver = env;
  auto program = llvm::sys::findProgramByName(driver);
  if (!program) {
    program = llvm::sys::findProgramByName("cc");
    if (!program) {
      error = "no C compiler driver to link with (tried '" + driver +
              "' and 'cc'; set DLC_CC)";
      return false;
    }
  }
  std::vector<llvm::StringRef> argv = {*program, "-shared", "-o", libraryPath,
                                        objectPath, "-lm", "-pthread",
                                        "-Wl,--no-undefined"};
  for (const std::string &path : assemblyPaths)
    argv.push_back(path);
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(*program, argv, std::nullopt, {}, 0, 0,
                                     &message);
  if (rc != 0) {
    error = "linking " + libraryPath + " failed (" + *program + ", exit " +
            std::to_string(rc) + ")" + (message.empty() ? "" : ": " + message);
    return false;
  }
  return true;
}

} // namespace dlc
