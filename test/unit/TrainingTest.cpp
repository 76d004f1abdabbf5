//===- TrainingTest.cpp - the training API against a stand-in library -----===//
//
// fake_train.so (FakeTrainingLibrary.cpp) trains y = w * x + b with the mean
// squared error and SGD with momentum 0.9; w starts at 2, b at 1. With
// x = {1, 2, 3, 4} and t = {2, 4, 6, 8} every residual of the first step is
// 1: loss 1, dw = 5, db = 2.
//
//===----------------------------------------------------------------------===//

#include "dlc/runtime.h"

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

std::string library(const char *name) {
  return std::string(DLC_FAKE_TRAINING_DIR) + "/fake_" + name + ".so";
}

/// A fresh path under the test's temporary directory.
std::string temporary(const std::string &name) {
  const auto *test = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string path = ::testing::TempDir() + "dlc_" + test->name() + "_" + name;
  std::remove(path.c_str());
  return path;
}

class TrainingTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_EQ(dlc_model_load(library("train").c_str(), &model), DLC_OK)
        << dlc_last_error();
  }
  void TearDown() override { dlc_model_free(model); }

  dlc_tensor tensor(float *data) {
    return dlc_tensor{data, DLC_FLOAT32, 1, kShape};
  }
  std::vector<dlc_tensor> inputs() { return {tensor(x), tensor(t)}; }

  dlc_status step(float lr, float *loss) {
    std::vector<dlc_tensor> in = inputs();
    return dlc_model_train_step(model, in.data(), in.size(), lr, loss);
  }
  float state(dlc_model *m, const char *name) {
    float v = NAN;
    EXPECT_EQ(dlc_model_read_state(m, name, &v, sizeof(v)), DLC_OK)
        << dlc_last_error();
    return v;
  }
  float state(const char *name) { return state(model, name); }
  float gradient(const char *name) {
    float v = NAN;
    EXPECT_EQ(dlc_model_read_gradient(model, name, &v, sizeof(v)), DLC_OK)
        << dlc_last_error();
    return v;
  }
  /// The whole state, tensor by tensor, as bytes.
  std::vector<unsigned char> allState(dlc_model *m) {
    std::vector<unsigned char> all;
    for (size_t i = 0; i < dlc_model_num_state(m); ++i) {
      dlc_state_info info;
      EXPECT_EQ(dlc_model_state_info(m, i, &info), DLC_OK);
      std::vector<unsigned char> bytes(info.bytes);
      EXPECT_EQ(dlc_model_read_state(m, info.name, bytes.data(), info.bytes),
                DLC_OK);
      all.insert(all.end(), bytes.begin(), bytes.end());
    }
    return all;
  }

  static constexpr int64_t kShape[] = {4};
  dlc_model *model = nullptr;
  float x[4] = {1, 2, 3, 4}, t[4] = {2, 4, 6, 8};
};

constexpr int64_t TrainingTest::kShape[];

