//===- WeightsTest.cpp - weight blobs: made, read, released ---------------===//

#include "dialects/graph/Weights.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <numeric>

using namespace mlir;
using namespace dlc::graph;

namespace {

struct WeightsTest : ::testing::Test {
  WeightsTest() {
    context.loadDialect<arith::ArithDialect, func::FuncDialect>();
  }
  /// `n` float32 values i * scale.
  static std::vector<float> ramp(int64_t n, float scale) {
    std::vector<float> v(n);
    for (int64_t i = 0; i < n; ++i)
      v[i] = static_cast<float>(i) * scale;
    return v;
  }
  RankedTensorType f32(int64_t n) {
    return RankedTensorType::get({n}, Float32Type::get(&context));
  }
  MLIRContext context;
};

TEST_F(WeightsTest, SmallConstantsStayDense) {
  auto attr = makeWeights(f32(4), ramp(4, 0.5f));
  ASSERT_TRUE(isa<DenseElementsAttr>(attr));
  auto values = float32Values(attr);
  ASSERT_TRUE(values);
  EXPECT_EQ(*values, ramp(4, 0.5f));
}

TEST_F(WeightsTest, LargeConstantsAreBlobs) {
  int64_t n = kWeightBlobBytes / 4;
  auto attr = makeWeights(f32(n), ramp(n, 0.25f));
  ASSERT_TRUE(isa<DenseResourceElementsAttr>(attr));
  auto values = float32Values(attr);
  ASSERT_TRUE(values);
  EXPECT_EQ(*values, ramp(n, 0.25f));
  DenseElementsAttr dense = denseElements(attr);
  ASSERT_TRUE(dense);
  EXPECT_EQ(dense.getValues<float>()[n - 1], static_cast<float>(n - 1) * 0.25f);
  auto bytes = constantBytes(attr);
  ASSERT_TRUE(bytes);
  EXPECT_FALSE(bytes->splat);
  EXPECT_EQ(bytes->data.size(), static_cast<size_t>(n * 4));
}

TEST_F(WeightsTest, SplatsExpand) {
  auto splat = DenseElementsAttr::get(f32(3), 2.0f);
  auto values = float32Values(splat);
  ASSERT_TRUE(values);
  EXPECT_EQ(*values, std::vector<float>(3, 2.0f));
  auto bytes = constantBytes(splat);
  ASSERT_TRUE(bytes);
  EXPECT_TRUE(bytes->splat);
  EXPECT_EQ(bytes->data.size(), 4u);
}

TEST_F(WeightsTest, BoolsAndOthersAreNotBytes) {
  auto bools = DenseElementsAttr::get(
      RankedTensorType::get({2}, IntegerType::get(&context, 1)), true);
  EXPECT_FALSE(constantBytes(bools));
  EXPECT_FALSE(float32Values(bools));
  EXPECT_FALSE(constantBytes(StringAttr::get(&context, "x")));
  EXPECT_FALSE(denseElements(Attribute()));
}

TEST_F(WeightsTest, ReleasesOnlyUnusedWeightBlobs) {
  int64_t n = kWeightBlobBytes / 4;
  auto used = makeWeights(f32(n), ramp(n, 1.0f));
  auto dropped = makeWeights(f32(n), ramp(n, 2.0f));
  // A blob of another name (not dlc's), unused: left alone.
  std::vector<float> theirs = ramp(n, 3.0f);
  auto other = DenseResourceElementsAttr::get(
      f32(n), "someone_else",
      HeapAsmResourceBlob::allocateAndCopyInferAlign(ArrayRef<float>(theirs)));

  OpBuilder b(&context);
  auto module = ModuleOp::create(b.getUnknownLoc());
  b.setInsertionPointToEnd(module.getBody());
  auto func = func::FuncOp::create(b, b.getUnknownLoc(), "f",
                                   b.getFunctionType({}, {f32(n)}));
  b.setInsertionPointToEnd(func.addEntryBlock());
  Value c =
      arith::ConstantOp::create(b, b.getUnknownLoc(), cast<TypedAttr>(used));
  func::ReturnOp::create(b, b.getUnknownLoc(), c);

  EXPECT_EQ(releaseUnusedWeights(module), static_cast<uint64_t>(n * 4));
  EXPECT_TRUE(float32Values(used));
  EXPECT_FALSE(float32Values(dropped)) << "a released blob reads as nothing";
  EXPECT_FALSE(denseElements(dropped));
  EXPECT_TRUE(float32Values(other));
  // Nothing more to free.
  EXPECT_EQ(releaseUnusedWeights(module), 0u);
  module->erase();
}

} // namespace
