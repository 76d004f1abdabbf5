//===- SequenceTest.cpp - sequence and optional inputs and outputs --------===//
//
// Against FakeSequenceLibrary.cpp: the runtime packs dlc_sequence and
// absent inputs into the entry point's tensors, and unpacks its outputs.
//
//===----------------------------------------------------------------------===//

#include "dlc/runtime.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

std::string fakeSequence(const char *name) {
  return std::string(DLC_FAKE_TRAINING_DIR) + "/fake_" + name + ".so";
}

std::vector<int64_t> shapeOf(const dlc_tensor &t) {
  return std::vector<int64_t>(t.shape, t.shape + t.rank);
}

class SequenceTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_EQ(dlc_model_load(fakeSequence("sequence").c_str(), &model), DLC_OK)
        << dlc_last_error();
    for (int i = 0; i < 6; ++i)
      a[i] = static_cast<float>(i);
    elements = {seqTensor(a, 2, shapeA), seqTensor(&b, 0, nullptr),
                seqTensor(nullptr, 1, shapeEmpty), seqTensor(c, 8, shapeC)};
    sequence = {4, elements.data()};
    int64s = {{p, DLC_INT64, 1, shapeP}};
    intSequence = {1, int64s.data()};
    in[0] = {&sequence, DLC_FLOAT32, DLC_RANK_SEQUENCE, nullptr};
    in[1] = {opt, DLC_FLOAT32, 2, shapeOpt};
    in[2] = {x, DLC_FLOAT32, 1, shapeX};
    in[3] = {&intSequence, DLC_INT64, DLC_RANK_SEQUENCE, nullptr};
  }
  void TearDown() override {
    for (dlc_tensor &t : out)
      dlc_tensor_free(&t);
    dlc_model_free(model);
  }
  static dlc_tensor seqTensor(float *data, int32_t rank, const int64_t *shape) {
    return dlc_tensor{data, DLC_FLOAT32, rank, shape};
  }
  /// Runs with `in`, expecting `status` and a message containing `text`.
  void expectFailure(dlc_status status, const std::string &text) {
    EXPECT_EQ(dlc_model_run_alloc(model, in, 4, out, 4), status);
    std::string message = dlc_last_error();
    EXPECT_NE(message.find(text), std::string::npos) << message;
    for (const dlc_tensor &t : out) {
      EXPECT_EQ(t.data, nullptr);
      EXPECT_EQ(t.shape, nullptr);
    }
  }

  dlc_model *model = nullptr;
  float a[6], b = 7.0f, c[2] = {8.0f, 9.0f};
  int64_t shapeA[2] = {2, 3}, shapeEmpty[1] = {0},
          shapeC[8] = {1, 1, 1, 1, 1, 1, 1, 2};
  std::vector<dlc_tensor> elements, int64s;
  dlc_sequence sequence, intSequence;
  int64_t p[3] = {4, 5, 6}, shapeP[1] = {3};
  float opt[4] = {1, 2, 3, 4}, x[2] = {0, 0};
  int64_t shapeOpt[2] = {2, 2}, shapeX[1] = {2};
  dlc_tensor in[4], out[4] = {};
};

