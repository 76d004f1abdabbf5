//===- DistributeLoopsToGpu.cpp - kernels' loops on blocks and threads ----===//
//
// Each top-level scf.parallel becomes a grid of blocks over one linear range
// of its iterations; code that touches memory outside parallel loops becomes
// a one-thread kernel. convert-parallel-loops-to-gpu then makes the launches.
//
//===----------------------------------------------------------------------===//

#include "passes/gpu/Passes.h"

#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/CallInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Transforms/RegionUtils.h"

namespace dlc {
#define GEN_PASS_DEF_DISTRIBUTELOOPSTOGPU
#include "passes/gpu/Passes.h.inc"
} // namespace dlc

using namespace mlir;

namespace {

bool containsParallelLoop(Operation *op) {
  return op->walk([](scf::ParallelOp) { return WalkResult::interrupt(); })
      .wasInterrupted();
}

/// Whether `op` (or anything in it) reads or writes memory: the buffers are
/// device memory, so such code cannot run on the host.
bool touchesMemory(Operation *op) {
  return op
      ->walk([](Operation *nested) {
        // A reshape to a static shape reads its shape operand only in
        // principle: the lowering builds the view from the type.
        if (auto reshape = dyn_cast<memref::ReshapeOp>(nested))
          if (reshape.getType().hasStaticShape())
            return WalkResult::advance();
        if (auto effects = dyn_cast<MemoryEffectOpInterface>(nested)) {
          if (effects.hasEffect<MemoryEffects::Read>() ||
              effects.hasEffect<MemoryEffects::Write>())
            return WalkResult::interrupt();
          return WalkResult::advance();
        }
        if (nested->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
          return WalkResult::advance();
        return WalkResult::interrupt(); // unknown effects
      })
      .wasInterrupted();
}

gpu::ParallelLoopDimMappingAttr mapTo(MLIRContext *ctx, gpu::Processor p) {
  AffineMap identity = AffineMap::getMultiDimIdentityMap(1, ctx);
  return gpu::ParallelLoopDimMappingAttr::get(ctx, p, identity, identity);
}

LogicalResult setMapping(scf::ParallelOp loop, gpu::Processor p) {
  SmallVector<gpu::ParallelLoopDimMappingAttr> mapping(
      loop.getNumLoops(), mapTo(loop.getContext(), p));
  return gpu::setMappingAttr(loop, mapping);
}

struct DistributeLoopsToGpuPass
    : public dlc::impl::DistributeLoopsToGpuBase<DistributeLoopsToGpuPass> {
  using Base::Base;

  /// The block-level loops made so far: what runs on the device.
  llvm::SmallPtrSet<Operation *, 16> kernels;

  /// Replaces `loop` by blocks x threads over the linear range of its
  /// iterations; its nested loops run sequentially in each thread.
  LogicalResult distribute(scf::ParallelOp loop) {
    if (!loop.getInitVals().empty())
      return loop.emitOpError(
          "with reductions cannot be distributed to GPU threads");
    WalkResult nestedMapped = loop.getBody()->walk([](scf::ParallelOp nested) {
      return failed(setMapping(nested, gpu::Processor::Sequential))
                 ? WalkResult::interrupt()
                 : WalkResult::advance();
    });
    if (nestedMapped.wasInterrupted())
      return failure();

    IRRewriter b(loop);
    Location loc = loop.getLoc();
    auto index = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, loc, v);
    };
    // Trip count of each dim and their product.
    SmallVector<Value> counts;
    Value total = index(1);
    for (auto [lb, ub, step] : llvm::zip(
             loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
      // Folded where the bounds are constants, so the block size can be
      // chosen from the count.
      Value extent = b.createOrFold<arith::SubIOp>(loc, ub, lb);
      Value count = b.createOrFold<arith::MaxSIOp>(
          loc, b.createOrFold<arith::CeilDivSIOp>(loc, extent, step), index(0));
      counts.push_back(count);
      total = b.createOrFold<arith::MulIOp>(loc, total, count);
    }
    // A range smaller than a block gets a block of whole warps (one thread
    // for serial code).
    int64_t threads = blockSize;
    if (auto known = getConstantIntValue(total)) {
      if (*known <= 1)
        threads = 1;
      else if (*known < blockSize)
        threads = llvm::alignTo(*known, 32);
    }
    Value threadCount = index(threads);
    // At least one block: CUDA refuses an empty grid, and the guard keeps
    // the threads of an empty range idle.
    Value blocks = b.createOrFold<arith::MaxSIOp>(
        loc, b.createOrFold<arith::CeilDivUIOp>(loc, total, threadCount),
        index(1));

    auto grid = scf::ParallelOp::create(
        b, loc, ValueRange{index(0)}, ValueRange{blocks}, ValueRange{index(1)});
    b.setInsertionPointToStart(grid.getBody());
    auto block =
        scf::ParallelOp::create(b, loc, ValueRange{index(0)},
                                ValueRange{threadCount}, ValueRange{index(1)});
    b.setInsertionPointToStart(block.getBody());
    Value linear = arith::AddIOp::create(
        b, loc,
        arith::MulIOp::create(b, loc, grid.getInductionVars()[0], threadCount),
        block.getInductionVars()[0]);
    Value inRange =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, linear, total);
    auto guard = scf::IfOp::create(b, loc, inRange, /*withElseRegion=*/false);
    b.setInsertionPointToStart(guard.thenBlock());
    // The last dim varies fastest, across neighbouring threads.
    SmallVector<Value> ivs(counts.size());
    Value rest = linear;
    for (int64_t d = static_cast<int64_t>(counts.size()) - 1; d >= 0; --d) {
      Value i = rest;
      if (d > 0) {
        i = arith::RemUIOp::create(b, loc, rest, counts[d]);
        rest = arith::DivUIOp::create(b, loc, rest, counts[d]);
      }
      ivs[d] = arith::AddIOp::create(
          b, loc, loop.getLowerBound()[d],
          arith::MulIOp::create(b, loc, i, loop.getStep()[d]));
    }
    loop.getBody()->getTerminator()->erase();
    b.inlineBlockBefore(loop.getBody(), guard.thenBlock(),
                        guard.thenBlock()->getTerminator()->getIterator(), ivs);
    b.eraseOp(loop);

    if (failed(setMapping(grid, gpu::Processor::BlockX)) ||
        failed(setMapping(block, gpu::Processor::ThreadX)))
      return failure();
    kernels.insert(grid);
    return success();
  }

