//===- DetachedWeights.cpp - weights kept out of LLVM IR ------------------===//

#include "compiler/DetachedWeights.h"
#include "compiler/ExternalWeights.h"
#include "dialects/graph/Weights.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/IR/DataLayout.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"

#include <algorithm>
#include <cstring>

using namespace mlir;

namespace dlc {

namespace {

/// The bytes of `global`'s type when it is an array (nested or not) of
/// integers or floats of whole bytes, laid out without padding; 0 otherwise.
uint64_t llvmArrayBytes(LLVM::GlobalOp global) {
  uint64_t count = 1;
  Type type = global.getGlobalType();
  while (auto array = dyn_cast<LLVM::LLVMArrayType>(type)) {
    count *= array.getNumElements();
    type = array.getElementType();
  }
  if (!type.isIntOrFloat() || type.getIntOrFloatBitWidth() % 8 != 0 ||
      !llvm::isPowerOf2_32(type.getIntOrFloatBitWidth()))
    return 0;
  return count * (type.getIntOrFloatBitWidth() / 8);
}

} // namespace

LogicalResult detachWeights(ModuleOp module, const std::string &dataPath,
                            uint64_t minBytes, DetachedWeights &detached,
                            std::string &error) {
  detached = {};
  std::vector<std::pair<LLVM::GlobalOp, graph::ConstantBytes>> chosen;
  // Arrays with the same bytes are stored once: each later one becomes a
  // use of the first (the dense attributes they were made from would have
  // been one uniqued constant; weight blobs are not uniqued).
  std::vector<std::pair<LLVM::GlobalOp, LLVM::GlobalOp>> duplicates;
  llvm::DenseMap<uint64_t, SmallVector<size_t>> byHash;
  for (auto global : module.getOps<LLVM::GlobalOp>()) {
    if (!global.getConstant() || !global.getInitializerRegion().empty())
      continue;
    // Dense constants and weight blobs of whole-byte numbers (i1 is
    // bit-packed in a dense attribute and a byte each in LLVM: left in IR).
    // Splats stay in IR: zeros take no room, and LLVM folds their loads.
    std::optional<graph::ConstantBytes> data =
        graph::constantBytes(global.getValueOrNull());
    if (!data || data->splat)
      continue;
    uint64_t bytes = data->data.size();
    if (bytes < kMinExternalWeightBytes || llvmArrayBytes(global) != bytes)
      continue;
    uint64_t alignment =
        std::max<uint64_t>(global.getAlignment().value_or(1), 64);
    SmallVector<size_t> &sameHash =
        byHash[llvm::xxh3_64bits(llvm::arrayRefFromStringRef(
            llvm::StringRef(data->data.data(), bytes)))];
    auto same = llvm::find_if(sameHash, [&](size_t j) {
      ArrayRef<char> other = chosen[j].second.data;
      return other.size() == bytes &&
             std::memcmp(other.data(), data->data.data(), bytes) == 0;
    });
    if (same != sameHash.end()) {
      duplicates.emplace_back(global, chosen[*same].first);
      detached.arrays[*same].alignment =
          std::max(detached.arrays[*same].alignment, alignment);
      continue;
    }
    sameHash.push_back(chosen.size());
    DetachedWeights::Array array;
    array.symbol = global.getSymName().str();
    array.offset = detached.arrays.empty() ? 0
                                           : detached.arrays.back().offset +
                                                 detached.arrays.back().bytes;
    array.bytes = bytes;
    // Cache-line aligned at least, as the code generator aligns big arrays.
    array.alignment = alignment;
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
  for (const auto &entry : chosen)
    os.write(entry.second.data.data(), entry.second.data.size());
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
  for (auto [duplicate, first] : duplicates) {
    if (failed(SymbolTable::replaceAllSymbolUses(
            duplicate.getSymNameAttr(), first.getSymNameAttr(), module))) {
      error = "internal error: cannot replace the uses of '" +
              duplicate.getSymName().str() + "'";
      return failure();
    }
    duplicate.erase();
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
