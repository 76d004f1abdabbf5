//===- ExternalWeights.cpp - weights in a file beside the library ---------===//

#include "compiler/ExternalWeights.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/DataLayout.h"
#include "llvm/IR/DerivedTypes.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"

#include <array>
#include <cstring>

namespace dlc {

namespace {

constexpr uint64_t kHeaderBytes = 64;
constexpr uint32_t kFormatVersion = 1;

uint64_t alignTo64(uint64_t n) { return (n + 63) / 64 * 64; }

/// Whether `c` is plain data laid out as its bytes: arrays (nested or not)
/// of numbers, or zeros.
bool isPlainData(const llvm::Constant *c) {
  if (llvm::isa<llvm::ConstantDataSequential>(c) ||
      llvm::isa<llvm::ConstantAggregateZero>(c))
    return true;
  if (auto *array = llvm::dyn_cast<llvm::ConstantArray>(c))
    return llvm::all_of(array->operands(), [](const llvm::Use &u) {
      return isPlainData(llvm::cast<llvm::Constant>(u.get()));
    });
  return false;
}

/// Streams the bytes of plain data `c` (as the global holds them in memory)
/// to `os`, and each contiguous run of them to `hash`.
void writeData(const llvm::DataLayout &layout, const llvm::Constant *c,
               llvm::raw_ostream &os,
               llvm::function_ref<void(llvm::StringRef)> hash) {
  if (auto *data = llvm::dyn_cast<llvm::ConstantDataSequential>(c)) {
    llvm::StringRef bytes = data->getRawDataValues();
    os << bytes;
    hash(bytes);
    return;
  }
  if (llvm::isa<llvm::ConstantAggregateZero>(c)) {
    uint64_t size = layout.getTypeAllocSize(c->getType());
    std::array<char, 4096> zeros{};
    for (uint64_t done = 0; done < size; done += zeros.size()) {
      llvm::StringRef chunk(zeros.data(),
                            std::min<uint64_t>(zeros.size(), size - done));
      os << chunk;
      hash(chunk);
    }
    return;
  }
  for (const llvm::Use &u : llvm::cast<llvm::ConstantArray>(c)->operands())
    writeData(layout, llvm::cast<llvm::Constant>(u.get()), os, hash);
}

} // namespace

bool externalizeWeights(llvm::Module &module, const std::string &symbolPrefix,
                        const std::string &path, WeightsFields &fields,
                        std::string &error) {
  const llvm::DataLayout &layout = module.getDataLayout();
  std::string initialState = symbolPrefix + "_initial_state";
  std::vector<llvm::GlobalVariable *> moved;
  for (llvm::GlobalVariable &g : module.globals()) {
    if (!g.hasInitializer() || !g.isConstant())
      continue;
    if (!g.hasLocalLinkage() && g.getName() != initialState)
      continue;
    if (layout.getTypeAllocSize(g.getValueType()) < kMinExternalWeightBytes ||
        !isPlainData(g.getInitializer()))
      continue;
    moved.push_back(&g);
  }

  fields = {};
  fields.file = llvm::sys::path::filename(path).str();
  uint64_t offset = kHeaderBytes;
  for (llvm::GlobalVariable *g : moved) {
    int64_t bytes = layout.getTypeAllocSize(g->getValueType());
    fields.slots.push_back({static_cast<int64_t>(offset), bytes});
    offset = alignTo64(offset + bytes);
  }
  fields.bytes = static_cast<int64_t>(offset);

  // The id hashes the data as it streams out, so the header is written last.
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_None);
  if (ec) {
    error = path + ": cannot write the weights: " + ec.message();
    return false;
  }
  uint64_t id = 0xcbf29ce484222325ull ^ moved.size();
  auto hash = [&](llvm::StringRef bytes) {
    id = (id ^ llvm::xxh3_64bits(llvm::arrayRefFromStringRef(bytes))) *
         0x100000001b3ull;
  };
  os.write_zeros(kHeaderBytes);
  for (auto [g, slot] : llvm::zip(moved, fields.slots)) {
    os.write_zeros(slot.offset - os.tell());
    writeData(layout, g->getInitializer(), os, hash);
  }
  os.write_zeros(fields.bytes - os.tell());
  fields.id = id;
  std::array<char, kHeaderBytes> header{};
  std::memcpy(header.data(), "DLCWGHT", 8);
  auto put = [&](size_t at, auto value) {
    for (size_t i = 0; i < sizeof(value); ++i)
      header[at + i] =
          static_cast<char>((static_cast<uint64_t>(value) >> (8 * i)) & 0xff);
  };
  put(8, kFormatVersion);
  put(12, static_cast<uint32_t>(moved.size()));
  put(16, id);
  put(24, static_cast<uint64_t>(fields.bytes));
  os.seek(0);
  os.write(header.data(), header.size());
  os.close();
  if (os.has_error()) {
    error = path + ": cannot write the weights: " + os.error().message();
    os.clear_error();
    return false;
  }

  // Zero-filled and writable: the arrays go to .bss, and code generation
  // neither folds their values nor places them in read-only memory.
  llvm::SmallVector<llvm::Constant *> slots;
  for (llvm::GlobalVariable *g : moved) {
    g->setInitializer(llvm::Constant::getNullValue(g->getValueType()));
    g->setConstant(false);
    g->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::None);
    slots.push_back(g);
  }
  auto *ptrTy = llvm::PointerType::get(module.getContext(), 0);
  auto *tableTy = llvm::ArrayType::get(ptrTy, slots.size());
  new llvm::GlobalVariable(
      module, tableTy, /*isConstant=*/true, llvm::GlobalValue::ExternalLinkage,
      llvm::ConstantArray::get(tableTy, slots), symbolPrefix + "_weight_slots");
  auto *i32 = llvm::Type::getInt32Ty(module.getContext());
  new llvm::GlobalVariable(
      module, i32, /*isConstant=*/false, llvm::GlobalValue::ExternalLinkage,
      llvm::ConstantInt::get(i32, 0), symbolPrefix + "_weights_loaded");
  return true;
}

} // namespace dlc
