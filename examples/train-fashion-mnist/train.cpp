//===- train.cpp - train a dlc training library on Fashion-MNIST ----------===//
//
//   train-fashion-mnist STEP.so [--data DIR] [--epochs N] [--batch N]
//                       [--lr R] [--seed S] [--normalize]
//                       [--export TRAINED.onnx] [--logits FILE] [--threads N]
//   train-fashion-mnist --eval MODEL.so [--data DIR] [--normalize]
//                       [--logits FILE]
//
// STEP.so comes from `dlc model.onnx --train --loss=cross-entropy ...`: its
// step takes x (float32 [N, ...] with 784 values per image) and labels (int64
// [N]); its forward entry (dlc_model_run) returns logits [N, C]. Each epoch
// shuffles the training set, runs one dlc_model_train_step per full batch,
// then measures test accuracy with the trained parameters. --export writes
// the trained model back to ONNX. Pixels are x / 255 in [0, 1]; --normalize
// also standardizes them with the training set's mean and std (the exported
// model then expects inputs standardized the same way).
//
// --eval only measures the test accuracy of a library (an inference one, say
// compiled from the exported ONNX), so that a script can check that the
// export gives what the training library gave. --logits writes the logits of
// the first test batches (raw float32) for the same purpose.
//
// Exit status: 0 on success, 1 on any error (including a non-finite loss).
//
//===----------------------------------------------------------------------===//

#include "tools/dlc-run/OnnxExport.h"

#include "dlc/runtime.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

constexpr int64_t kPixels = 28 * 28;
constexpr int kClasses = 10;
// The test batches whose logits --logits writes.
constexpr int64_t kLogitBatches = 4;

[[noreturn]] void fail(const char *format, ...) {
  std::fflush(stdout);
  std::fputs("train-fashion-mnist: error: ", stderr);
  va_list args;
  va_start(args, format);
  std::vfprintf(stderr, format, args);
  va_end(args);
  std::fputc('\n', stderr);
  std::exit(1);
}

double seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

//===----------------------------------------------------------------------===//
// The data: idx files (gzip-compressed or not; zlib reads both)
//===----------------------------------------------------------------------===//

struct Split {
  int64_t count = 0;
  std::vector<uint8_t> images; // count x 784, row-major, 0..255
  std::vector<uint8_t> labels; // count, 0..9
};

class GzFile {
public:
  explicit GzFile(const std::string &path) : path(path) {
    file = gzopen(path.c_str(), "rb");
    if (!file)
      fail("%s: cannot open: %s (install the Debian package "
           "dataset-fashion-mnist, or pass --data DIR)",
           path.c_str(), errno ? std::strerror(errno) : "out of memory");
    gzbuffer(file, 1 << 18);
  }
  ~GzFile() { gzclose(file); }
  GzFile(const GzFile &) = delete;
  GzFile &operator=(const GzFile &) = delete;

  void read(void *data, size_t bytes, const char *what) {
    auto *out = static_cast<char *>(data);
    while (bytes > 0) {
      // gzread takes an unsigned count; read in chunks to stay well inside.
      unsigned chunk = static_cast<unsigned>(std::min<size_t>(bytes, 1 << 30));
      int got = gzread(file, out, chunk);
      if (got < 0) {
        int code;
        const char *message = gzerror(file, &code);
        fail("%s: cannot read %s: %s", path.c_str(), what, message);
      }
      if (got == 0)
        fail("%s: truncated: ends inside the %s", path.c_str(), what);
      out += got;
      bytes -= static_cast<size_t>(got);
    }
  }

  uint32_t readBigEndian32(const char *what) {
    unsigned char b[4];
    read(b, 4, what);
    return uint32_t(b[0]) << 24 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 8 |
           uint32_t(b[3]);
  }

  void expectEnd() {
    char extra;
    if (gzread(file, &extra, 1) != 0)
      fail("%s: unexpected data after the last item", path.c_str());
  }

  const std::string path;

private:
  gzFile file;
};