TEST_F(SequenceTest, InfoShowsOneValuePerOnnxInput) {
  ASSERT_EQ(dlc_model_num_inputs(model), 4u);
  ASSERT_EQ(dlc_model_num_outputs(model), 4u);
  EXPECT_EQ(dlc_model_input_kind(model, 0), DLC_VALUE_SEQUENCE);
  EXPECT_EQ(dlc_model_input_kind(model, 1), DLC_VALUE_OPTIONAL_TENSOR);
  EXPECT_EQ(dlc_model_input_kind(model, 2), DLC_VALUE_TENSOR);
  EXPECT_EQ(dlc_model_input_kind(model, 3), DLC_VALUE_OPTIONAL_SEQUENCE);
  EXPECT_EQ(dlc_model_input_kind(model, 4), DLC_VALUE_TENSOR);
  EXPECT_EQ(dlc_model_output_kind(model, 0), DLC_VALUE_SEQUENCE);
  EXPECT_EQ(dlc_model_output_kind(model, 3), DLC_VALUE_TENSOR);
  EXPECT_STREQ(dlc_value_kind_name(DLC_VALUE_OPTIONAL_SEQUENCE),
               "optional sequence");
  dlc_tensor_info info;
  ASSERT_EQ(dlc_model_input_info(model, 0, &info), DLC_OK);
  EXPECT_STREQ(info.name, "seq");
  EXPECT_EQ(info.dtype, DLC_FLOAT32);
  EXPECT_EQ(info.rank, -1);
  EXPECT_EQ(info.shape, nullptr);
  EXPECT_EQ(dlc_tensor_info_elements(&info), -1);
  ASSERT_EQ(dlc_model_input_info(model, 1, &info), DLC_OK);
  EXPECT_STREQ(info.name, "opt");
  ASSERT_EQ(info.rank, 2);
  EXPECT_EQ(std::vector<int64_t>(info.shape, info.shape + 2),
            std::vector<int64_t>({-1, 2}));
  EXPECT_STREQ(dlc_model_input_dim_name(model, 1, 0), "n");
  EXPECT_STREQ(dlc_model_input_dim_name(model, 2, 0), "n");
  EXPECT_STREQ(dlc_model_input_dim_name(model, 0, 0), "");
  ASSERT_EQ(dlc_model_input_info(model, 3, &info), DLC_OK);
  EXPECT_STREQ(info.name, "oseq");
  EXPECT_EQ(info.dtype, DLC_INT64);
  ASSERT_EQ(dlc_model_output_info(model, 3, &info), DLC_OK);
  EXPECT_STREQ(info.name, "info");
  EXPECT_EQ(dlc_tensor_info_elements(&info), 4);
  EXPECT_EQ(dlc_model_output_info(model, 4, &info), DLC_ERROR_INVALID_ARGUMENT);
}

TEST_F(SequenceTest, RunAllocPacksAndUnpacks) {
  ASSERT_EQ(dlc_model_run_alloc(model, in, 4, out, 4), DLC_OK)
      << dlc_last_error();
  // rev: the four tensors reversed, each with its shape and values.
  ASSERT_EQ(out[0].rank, DLC_RANK_SEQUENCE);
  EXPECT_EQ(out[0].dtype, DLC_FLOAT32);
  const auto *rev = static_cast<const dlc_sequence *>(out[0].data);
  ASSERT_EQ(rev->length, 4);
  for (int k = 0; k < 4; ++k) {
    const dlc_tensor &got = rev->tensors[k], &want = elements[3 - k];
    EXPECT_EQ(got.dtype, DLC_FLOAT32);
    ASSERT_EQ(shapeOf(got), shapeOf(want)) << "tensor " << k;
    int64_t n = 1;
    for (int64_t d : shapeOf(want))
      n *= d;
    for (int64_t i = 0; i < n; ++i)
      EXPECT_EQ(static_cast<const float *>(got.data)[i],
                static_cast<const float *>(want.data)[i])
          << "tensor " << k << " element " << i;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(got.data) % 64, 0u);
  }
  // maybe: opt + 1.
  ASSERT_EQ(out[1].rank, 2);
  EXPECT_EQ(shapeOf(out[1]), std::vector<int64_t>({2, 2}));
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(static_cast<const float *>(out[1].data)[i], opt[i] + 1);
  // oseq as given.
  ASSERT_EQ(out[2].rank, DLC_RANK_SEQUENCE);
  EXPECT_EQ(out[2].dtype, DLC_INT64);
  const auto *oseq = static_cast<const dlc_sequence *>(out[2].data);
  ASSERT_EQ(oseq->length, 1);
  EXPECT_EQ(shapeOf(oseq->tensors[0]), std::vector<int64_t>({3}));
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(static_cast<const int64_t *>(oseq->tensors[0].data)[i], p[i]);
  // info: the entry point saw 4 tensors of 6 + 1 + 0 + 2 values, opt
  // present, x of 2.
  ASSERT_EQ(out[3].rank, 1);
  const auto *info = static_cast<const int64_t *>(out[3].data);
  EXPECT_EQ(std::vector<int64_t>(info, info + 4),
            std::vector<int64_t>({4, 9, 1, 2}));
  for (dlc_tensor &t : out) {
    dlc_tensor_free(&t);
    EXPECT_EQ(t.data, nullptr);
    EXPECT_EQ(t.shape, nullptr);
    EXPECT_EQ(t.rank, 0);
  }
}

