//===- TileDynamicBatch.cpp - batch-parallel ops a sample at a time -------===//
//
// Convolutions, pools and the ops between them compute each sample of dim 0
// from that sample alone. When the batch size is known only at run time,
// the runs of such ops become one loop over the batch whose body is the
// same ops on one sample, of static shapes: every later pass (fusion, the
// conv algorithm, tiling, the workspace plan) sees what a static batch-1
// compile sees, and the loop's trip count is the call's batch size.
//
//===----------------------------------------------------------------------===//

#include "passes/graph/Passes.h"

#include "dialects/graph/GraphDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

namespace dlc::graph {
#define GEN_PASS_DEF_TILEDYNAMICBATCH
#include "passes/graph/Passes.h.inc"
} // namespace dlc::graph

using namespace mlir;
using namespace dlc::graph;

namespace {

/// A tensor whose only dynamic dim is dim 0.
bool isBatchTensor(Type type) {
  auto t = dyn_cast<RankedTensorType>(type);
  return t && t.getRank() >= 1 && t.isDynamicDim(0) &&
         t.getNumDynamicDims() == 1;
}

/// Ops whose dim 0 is a batch: result sample n depends on operand sample n
/// only (operands without the dynamic dim are weights or broadcasts).
bool isBatchParallel(Operation *op) {
  if (isa<Conv2dOp, BatchNormOp, MaxPool2dOp, AvgPool2dOp, GlobalAvgPoolOp,
          ReshapeOp, ReluOp, SigmoidOp, TanhOp, LeakyReluOp, ClipOp, UnaryOp,
          AddOp, SubOp, MulOp, DivOp, PowOp, MaxOp, MinOp>(op))
    return true;
  if (auto softmax = dyn_cast<SoftmaxOp>(op))
    return softmax.getAxis() != 0;
  if (auto softmax = dyn_cast<LogSoftmaxOp>(op))
    return softmax.getAxis() != 0;
  // Rows of a run-time count against a static matrix.
  if (auto matmul = dyn_cast<MatmulOp>(op))
    return cast<RankedTensorType>(matmul.getLhs().getType()).getRank() >= 2 &&
           cast<RankedTensorType>(matmul.getRhs().getType()).hasStaticShape();
  if (auto pad = dyn_cast<PadOp>(op)) {
    ArrayRef<int64_t> pads = pad.getPads();
    return pads[0] == 0 && pads[pads.size() / 2] == 0;
  }
  if (auto concat = dyn_cast<ConcatOp>(op))
    return concat.getAxis() != 0;
  if (auto reduce = dyn_cast<ReduceOp>(op))
    return !llvm::is_contained(reduce.getAxes(), 0) && reduce.getKeepdims();
  return false;
}

/// Ops worth a loop of their own: the elementwise ones only join a loop.
bool startsLoop(Operation *op) {
  return isa<Conv2dOp, BatchNormOp, MaxPool2dOp, AvgPool2dOp, GlobalAvgPoolOp,
             ReshapeOp, ReduceOp, PadOp, ConcatOp, MatmulOp>(op);
}

/// Whether `op` can run a sample at a time: batch-parallel, every result a
/// batch tensor, every operand a batch tensor or static (and a reshape
/// keeps dim 0 where it is).
bool canTile(Operation *op) {
  if (!isBatchParallel(op) || op->getNumResults() == 0 ||
      op->getNumRegions() != 0)
    return false;
  if (!llvm::all_of(op->getResultTypes(), isBatchTensor))
    return false;
  bool anyBatch = false;
  for (Value operand : op->getOperands()) {
    auto t = dyn_cast<RankedTensorType>(operand.getType());
    if (!t)
      return false;
    if (isBatchTensor(t))
      anyBatch = true;
    else if (!t.hasStaticShape())
      return false;
  }
  if (!anyBatch)
    return false;
  if (auto reshape = dyn_cast<ReshapeOp>(op))
    return isBatchTensor(reshape.getInput().getType());
  return true;
}

/// Below this many FLOPs per sample, convolutions run in tiles of samples
/// like matmuls.
constexpr int64_t kSmallSampleFlops = int64_t(1) << 24;

/// The FLOPs of one sample of a convolution (2 x multiply-adds), else 0.
int64_t sampleFlops(Operation *op) {
  auto conv = dyn_cast<Conv2dOp>(op);
  if (!conv)
    return 0;
  auto out = cast<RankedTensorType>(conv.getType());
  auto filter = cast<RankedTensorType>(conv.getFilter().getType());
  int64_t flops = 2;
  for (int64_t d = 1; d < out.getRank(); ++d)
    flops *= out.getDimSize(d);
  for (int64_t d = 1; d < filter.getRank(); ++d)
    flops *= filter.getDimSize(d);
  return flops;
}

/// `type` with `rows` in place of its dynamic dim 0.
RankedTensorType tileType(Type type, int64_t rows) {
  auto t = cast<RankedTensorType>(type);
  SmallVector<int64_t> shape(t.getShape());
  shape[0] = rows;
  return RankedTensorType::get(shape, t.getElementType());
}

/// Offsets [n, 0, ...], sizes [rows, static dims...], unit strides.
void tileSlice(OpBuilder &b, Value n, RankedTensorType tile,
               SmallVectorImpl<OpFoldResult> &offsets,
               SmallVectorImpl<OpFoldResult> &sizes,
               SmallVectorImpl<OpFoldResult> &strides) {
  offsets.push_back(n);
  for (int64_t d = 1; d < tile.getRank(); ++d)
    offsets.push_back(b.getIndexAttr(0));
  for (int64_t size : tile.getShape())
    sizes.push_back(b.getIndexAttr(size));
  strides.assign(tile.getRank(), b.getIndexAttr(1));
}

/// Replaces the ops of `group` (in block order) by loops over dim 0, one
/// per tile size of `sizes` (descending, the last 1): tiles of each size
/// while whole ones remain of the samples the larger sizes left.
void tileGroup(ArrayRef<Operation *> group, ArrayRef<int64_t> sizes) {
  llvm::SmallPtrSet<Operation *, 16> members(group.begin(), group.end());
  llvm::SetVector<Value> inputs, escaping;
  for (Operation *op : group) {
    for (Value operand : op->getOperands())
      if (isBatchTensor(operand.getType()) &&
          !members.contains(operand.getDefiningOp()))
        inputs.insert(operand);
    for (Value result : op->getResults())
      if (llvm::any_of(result.getUsers(), [&](Operation *user) {
            return !members.contains(user);
          }))
        escaping.insert(result);
  }
  Operation *last = group.back();
  OpBuilder b(last->getContext());
  b.setInsertionPointAfter(last);
  Location loc = group.front()->getLoc();
  // The importer makes every batch operand of these ops one size.
  Value batch = tensor::DimOp::create(b, loc, inputs.front(), 0);
  SmallVector<Value> values;
  for (Value v : escaping)
    values.push_back(
        tensor::EmptyOp::create(b, loc, v.getType(), ValueRange{batch}));
  // One loop: samples [from, to) in tiles of `size`.
  auto loopOver = [&](Value from, Value to, int64_t size) {
    Value step = arith::ConstantIndexOp::create(b, loc, size);
    auto loop = scf::ForOp::create(
        b, loc, from, to, step, values,
        [&](OpBuilder &nb, Location nloc, Value n, ValueRange acc) {
          IRMapping map;
          for (Value input : inputs) {
            RankedTensorType tile = tileType(input.getType(), size);
            SmallVector<OpFoldResult> offsets, sizes, strides;
            tileSlice(nb, n, tile, offsets, sizes, strides);
            map.map(input, tensor::ExtractSliceOp::create(
                               nb, nloc, tile, input, offsets, sizes, strides));
          }
          for (Operation *op : group) {
            Operation *clone = nb.clone(*op, map);
            for (Value result : clone->getResults())
              result.setType(tileType(result.getType(), size));
            if (auto reshape = dyn_cast<ReshapeOp>(clone))
              reshape.setShape(reshape.getType().getShape());
          }
          SmallVector<Value> yields;
          for (auto [v, into] : llvm::zip(escaping, acc)) {
            RankedTensorType tile = tileType(v.getType(), size);
            SmallVector<OpFoldResult> offsets, sizes, strides;
            tileSlice(nb, n, tile, offsets, sizes, strides);
            yields.push_back(tensor::InsertSliceOp::create(
                nb, nloc, map.lookup(v), into, offsets, sizes, strides));
          }
          scf::YieldOp::create(nb, nloc, yields);
        });
    values.assign(loop.getResults().begin(), loop.getResults().end());
  };
  Value start = arith::ConstantIndexOp::create(b, loc, 0);
  for (int64_t size : sizes) {
    if (size == 1)
      break;
    Value left = arith::SubIOp::create(b, loc, batch, start);
    Value partial = arith::RemUIOp::create(
        b, loc, left, arith::ConstantIndexOp::create(b, loc, size));
    Value whole = arith::SubIOp::create(b, loc, batch, partial);
    loopOver(start, whole, size);
    start = whole;
  }
  loopOver(start, batch, 1);
  for (auto [escaped, result] : llvm::zip(escaping, values))
    Value(escaped).replaceUsesWithIf(result, [&](OpOperand &use) {
      return !members.contains(use.getOwner());
    });
  for (Operation *op : llvm::reverse(group))
    op->erase();
}

struct TileDynamicBatchPass
    : public dlc::graph::impl::TileDynamicBatchBase<TileDynamicBatchPass> {
  using TileDynamicBatchBase::TileDynamicBatchBase;
  void runOnOperation() override {
    // Every block, subgraphs' (an If's branches) too; the loops' bodies
    // hold static ops only.
    SmallVector<Block *> blocks;
    getOperation().walk([&](Block *block) { blocks.push_back(block); });
    for (Block *block : blocks)
      tileBlock(*block);
  }

  void tileBlock(Block &body) {
    // Groups of ops, each connected: an op joins the open group when one of
    // its batch operands comes from it (and none from elsewhere, unless it
    // is elementwise: the importer made such operands one size), and an
    // op using the group's results otherwise closes it first, so that the
    // loop, placed at the group's last op, comes before every user. A
    // matmul after convolutions starts a loop of its own: it wants tiles of
    // many rows, they one sample at a time (a body compiled once).
    SmallVector<SmallVector<Operation *>> groups;
    llvm::SmallPtrSet<Operation *, 16> open;
    bool openSpatial = false;
    auto close = [&] {
      open.clear();
      openSpatial = false;
    };
    for (Operation &op : body) {
      // Uses inside an op's regions (an If's branches) count too.
      bool usesOpen = false;
      op.walk([&](Operation *inner) {
        for (Value v : inner->getOperands())
          usesOpen |= open.contains(v.getDefiningOp());
      });
      if (canTile(&op)) {
        bool outsideBatch = llvm::any_of(op.getOperands(), [&](Value v) {
          return isBatchTensor(v.getType()) &&
                 !open.contains(v.getDefiningOp());
        });
        // Elementwise ops and concats may take batch operands from outside
        // the loop: the importer made them one size.
        bool elementwise =
            (!startsLoop(&op) && !isa<SoftmaxOp>(op)) || isa<ConcatOp>(op);
        bool matmulAfterSpatial = isa<MatmulOp>(op) && openSpatial;
        if (usesOpen && (!outsideBatch || elementwise) && !matmulAfterSpatial) {
          groups.back().push_back(&op);
          open.insert(&op);
          openSpatial |= startsLoop(&op) && !isa<MatmulOp, ReshapeOp>(op);
          continue;
        }
        if (startsLoop(&op)) {
          close();
          groups.emplace_back();
          groups.back().push_back(&op);
          open.insert(&op);
          openSpatial = !isa<MatmulOp, ReshapeOp>(op);
          continue;
        }
      }
      if (usesOpen)
        close();
    }
    // Matrix products want many rows per tile (the register tile's rows,
    // and the weights read once per tile), and so do convolutions of little
    // work per sample (each kernel's start on the thread pool is paid per
    // tile): tiles of `rows`, then of `samples` (a batch of 8 against a
    // classifier's weights read them 8 times), then one at a time. The
    // others run a sample at a time, with one body to compile (a second,
    // batched body doubled resnet18's compile time; a sample's deep layers
    // of few pixels fill register tiles less well than a batch's).
    for (auto &group : groups) {
      bool matmul =
          llvm::any_of(group, [](Operation *op) { return isa<MatmulOp>(op); });
      int64_t flops = 0;
      for (Operation *op : group)
        flops += sampleFlops(op);
      SmallVector<int64_t> sizes;
      if ((matmul || flops < kSmallSampleFlops) && rows > 1) {
        sizes.push_back(rows);
        if (samples > 1 && samples < rows)
          sizes.push_back(samples);
      }
      sizes.push_back(1);
      tileGroup(group, sizes);
    }
  }
};

} // namespace