/// Reads an idx file of unsigned bytes with `dims` dimensions; `inner` are
/// the expected sizes of all but the first. Returns the first (the count).
int64_t readIdx(const std::string &path, uint32_t dims,
                const std::vector<uint32_t> &inner,
                std::vector<uint8_t> &data) {
  GzFile file(path);
  uint32_t magic = file.readBigEndian32("header");
  uint32_t expected = 0x0800u | dims; // 0x08: unsigned byte elements
  if (magic != expected)
    fail("%s: not an idx file of %u-D unsigned bytes (magic 0x%08x, expected "
         "0x%08x)",
         path.c_str(), dims, magic, expected);
  uint32_t count = file.readBigEndian32("header");
  for (size_t i = 0; i < inner.size(); ++i) {
    uint32_t size = file.readBigEndian32("header");
    if (size != inner[i])
      fail("%s: dimension %zu is %u, expected %u", path.c_str(), i + 1, size,
           inner[i]);
  }
  int64_t itemBytes = 1;
  for (uint32_t size : inner)
    itemBytes *= size;
  if (count == 0 || count > (1u << 24))
    fail("%s: implausible item count %u", path.c_str(), count);
  data.resize(static_cast<size_t>(count) * itemBytes);
  file.read(data.data(), data.size(), "data");
  file.expectEnd();
  return count;
}

Split readSplit(const std::string &dir, const char *prefix) {
  Split split;
  std::string images = dir + "/" + prefix + "-images-idx3-ubyte.gz";
  std::string labels = dir + "/" + prefix + "-labels-idx1-ubyte.gz";
  split.count = readIdx(images, 3, {28, 28}, split.images);
  int64_t labelCount = readIdx(labels, 1, {}, split.labels);
  if (labelCount != split.count)
    fail("%s has %lld images but %s has %lld labels", images.c_str(),
         (long long)split.count, labels.c_str(), (long long)labelCount);
  for (int64_t i = 0; i < split.count; ++i)
    if (split.labels[i] >= kClasses)
      fail("%s: label %d of item %lld is not a class 0..9", labels.c_str(),
           split.labels[i], (long long)i);
  return split;
}

/// How pixels become floats: x / 255 in [0, 1] by default (like torchvision's
/// ToTensor() alone), then (x - mean) / std with --normalize.
struct Scaling {
  float mean = 0, std = 1;
};

/// The mean and standard deviation of the training set's pixels in [0, 1].
Scaling trainingStatistics(const Split &train) {
  double sum = 0, sumSquares = 0;
  for (uint8_t pixel : train.images) {
    double v = pixel / 255.0;
    sum += v;
    sumSquares += v * v;
  }
  double n = static_cast<double>(train.images.size());
  double mean = sum / n;
  return {static_cast<float>(mean),
          static_cast<float>(std::sqrt(sumSquares / n - mean * mean))};
}

void loadImage(const Split &split, int64_t index, const Scaling &scaling,
               float *out) {
  const uint8_t *in = split.images.data() + index * kPixels;
  float scale = 1.0f / (255.0f * scaling.std),
        shift = scaling.mean / scaling.std;
  for (int64_t p = 0; p < kPixels; ++p)
    out[p] = in[p] * scale - shift;
}

//===----------------------------------------------------------------------===//
// The model's signature
//===----------------------------------------------------------------------===//

struct Signature {
  int64_t batch = 0;
  std::vector<int64_t> xShape, labelShape, logitShape;
  int64_t classes = 0;
};

void checkImageInput(const std::string &path, const dlc_tensor_info &x,
                     const char *what) {
  if (x.dtype != DLC_FLOAT32 || x.rank < 2)
    fail("%s: %s '%s' must be float32 [N, ...], not %s of rank %d",
         path.c_str(), what, x.name, dlc_dtype_name(x.dtype), x.rank);
  int64_t perImage = 1;
  for (int32_t d = 1; d < x.rank; ++d)
    perImage *= x.shape[d];
  if (perImage != kPixels)
    fail("%s: %s '%s' takes %lld values per image; a 28x28 image has 784",
         path.c_str(), what, x.name, (long long)perImage);
}

