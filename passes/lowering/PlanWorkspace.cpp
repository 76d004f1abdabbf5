//===- PlanWorkspace.cpp - intermediate buffers in one workspace ----------===//

#include "passes/lowering/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/IR/Builders.h"

namespace dlc {
#define GEN_PASS_DEF_PLANWORKSPACE
#include "passes/lowering/Passes.h.inc"
} // namespace dlc

using namespace mlir;

namespace {

struct Buffer {
  memref::AllocOp alloc;
  int64_t begin, end; ///< live range, in top-level op positions
  int64_t bytes;
  int64_t offset = -1;
};

/// Position of the op of `block` that contains `op`.
int64_t topLevelPosition(Operation *op, Block &block,
                         const DenseMap<Operation *, int64_t> &positions) {
  while (op && op->getBlock() != &block)
    op = op->getParentOp();
  return op ? positions.lookup(op) : -1;
}

/// The last top-level position where `root` or any value derived from it
/// (views, loop results: any memref result of an op that uses it) is used.
int64_t lastUse(Value root, Block &block,
                const DenseMap<Operation *, int64_t> &positions) {
  int64_t last = -1;
  SmallVector<Value> worklist = {root};
  DenseSet<Value> seen;
  while (!worklist.empty()) {
    Value v = worklist.pop_back_val();
    if (!seen.insert(v).second)
      continue;
    for (Operation *user : v.getUsers()) {
      // Freeing a buffer is not using it.
      if (isa<memref::DeallocOp>(user))
        continue;
      last = std::max(last, topLevelPosition(user, block, positions));
      for (Value result : user->getResults())
        if (isa<BaseMemRefType>(result.getType()))
          worklist.push_back(result);
    }
  }
  return last;
}

/// Whether a buffer allocated inside a loop body stays within one iteration,
/// so that every iteration may reuse the same workspace bytes: none of its
/// aliases (views, loop-carried copies of it) is returned, yielded to an
/// enclosing loop as new state, or leaves through a region other than a loop
/// it started.
bool staysInIteration(memref::AllocOp alloc) {
  SmallVector<Value> worklist = {alloc.getResult()};
  DenseSet<Value> aliases;
  while (!worklist.empty()) {
    Value v = worklist.pop_back_val();
    if (!aliases.insert(v).second)
      continue;
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      if (isa<func::ReturnOp>(user))
        return false;
      if (auto yield = dyn_cast<scf::YieldOp>(user)) {
        // Yielded back as the state of a loop that it entered as its initial
        // value: still the same buffer. Anything else carries it further.
        auto loop = dyn_cast<scf::ForOp>(yield->getParentOp());
        if (!loop || !aliases.contains(
                         loop.getInitArgs()[use.getOperandNumber()]))
          return false;
        continue;
      }
      if (auto loop = dyn_cast<scf::ForOp>(user)) {
        unsigned first = loop.getNumControlOperands();
        if (use.getOperandNumber() >= first) {
          unsigned i = use.getOperandNumber() - first;
          worklist.push_back(loop.getRegionIterArgs()[i]);
          worklist.push_back(loop.getResult(i));
        }
        continue;
      }
      // Structured ops read and write through their operands only.
      if (isa<linalg::LinalgOp>(user))
        continue;
      if (user->getNumRegions() != 0)
        return false; // other region ops: not analysed, keep it allocated
      bool view = isa<ViewLikeOpInterface>(user) ||
                  isa<memref::ReinterpretCastOp, memref::CastOp,
                      memref::ExpandShapeOp, memref::CollapseShapeOp>(user);
      for (Value r : user->getResults())
        if (isa<BaseMemRefType>(r.getType())) {
          // A memref made from it by anything else (a select, a call) is
          // not followed: keep the allocation.
          if (!view)
            return false;
          worklist.push_back(r);
        }
    }
  }
  return true;
}

struct PlanWorkspacePass
    : public dlc::impl::PlanWorkspaceBase<PlanWorkspacePass> {
  using PlanWorkspaceBase::PlanWorkspaceBase;

  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (func.isPublic() && !func.isExternal())
        plan(func);
  }

  void plan(func::FuncOp func) {
    Block &body = func.getBody().front();
    DenseMap<Operation *, int64_t> positions;
    int64_t position = 0;
    for (Operation &op : body)
      positions[&op] = position++;

    std::vector<Buffer> buffers;
    func.walk([&](memref::AllocOp alloc) {
      MemRefType type = alloc.getType();
      if (!type.hasStaticShape() || !type.getLayout().isIdentity() ||
          type.getMemorySpace() || !type.getElementType().isIntOrFloat())
        return;
      // A buffer of a loop body lives while its top-level loop runs, if no
      // iteration hands it to the next one.
      bool nested = alloc->getBlock() != &body;
      if (nested && !staysInIteration(alloc))
        return;
      int64_t bytes = type.getNumElements() *
                      ((type.getElementTypeBitWidth() + 7) / 8);
      int64_t begin = topLevelPosition(alloc, body, positions);
      int64_t end = std::max(begin, lastUse(alloc, body, positions));
      buffers.push_back({alloc, begin, end, bytes});
    });
    if (buffers.empty())
      return;

    // Largest first, each at the lowest offset that overlaps no buffer
    // alive at the same time.
    std::vector<Buffer *> order;
    for (Buffer &b : buffers)
      order.push_back(&b);
    // Ties keep program order, so the plan is deterministic.
    llvm::sort(order, [](Buffer *a, Buffer *b) {
      return a->bytes != b->bytes ? a->bytes > b->bytes : a->begin < b->begin;
    });
    int64_t total = 0;
    std::vector<Buffer *> placed;
    for (Buffer *b : order) {
      std::vector<std::pair<int64_t, int64_t>> busy;
      for (Buffer *p : placed)
        if (p->begin <= b->end && b->begin <= p->end)
          busy.push_back({p->offset, p->offset + p->bytes});
      std::sort(busy.begin(), busy.end());
      int64_t offset = 0;
      for (auto [lo, hi] : busy) {
        if (offset + b->bytes <= lo)
          break;
        offset = std::max<int64_t>(offset, llvm::alignTo(hi, alignment));
      }
      b->offset = offset;
      total = std::max(total, offset + b->bytes);
      placed.push_back(b);
    }
    total = static_cast<int64_t>(llvm::alignTo(total, alignment));
    if (total == 0)
      return; // only empty buffers: nothing worth a workspace

    OpBuilder builder(func.getContext());
    auto workspaceType = MemRefType::get({total}, builder.getI8Type());
    unsigned index = func.getNumArguments();
    if (failed(func.insertArgument(index, workspaceType, {}, func.getLoc())))
      return signalPassFailure();
    Value workspace = func.getArgument(index);
    for (Buffer &b : buffers) {
      builder.setInsertionPoint(b.alloc);
      Value offset =
          arith::ConstantIndexOp::create(builder, b.alloc.getLoc(), b.offset);
      Value view = memref::ViewOp::create(builder, b.alloc.getLoc(),
                                          b.alloc.getType(), workspace, offset,
                                          ValueRange{});
      // Deallocations of a planned buffer go away with it.
      for (Operation *user : llvm::make_early_inc_range(b.alloc->getUsers()))
        if (isa<memref::DeallocOp>(user))
          user->erase();
      b.alloc.replaceAllUsesWith(view);
      b.alloc.erase();
    }
    func->setAttr("dlc.workspace_bytes", builder.getI64IntegerAttr(total));
  }
};

} // namespace
