//===- DetachedWeights.cpp - weights kept out of LLVM IR ------------------===//

#include "compiler/DetachedWeights.h"
#include "compiler/ExternalWeights.h"
#include "dialects/graph/Weights.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/IR/DataLayout.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace mlir;

namespace dlc {

LogicalResult detachWeights(ModuleOp module, const std::string &dataPath,
                            uint64_t minBytes, DetachedWeights &detached,
                            std::string &error) {
  detached = {};
  std::vector<std::pair<LLVM::GlobalOp, graph::ConstantBytes>> chosen;
  for (auto global : module.getOps<LLVM::GlobalOp>()) {
    if (!global.getConstant() || !global.getInitializerRegion().empty())
      continue;
    // Dense constants and weight blobs of whole-byte numbers (i1 is
    // bit-packed in a dense attribute and a byte each in LLVM: left in IR).
    auto elements = dyn_cast_or_null<ElementsAttr>(global.getValueOrNull());
    std::optional<graph::ConstantBytes> data =
        graph::constantBytes(global.getValueOrNull());
    if (!elements || !data)
      continue;
    uint64_t bytes = static_cast<uint64_t>(elements.getNumElements()) *
                     (elements.getShapedType().getElementTypeBitWidth() / 8);
    if (bytes < kMinExternalWeightBytes)
      continue;
    DetachedWeights::Array array;
    array.symbol = global.getSymName().str();
    array.offset = detached.arrays.empty() ? 0
                                           : detached.arrays.back().offset +
                                                 detached.arrays.back().bytes;
    array.bytes = bytes;
    // Cache-line aligned at least, as the code generator aligns big arrays.
    array.alignment = std::max<uint64_t>(global.getAlignment().value_or(1), 64);
    detached.arrays.push_back(array);
    chosen.emplace_back(global, *data);
  }
  if (chosen.empty() ||
      detached.arrays.back().offset + detached.arrays.back().bytes < minBytes) {
    detached = {};
    return success();
  }

  std::error_code ec;
  llvm::raw_fd_ostream os(dataPath, ec, llvm::sys::fs::OF_None);
  if (ec) {
    error = dataPath + ": cannot write the weights: " + ec.message();
    detached = {};
    return failure();
  }
  for (auto [array, chosenGlobal] : llvm::zip(detached.arrays, chosen)) {
    const graph::ConstantBytes &data = chosenGlobal.second;
    if (!data.splat) {
      os.write(data.data.data(), data.data.size());
      continue;
    }
    // A splat holds one element: repeated, a block at a time.
    std::string block;
    for (size_t i = 0; i < 4096; ++i)
      block.append(data.data.data(), data.data.size());
    for (uint64_t done = 0; done < array.bytes; done += block.size())
      os.write(block.data(),
               std::min<uint64_t>(block.size(), array.bytes - done));
  }
  os.close();
  if (os.has_error()) {
    error = dataPath + ": cannot write the weights: " + os.error().message();
    os.clear_error();
    detached = {};
    return failure();
  }
  for (auto &entry : chosen) {
    LLVM::GlobalOp global = entry.first;
    global.removeValueAttr();
    global.setLinkage(LLVM::Linkage::External);
  }
  return success();
}

bool bindDetachedWeights(llvm::Module &module, const std::string &symbolPrefix,
                         DetachedWeights &detached, std::string &error) {
  const llvm::DataLayout &layout = module.getDataLayout();
  std::vector<DetachedWeights::Array> bound;
  for (DetachedWeights::Array array : detached.arrays) {
    llvm::GlobalVariable *global =
        module.getGlobalVariable(array.symbol, /*AllowInternal=*/true);
    if (!global)
      continue;
    if (!global->isDeclaration() ||
        layout.getTypeAllocSize(global->getValueType()) != array.bytes) {
      error = "internal error: the detached array '" + array.symbol +
              "' does not match its " + std::to_string(array.bytes) + " bytes";
      return false;
    }
    global->setName(symbolPrefix + "_weight_" + std::to_string(bound.size()));
    global->setVisibility(llvm::GlobalValue::HiddenVisibility);
    global->setDSOLocal(true);
    array.symbol = global->getName().str();
    bound.push_back(array);
  }
  detached.arrays = std::move(bound);
  return true;
}

std::string detachedWeightsAssembly(const DetachedWeights &detached,
                                    const std::string &dataPath) {
  std::string quoted;
  for (char c : dataPath) {
    if (c == '"' || c == '\\')
      quoted += '\\';
    quoted += c;
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "# The model's weights (compiler/DetachedWeights.h).\n"
     << "\t.section .rodata.dlc_weights,\"a\",%progbits\n";
  for (const DetachedWeights::Array &array : detached.arrays)
    os << "\t.p2align " << llvm::Log2_64(array.alignment) << "\n"
       << "\t.globl " << array.symbol << "\n"
       << "\t.hidden " << array.symbol << "\n"
       << "\t.type " << array.symbol << ", %object\n"
       << "\t.size " << array.symbol << ", " << array.bytes << "\n"
       << array.symbol << ":\n"
       << "\t.incbin \"" << quoted << "\", " << array.offset << ", "
       << array.bytes << "\n";
  // No executable stack for the library on this file's account.
  os << "\t.section .note.GNU-stack,\"\",%progbits\n";
  return text;
}

} // namespace dlc
