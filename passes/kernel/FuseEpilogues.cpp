//===- FuseEpilogues.cpp - fuse bias, residual, activation into kernels ---===//

#include "passes/kernel/Passes.h"

#include "dialects/graph/GraphDialect.h"
#include "dialects/kernel/KernelDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace dlc::kernel {
#define GEN_PASS_DEF_FUSEEPILOGUES
#include "passes/kernel/Passes.h.inc"
} // namespace dlc::kernel

using namespace mlir;
namespace graph = dlc::graph;
namespace kernel = dlc::kernel;

namespace {

struct FusionOptions {
  bool bias, residual, activation;
};

/// The activation a graph op computes, with its parameters.
struct Activation {
  StringRef name;
  float alpha = 0, beta = 0;
};

std::optional<Activation> activationOf(Operation *op) {
  if (isa<graph::ReluOp>(op))
    return Activation{"relu"};
  if (isa<graph::SigmoidOp>(op))
    return Activation{"sigmoid"};
  if (isa<graph::TanhOp>(op))
    return Activation{"tanh"};
  if (auto leaky = dyn_cast<graph::LeakyReluOp>(op))
    return Activation{"leaky_relu", leaky.getAlpha().convertToFloat()};
  if (auto clip = dyn_cast<graph::ClipOp>(op))
    return Activation{"clip", clip.getMin().convertToFloat(),
                      clip.getMax().convertToFloat()};
  return std::nullopt;
}

/// The only user of `op`'s result, if it has exactly one.
Operation *soleUser(Operation *op) {
  if (!op->getResult(0).hasOneUse())
    return nullptr;
  return *op->getResult(0).getUsers().begin();
}

/// The other operand of a graph.add that consumes `value`.
Value otherAddOperand(graph::AddOp add, Value value) {
  return add.getLhs() == value ? add.getRhs() : add.getLhs();
}

/// A constant whose every dim but `channelDim` (counted from the back of a
/// tensor of rank `rank`) is 1, reshaped to rank 1; null otherwise.
Value asChannelBias(PatternRewriter &rewriter, Value candidate, int64_t rank,
                    int64_t channelDim, int64_t channels) {
  if (!matchPattern(candidate, m_Constant()))
    return {};
  auto type = cast<RankedTensorType>(candidate.getType());
  if (type.getRank() > rank)
    return {};
  int64_t offset = rank - type.getRank();
  for (int64_t d = 0; d < type.getRank(); ++d) {
    int64_t want = d + offset == channelDim ? channels : 1;
    if (type.getDimSize(d) != want)
      return {};
  }
  // A constant with fewer dims than the channel position is a scalar-like
  // broadcast, not a per-channel bias.
  if (offset > channelDim)
    return {};
  return graph::ReshapeOp::create(
      rewriter, candidate.getLoc(), candidate,
      rewriter.getDenseI64ArrayAttr({channels}));
}

template <typename KernelOp>
struct FuseIntoKernel : OpRewritePattern<KernelOp> {
  FuseIntoKernel(MLIRContext *ctx, FusionOptions options)
      : OpRewritePattern<KernelOp>(ctx), options(options) {}

  LogicalResult matchAndRewrite(KernelOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getActivation() != "none")
      return failure();
    Operation *user = soleUser(op);
    if (!user)
      return failure();
    auto resultType = cast<RankedTensorType>(op.getType());

    if (auto add = dyn_cast<graph::AddOp>(user)) {
      if (add.getType() != resultType)
        return failure();
      Value other = otherAddOperand(add, op.getResult());
      int64_t rank = resultType.getRank();
      int64_t channelDim = std::is_same_v<KernelOp, kernel::Conv2dOp> ? 1
                                                                      : rank - 1;
      if (options.bias && !hasResidual(op)) {
        if (Value bias = asChannelBias(rewriter, other, rank, channelDim,
                                       resultType.getDimSize(channelDim))) {
          Value combined =
              op.getBias() ? graph::AddOp::create(rewriter, add.getLoc(),
                                                  op.getBias(), bias)
                                 .getResult()
                           : bias;
          rewriter.modifyOpInPlace(op, [&] {
            op.getBiasMutable().assign(combined);
            op->setLoc(rewriter.getFusedLoc({op.getLoc(), add.getLoc()}));
          });
          rewriter.replaceOp(add, op.getResult());
          return success();
        }
      }
      if constexpr (std::is_same_v<KernelOp, kernel::Conv2dOp>) {
        if (options.residual && !op.getResidual() &&
            other.getType() == resultType && other != op.getResult()) {
          // The residual must be computed before the conv it joins.
          Operation *def = other.getDefiningOp();
          if (def && def->getBlock() == op->getBlock() &&
              !def->isBeforeInBlock(op))
            rewriter.moveOpAfter(op, def);
          rewriter.modifyOpInPlace(op, [&] {
            op.getResidualMutable().assign(other);
            op->setLoc(rewriter.getFusedLoc({op.getLoc(), add.getLoc()}));
          });
          rewriter.replaceOp(add, op.getResult());
          return success();
        }
      }
      return failure();
    }

    if (!options.activation)
      return failure();
    std::optional<Activation> act = activationOf(user);
    if (!act)
      return failure();
    rewriter.modifyOpInPlace(op, [&] {
      op.setActivation(act->name);
      op.setAlpha(APFloat(act->alpha));
      op.setBeta(APFloat(act->beta));
      op->setLoc(rewriter.getFusedLoc({op.getLoc(), user->getLoc()}));
    });
    rewriter.replaceOp(user, op.getResult());
    return success();
  }

  static bool hasResidual(KernelOp op) {
    if constexpr (std::is_same_v<KernelOp, kernel::Conv2dOp>)
      return static_cast<bool>(op.getResidual());
    return false;
  }

  FusionOptions options;
};

struct FuseEpiloguesPass
    : public kernel::impl::FuseEpiloguesBase<FuseEpiloguesPass> {
  using FuseEpiloguesBase::FuseEpiloguesBase;

  void runOnOperation() override {
    FusionOptions options{fuseBias, fuseResidual, fuseActivation};
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseIntoKernel<kernel::Conv2dOp>,
                 FuseIntoKernel<kernel::MatmulOp>>(&getContext(), options);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