  /// Moves `group` (consecutive ops of one block, in order) into a loop of
  /// one iteration and distributes it: one thread runs them on the device.
  LogicalResult runOnOneThread(ArrayRef<Operation *> group) {
    llvm::SmallPtrSet<Operation *, 8> members(group.begin(), group.end());
    for (Operation *op : group)
      for (Value result : op->getResults())
        for (Operation *user : result.getUsers()) {
          Operation *ancestor = op->getBlock()->findAncestorOpInBlock(*user);
          if (!ancestor || !members.contains(ancestor))
            return op->emitOpError(
                "reads device memory for host code; the CUDA target cannot "
                "place it");
        }
    IRRewriter b(group.back());
    Location loc = group.front()->getLoc();
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    auto loop = scf::ParallelOp::create(b, loc, ValueRange{zero},
                                        ValueRange{one}, ValueRange{one});
    Operation *terminator = loop.getBody()->getTerminator();
    for (Operation *op : group)
      op->moveBefore(terminator);
    return distribute(loop);
  }

  LogicalResult distributeBlock(Block &block) {
    SmallVector<Operation *> group;
    auto flush = [&]() -> LogicalResult {
      // Host-only ops at the end of the group stay on the host.
      while (!group.empty() && !touchesMemory(group.back()))
        group.pop_back();
      // So do host-only ops whose results host code uses (they read no
      // memory, so they can run before the kernel); from the back, so that
      // what they use stays with them.
      llvm::SmallPtrSet<Operation *, 8> members(group.begin(), group.end());
      for (Operation *op : llvm::reverse(group)) {
        bool usedOutside = llvm::any_of(op->getUsers(), [&](Operation *user) {
          Operation *ancestor = op->getBlock()->findAncestorOpInBlock(*user);
          return !ancestor || !members.contains(ancestor);
        });
        if (usedOutside && !touchesMemory(op))
          members.erase(op);
      }
      SmallVector<Operation *> device;
      for (Operation *op : group)
        if (members.contains(op))
          device.push_back(op);
      group.clear();
      return device.empty() ? success() : runOnOneThread(device);
    };
    for (Operation &op : llvm::make_early_inc_range(block)) {
      if (op.hasTrait<OpTrait::IsTerminator>()) {
        if (failed(flush()))
          return failure();
        continue;
      }
      if (auto loop = dyn_cast<scf::ParallelOp>(op)) {
        if (failed(flush()) || failed(distribute(loop)))
          return failure();
        continue;
      }
      if (containsParallelLoop(&op)) {
        // A host loop (or branch) around kernels.
        if (failed(flush()))
          return failure();
        for (Region &region : op.getRegions())
          for (Block &nested : region)
            if (failed(distributeBlock(nested)))
              return failure();
        continue;
      }
      if (touchesMemory(&op) || !group.empty())
        group.push_back(&op);
    }
    return flush();
  }