TEST_F(SequenceTest, AbsentOptionalsAndEmptySequences) {
  sequence = {0, nullptr};
  in[1] = {nullptr, DLC_FLOAT32, DLC_RANK_ABSENT, nullptr};
  // x's dim "n" is 5; the absent opt's is not compared with it.
  float five[5] = {};
  int64_t shapeFive[1] = {5};
  in[2] = {five, DLC_FLOAT32, 1, shapeFive};
  in[3] = {nullptr, DLC_INT64, DLC_RANK_ABSENT, nullptr};
  ASSERT_EQ(dlc_model_run_alloc(model, in, 4, out, 4), DLC_OK)
      << dlc_last_error();
  ASSERT_EQ(out[0].rank, DLC_RANK_SEQUENCE);
  EXPECT_EQ(static_cast<const dlc_sequence *>(out[0].data)->length, 0);
  EXPECT_EQ(out[1].rank, DLC_RANK_ABSENT);
  EXPECT_EQ(out[1].dtype, DLC_FLOAT32);
  EXPECT_EQ(out[1].data, nullptr);
  EXPECT_EQ(out[2].rank, DLC_RANK_ABSENT);
  EXPECT_EQ(out[2].dtype, DLC_INT64);
  const auto *info = static_cast<const int64_t *>(out[3].data);
  EXPECT_EQ(std::vector<int64_t>(info, info + 4),
            std::vector<int64_t>({0, 0, 0, 5}));
}

TEST_F(SequenceTest, BadInputsAreRefusedByName) {
  elements[1].dtype = DLC_INT64;
  expectFailure(DLC_ERROR_SIGNATURE, "input #0 ('seq'), tensor 1: dtype "
                                     "int64, the sequence's is float32");
  elements[1].dtype = DLC_FLOAT32;
  int64_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  elements[2] = seqTensor(a, 9, nine);
  expectFailure(DLC_ERROR_SIGNATURE,
                "input #0 ('seq'), tensor 2: rank 9, a sequence's tensors "
                "have rank 0 to 8");
  elements[2] = seqTensor(nullptr, 1, shapeA);
  expectFailure(DLC_ERROR_INVALID_ARGUMENT,
                "input #0 ('seq'), tensor 2: data is null");
  elements[2] = seqTensor(nullptr, 1, shapeEmpty);
  in[0].dtype = DLC_INT64;
  expectFailure(DLC_ERROR_SIGNATURE, "input #0 ('seq'): a sequence of int64, "
                                     "the model expects one of float32");
  in[0] = {a, DLC_FLOAT32, 2, shapeA};
  expectFailure(DLC_ERROR_SIGNATURE,
                "input #0 ('seq'): a sequence, given as a tensor");
  in[0] = {nullptr, DLC_FLOAT32, DLC_RANK_SEQUENCE, nullptr};
  expectFailure(DLC_ERROR_INVALID_ARGUMENT, "input #0 ('seq'): data is null");
  in[0] = {&sequence, DLC_FLOAT32, DLC_RANK_ABSENT, nullptr};
  expectFailure(DLC_ERROR_SIGNATURE, "input #0 ('seq'): a sequence, not an "
                                     "optional: it cannot be absent");
  in[0] = {&sequence, DLC_FLOAT32, DLC_RANK_SEQUENCE, nullptr};
  in[2] = {nullptr, DLC_FLOAT32, DLC_RANK_ABSENT, nullptr};
  expectFailure(DLC_ERROR_SIGNATURE,
                "input #2 ('x'): a tensor, an absent optional given");
  in[2] = {x, DLC_FLOAT32, 1, shapeX};
  // A present optional tensor is checked as the model declares it.
  int64_t shapeWide[2] = {1, 4};
  in[1] = {opt, DLC_FLOAT32, 2, shapeWide};
  expectFailure(DLC_ERROR_SIGNATURE,
                "input #1 ('opt'): shape [1,4], the model expects [-1,2]");
  int64_t shapeOne[2] = {1, 2};
  in[1] = {opt, DLC_FLOAT32, 2, shapeOne};
  expectFailure(DLC_ERROR_SIGNATURE, "dims of one name must be one size");
  in[1] = {&sequence, DLC_FLOAT32, DLC_RANK_SEQUENCE, nullptr};
  expectFailure(DLC_ERROR_SIGNATURE,
                "input #1 ('opt'): a tensor, given as a sequence");
  EXPECT_EQ(dlc_model_run_alloc(model, in, 3, out, 4), DLC_ERROR_SIGNATURE);
  EXPECT_STREQ(dlc_last_error(), "the model takes 4 input(s), 3 given");
}