/// The forward entry: x [N, ...] -> logits [N, C].
Signature readForward(dlc_model *model, const std::string &path) {
  if (dlc_model_num_inputs(model) != 1 || dlc_model_num_outputs(model) < 1)
    fail("%s: expected one input (images) and the logits as first output; "
         "the model has %zu inputs and %zu outputs",
         path.c_str(), dlc_model_num_inputs(model),
         dlc_model_num_outputs(model));
  dlc_tensor_info x, logits;
  dlc_model_input_info(model, 0, &x);
  dlc_model_output_info(model, 0, &logits);
  checkImageInput(path, x, "input");
  Signature sig;
  sig.batch = x.shape[0];
  sig.xShape.assign(x.shape, x.shape + x.rank);
  if (logits.dtype != DLC_FLOAT32 || logits.rank != 2 ||
      logits.shape[0] != sig.batch || logits.shape[1] < kClasses)
    fail("%s: output '%s' must be float32 logits [%lld, >=10]", path.c_str(),
         logits.name, (long long)sig.batch);
  sig.logitShape.assign(logits.shape, logits.shape + 2);
  sig.classes = logits.shape[1];
  return sig;
}

/// The step: the forward's x, then int64 labels [N].
void readStep(dlc_model *model, const std::string &path, Signature &sig) {
  if (!dlc_model_is_training(model))
    fail("%s: not a training library (compile it with dlc --train "
         "--loss=cross-entropy)",
         path.c_str());
  if (dlc_model_num_step_inputs(model) != 2)
    fail("%s: a step must take images and labels; this one takes %zu inputs "
         "(compile with --loss=cross-entropy)",
         path.c_str(), dlc_model_num_step_inputs(model));
  dlc_tensor_info x, labels;
  dlc_model_step_input_info(model, 0, &x);
  dlc_model_step_input_info(model, 1, &labels);
  checkImageInput(path, x, "step input");
  if (labels.dtype != DLC_INT64 || labels.rank != 1 ||
      labels.shape[0] != sig.batch)
    fail("%s: step input '%s' must be int64 class indices [%lld]", path.c_str(),
         labels.name, (long long)sig.batch);
  sig.labelShape.assign(labels.shape, labels.shape + 1);
}

//===----------------------------------------------------------------------===//
// Progress
//===----------------------------------------------------------------------===//

/// One epoch's bar on stderr. On a terminal it is redrawn in place (\r), at
/// most ten times a second; into a file or a pipe it is written as a line at
/// each quarter, so that logs stay readable.
class Progress {
public:
  Progress(int epoch, int epochs, int64_t steps)
      : epoch(epoch), epochs(epochs), steps(steps),
        terminal(isatty(STDERR_FILENO)) {}

  void update(int64_t done, double meanLoss, double imagesPerSecond) {
    auto now = Clock::now();
    if (terminal) {
      if (done < steps && now - lastDraw < std::chrono::milliseconds(100))
        return;
    } else {
      int64_t quarter = done * 4 / steps;
      if (quarter == lastQuarter || done == steps)
        return;
      lastQuarter = quarter;
    }
    lastDraw = now;
    draw(done, meanLoss, imagesPerSecond, terminal ? '\r' : '\n');
  }

  /// The final line: the epoch's mean loss and speed.
  void finish(double meanLoss, double imagesPerSecond) {
    draw(steps, meanLoss, imagesPerSecond, terminal ? '\r' : '\n');
    if (terminal)
      std::fputc('\n', stderr);
  }

