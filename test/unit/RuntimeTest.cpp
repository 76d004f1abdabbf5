//===- RuntimeTest.cpp - the C runtime against a real model library -------===//
//
// test_add computes sum = x + y on two float32 [3, 4, 5] tensors.
//
//===----------------------------------------------------------------------===//

#include "dlc/runtime.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

constexpr int64_t kShape[] = {3, 4, 5};
constexpr int64_t kElements = 60;

class RuntimeTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_EQ(dlc_model_load(DLC_UNIT_MODEL, &model), DLC_OK)
        << dlc_last_error();
    for (int64_t i = 0; i < kElements; ++i) {
      x[i] = 0.5f * i;
      y[i] = 100.0f - i;
    }
  }
  void TearDown() override { dlc_model_free(model); }

  dlc_tensor tensor(float *data) {
    return dlc_tensor{data, DLC_FLOAT32, 3, kShape};
  }

  dlc_model *model = nullptr;
  float x[kElements], y[kElements], sum[kElements] = {};
};

TEST_F(RuntimeTest, ManifestDescribesTheModel) {
  ASSERT_EQ(dlc_model_num_inputs(model), 2u);
  ASSERT_EQ(dlc_model_num_outputs(model), 1u);
  dlc_tensor_info info;
  ASSERT_EQ(dlc_model_input_info(model, 1, &info), DLC_OK);
  EXPECT_STREQ(info.name, "y");
  EXPECT_EQ(info.dtype, DLC_FLOAT32);
  ASSERT_EQ(info.rank, 3);
  EXPECT_EQ(std::vector<int64_t>(info.shape, info.shape + 3),
            std::vector<int64_t>(kShape, kShape + 3));
  ASSERT_EQ(dlc_model_output_info(model, 0, &info), DLC_OK);
  EXPECT_STREQ(info.name, "sum");
  EXPECT_EQ(dlc_tensor_info_elements(&info), kElements);
  EXPECT_STRNE(dlc_model_dlc_version(model), "");
  EXPECT_STRNE(dlc_model_target(model), "");
  // test_add has no weights.
  EXPECT_EQ(dlc_model_parameter_count(model), 0);
  EXPECT_GE(dlc_model_workspace_bytes(model), 0);
}

TEST_F(RuntimeTest, RunComputesTheSum) {
  dlc_tensor in[] = {tensor(x), tensor(y)};
  dlc_tensor out[] = {tensor(sum)};
  ASSERT_EQ(dlc_model_run(model, in, 2, out, 1), DLC_OK) << dlc_last_error();
  for (int64_t i = 0; i < kElements; ++i)
    EXPECT_FLOAT_EQ(sum[i], x[i] + y[i]) << "at " << i;
}

TEST_F(RuntimeTest, WrongInputCountIsAnError) {
  dlc_tensor in[] = {tensor(x)};
  dlc_tensor out[] = {tensor(sum)};
  EXPECT_EQ(dlc_model_run(model, in, 1, out, 1), DLC_ERROR_SIGNATURE);
  EXPECT_NE(std::string(dlc_last_error()).find("takes 2 input"),
            std::string::npos)
      << dlc_last_error();
}

TEST_F(RuntimeTest, WrongShapeNamesTheTensor) {
  const int64_t wrong[] = {3, 4, 6};
  dlc_tensor in[] = {tensor(x), dlc_tensor{y, DLC_FLOAT32, 3, wrong}};
  dlc_tensor out[] = {tensor(sum)};
  EXPECT_EQ(dlc_model_run(model, in, 2, out, 1), DLC_ERROR_SIGNATURE);
  std::string error = dlc_last_error();
  EXPECT_NE(error.find("'y'"), std::string::npos) << error;
  EXPECT_NE(error.find("[3,4,6]"), std::string::npos) << error;
  EXPECT_NE(error.find("[3,4,5]"), std::string::npos) << error;
}

TEST_F(RuntimeTest, WrongDTypeIsAnError) {
  dlc_tensor in[] = {tensor(x), dlc_tensor{y, DLC_INT32, 3, kShape}};
  dlc_tensor out[] = {tensor(sum)};
  EXPECT_EQ(dlc_model_run(model, in, 2, out, 1), DLC_ERROR_SIGNATURE);
  EXPECT_NE(std::string(dlc_last_error()).find("int32"), std::string::npos);
}

TEST_F(RuntimeTest, NullPointersAreErrors) {
  dlc_tensor in[] = {tensor(x), tensor(nullptr)};
  dlc_tensor out[] = {tensor(sum)};
  EXPECT_EQ(dlc_model_run(model, in, 2, out, 1), DLC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(dlc_model_run(nullptr, in, 2, out, 1), DLC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(dlc_model_run(model, nullptr, 2, out, 1),
            DLC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(dlc_model_input_info(model, 0, nullptr),
            DLC_ERROR_INVALID_ARGUMENT);
  dlc_tensor_info info;
  EXPECT_EQ(dlc_model_input_info(model, 2, &info), DLC_ERROR_INVALID_ARGUMENT);
}

TEST(RuntimeLoad, MissingFileIsALoadError) {
  dlc_model *model = reinterpret_cast<dlc_model *>(1);
  EXPECT_EQ(dlc_model_load("/nonexistent/model.so", &model), DLC_ERROR_LOAD);
  EXPECT_EQ(model, nullptr);
  EXPECT_NE(std::string(dlc_last_error()).find("/nonexistent/model.so"),
            std::string::npos);
  EXPECT_EQ(dlc_model_load(nullptr, &model), DLC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(dlc_model_load(DLC_UNIT_MODEL, nullptr),
            DLC_ERROR_INVALID_ARGUMENT);
}

TEST(RuntimeLoad, LibraryWithoutManifestIsRejected) {
  dlc_model *model = nullptr;
  EXPECT_EQ(dlc_model_load("libm.so.6", &model), DLC_ERROR_LOAD);
  // A real shared library that is not a dlc model.
  EXPECT_EQ(dlc_model_load("/lib/x86_64-linux-gnu/libm.so.6", &model),
            DLC_ERROR_MANIFEST);
  EXPECT_NE(std::string(dlc_last_error()).find("no manifest"),
            std::string::npos);
}

} // namespace