  /// Kernels read constants through their own memref.get_global (and the
  /// views of it they use), so that outlining copies the global into the
  /// device module: a view made on the host would pass the host's address.
  void sinkGlobals(func::FuncOp func) {
    for (Operation *kernel : kernels) {
      Region &body = cast<scf::ParallelOp>(kernel).getRegion();
      llvm::SetVector<Value> captured;
      getUsedValuesDefinedAbove(body, captured);
      OpBuilder b = OpBuilder::atBlockBegin(&body.front());
      IRMapping copies;
      for (Value value : captured) {
        // The chain of views from a global to `value`, root last.
        SmallVector<Operation *> chain;
        Operation *def = value.getDefiningOp();
        while (def && isa<memref::SubViewOp, memref::CollapseShapeOp,
                          memref::ExpandShapeOp, memref::CastOp,
                          memref::ReinterpretCastOp>(def)) {
          chain.push_back(def);
          def = def->getOperand(0).getDefiningOp();
        }
        if (!def || !isa<memref::GetGlobalOp>(def))
          continue;
        chain.push_back(def);
        for (Operation *op : llvm::reverse(chain))
          if (!copies.contains(op->getResult(0)))
            b.clone(*op, copies);
        replaceAllUsesInRegionWith(value, copies.lookup(value), body);
      }
    }
    // What the host no longer uses.
    // (From the last: a view goes before the global it views.)
    SmallVector<Operation *> views;
    func.walk([&](Operation *op) {
      if (isa<memref::GetGlobalOp, memref::SubViewOp, memref::CollapseShapeOp,
              memref::ExpandShapeOp, memref::CastOp, memref::ReinterpretCastOp>(
              op))
        views.push_back(op);
    });
    for (Operation *op : llvm::reverse(views))
      if (op->use_empty())
        op->erase();
  }

  /// What the device cannot use: a buffer the host allocates (only the
  /// planned workspace is device memory) and calls from a kernel other than
  /// a run-time check's report.
  LogicalResult checkKernels(func::FuncOp func) {
    for (Operation *kernel : kernels) {
      Region &body = cast<scf::ParallelOp>(kernel).getRegion();
      llvm::SetVector<Value> captured;
      getUsedValuesDefinedAbove(body, captured);
      for (Value value : captured) {
        Value root = value;
        while (auto view = root.getDefiningOp<ViewLikeOpInterface>())
          root = view.getViewSource();
        if (Operation *def = root.getDefiningOp())
          if (isa<memref::AllocOp, memref::AllocaOp>(def))
            return def->emitOpError(
                "allocates a buffer on the host that a GPU kernel uses "
                "(one not in the planned workspace: dynamic or loop-carried); "
                "the CUDA target cannot place it yet");
      }
      // A run-time check's report is rewritten for the device
      // (gpu-merge-kernel-modules); nothing else may be called.
      WalkResult calls = body.walk([](CallOpInterface call) {
        auto callee =
            dyn_cast_if_present<SymbolRefAttr>(call.getCallableForCallee());
        if (callee && callee.getLeafReference() == "dlc_report_error")
          return WalkResult::advance();
        call->emitOpError("in a GPU kernel: calls are not supported by the "
                          "CUDA target");
        return WalkResult::interrupt();
      });
      if (calls.wasInterrupted())
        return failure();
    }
    return success();
  }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    if (blockSize < 32 || blockSize > 1024) {
      func.emitError("gpu-distribute-loops: block-size must be in [32, 1024]");
      return signalPassFailure();
    }
    kernels.clear();
    if (failed(distributeBlock(func.getBody().front())) ||
        failed(checkKernels(func)))
      return signalPassFailure();
    sinkGlobals(func);
  }
};

} // namespace
