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

TEST_F(RuntimeTest, RunAllocAllocatesStaticOutputs) {
  dlc_tensor in[] = {tensor(x), tensor(y)};
  dlc_tensor out[1];
  ASSERT_EQ(dlc_model_run_alloc(model, in, 2, out, 1), DLC_OK)
      << dlc_last_error();
  ASSERT_EQ(out[0].rank, 3);
  EXPECT_EQ(std::vector<int64_t>(out[0].shape, out[0].shape + 3),
            std::vector<int64_t>(kShape, kShape + 3));
  const float *got = static_cast<const float *>(out[0].data);
  for (int64_t i = 0; i < kElements; ++i)
    EXPECT_FLOAT_EQ(got[i], x[i] + y[i]) << "at " << i;
  dlc_tensor_free(&out[0]);
  EXPECT_EQ(out[0].data, nullptr);
  EXPECT_EQ(out[0].shape, nullptr);
  dlc_tensor_free(&out[0]); // empty: nothing to free
  dlc_tensor_free(nullptr);
}

/// test_reshape_reordered_all_dims: data [2, 3, 4] reshaped to the shape
/// given as its second input, so the output's dims are known at run time.
class RuntimeShapeTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_EQ(dlc_model_load(DLC_UNIT_RESHAPE_MODEL, &model), DLC_OK)
        << dlc_last_error();
    for (int64_t i = 0; i < 24; ++i)
      data[i] = static_cast<float>(i);
  }
  void TearDown() override { dlc_model_free(model); }

  dlc_model *model = nullptr;
  float data[24];
  int64_t shape[3] = {4, 2, 3};
  const int64_t dataShape[3] = {2, 3, 4}, shapeShape[1] = {3};
  dlc_tensor in[2] = {{data, DLC_FLOAT32, 3, dataShape},
                      {shape, DLC_INT64, 1, shapeShape}};
};

TEST_F(RuntimeShapeTest, OutputDimsAreUnknownUntilRunTime) {
  dlc_tensor_info info;
  ASSERT_EQ(dlc_model_output_info(model, 0, &info), DLC_OK);
  ASSERT_EQ(info.rank, 3);
  EXPECT_EQ(std::vector<int64_t>(info.shape, info.shape + 3),
            std::vector<int64_t>({-1, -1, -1}));
  EXPECT_EQ(dlc_tensor_info_elements(&info), -1);
}

TEST_F(RuntimeShapeTest, RunAllocReturnsTheShapeTheInputsMake) {
  for (auto want : {std::vector<int64_t>{4, 2, 3}, {1, -1, 6}, {0, 12, -1}}) {
    std::copy(want.begin(), want.end(), shape);
    dlc_tensor out[1];
    ASSERT_EQ(dlc_model_run_alloc(model, in, 2, out, 1), DLC_OK)
        << dlc_last_error();
    // 0 copies the input's dim, -1 takes the rest of the 24 elements.
    std::vector<int64_t> dims(3);
    for (int d = 0; d < 3; ++d)
      dims[d] = want[d] == 0 ? dataShape[d] : want[d];
    int64_t known = 1;
    for (int64_t d : dims)
      known *= d < 0 ? 1 : d;
    for (int64_t &d : dims)
      d = d < 0 ? 24 / known : d;
    ASSERT_EQ(out[0].rank, 3);
    EXPECT_EQ(std::vector<int64_t>(out[0].shape, out[0].shape + 3), dims);
    const float *got = static_cast<const float *>(out[0].data);
    for (int64_t i = 0; i < 24; ++i)
      EXPECT_EQ(got[i], data[i]) << "at " << i;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(got) % 64, 0u);
    dlc_tensor_free(&out[0]);
  }
}

TEST_F(RuntimeShapeTest, RunTakesACallerTensorOfTheRightShape) {
  float result[24] = {};
  int64_t resultShape[3] = {4, 2, 3};
  dlc_tensor out[] = {{result, DLC_FLOAT32, 3, resultShape}};
  ASSERT_EQ(dlc_model_run(model, in, 2, out, 1), DLC_OK) << dlc_last_error();
  for (int64_t i = 0; i < 24; ++i)
    EXPECT_EQ(result[i], data[i]) << "at " << i;
  // The inputs make [4, 2, 3]; a caller's [2, 4, 3] is refused, unwritten.
  float other[24] = {};
  int64_t otherShape[3] = {2, 4, 3};
  dlc_tensor wrong[] = {{other, DLC_FLOAT32, 3, otherShape}};
  EXPECT_EQ(dlc_model_run(model, in, 2, wrong, 1), DLC_ERROR_SIGNATURE);
  std::string message = dlc_last_error();
  EXPECT_NE(message.find("is [4,2,3] for these inputs, the caller's tensor "
                         "[2,4,3]"),
            std::string::npos)
      << message;
  for (float v : other)
    EXPECT_EQ(v, 0.0f);
}

TEST_F(RuntimeShapeTest, InvalidShapeValuesFailTheCall) {
  // 5 * 5 does not divide 24; two -1s; a dim below -1.
  for (auto bad : {std::vector<int64_t>{5, 5, -1}, {-1, -1, 2}, {2, -3, -4}}) {
    std::copy(bad.begin(), bad.end(), shape);
    dlc_tensor out[1] = {
        {reinterpret_cast<void *>(1), DLC_FLOAT32, 0, nullptr}};
    EXPECT_EQ(dlc_model_run_alloc(model, in, 2, out, 1),
              DLC_ERROR_RUNTIME_CHECK);
    std::string message = dlc_last_error();
    EXPECT_NE(message.find("(Reshape): input 'shape' is not a shape of the "
                           "input's 24 elements"),
              std::string::npos)
        << message;
    EXPECT_EQ(out[0].data, nullptr);
    EXPECT_EQ(out[0].shape, nullptr);
  }
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