TEST_F(TrainingTest, ManifestDescribesTheTraining) {
  EXPECT_EQ(dlc_model_is_training(model), 1);
  EXPECT_STREQ(dlc_model_optimizer(model), "sgd");
  EXPECT_STREQ(dlc_model_loss(model), "model");
  EXPECT_EQ(dlc_model_state_bytes(model), 384);
  EXPECT_EQ(dlc_model_step_workspace_bytes(model), 256);
  EXPECT_EQ(dlc_model_num_inputs(model), 2u);
  ASSERT_EQ(dlc_model_num_state(model), 6u);
  dlc_state_info info;
  ASSERT_EQ(dlc_model_state_info(model, 3, &info), DLC_OK);
  EXPECT_STREQ(info.name, "w:velocity");
  EXPECT_EQ(info.role, DLC_STATE_MOMENT);
  EXPECT_STREQ(info.parameter, "w");
  EXPECT_EQ(info.dtype, DLC_FLOAT32);
  ASSERT_EQ(info.rank, 1);
  EXPECT_EQ(info.shape[0], 1);
  EXPECT_EQ(info.offset, 192);
  EXPECT_EQ(info.bytes, 4u);
  ASSERT_EQ(dlc_model_state_info(model, 1, &info), DLC_OK);
  EXPECT_EQ(info.role, DLC_STATE_PARAMETER);
  EXPECT_EQ(info.rank, 0);
  EXPECT_STREQ(info.parameter, "");
  EXPECT_EQ(dlc_model_state_info(model, 6, &info), DLC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(dlc_model_state_info(model, 0, nullptr),
            DLC_ERROR_INVALID_ARGUMENT);

  ASSERT_EQ(dlc_model_num_hyperparameters(model), 2u);
  const char *name;
  double value;
  ASSERT_EQ(dlc_model_hyperparameter(model, 1, &name, &value), DLC_OK);
  EXPECT_STREQ(name, "momentum");
  EXPECT_FLOAT_EQ(value, 0.9);
  EXPECT_EQ(dlc_model_hyperparameter(model, 2, &name, &value),
            DLC_ERROR_INVALID_ARGUMENT);
  ASSERT_EQ(dlc_model_num_frozen(model), 1u);
  dlc_tensor_info frozen;
  ASSERT_EQ(dlc_model_frozen_info(model, 0, &frozen), DLC_OK);
  EXPECT_STREQ(frozen.name, "scale");
  EXPECT_EQ(dlc_model_frozen_info(model, 1, &frozen),
            DLC_ERROR_INVALID_ARGUMENT);
}

TEST_F(TrainingTest, RunUsesTheCurrentState) {
  float y[4];
  std::vector<dlc_tensor> in = inputs();
  dlc_tensor out = tensor(y);
  ASSERT_EQ(dlc_model_run(model, in.data(), 2, &out, 1), DLC_OK)
      << dlc_last_error();
  for (int i = 0; i < 4; ++i)
    EXPECT_FLOAT_EQ(y[i], 2 * x[i] + 1);
  float w = 3;
  ASSERT_EQ(dlc_model_write_state(model, "w", &w, sizeof(w)), DLC_OK);
  ASSERT_EQ(dlc_model_run(model, in.data(), 2, &out, 1), DLC_OK);
  for (int i = 0; i < 4; ++i)
    EXPECT_FLOAT_EQ(y[i], 3 * x[i] + 1);
}

TEST_F(TrainingTest, StepUpdatesStateAndGradients) {
  float loss = 0;
  ASSERT_EQ(step(0.1f, &loss), DLC_OK) << dlc_last_error();
  EXPECT_FLOAT_EQ(loss, 1);
  EXPECT_EQ(dlc_model_step_count(model), 1);
  EXPECT_FLOAT_EQ(state("w"), 2 - 0.1f * 5);
  EXPECT_FLOAT_EQ(state("b"), 1 - 0.1f * 2);
  EXPECT_FLOAT_EQ(state("running_mean"), 0.9f * 0.5f + 0.1f * 2.5f);
  EXPECT_FLOAT_EQ(state("w:velocity"), 5);
  EXPECT_FLOAT_EQ(state("step"), 1);
  EXPECT_FLOAT_EQ(gradient("w"), 5);
  EXPECT_FLOAT_EQ(gradient("b"), 2);
  // The second step reads the first's output, not its input.
  ASSERT_EQ(step(0.1f, nullptr), DLC_OK);
  EXPECT_FLOAT_EQ(state("step"), 2);
  EXPECT_EQ(dlc_model_step_count(model), 2);
}

TEST_F(TrainingTest, StepValidatesInputs) {
  dlc_tensor in[] = {tensor(x)};
  float loss;
  EXPECT_EQ(dlc_model_train_step(model, in, 1, 0.1f, &loss),
            DLC_ERROR_SIGNATURE);
  EXPECT_NE(std::string(dlc_last_error()).find("takes 2 input"),
            std::string::npos);
  EXPECT_EQ(dlc_model_compute_gradients(model, in, 1, &loss),
            DLC_ERROR_SIGNATURE);
  EXPECT_EQ(dlc_model_step_count(model), 0);
}

TEST_F(TrainingTest, NonFiniteLossKeepsTheState) {
  ASSERT_EQ(step(0.1f, nullptr), DLC_OK);
  std::vector<unsigned char> before = allState(model);
  t[2] = NAN;
  float loss = 0;
  EXPECT_EQ(step(0.1f, &loss), DLC_ERROR_NONFINITE);
  EXPECT_TRUE(std::isnan(loss));
  EXPECT_STREQ(dlc_last_error(),
               "the loss is nan at step 2; the update was not applied");
  EXPECT_EQ(allState(model), before);
  EXPECT_EQ(dlc_model_step_count(model), 1);
  // The gradients are still those of the last successful step.
  EXPECT_FLOAT_EQ(gradient("w"), 5);
  t[2] = INFINITY;
  EXPECT_EQ(step(0.1f, &loss), DLC_ERROR_NONFINITE);
  EXPECT_NE(std::string(dlc_last_error()).find("the loss is inf"),
            std::string::npos);
  t[2] = 6;
  EXPECT_EQ(step(0.1f, &loss), DLC_OK);
  EXPECT_EQ(dlc_model_step_count(model), 2);
}

TEST_F(TrainingTest, ComputeGradientsDoesNotUpdate) {
  float w = state("w"), b = state("b");
  std::vector<dlc_tensor> in = inputs();
  float loss = 0;
  ASSERT_EQ(dlc_model_compute_gradients(model, in.data(), 2, &loss), DLC_OK)
      << dlc_last_error();
  EXPECT_FLOAT_EQ(loss, 1);
  EXPECT_FLOAT_EQ(gradient("w"), 5);
  EXPECT_FLOAT_EQ(gradient("b"), 2);
  // Parameters wait for apply_gradients; the forward pass's buffer update
  // (a running mean) stands, as in a step.
  EXPECT_FLOAT_EQ(state("w"), w);
  EXPECT_FLOAT_EQ(state("b"), b);
  EXPECT_FLOAT_EQ(state("running_mean"), 0.9f * 0.5f + 0.1f * 2.5f);
  std::vector<unsigned char> before = allState(model);
  EXPECT_EQ(dlc_model_step_count(model), 0);
  t[0] = NAN;
  EXPECT_EQ(dlc_model_compute_gradients(model, in.data(), 2, &loss),
            DLC_ERROR_NONFINITE);
  EXPECT_NE(std::string(dlc_last_error()).find("not kept"), std::string::npos);
  EXPECT_FLOAT_EQ(gradient("w"), 5);
}

TEST_F(TrainingTest, StateAccessErrorsNameTheTensor) {
  float v[2];
  EXPECT_EQ(dlc_model_read_gradient(model, "w", v, 4),
            DLC_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(dlc_last_error()).find("no gradients yet"),
            std::string::npos);
  EXPECT_EQ(dlc_model_read_state(model, "bias", v, 4),
            DLC_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(dlc_last_error(), "no state tensor named 'bias'");
  EXPECT_EQ(dlc_model_write_state(model, "w", v, 8),
            DLC_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(dlc_last_error(), "state tensor 'w' has 4 bytes, 8 given");
  EXPECT_EQ(dlc_model_read_state(model, nullptr, v, 4),
            DLC_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(dlc_model_read_state(model, "w", nullptr, 4),
            DLC_ERROR_INVALID_ARGUMENT);
  ASSERT_EQ(step(0.1f, nullptr), DLC_OK);
  EXPECT_EQ(dlc_model_read_gradient(model, "running_mean", v, 4),
            DLC_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(dlc_last_error()).find("not a parameter"),
            std::string::npos);
  EXPECT_EQ(dlc_model_read_gradient(model, "w:velocity", v, 4),
            DLC_ERROR_INVALID_ARGUMENT);
}

TEST_F(TrainingTest, CheckpointResumesBitIdentically) {
  std::string path = temporary("ckpt");
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(step(0.05f, nullptr), DLC_OK);
  ASSERT_EQ(dlc_model_save_checkpoint(model, path.c_str()), DLC_OK)
      << dlc_last_error();
  std::vector<float> losses(3), resumed(3);
  for (float &loss : losses)
    ASSERT_EQ(step(0.05f, &loss), DLC_OK);

  dlc_model *other = nullptr;
  ASSERT_EQ(dlc_model_load(library("train").c_str(), &other), DLC_OK);
  ASSERT_EQ(dlc_model_load_checkpoint(other, path.c_str()), DLC_OK)
      << dlc_last_error();
  EXPECT_EQ(dlc_model_step_count(other), 3);
  std::vector<dlc_tensor> in = inputs();
  for (float &loss : resumed)
    ASSERT_EQ(dlc_model_train_step(other, in.data(), 2, 0.05f, &loss), DLC_OK);
  EXPECT_EQ(std::memcmp(losses.data(), resumed.data(), 3 * sizeof(float)), 0);
  EXPECT_EQ(allState(other), allState(model));
  EXPECT_EQ(dlc_model_step_count(other), 6);
  dlc_model_free(other);

  // The header: magic, state bytes, then the state right after 40 bytes.
  std::vector<char> bytes;
  {
    std::ifstream file(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(file),
                 std::istreambuf_iterator<char>());
  }
  ASSERT_EQ(bytes.size(), 40u + 384u);
  EXPECT_EQ(std::string(bytes.data(), 8), "DLCCKPT2");
  EXPECT_EQ(bytes[8], char(384 & 0xff));
  EXPECT_EQ(bytes[9], char(384 >> 8));
  // One flipped bit in the state: refused, nothing changed.
  bytes[40 + 5] ^= 1;
  {
    std::ofstream damaged(path, std::ios::binary | std::ios::trunc);
    damaged.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  std::vector<unsigned char> before = allState(model);
  EXPECT_EQ(dlc_model_load_checkpoint(model, path.c_str()),
            DLC_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(dlc_last_error()).find("damaged"), std::string::npos);
  EXPECT_EQ(allState(model), before);
  std::remove(path.c_str());
}

TEST_F(TrainingTest, BadCheckpointsChangeNothing) {
  ASSERT_EQ(step(0.1f, nullptr), DLC_OK);
  std::vector<unsigned char> before = allState(model);

  std::string missing = temporary("missing");
  EXPECT_EQ(dlc_model_load_checkpoint(model, missing.c_str()), DLC_ERROR_IO);
  EXPECT_NE(std::string(dlc_last_error()).find(missing), std::string::npos);

  std::string garbage = temporary("garbage");
  std::ofstream(garbage) << "not a checkpoint at all, not even close.";
  EXPECT_EQ(dlc_model_load_checkpoint(model, garbage.c_str()),
            DLC_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(dlc_last_error()).find("not a dlc checkpoint"),
            std::string::npos);

  // Same state size, other tensor names.
  dlc_model *renamed = nullptr;
  ASSERT_EQ(dlc_model_load(library("renamed").c_str(), &renamed), DLC_OK)
      << dlc_last_error();
  std::string foreign = temporary("foreign");
  ASSERT_EQ(dlc_model_save_checkpoint(renamed, foreign.c_str()), DLC_OK);
  dlc_model_free(renamed);
  EXPECT_EQ(dlc_model_load_checkpoint(model, foreign.c_str()),
            DLC_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(dlc_last_error()).find("another model"),
            std::string::npos);

  // A truncated copy of a good one.
  std::string good = temporary("good"), truncated = temporary("truncated");
  ASSERT_EQ(dlc_model_save_checkpoint(model, good.c_str()), DLC_OK);
  {
    std::ifstream in(good, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                            std::istreambuf_iterator<char>());
    std::ofstream(truncated, std::ios::binary).write(bytes.data(), 100);
  }
  float w = 42;
  ASSERT_EQ(dlc_model_write_state(model, "w", &w, sizeof(w)), DLC_OK);
  before = allState(model);
  EXPECT_EQ(dlc_model_load_checkpoint(model, truncated.c_str()),
            DLC_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(dlc_last_error()).find("truncated"), std::string::npos);
  EXPECT_EQ(allState(model), before);
  EXPECT_EQ(dlc_model_step_count(model), 1);

  EXPECT_EQ(dlc_model_save_checkpoint(model, "/nonexistent/dir/x.ckpt"),
            DLC_ERROR_IO);
  EXPECT_EQ(dlc_model_load_checkpoint(model, nullptr),
            DLC_ERROR_INVALID_ARGUMENT);
  for (const std::string &p : {garbage, foreign, good, truncated})
    std::remove(p.c_str());
}

TEST(TrainingLoad, BrokenLibrariesAreRejected) {
  auto expectRejected = [](const char *name, const char *why) {
    dlc_model *model = reinterpret_cast<dlc_model *>(1);
    EXPECT_EQ(dlc_model_load(library(name).c_str(), &model), DLC_ERROR_MANIFEST)
        << name;
    EXPECT_EQ(model, nullptr);
    EXPECT_NE(std::string(dlc_last_error()).find(why), std::string::npos)
        << name << ": " << dlc_last_error();
  };
  expectRejected("noinit", "the initial state 'dlc_initial_state' is missing");
  expectRejected("nostep", "training step 'dlc_train_step' is missing");
  expectRejected("badoffset", "state tensor 'b' (4 bytes at offset 352) does "
                              "not fit");
  expectRejected("shortinit", "'dlc_initial_state' has 64 bytes, the "
                              "manifest says 384");
  expectRejected("newer", "the manifest has format version 5; this runtime "
                          "reads up to 4 (the library is from a newer dlc: "
                          "use its runtime)");
}

//===----------------------------------------------------------------------===//
// dlc-run --train
//===----------------------------------------------------------------------===//

/// Writes a float32 onnx.TensorProto by hand (no protobuf in these tests).
void writeTensor(const std::string &path, const char *name,
                 const std::vector<float> &values) {
  std::string proto;
  auto varint = [&](uint64_t v) {
    for (; v >= 0x80; v >>= 7)
      proto += static_cast<char>(v | 0x80);
    proto += static_cast<char>(v);
  };
  varint(1 << 3); // dims
  varint(values.size());
  varint(2 << 3); // data_type FLOAT
  varint(1);
  varint(8 << 3 | 2); // name
  varint(std::strlen(name));
  proto += name;
  varint(9 << 3 | 2); // raw_data
  varint(values.size() * sizeof(float));
  proto.append(reinterpret_cast<const char *>(values.data()),
               values.size() * sizeof(float));
  std::ofstream(path, std::ios::binary) << proto;
}

struct Result {
  int status;
  std::string output;
};

/// Runs dlc-run with `arguments`; stdout and stderr together.
Result dlcRun(const std::string &arguments) {
  std::string command = std::string(DLC_RUN) + " " + arguments + " 2>&1";
  Result result{-1, ""};
  std::FILE *pipe = popen(command.c_str(), "r");
  if (!pipe)
    return result;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0)
    result.output.append(buffer, n);
  int status = pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

bool exists(const std::string &path) { return std::ifstream(path).good(); }

class DlcRunTrainTest : public TrainingTest {
protected:
  void SetUp() override {
    TrainingTest::SetUp();
    xFile = temporary("x.pb");
    tFile = temporary("t.pb");
    writeTensor(xFile, "x", {1, 2, 3, 4});
    writeTensor(tFile, "t", {2, 4, 6, 8});
    lib = library("train");
  }
  void TearDown() override {
    std::remove(xFile.c_str());
    std::remove(tFile.c_str());
    TrainingTest::TearDown();
  }
  /// The losses the API gives for `steps` steps at `lr`, formatted as
  /// dlc-run prints them.
  std::string expectedLosses(int steps, float lr, int first = 1) {
    std::string text;
    for (int i = 0; i < steps; ++i) {
      float loss;
      EXPECT_EQ(step(lr, &loss), DLC_OK);
      char line[64];
      std::snprintf(line, sizeof(line), "step %d: loss %.9g\n", first + i,
                    loss);
      text += line;
    }
    return text;
  }

  std::string xFile, tFile, lib;
};

TEST_F(DlcRunTrainTest, InfoDescribesTheTraining) {
  Result r = dlcRun(lib + " --info");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("input  1: t float32 [4]\n"
                          "output 0: y float32 [4]\n"
                          "training: loss model, optimizer sgd (lr=0.01, "
                          "momentum=0.9)\n"
                          "state  0: parameter w float32 [1]\n"
                          "state  1: parameter b float32 []\n"
                          "state  2: buffer running_mean float32 []\n"
                          "state  3: moment w:velocity float32 [1]\n"
                          "state  4: moment b:velocity float32 []\n"
                          "state  5: step step float32 []\n"
                          "frozen 0: scale float32 [2]\n"
                          "state: 384 bytes\n"
                          "step workspace: 256 bytes\n"),
            std::string::npos)
      << r.output;
}

TEST_F(DlcRunTrainTest, TrainPrintsTheLosses) {
  Result r = dlcRun(lib + " --train --inputs " + xFile + " " + tFile +
                    " --steps 3 --lr 0.05");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output, expectedLosses(3, 0.05f));
  // The learning rate defaults to the manifest's.
  dlc_model_free(model);
  ASSERT_EQ(dlc_model_load(lib.c_str(), &model), DLC_OK);
  r = dlcRun(lib + " --train --inputs " + xFile + " " + tFile + " --steps 2");
  EXPECT_EQ(r.output, expectedLosses(2, 0.01f));
  r = dlcRun(lib + " --train --inputs " + xFile + " " + tFile + " --json");
  EXPECT_EQ(r.output, "{\"step\": 1, \"loss\": 1}\n");
}

TEST_F(DlcRunTrainTest, CheckpointsContinueTheSteps) {
  std::string ckpt = temporary("ckpt");
  std::string train = lib + " --train --inputs " + xFile + " " + tFile;
  Result r = dlcRun(train + " --steps 2 --checkpoint-out " + ckpt);
  ASSERT_EQ(r.status, 0) << r.output;
  r = dlcRun(train + " --steps 2 --checkpoint-in " + ckpt);
  ASSERT_EQ(r.status, 0) << r.output;
  expectedLosses(2, 0.01f);
  EXPECT_EQ(r.output, expectedLosses(2, 0.01f, 3));
  std::remove(ckpt.c_str());
}

TEST_F(DlcRunTrainTest, SavesParametersAndGradients) {
  std::string params = temporary("params"), grads = temporary("grads");
  Result r = dlcRun(lib + " --train --inputs " + xFile + " " + tFile +
                    " --save-params " + params + " --save-grads " + grads);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(exists(params + "/w.pb"));
  EXPECT_TRUE(exists(params + "/b.pb"));
  EXPECT_TRUE(exists(params + "/running_mean.pb"));
  EXPECT_FALSE(exists(params + "/w:velocity.pb"));
  EXPECT_FALSE(exists(params + "/step.pb"));
  EXPECT_TRUE(exists(grads + "/w.pb"));
  EXPECT_FALSE(exists(grads + "/running_mean.pb"));
  // w after one step at lr 0.01: 2 - 0.01 * 5 (raw_data is written last).
  std::ifstream in(params + "/w.pb", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  float w;
  ASSERT_GE(bytes.size(), sizeof(float));
  std::memcpy(&w, bytes.data() + bytes.size() - sizeof(float), sizeof(w));
  EXPECT_FLOAT_EQ(w, 2 - 0.01f * 5);
  (void)std::system(("rm -rf " + params + " " + grads).c_str());
}

TEST_F(DlcRunTrainTest, NonFiniteLossStopsWithStatus1) {
  std::string nanLabels = temporary("nan.pb"), params = temporary("params");
  writeTensor(nanLabels, "t", {2, NAN, 6, 8});
  Result r = dlcRun(lib + " --train --inputs " + xFile + " " + nanLabels +
                    " --steps 5 --save-params " + params);
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("dlc-run: error: " + lib +
                          ": the loss is nan at step 1; the update was not "
                          "applied\n"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("step 2"), std::string::npos) << r.output;
  // The last good parameters: the initial ones.
  EXPECT_TRUE(exists(params + "/w.pb"));
  std::remove(nanLabels.c_str());
  (void)std::system(("rm -rf " + params).c_str());
}

TEST_F(DlcRunTrainTest, UsageErrors) {
  Result r = dlcRun(std::string(DLC_UNIT_MODEL) + " --train --random");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("model is not a training library (compile with "
                          "dlc --train)"),
            std::string::npos)
      << r.output;
  r = dlcRun(lib + " --random --steps 3");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("--steps needs --train"), std::string::npos);
  r = dlcRun(lib + " --train --random --repeat 3");
  EXPECT_EQ(r.status, 2);
  r = dlcRun(lib + " --train --inputs " + xFile);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("takes 2 input(s), 1 given"), std::string::npos)
      << r.output;
}

} // namespace
