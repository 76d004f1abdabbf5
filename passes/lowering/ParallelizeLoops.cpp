//===- ParallelizeLoops.cpp - kernels' outer loops on the thread pool -----===//
//
// Each outermost scf.parallel (a linalg op's parallel dimensions) and each
// scf.for its generator marked `dlc.parallel` (the matmul kernel's row and
// column tile loops) that does enough work is outlined into a function over a
// range of its iterations:
//
//   func.func private @f_parallel_0(%begin: index, %end: index, captures...)
//     for u in [0, units): if begin <= u < end:
//       (i0, .., ij) = delinearize(u); original body
//
// and replaced by a call of the launcher `@f_parallel_0_launch(n, min_chunk,
// captures...)` (marked with the body and the kernel's ONNX node name, for
// the pool's profile), a declaration that lower-parallel-launches defines once the
// captures are LLVM values: it packs them into a frame on the stack and hands
// the frame to the thread pool, which calls the body over disjoint ranges.
//
// Only iterations that write disjoint data are ever split, so every element
// is computed by the same code at any thread count. The leading dimensions are
// distributed, enough of them for about 64 units; the others stay inner
// loops, the innermost always when the body is elementwise code (it is the
// dimension LLVM vectorizes). A long 1-D elementwise loop is first blocked
// into units of up to 1024 elements. Side-effect-free values the body uses (constants, views, globals) are
// recreated inside it, so the captures are mostly the function's arguments
// and the workspace.
//
//===----------------------------------------------------------------------===//

#include "passes/lowering/Passes.h"
#include "passes/lowering/Outlining.h"

#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/RegionUtils.h"

namespace dlc {
#define GEN_PASS_DEF_PARALLELIZELOOPS
#include "passes/lowering/Passes.h.inc"
} // namespace dlc

using namespace mlir;

namespace {

/// Distribute leading dimensions until there are this many units (or all).
constexpr int64_t kTargetUnits = 64;
/// Bodies smaller than this (in estimated operations) are elementwise code
/// that LLVM vectorizes along the innermost dimension.
constexpr int64_t kVectorizableBodyWork = 256;
/// Work assumed for a loop whose trip count is not a constant.
constexpr int64_t kUnknownTrips = 16;

/// The iterations of a loop dimension with constant bounds and a positive
/// constant step.
std::optional<int64_t> constantTrips(OpFoldResult lb, OpFoldResult ub,
                                     OpFoldResult step) {
  auto l = getConstantIntValue(lb), u = getConstantIntValue(ub),
       s = getConstantIntValue(step);
  if (!l || !u || !s || *s <= 0)
    return std::nullopt;
  return std::max<int64_t>(0, (*u - *l + *s - 1) / *s);
}

/// A rough count of the operations `region` executes: nested loops with
/// constant bounds multiply their bodies' counts.
int64_t estimateWork(Region &region) {
  int64_t work = 0;
  for (Block &block : region)
    for (Operation &op : block) {
      int64_t trips = 1;
      if (auto loop = dyn_cast<LoopLikeOpInterface>(op)) {
        auto lbs = loop.getLoopLowerBounds();
        auto ubs = loop.getLoopUpperBounds();
        auto steps = loop.getLoopSteps();
        if (lbs && ubs && steps) {
          for (auto [lb, ub, step] : llvm::zip(*lbs, *ubs, *steps))
            trips *= constantTrips(lb, ub, step).value_or(kUnknownTrips);
        } else {
          trips = kUnknownTrips;
        }
      }
      int64_t inner = 0;
      for (Region &r : op.getRegions())
        inner += estimateWork(r);
      work += trips * std::max<int64_t>(1, inner);
    }
  return work;
}

struct ParallelizeLoopsPass
    : public dlc::impl::ParallelizeLoopsBase<ParallelizeLoopsPass> {
  using ParallelizeLoopsBase::ParallelizeLoopsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> functions(module.getOps<func::FuncOp>());
    for (func::FuncOp func : functions) {
      if (func.isDeclaration())
        continue;
      if (failed(markedLoopsToParallel(func)))
        return signalPassFailure();
      SmallVector<scf::ParallelOp> outermost;
      func.walk([&](scf::ParallelOp loop) {
        if (!loop->getParentOfType<scf::ParallelOp>())
          outermost.push_back(loop);
      });
      unsigned counter = 0;
      for (scf::ParallelOp loop : outermost)
        outline(func, loop, counter);
    }
  }