  /// Ends a bar drawn in place, so that an error starts on its own line.
  void interrupt() {
    if (terminal && lastDraw != Clock::time_point{})
      std::fputc('\n', stderr);
  }

private:
  void draw(int64_t done, double loss, double imagesPerSecond, char start) {
    constexpr int width = 30;
    int filled = static_cast<int>(done * width / steps);
    char bar[width + 1];
    for (int i = 0; i < width; ++i)
      bar[i] = i < filled ? '=' : i == filled ? '>' : ' ';
    bar[width] = 0;
    // \r before the text, \x1b[K to clear what a longer line left behind.
    if (start == '\r')
      std::fprintf(stderr, "\r\x1b[K");
    std::fprintf(stderr, "epoch %d/%d [%s] %lld/%lld loss %.4f %.0f img/s",
                 epoch, epochs, bar, (long long)done, (long long)steps, loss,
                 imagesPerSecond);
    if (start == '\n')
      std::fputc('\n', stderr);
    std::fflush(stderr);
  }

  int epoch, epochs;
  int64_t steps;
  bool terminal;
  Clock::time_point lastDraw{};
  int64_t lastQuarter = 0;
};

//===----------------------------------------------------------------------===//
// Evaluation
//===----------------------------------------------------------------------===//

/// Test accuracy with the model's current parameters, in full batches; the
/// last one is padded with blank images that are not counted. Writes the
/// logits of the first batches to `logitsPath` when given.
double evaluate(dlc_model *model, const Signature &sig, const Split &test,
                const Scaling &scaling, const std::string &logitsPath) {
  int64_t batch = sig.batch, classes = sig.classes;
  std::vector<float> x(batch * kPixels), logits(batch * classes);
  dlc_tensor in{x.data(), DLC_FLOAT32, static_cast<int32_t>(sig.xShape.size()),
                sig.xShape.data()};
  dlc_tensor out{logits.data(), DLC_FLOAT32, 2, sig.logitShape.data()};
  std::FILE *dump = nullptr;
  if (!logitsPath.empty() && !(dump = std::fopen(logitsPath.c_str(), "wb")))
    fail("%s: cannot write: %s", logitsPath.c_str(), std::strerror(errno));

  int64_t correct = 0;
  for (int64_t first = 0, b = 0; first < test.count; first += batch, ++b) {
    int64_t real = std::min(batch, test.count - first);
    for (int64_t i = 0; i < real; ++i)
      loadImage(test, first + i, scaling, x.data() + i * kPixels);
    std::fill(x.begin() + real * kPixels, x.end(), 0.0f);
    if (dlc_model_run(model, &in, 1, &out, 1) != DLC_OK)
      fail("evaluation: %s", dlc_last_error());
    for (int64_t i = 0; i < real; ++i) {
      const float *row = logits.data() + i * classes;
      int64_t best = std::max_element(row, row + classes) - row;
      correct += best == test.labels[first + i];
    }
    if (dump && b < kLogitBatches &&
        std::fwrite(logits.data(), sizeof(float), logits.size(), dump) !=
            logits.size())
      fail("%s: cannot write: %s", logitsPath.c_str(), std::strerror(errno));
  }
  if (dump && std::fclose(dump) != 0)
    fail("%s: cannot write: %s", logitsPath.c_str(), std::strerror(errno));
  return 100.0 * correct / test.count;
}

//===----------------------------------------------------------------------===//
// Options
//===----------------------------------------------------------------------===//

struct Options {
  std::string model, data = "/usr/share/datasets/fashion-mnist";
  std::string exportPath, logitsPath;
  int epochs = 2;
  int64_t batch = 0; // 0: the model's
  double lr = -1;    // < 0: the one compiled in
  uint32_t seed = 0;
  bool eval = false, normalize = false, threadsGiven = false;
};

[[noreturn]] void usage(const char *message) {
  std::fprintf(
      stderr,
      "train-fashion-mnist: error: %s\n"
      "usage: train-fashion-mnist STEP.so [--data DIR] [--epochs N] "
      "[--batch N] [--lr R] [--seed S]\n"
      "                           [--normalize] [--export TRAINED.onnx] "
      "[--logits FILE] [--threads N]\n"
      "       train-fashion-mnist --eval MODEL.so [--data DIR] [--normalize] "
      "[--logits FILE]\n",
      message);
  std::exit(1);
}

