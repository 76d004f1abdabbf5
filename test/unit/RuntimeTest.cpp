//===- RuntimeTest.cpp - the C runtime against a real model library -------===//
//
// test_add computes sum = x + y on two float32 [3, 4, 5] tensors.
//
//===----------------------------------------------------------------------===//

#include "dlc/runtime.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>

#include <string>
#include <vector>

namespace {

constexpr int64_t kShape[] = {3, 4, 5};
constexpr int64_t kElements = 60;

/// A checkpoint path the refused calls below must never touch.
std::string unusedCheckpoint() {
  return ::testing::TempDir() + "dlc_unused.ckpt";
}

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

TEST_F(RuntimeTest, ThreadCountIsSetAndRestored) {
  ASSERT_EQ(dlc_model_set_num_threads(model, 3), DLC_OK) << dlc_last_error();
  EXPECT_EQ(dlc_model_num_threads(model), 3);
  dlc_tensor in[] = {tensor(x), tensor(y)};
  dlc_tensor out[] = {tensor(sum)};
  ASSERT_EQ(dlc_model_run(model, in, 2, out, 1), DLC_OK) << dlc_last_error();
  for (int64_t i = 0; i < kElements; ++i)
    EXPECT_FLOAT_EQ(sum[i], x[i] + y[i]) << "at " << i;
  // Below 1: the default (DLC_NUM_THREADS or the CPUs), at least one.
  ASSERT_EQ(dlc_model_set_num_threads(model, 0), DLC_OK);
  EXPECT_GE(dlc_model_num_threads(model), 1);
  EXPECT_EQ(dlc_model_set_num_threads(nullptr, 2), DLC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(dlc_model_num_threads(nullptr), 1);
}

TEST_F(RuntimeTest, ProfileOfASmallModelIsEmpty) {
  // test_add's one kernel is too small to split: nothing is timed.
  ASSERT_EQ(dlc_model_profile_enable(model, 1), DLC_OK) << dlc_last_error();
  dlc_tensor in[] = {tensor(x), tensor(y)};
  dlc_tensor out[] = {tensor(sum)};
  ASSERT_EQ(dlc_model_run(model, in, 2, out, 1), DLC_OK) << dlc_last_error();
  ASSERT_EQ(dlc_model_profile_enable(model, 0), DLC_OK);
  dlc_profile_entry entry;
  EXPECT_EQ(dlc_model_profile(model, &entry, 1), 0u);
  EXPECT_EQ(dlc_model_profile_enable(nullptr, 1), DLC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(dlc_model_profile(nullptr, &entry, 1), 0u);
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

TEST_F(RuntimeTest, TrainingCallsOnAnInferenceModelAreErrors) {
  const std::string notTraining =
      "model is not a training library (compile with dlc --train)";
  auto expectNotTraining = [&](dlc_status status, const char *call) {
    EXPECT_EQ(status, DLC_ERROR_INVALID_ARGUMENT) << call;
    EXPECT_EQ(dlc_last_error(), notTraining) << call;
  };
  EXPECT_EQ(dlc_model_is_training(model), 0);
  EXPECT_EQ(dlc_model_num_state(model), 0u);
  EXPECT_EQ(dlc_model_state_bytes(model), 0);
  EXPECT_EQ(dlc_model_step_workspace_bytes(model), 0);
  EXPECT_EQ(dlc_model_num_hyperparameters(model), 0u);
  EXPECT_EQ(dlc_model_num_frozen(model), 0u);
  EXPECT_EQ(dlc_model_step_count(model), 0);
  EXPECT_STREQ(dlc_model_optimizer(model), "");
  EXPECT_STREQ(dlc_model_loss(model), "");

  dlc_state_info state;
  expectNotTraining(dlc_model_state_info(model, 0, &state), "state_info");
  const char *name;
  double value;
  expectNotTraining(dlc_model_hyperparameter(model, 0, &name, &value),
                    "hyperparameter");
  dlc_tensor_info info;
  expectNotTraining(dlc_model_frozen_info(model, 0, &info), "frozen_info");
  dlc_tensor in[] = {tensor(x), tensor(y)};
  float loss = 0;
  expectNotTraining(dlc_model_train_step(model, in, 2, 0.1f, &loss),
                    "train_step");
  expectNotTraining(dlc_model_compute_gradients(model, in, 2, &loss),
                    "compute_gradients");
  float data[1];
  expectNotTraining(dlc_model_read_state(model, "x", data, sizeof(data)),
                    "read_state");
  expectNotTraining(dlc_model_write_state(model, "x", data, sizeof(data)),
                    "write_state");
  expectNotTraining(dlc_model_read_gradient(model, "x", data, sizeof(data)),
                    "read_gradient");
  expectNotTraining(
      dlc_model_save_checkpoint(model, unusedCheckpoint().c_str()),
      "save_checkpoint");
  expectNotTraining(
      dlc_model_load_checkpoint(model, unusedCheckpoint().c_str()),
      "load_checkpoint");
}

TEST(RuntimeTraining, NullModelIsAnError) {
  EXPECT_EQ(dlc_model_is_training(nullptr), 0);
  EXPECT_EQ(dlc_model_num_state(nullptr), 0u);
  EXPECT_EQ(dlc_model_state_bytes(nullptr), 0);
  EXPECT_EQ(dlc_model_step_count(nullptr), 0);
  EXPECT_STREQ(dlc_model_optimizer(nullptr), "");
  EXPECT_STREQ(dlc_model_loss(nullptr), "");
  dlc_state_info state;
  EXPECT_EQ(dlc_model_state_info(nullptr, 0, &state),
            DLC_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(dlc_last_error()).find("model is null"),
            std::string::npos);
  float loss;
  EXPECT_EQ(dlc_model_train_step(nullptr, nullptr, 0, 0.1f, &loss),
            DLC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(dlc_model_compute_gradients(nullptr, nullptr, 0, &loss),
            DLC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(dlc_model_read_state(nullptr, "w", &loss, 4),
            DLC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(dlc_model_write_state(nullptr, "w", &loss, 4),
            DLC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(dlc_model_read_gradient(nullptr, "w", &loss, 4),
            DLC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(dlc_model_save_checkpoint(nullptr, unusedCheckpoint().c_str()),
            DLC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(dlc_model_load_checkpoint(nullptr, unusedCheckpoint().c_str()),
            DLC_ERROR_INVALID_ARGUMENT);
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

// A library file damaged after it was written: its manifest's bytes, or its
// end cut off.
TEST(RuntimeLoad, DamagedFilesAreRejected) {
  std::ifstream in(DLC_UNIT_MODEL, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  // The manifest's file identifier follows its 4-byte root offset.
  size_t id = bytes.find("DLCM");
  ASSERT_NE(id, std::string::npos);
  ASSERT_GE(id, 4u);
  auto write = [](const std::string &path, const std::string &data) {
    std::ofstream out(path, std::ios::binary);
    out << data;
  };
  std::string corrupt = ::testing::TempDir() + "corrupt_manifest.so";
  std::string damaged = bytes;
  damaged.replace(id - 4, 4, std::string("\xff\xff\xff\x7f", 4));
  write(corrupt, damaged);
  dlc_model *model = reinterpret_cast<dlc_model *>(1);
  EXPECT_EQ(dlc_model_load(corrupt.c_str(), &model), DLC_ERROR_MANIFEST);
  EXPECT_EQ(model, nullptr);
  EXPECT_NE(std::string(dlc_last_error()).find("the manifest is malformed"),
            std::string::npos)
      << dlc_last_error();

  std::string truncated = ::testing::TempDir() + "truncated.so";
  write(truncated, bytes.substr(0, bytes.size() / 2));
  EXPECT_EQ(dlc_model_load(truncated.c_str(), &model), DLC_ERROR_LOAD);
  EXPECT_NE(std::string(dlc_last_error()).find("truncated"), std::string::npos)
      << dlc_last_error();
  std::remove(corrupt.c_str());
  std::remove(truncated.c_str());
}

} // namespace
