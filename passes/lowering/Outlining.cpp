//===- Outlining.cpp - moving a kernel's loops into a function ------------===//

#include "passes/lowering/Outlining.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"

using namespace mlir;

namespace dlc {

bool isSinkable(Operation *op) {
  return op->getNumRegions() == 0 && isMemoryEffectFree(op) &&
         op->getNumResults() > 0;
}

namespace {
/// Whether a captured value can be an argument of the outlined function and,
/// later, a field of the launch frame: scalars, and memrefs the bare-pointer
/// calling convention passes as one pointer.
bool isCapturable(Type type) {
  if (type.isIntOrIndexOrFloat())
    return true;
  auto memref = dyn_cast<MemRefType>(type);
  return memref && memref.hasStaticShape() && memref.getLayout().isIdentity();
}

/// An argument of the function itself (not of a loop or other region).
bool isEntryArgument(Value v) {
  auto arg = dyn_cast<BlockArgument>(v);
  return arg && isa<FunctionOpInterface>(arg.getOwner()->getParentOp()) &&
         arg.getOwner()->isEntryBlock();
}

} // namespace

/// The ONNX node a loop comes from: the first name in its location.
std::string nodeName(Location loc) {
  std::string name;
  loc->walk([&](Location inner) {
    if (auto named = dyn_cast<NameLoc>(inner)) {
      name = named.getName().str();
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return name;
}

/// `name` as a C identifier fragment, so that profilers name the outlined
/// kernels after the model's nodes: `forward__conv1_Conv_parallel_3`.
std::string identifierFragment(std::string name) {
  for (char &c : name)
    if (!llvm::isAlnum(c))
      c = '_';
  return name.substr(0, 64);
}

/// A buffer plan-workspace placed in a function's workspace: a memref.view
/// of an argument at a constant byte offset, of a static identity-layout
/// type. Returns its bytes [begin, end), or nullopt.
std::optional<std::pair<int64_t, int64_t>> workspaceBuffer(Value v) {
  auto view = v.getDefiningOp<memref::ViewOp>();
  if (!view || !isEntryArgument(view.getSource()) || !view.getSizes().empty())
    return std::nullopt;
  auto offset = getConstantIntValue(view.getByteShift());
  auto type = view.getType();
  if (!offset || !type.hasStaticShape() || !type.getLayout().isIdentity() ||
      !type.getElementType().isIntOrFloat())
    return std::nullopt;
  // Whole bytes per element, as plan-workspace lays buffers out.
  int64_t bytes = type.getNumElements() *
                  ((type.getElementType().getIntOrFloatBitWidth() + 7) / 8);
  return std::make_pair(*offset, *offset + bytes);
}

/// Marks the body's workspace-buffer arguments `llvm.noalias` when no other
/// argument or recreated value reaches the same bytes: LLVM then knows that
/// a kernel's input and output buffers are distinct (they are views of one
/// workspace pointer, at offsets it cannot always compare) and vectorizes
/// loops that read one and write another.
void markDisjointBuffers(func::FuncOp body, const SetVector<Value> &captures,
                         const SetVector<Operation *> &sunk,
                         unsigned firstCapture) {
  for (auto [i, c] : llvm::enumerate(captures)) {
    auto range = workspaceBuffer(c);
    if (!range)
      continue;
    Value workspace = c.getDefiningOp<memref::ViewOp>().getSource();
    bool disjoint = !captures.contains(workspace);
    for (Value other : captures) {
      if (other == c || !isa<BaseMemRefType>(other.getType()))
        continue;
      if (auto otherRange = workspaceBuffer(other)) {
        if (other.getDefiningOp<memref::ViewOp>().getSource() == workspace)
          disjoint &= otherRange->second <= range->first ||
                      range->second <= otherRange->first;
        continue;
      }
      // Other buffers are known apart only when they are the function's
      // other arguments (its inputs and outputs) or constants; anything else
      // (a loop-carried buffer, a view of unknown origin) may alias.
      disjoint &= (isEntryArgument(other) && other != workspace) ||
                  other.getDefiningOp<memref::GetGlobalOp>();
    }
    for (Operation *op : sunk)
      disjoint &= !llvm::is_contained(op->getOperands(), workspace);
    if (disjoint)
      body.setArgAttr(firstCapture + i, "llvm.noalias",
                      UnitAttr::get(body.getContext()));
  }
}

LogicalResult collectCaptures(ArrayRef<Value> used,
                              SetVector<Operation *> &sunk,
                              SetVector<Value> &captures) {
  SmallVector<Value> worklist(used.begin(), used.end());
  while (!worklist.empty()) {
    Value v = worklist.pop_back_val();
    Operation *def = v.getDefiningOp();
    // Workspace buffers are captured, not recreated: as arguments of their
    // own they can be marked as not aliasing (markDisjointBuffers).
    if (def && isSinkable(def) && !workspaceBuffer(v)) {
      if (sunk.insert(def))
        for (Value operand : def->getOperands())
          worklist.push_back(operand);
      continue;
    }
    if (!isCapturable(v.getType()))
      return failure();
    captures.insert(v);
  }
  return success();
}

void cloneSunkOps(OpBuilder &b, const SetVector<Operation *> &sunk,
                  IRMapping &mapping) {
  std::function<void(Operation *)> clone = [&](Operation *op) {
    if (mapping.contains(op->getResult(0)))
      return;
    for (Value operand : op->getOperands())
      if (Operation *def = operand.getDefiningOp(); def && sunk.contains(def))
        clone(def);
    b.clone(*op, mapping);
  };
  for (Operation *op : sunk)
    clone(op);
}

} // namespace dlc
