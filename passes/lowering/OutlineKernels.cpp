//===- OutlineKernels.cpp - each serial kernel a function of its own ------===//
//
// Compile time must grow linearly with the model: one function holding a
// thousand kernels makes SCF-to-CFG, LLVM's loop passes and instruction
// selection superlinear (a 3,000-node MLP took 30 s and 2.4 GB). Outlined,
// each kernel is a small function those passes see alone.
//
//===----------------------------------------------------------------------===//

#include "passes/lowering/Outlining.h"
#include "passes/lowering/Passes.h"

#include "mlir/Transforms/RegionUtils.h"

namespace dlc {
#define GEN_PASS_DEF_OUTLINEKERNELS
#include "passes/lowering/Passes.h.inc"
} // namespace dlc

using namespace mlir;

namespace {

/// The ops of one kernel: a run of consecutive top-level ops from the same
/// ONNX node (its loops, and the straight-line vector code of a small
/// kernel) whose results nothing after the run uses.
using Kernel = SmallVector<Operation *>;

/// Whether `op` is recreated wherever it is used (constants, views of the
/// arguments, globals' addresses, arithmetic on those): it stays in the
/// entry function and belongs to no kernel. `shared` holds the ones before.
bool isShared(Operation *op, const llvm::SmallPtrSetImpl<Operation *> &shared) {
  return dlc::isSinkable(op) && llvm::all_of(op->getOperands(), [&](Value v) {
           Operation *def = v.getDefiningOp();
           return !def || shared.contains(def);
         });
}

struct OutlineKernelsPass
    : public dlc::impl::OutlineKernelsBase<OutlineKernelsPass> {
  using OutlineKernelsBase::OutlineKernelsBase;

  void runOnOperation() override {
    SmallVector<func::FuncOp> functions(getOperation().getOps<func::FuncOp>());
    for (func::FuncOp func : functions) {
      if (func.isDeclaration() || !func.isPublic())
        continue;
      SmallVector<Kernel> kernels;
      std::string current;
      llvm::SmallPtrSet<Operation *, 16> members, shared;
      for (Operation &op : func.getBody().front()) {
        if (op.hasTrait<OpTrait::IsTerminator>())
          continue;
        if (isShared(&op, shared)) {
          shared.insert(&op);
          continue;
        }
        // A fused kernel's parts carry the names of the nodes fused into it;
        // an op that reads a value of the current run (a loop's vector
        // results, read by its epilogue) continues it.
        std::string node = dlc::nodeName(op.getLoc());
        bool continues = !kernels.empty() && node == current;
        op.walk([&](Operation *inner) {
          for (Value operand : inner->getOperands())
            if (Operation *def = operand.getDefiningOp();
                def && members.contains(def))
              continues = true;
        });
        if (!continues) {
          kernels.emplace_back();
          members.clear();
        }
        current = node;
        kernels.back().push_back(&op);
        members.insert(&op);
      }
      if (static_cast<int64_t>(kernels.size()) <= minKernels)
        continue;
      int counter = 0;
      for (Kernel &kernel : kernels)
        outline(func, kernel, counter);
    }
  }

  void outline(func::FuncOp func, Kernel &kernel, int &counter) {
    llvm::SmallPtrSet<Operation *, 16> members(kernel.begin(), kernel.end());
    // Results used after the kernel would have to be returned: leave it.
    for (Operation *op : kernel)
      for (Value r : op->getResults())
        for (Operation *user : r.getUsers())
          if (!members.contains(
                  func.getBody().front().findAncestorOpInBlock(*user)))
            return;
    // The kernel's operands and what its regions use from outside.
    SetVector<Value> used;
    for (Operation *op : kernel) {
      for (Value operand : op->getOperands())
        if (!members.contains(operand.getDefiningOp()))
          used.insert(operand);
      SetVector<Value> above;
      getUsedValuesDefinedAbove(op->getRegions(), above);
      for (Value v : above)
        if (!members.contains(v.getDefiningOp()))
          used.insert(v);
    }
    SetVector<Operation *> sunk;
    SetVector<Value> captures;
    if (failed(dlc::collectCaptures(used.getArrayRef(), sunk, captures)))
      return;

    OpBuilder b(func);
    Location loc = kernel.front()->getLoc();
    std::string fragment = dlc::identifierFragment(dlc::nodeName(loc));
    std::string name =
        (func.getName() + (fragment.empty() ? "" : "_" + fragment) +
         "_kernel_" + Twine(counter++))
            .str();
    SmallVector<Type> argTypes;
    for (Value c : captures)
      argTypes.push_back(c.getType());
    auto body =
        func::FuncOp::create(b, loc, name, b.getFunctionType(argTypes, {}));
    body.setPrivate();
    // LLVM would inline a function called once back into the whole model
    // (the LLVM function attribute, passed through by func-to-llvm).
    body->setAttr("passthrough", b.getArrayAttr({b.getStringAttr("noinline")}));
    dlc::markDisjointBuffers(body, captures, sunk, /*firstCapture=*/0);
    Block *entry = body.addEntryBlock();
    b.setInsertionPointToStart(entry);
    IRMapping mapping;
    for (auto [i, c] : llvm::enumerate(captures))
      mapping.map(c, entry->getArgument(i));
    dlc::cloneSunkOps(b, sunk, mapping);
    for (Operation *op : kernel)
      b.clone(*op, mapping);
    func::ReturnOp::create(b, loc);

    // At the last op: a buffer view between the kernel's ops (never one of
    // them: only side-effect-free ops lie between) is defined by then.
    b.setInsertionPoint(kernel.back());
    func::CallOp::create(b, loc, body, captures.getArrayRef());
    for (Operation *op : llvm::reverse(kernel))
      op->erase();
  }
};

} // namespace
