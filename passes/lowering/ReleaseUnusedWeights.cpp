//===- ReleaseUnusedWeights.cpp - free the weights a module dropped -------===//

#include "passes/lowering/Passes.h"

#include "dialects/graph/Weights.h"

namespace dlc {
#define GEN_PASS_DEF_RELEASEUNUSEDWEIGHTS
#include "passes/lowering/Passes.h.inc"
} // namespace dlc

namespace {

struct ReleaseUnusedWeightsPass
    : public dlc::impl::ReleaseUnusedWeightsBase<ReleaseUnusedWeightsPass> {
  void runOnOperation() override {
    releasedBytes += dlc::graph::releaseUnusedWeights(getOperation());
    markAllAnalysesPreserved();
  }
};

} // namespace