  /// Rewrites each marked scf.for without results as a 1-D scf.parallel and
  /// merges directly nested ones (rows and column tiles: one 2-D space).
  LogicalResult markedLoopsToParallel(func::FuncOp func) {
    SmallVector<scf::ForOp> marked;
    func.walk([&](scf::ForOp loop) {
      if (loop->hasAttr("dlc.parallel") && loop.getNumResults() == 0)
        marked.push_back(loop);
    });
    if (marked.empty())
      return success();
    IRRewriter rewriter(func.getContext());
    for (scf::ForOp loop : marked) {
      rewriter.setInsertionPoint(loop);
      auto parallel = scf::ParallelOp::create(
          rewriter, loop.getLoc(), ValueRange{loop.getLowerBound()},
          ValueRange{loop.getUpperBound()}, ValueRange{loop.getStep()});
      Block *body = parallel.getBody();
      rewriter.eraseOp(body->getTerminator());
      rewriter.mergeBlocks(loop.getBody(), body, parallel.getInductionVars());
      rewriter.setInsertionPointToEnd(body);
      rewriter.eraseOp(body->getTerminator()); // the scf.yield
      scf::ReduceOp::create(rewriter, loop.getLoc());
      rewriter.eraseOp(loop);
    }
    RewritePatternSet patterns(func.getContext());
    scf::ParallelOp::getCanonicalizationPatterns(patterns, func.getContext());
    return applyPatternsGreedily(func, std::move(patterns));
  }

