//===- Weights.cpp - large constants in releasable blobs ------------------===//

#include "dialects/graph/Weights.h"

#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/StringSet.h"

#include <cstring>

using namespace mlir;

namespace dlc::graph {

namespace {

constexpr llvm::StringLiteral kBlobName = "dlc_weights";

/// The width of `type`'s elements in bytes; 0 when they are not integers or
/// floats of whole bytes.
uint64_t elementBytes(ShapedType type) {
  Type elem = type.getElementType();
  if (!elem.isIntOrFloat() || elem.getIntOrFloatBitWidth() % 8 != 0)
    return 0;
  return elem.getIntOrFloatBitWidth() / 8;
}

} // namespace

std::optional<ConstantBytes> constantBytes(Attribute attr) {
  if (auto dense = dyn_cast_or_null<DenseIntOrFPElementsAttr>(attr)) {
    if (!elementBytes(dense.getType()))
      return std::nullopt;
    return ConstantBytes{dense.getRawData(), dense.isSplat()};
  }
  auto blob = dyn_cast_or_null<DenseResourceElementsAttr>(attr);
  if (!blob)
    return std::nullopt;
  uint64_t width = elementBytes(blob.getType());
  const AsmResourceBlob *data = blob.getRawHandle().getBlob();
  if (!width || !data ||
      data->getData().size() !=
          static_cast<uint64_t>(blob.getType().getNumElements()) * width)
    return std::nullopt;
  return ConstantBytes{data->getData(), false};
}

DenseElementsAttr denseElements(Attribute attr) {
  if (auto dense = dyn_cast_or_null<DenseElementsAttr>(attr))
    return dense;
  auto blob = dyn_cast_or_null<DenseResourceElementsAttr>(attr);
  if (!blob)
    return {};
  std::optional<ConstantBytes> bytes = constantBytes(blob);
  if (!bytes)
    return {};
  return DenseElementsAttr::getFromRawBuffer(blob.getType(), bytes->data);
}

std::optional<std::vector<float>> float32Values(Attribute attr) {
  auto typed = dyn_cast_or_null<TypedAttr>(attr);
  if (!typed || !isa<ShapedType>(typed.getType()) ||
      !cast<ShapedType>(typed.getType()).getElementType().isF32())
    return std::nullopt;
  std::optional<ConstantBytes> bytes = constantBytes(attr);
  if (!bytes)
    return std::nullopt;
  int64_t count = cast<ShapedType>(typed.getType()).getNumElements();
  std::vector<float> values(count);
  if (bytes->splat) {
    float v;
    std::memcpy(&v, bytes->data.data(), sizeof(float));
    std::fill(values.begin(), values.end(), v);
  } else {
    std::memcpy(values.data(), bytes->data.data(), count * sizeof(float));
  }
  return values;
}

ElementsAttr makeWeights(RankedTensorType type, std::string &&bytes) {
  assert(elementBytes(type) &&
         bytes.size() == type.getNumElements() * elementBytes(type) &&
         "makeWeights: the bytes do not match the type");
  if (static_cast<int64_t>(bytes.size()) < kWeightBlobBytes)
    return DenseElementsAttr::getFromRawBuffer(
        type, ArrayRef<char>(bytes.data(), bytes.size()));
  // The blob owns the string: freed when released (or with the context).
  auto *owner = new std::string(std::move(bytes));
  AsmResourceBlob blob(
      ArrayRef<char>(owner->data(), owner->size()), alignof(int64_t),
      [owner](void *, size_t, size_t) { delete owner; },
      /*dataIsMutable=*/false);
  return DenseResourceElementsAttr::get(type, kBlobName, std::move(blob));
}

ElementsAttr makeWeights(RankedTensorType type, ArrayRef<float> values) {
  std::string bytes(reinterpret_cast<const char *>(values.data()),
                    values.size() * sizeof(float));
  return makeWeights(type, std::move(bytes));
}

uint64_t releaseUnusedWeights(ModuleOp module) {
  // The blobs are the context's: what an enclosing module uses counts too.
  Operation *top = module;
  while (Operation *parent = top->getParentOp())
    top = parent;
  llvm::StringSet<> used;
  top->walk([&](Operation *op) {
    op->getAttrDictionary().walk([&](DenseResourceElementsAttr attr) {
      used.insert(attr.getRawHandle().getKey());
    });
  });
  auto &manager =
      DenseResourceElementsHandle::getManagerInterface(module.getContext())
          .getBlobManager();
  std::vector<std::string> unused;
  uint64_t bytes = 0;
  manager.getBlobMap(
      [&](const llvm::StringMap<DialectResourceBlobManager::BlobEntry> &blobs) {
        for (const auto &entry : blobs) {
          const AsmResourceBlob *blob = entry.getValue().getBlob();
          if (!entry.getKey().starts_with(kBlobName) || !blob ||
              blob->getData().empty() || used.contains(entry.getKey()))
            continue;
          unused.push_back(entry.getKey().str());
          bytes += blob->getData().size();
        }
      });
  for (const std::string &name : unused)
    manager.update(name, AsmResourceBlob());
  return bytes;
}

} // namespace dlc::graph