TEST_F(SequenceTest, RunRefusesSequenceOutputs) {
  float buffer[4];
  int64_t shape[1] = {4};
  dlc_tensor outputs[4] = {{buffer, DLC_FLOAT32, 1, shape}};
  EXPECT_EQ(dlc_model_run(model, in, 4, outputs, 4), DLC_ERROR_SIGNATURE);
  EXPECT_STREQ(dlc_last_error(),
               "dlc_model_run: output #0 ('rev') is a sequence: use "
               "dlc_model_run_alloc, which returns sequences and optionals");
}

TEST(SequenceLibraryTest, MalformedManifestIsRefused) {
  dlc_model *model = nullptr;
  EXPECT_EQ(dlc_model_load(fakeSequence("badmanifest").c_str(), &model),
            DLC_ERROR_MANIFEST);
  EXPECT_EQ(model, nullptr);
  std::string message = dlc_last_error();
  EXPECT_NE(message.find("the manifest's input 'seq' (a sequence) lacks its "
                         "entry tensor Table"),
            std::string::npos)
      << message;
}

TEST(SequenceLibraryTest, MalformedSequenceOutputFailsTheCall) {
  dlc_model *model = nullptr;
  ASSERT_EQ(dlc_model_load(fakeSequence("badtable").c_str(), &model), DLC_OK)
      << dlc_last_error();
  float a[2] = {1, 2}, x[1] = {0};
  int64_t shape[1] = {2}, one[1] = {1};
  dlc_tensor element = {a, DLC_FLOAT32, 1, shape};
  dlc_sequence sequence = {1, &element};
  dlc_tensor in[4] = {{&sequence, DLC_FLOAT32, DLC_RANK_SEQUENCE, nullptr},
                      {nullptr, DLC_FLOAT32, DLC_RANK_ABSENT, nullptr},
                      {x, DLC_FLOAT32, 1, one},
                      {nullptr, DLC_INT64, DLC_RANK_ABSENT, nullptr}};
  dlc_tensor out[4];
  EXPECT_EQ(dlc_model_run_alloc(model, in, 4, out, 4), DLC_ERROR_SIGNATURE);
  std::string message = dlc_last_error();
  EXPECT_NE(message.find("output #0 ('rev'): the library returned a malformed "
                         "sequence (row 0: offset 5, rank 1, in 5 values)"),
            std::string::npos)
      << message;
  for (const dlc_tensor &t : out) {
    EXPECT_EQ(t.data, nullptr);
    EXPECT_EQ(t.shape, nullptr);
  }
  dlc_model_free(model);
}

} // namespace