  void outline(func::FuncOp func, scf::ParallelOp loop, unsigned &counter) {
    if (loop.getNumResults() != 0)
      return;
    // Bounds must be constants: the units are counted at compile time.
    SmallVector<int64_t> lbs, trips, steps;
    for (auto [lb, ub, step] : llvm::zip(loop.getLowerBound(),
                                         loop.getUpperBound(), loop.getStep())) {
      std::optional<int64_t> count = constantTrips(lb, ub, step);
      if (!count)
        return;
      lbs.push_back(*getConstantIntValue(lb));
      steps.push_back(*getConstantIntValue(step));
      trips.push_back(*count);
    }
    int64_t total = 1;
    for (int64_t t : trips)
      total *= t;
    int64_t bodyWork = std::max<int64_t>(1, estimateWork(loop.getRegion()));
    if (total < 2 || total * bodyWork < minWork)
      return;
    // A buffer allocated in the body would be one per iteration, and one
    // that plan-workspace placed in the workspace (a view made in the body)
    // would be shared by the threads: a body with either is not split.
    bool ownsBuffers = false;
    loop.getBody()->walk([&](Operation *op) {
      if (hasEffect<MemoryEffects::Allocate>(op) || isa<memref::ViewOp>(op))
        ownsBuffers = true;
    });
    if (ownsBuffers)
      return;

    // A long 1-D elementwise loop (a flattened same-shape operation) is
    // blocked into [trips / B, B]: B-element blocks are the units, so a
    // thread's loop over the units is short and each block is a vectorizable
    // inner loop.
    int64_t block = 1, originalLb = lbs[0], originalStep = steps[0];
    if (trips.size() == 1 && bodyWork < kVectorizableBodyWork)
      for (int64_t b = 1024; b >= 16 && block == 1; b /= 2)
        if (trips[0] % b == 0 && trips[0] / b >= 2)
          block = b;
    if (block > 1) {
      trips = {trips[0] / block, block};
      lbs = {0, 0};
      steps = {1, 1};
    }

    // Distributed dimensions [0, split), their units, and each unit's work.
    // The innermost dimension stays a loop of its own when the body is a few
    // scalar operations: it is the contiguous one that LLVM vectorizes.
    size_t distributable = trips.size();
    if (distributable > 1 && bodyWork < kVectorizableBodyWork)
      --distributable;
    size_t split = 0;
    int64_t units = 1;
    while (split < distributable && units < kTargetUnits)
      units *= trips[split++];
    if (units < 2)
      return;
    int64_t unitWork = total * bodyWork / units;
    // A chunk should pay for waking a thread: about half of minWork.
    int64_t minChunk = std::max<int64_t>(1, (minWork / 2 + unitWork - 1) /
                                                std::max<int64_t>(1, unitWork));

    // Values the body uses from outside: sink what can be recreated,
    // capture the rest.
    SetVector<Operation *> sunk;
    SetVector<Value> captures;
    SetVector<Value> used;
    getUsedValuesDefinedAbove(loop.getRegion(), used);
    if (failed(dlc::collectCaptures(used.getArrayRef(), sunk, captures)))
      return;

    MLIRContext *ctx = func.getContext();
    Location loc = loop.getLoc();
    OpBuilder b(ctx);
    std::string node = dlc::nodeName(loc);
    std::string fragment = dlc::identifierFragment(node);
    std::string name =
        (func.getName() + (fragment.empty() ? "" : "_" + fragment) +
         "_parallel_" + Twine(counter++))
            .str();
    SmallVector<Type> argTypes(2, b.getIndexType());
    for (Value c : captures)
      argTypes.push_back(c.getType());
    b.setInsertionPoint(func);
    auto body = func::FuncOp::create(b, loc, name,
                                     b.getFunctionType(argTypes, {}));
    body.setPrivate();
    dlc::markDisjointBuffers(body, captures, sunk, /*firstCapture=*/2);
    Block *entry = body.addEntryBlock();
    b.setInsertionPointToStart(entry);
    IRMapping mapping;
    for (auto [i, c] : llvm::enumerate(captures))
      mapping.map(c, entry->getArgument(i + 2));
    dlc::cloneSunkOps(b, sunk, mapping);

    auto index = [&](int64_t v) {
      return arith::ConstantIndexOp::create(b, loc, v).getResult();
    };
    // for u in [0, units): if begin <= u < end: body(u). A loop over
    // [begin, end) would do the same, but with those bounds unknown LLVM
    // cannot tell that the body's loads and stores at offsets scaled by u
    // stay in disjoint buffers, and keeps values in memory that it otherwise
    // keeps in registers (LeNet's pooling and im2col: 25% slower).
    Value begin = entry->getArgument(0), end = entry->getArgument(1);
    auto unitLoop = scf::ForOp::create(b, loc, index(0), index(units), index(1));
    b.setInsertionPoint(unitLoop.getBody()->getTerminator());
    Value unit = unitLoop.getInductionVar();
    Value mine = arith::AndIOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, unit, begin),
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, unit, end));
    auto ifMine = scf::IfOp::create(b, loc, mine, /*withElseRegion=*/false);
    b.setInsertionPoint(ifMine.thenBlock()->getTerminator());
    // Unit u -> one index per distributed dimension, innermost fastest.
    Value rest = unit;
    SmallVector<Value> ivs(split);
    for (size_t d = split; d-- > 0;) {
      Value t = index(trips[d]);
      Value i = d == 0 ? rest : arith::RemUIOp::create(b, loc, rest, t);
      if (d != 0)
        rest = arith::DivUIOp::create(b, loc, rest, t);
      Value scaled = steps[d] == 1
                         ? i
                         : arith::MulIOp::create(b, loc, i, index(steps[d]));
      ivs[d] = lbs[d] == 0
                   ? scaled
                   : arith::AddIOp::create(b, loc, scaled, index(lbs[d]));
    }
    Block *loopBody = loop.getBody();
    auto cloneBody = [&](OpBuilder &nb) {
      for (Operation &op : loopBody->without_terminator())
        nb.clone(op, mapping);
    };
    // The loop's induction variables from the (possibly blocked) ones.
    auto mapInductionVars = [&](OpBuilder &nb, ArrayRef<Value> all) {
      if (block == 1) {
        for (auto [iv, v] : llvm::zip(loop.getInductionVars(), all))
          mapping.map(iv, v);
        return;
      }
      auto constant = [&](int64_t v) {
        return arith::ConstantIndexOp::create(nb, loc, v).getResult();
      };
      Value flat = arith::AddIOp::create(
          nb, loc, arith::MulIOp::create(nb, loc, all[0], constant(block)),
          all[1]);
      if (originalStep != 1)
        flat = arith::MulIOp::create(nb, loc, flat, constant(originalStep));
      if (originalLb != 0)
        flat = arith::AddIOp::create(nb, loc, flat, constant(originalLb));
      mapping.map(loop.getInductionVars()[0], flat);
    };
    if (split == trips.size()) {
      mapInductionVars(b, ivs);
      cloneBody(b);
    } else {
      SmallVector<Value> innerLbs, innerUbs, innerSteps;
      for (size_t d = split; d < trips.size(); ++d) {
        innerLbs.push_back(index(lbs[d]));
        innerUbs.push_back(index(lbs[d] + trips[d] * steps[d]));
        innerSteps.push_back(index(steps[d]));
      }
      scf::ParallelOp::create(
          b, loc, innerLbs, innerUbs, innerSteps,
          [&](OpBuilder &nb, Location, ValueRange inner) {
            SmallVector<Value> all(ivs);
            all.append(inner.begin(), inner.end());
            mapInductionVars(nb, all);
            cloneBody(nb);
          });
    }
    b.setInsertionPointToEnd(entry);
    func::ReturnOp::create(b, loc);

    // The launcher: defined by lower-parallel-launches.
    SmallVector<Type> launchTypes(2, b.getIndexType());
    launchTypes.append(argTypes.begin() + 2, argTypes.end());
    b.setInsertionPoint(func);
    auto launcher = func::FuncOp::create(
        b, loc, name + "_launch", b.getFunctionType(launchTypes, {}));
    launcher.setPrivate();
    launcher->setAttr("dlc.parallel_body", FlatSymbolRefAttr::get(body));
    // What the thread pool's profile calls the kernel.
    launcher->setAttr("dlc.kernel_name",
                      b.getStringAttr(node.empty() ? func.getName().str()
                                                   : node));

    b.setInsertionPoint(loop);
    SmallVector<Value> operands = {index(units), index(minChunk)};
    operands.append(captures.begin(), captures.end());
    func::CallOp::create(b, loc, launcher, operands);
    loop.erase();
  }
};

} // namespace