Options parse(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        usage((a + " needs a value").c_str());
      return argv[++i];
    };
    auto integer = [&](int64_t min, int64_t max) {
      std::string v = value();
      char *end;
      errno = 0;
      long long n = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end || errno || n < min || n > max)
        usage((a + " takes an integer from " + std::to_string(min) + " to " +
               std::to_string(max) + ", not '" + v + "'")
                  .c_str());
      return static_cast<int64_t>(n);
    };
    if (a == "--data")
      o.data = value();
    else if (a == "--epochs")
      o.epochs = static_cast<int>(integer(1, 1000));
    else if (a == "--batch")
      o.batch = integer(1, 1 << 20);
    else if (a == "--seed")
      o.seed = static_cast<uint32_t>(integer(0, UINT32_MAX));
    else if (a == "--threads") {
      integer(1, 1024);
      o.threadsGiven = true;
    } else if (a == "--lr") {
      std::string v = value();
      char *end;
      o.lr = std::strtod(v.c_str(), &end);
      if (v.empty() || *end || !(o.lr > 0) || !std::isfinite(o.lr))
        usage(("--lr takes a positive number, not '" + v + "'").c_str());
    } else if (a == "--export")
      o.exportPath = value();
    else if (a == "--logits")
      o.logitsPath = value();
    else if (a == "--eval")
      o.eval = true;
    else if (a == "--normalize")
      o.normalize = true;
    else if (a == "-h" || a == "--help")
      usage("help requested");
    else if (!a.empty() && a[0] == '-')
      usage(("unknown option " + a).c_str());
    else if (o.model.empty())
      o.model = a;
    else
      usage(("one model only; '" + a + "' is a second").c_str());
  }
  if (o.model.empty())
    usage("no model library given");
  if (o.eval && (!o.exportPath.empty() || o.batch || o.lr >= 0))
    usage("--eval does not combine with --export, --batch or --lr");
  return o;
}

/// The learning rate compiled into the library, or 0 when it has none.
double compiledLr(dlc_model *model) {
  for (size_t i = 0, e = dlc_model_num_hyperparameters(model); i < e; ++i) {
    const char *name;
    double value;
    if (dlc_model_hyperparameter(model, i, &name, &value) == DLC_OK &&
        std::strcmp(name, "lr") == 0)
      return value;
  }
  return 0;
}

int train(dlc_model *model, const Options &o, const Signature &sig,
          const Split &trainSet, const Split &testSet, const Scaling &scaling) {
  int64_t batch = sig.batch;
  if (o.batch && o.batch != batch)
    fail("%s: compiled for batches of %lld, not %lld (shapes are static: "
         "recompile the model with another batch size)",
         o.model.c_str(), (long long)batch, (long long)o.batch);
  double lr = o.lr >= 0 ? o.lr : compiledLr(model);
  if (!(lr > 0))
    fail("%s: no learning rate compiled in; pass --lr", o.model.c_str());
  int64_t steps = trainSet.count / batch; // the last partial batch is dropped
  if (steps == 0)
    fail("the training set (%lld images) is smaller than one batch",
         (long long)trainSet.count);

  std::printf("training %s: %s on %s, lr %g, batch %lld, %lld steps/epoch "
              "(%lld images dropped), %lld test images\n",
              o.model.c_str(), dlc_model_optimizer(model),
              dlc_model_loss(model), lr, (long long)batch, (long long)steps,
              (long long)(trainSet.count - steps * batch),
              (long long)testSet.count);
  if (o.normalize)
    std::printf("pixels normalized: (x/255 - %.4f) / %.4f (the training "
                "set's mean and std); ",
                scaling.mean, scaling.std);
  else
    std::printf("pixels given as x/255 in [0, 1] (lenet5.onnx standardizes "
                "them itself); ");
  std::printf("shuffled each epoch (mt19937, seed %u)\n", o.seed);
  if (o.threadsGiven)
    std::printf("note: --threads is ignored: the generated code runs on one "
                "thread\n");
  std::fflush(stdout);

  std::vector<float> x(batch * kPixels);
  std::vector<int64_t> labels(batch);
  dlc_tensor inputs[2] = {{x.data(), DLC_FLOAT32,
                           static_cast<int32_t>(sig.xShape.size()),
                           sig.xShape.data()},
                          {labels.data(), DLC_INT64, 1, sig.labelShape.data()}};
  std::vector<int32_t> order(trainSet.count);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937 rng(o.seed);

  double accuracy = 0;
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    Progress progress(epoch, o.epochs, steps);
    double lossSum = 0;
    auto start = Clock::now();
    for (int64_t step = 0; step < steps; ++step) {
      for (int64_t i = 0; i < batch; ++i) {
        int32_t index = order[step * batch + i];
        loadImage(trainSet, index, scaling, x.data() + i * kPixels);
        labels[i] = trainSet.labels[index];
      }
      float loss = 0;
      dlc_status status =
          dlc_model_train_step(model, inputs, 2, static_cast<float>(lr), &loss);
      if (status != DLC_OK)
        progress.interrupt();
      if (status == DLC_ERROR_NONFINITE)
        fail("epoch %d, step %lld: the loss is %g; stopping (the parameters "
             "are those before this step; try a smaller --lr)",
             epoch, (long long)step + 1, loss);
      if (status != DLC_OK)
        fail("epoch %d, step %lld: %s", epoch, (long long)step + 1,
             dlc_last_error());
      lossSum += loss;
      progress.update(step + 1, lossSum / (step + 1),
                      (step + 1) * batch / seconds(start));
    }
    double trainSeconds = seconds(start);
    double meanLoss = lossSum / steps;
    double imagesPerSecond = steps * batch / trainSeconds;
    progress.finish(meanLoss, imagesPerSecond);

    auto evalStart = Clock::now();
    // Only the last epoch's logits are of interest (the exported weights).
    accuracy = evaluate(model, sig, testSet, scaling,
                        epoch == o.epochs ? o.logitsPath : std::string());
    std::printf("epoch %d: train loss %.4f, %.0f img/s, test accuracy %.2f%% "
                "(train %.1f s, test %.1f s)\n",
                epoch, meanLoss, imagesPerSecond, accuracy, trainSeconds,
                seconds(evalStart));
    std::fflush(stdout);
  }

  if (!o.exportPath.empty()) {
    std::string error;
    if (!dlc::tools::exportTrainedOnnx(model, o.exportPath, error))
      fail("exporting %s: %s", o.exportPath.c_str(), error.c_str());
    std::printf("exported the trained model to %s\n", o.exportPath.c_str());
  }
  std::printf("final test accuracy: %.2f%%\n", accuracy);
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  auto start = Clock::now();
  Options o = parse(argc, argv);

  dlc_model *model = nullptr;
  if (dlc_model_load(o.model.c_str(), &model) != DLC_OK)
    fail("%s", dlc_last_error());
  Signature sig = readForward(model, o.model);
  if (!o.eval)
    readStep(model, o.model, sig);

  Split testSet = readSplit(o.data, "t10k");
  // --eval needs the training set only for its statistics.
  Split trainSet;
  Scaling scaling;
  if (!o.eval || o.normalize)
    trainSet = readSplit(o.data, "train");
  if (o.normalize)
    scaling = trainingStatistics(trainSet);
  int status = 0;
  if (o.eval) {
    double accuracy = evaluate(model, sig, testSet, scaling, o.logitsPath);
    std::printf("%s: test accuracy %.2f%% (%lld images)\n", o.model.c_str(),
                accuracy, (long long)testSet.count);
  } else {
    status = train(model, o, sig, trainSet, testSet, scaling);
    std::printf("total time %.1f s\n", seconds(start));
  }
  dlc_model_free(model);
  return status;
}
