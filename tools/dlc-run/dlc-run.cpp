//===- dlc-run.cpp - run, check and time a dlc-compiled model -------------===//
//
//   dlc-run model.so --info
//   dlc-run model.so --inputs in0.pb ... [--expect out0.pb ...] [--rtol R --atol A]
//   dlc-run model.so --inputs in0.pb ... --save DIR
//   dlc-run model.so --random --repeat 100 [--threads N] [--json] [--profile]
//   dlc-run train.so --train --inputs x.pb labels.pb --steps N [--lr R]
//           [--json] [--load-params DIR] [--save-params DIR] [--save-grads DIR]
//           [--checkpoint-in F] [--checkpoint-out F] [--export-onnx F.onnx]
//   dlc-run step.so --export-onnx trained.onnx [--checkpoint-in F]
//           [--checkpoint-in F] [--checkpoint-out F]
//
// Exit status: 0 success, 1 mismatch against --expect or a non-finite loss
// in --train, 2 usage or runtime error.
//
//===----------------------------------------------------------------------===//

#include "OnnxExport.h"
#include "TensorFiles.h"

#include "dlc/runtime.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <new>
#include <random>
#include <string>
#include <vector>

using dlc::tools::HostTensor;
using dlc::tools::HostValue;

namespace {

struct Options {
  std::string model;
  std::vector<std::string> inputs, expects;
  std::string saveDir;
  bool info = false, random = false, json = false, time = false;
  bool profile = false;
  int repeat = 1, threads = 0; // 0: the library's default
  double rtol = 1e-4, atol = 1e-5;
  // --train
  bool train = false, hasLr = false, hasSteps = false;
  int steps = 1;
  double lr = 0;
  std::string saveParams, saveGrads, loadParams, checkpointIn, checkpointOut;
  std::string exportOnnx;
  // --dim NAME=N: with --random, the size of the inputs' dims of that name.
  std::map<std::string, int64_t> dims;
};

/// The usage text, after an error message on stderr (exit 2) or alone on
/// stdout for --help (exit 0).
int usage(const char *message) {
  std::FILE *out = message ? stderr : stdout;
  if (message)
    std::fprintf(out, "dlc-run: error: %s\n", message);
  std::fprintf(
      out,
      "usage: dlc-run MODEL.so [--info] [--inputs F.pb...] "
      "[--expect F.pb...] [--rtol R] [--atol A] [--save DIR]\n"
      "                [--random [--dim NAME=N...]] [--repeat N] "
      "[--threads N] [--json] [--profile]\n"
      "       dlc-run MODEL.so --train [--inputs F.pb...] [--steps N] "
      "[--lr R] [--json] [--time]\n"
      "                [--load-params DIR] [--save-params DIR] [--save-grads "
      "DIR] "
      "[--checkpoint-in F] [--checkpoint-out F]\n"
      "                [--export-onnx F.onnx]\n"
      "       dlc-run MODEL.so --export-onnx F.onnx [--checkpoint-in F]\n");
  return message ? 2 : 0;
}

bool parse(int argc, char **argv, Options &o, std::string &error) {
  std::vector<std::string> *list = nullptr;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&](const char *what) -> const char * {
      if (i + 1 >= argc) {
        error = std::string(what) + " needs a value";
        return nullptr;
      }
      return argv[++i];
    };
    auto number = [&](const char *what, double &out) {
      const char *v = next(what);
      if (!v)
        return false;
      char *end = nullptr;
      out = std::strtod(v, &end);
      if (*end != '\0') {
        error = std::string(what) + ": '" + v + "' is not a number";
        return false;
      }
      return true;
    };
    auto value = [&](const char *what, std::string &out) {
      const char *v = next(what);
      if (v)
        out = v;
      return v != nullptr;
    };
    if (a == "--info") { o.info = true; list = nullptr; }
    else if (a == "--time") { o.time = true; list = nullptr; }
    else if (a == "--profile") { o.profile = true; list = nullptr; }
    else if (a == "--train") { o.train = true; list = nullptr; }
    else if (a == "--lr") { if (!number("--lr", o.lr)) return false; o.hasLr = true; list = nullptr; }
    else if (a == "--save-params") { if (!value("--save-params", o.saveParams)) return false; list = nullptr; }
    else if (a == "--save-grads") { if (!value("--save-grads", o.saveGrads)) return false; list = nullptr; }
    else if (a == "--export-onnx") { if (!value("--export-onnx", o.exportOnnx)) return false; list = nullptr; }
    else if (a == "--load-params") { if (!value("--load-params", o.loadParams)) return false; list = nullptr; }
    else if (a == "--checkpoint-in") { if (!value("--checkpoint-in", o.checkpointIn)) return false; list = nullptr; }
    else if (a == "--checkpoint-out") { if (!value("--checkpoint-out", o.checkpointOut)) return false; list = nullptr;
    } else if (a == "--random") {
      o.random = true;
      list = nullptr;
    } else if (a == "--dim") {
      std::string spec;
      if (!value("--dim", spec))
        return false;
      size_t eq = spec.find('=');
      char *end = nullptr;
      long long n = eq == std::string::npos
                        ? -1
                        : std::strtoll(spec.c_str() + eq + 1, &end, 10);
      if (eq == 0 || eq == std::string::npos || n < 0 || !end || *end ||
          end == spec.c_str() + eq + 1) {
        error = "--dim wants NAME=N with N >= 0, got '" + spec + "'";
        return false;
      }
      o.dims[spec.substr(0, eq)] = n;
      list = nullptr;
    } else if (a == "--json") {
      o.json = true;
      list = nullptr;
    } else if (a == "--inputs")
      list = &o.inputs;
    else if (a == "--expect") list = &o.expects;
    else if (a == "--save") { const char *v = next("--save"); if (!v) return false; o.saveDir = v; list = nullptr; }
    else if (a == "--rtol") { if (!number("--rtol", o.rtol)) return false; list = nullptr; }
    else if (a == "--atol") { if (!number("--atol", o.atol)) return false; list = nullptr; }
    else if (a == "--repeat" || a == "--threads" || a == "--steps") {
      double v;
      if (!number(a.c_str(), v)) return false;
      if (v < 1 || v > 1e9 || v != std::floor(v)) { error = a + " must be a positive integer"; return false; }
      (a == "--repeat" ? o.repeat : a == "--threads" ? o.threads : o.steps) = static_cast<int>(v);
      o.hasSteps |= a == "--steps";
      list = nullptr;
    } else if (a.size() > 1 && a[0] == '-') { error = "unknown option " + a; return false; }
    else if (list) list->push_back(a);
    else if (o.model.empty()) o.model = a;
    else { error = "unexpected argument '" + a + "'"; return false; }
  }
  if (o.model.empty()) { error = "no model library given"; return false; }
  if (!o.train) {
    const char *trainOnly =
        o.hasSteps ? "--steps" : o.hasLr ? "--lr"
        : !o.saveParams.empty() ? "--save-params"
        : !o.saveGrads.empty() ? "--save-grads"

        : !o.checkpointOut.empty() ? "--checkpoint-out" : nullptr;
    if (trainOnly) { error = std::string(trainOnly) + " needs --train"; return false; }
  } else if (!o.expects.empty() || !o.saveDir.empty() || o.repeat > 1) {
    error = "--train does not combine with --expect, --save or --repeat";
    return false;
  }
  return true;
}

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

const char *roleName(dlc_state_role role) {
  switch (role) {
  case DLC_STATE_PARAMETER: return "parameter";
  case DLC_STATE_BUFFER: return "buffer";
  case DLC_STATE_MOMENT: return "moment";
  case DLC_STATE_STEP: return "step";
  }
  return "unknown";
}

void printInfo(dlc_model *model) {
  std::printf("model:  %s\n", dlc_model_source(model));
  std::printf("dlc:    %s\n", dlc_model_dlc_version(model));
  std::printf("target: %s (%s)\n", dlc_model_target(model),
              dlc_model_target_cpu(model));
  std::printf("device: %s\n", dlc_model_device(model));
  std::printf("params: %lld (%lld bytes)\n",
              (long long)dlc_model_parameter_count(model),
              (long long)dlc_model_parameter_bytes(model));
  if (*dlc_model_weights_file(model))
    std::printf("weights: %s\n", dlc_model_weights_file(model));
  std::printf("workspace: %lld bytes\n",
              (long long)dlc_model_workspace_bytes(model));
  auto list = [&](const char *what, size_t n, bool inputs) {
    for (size_t i = 0; i < n; ++i) {
      dlc_tensor_info t;
      (inputs ? dlc_model_input_info : dlc_model_output_info)(model, i, &t);
      dlc_value_kind kind =
          (inputs ? dlc_model_input_kind : dlc_model_output_kind)(model, i);
      std::string type = dlc::tools::valueTypeName(kind, t.dtype);
      if (t.rank < 0) {
        // A sequence: its tensors' shapes are free.
        std::printf("%s %zu: %s %s\n", what, i, t.name, type.c_str());
        continue;
      }
      // Dims taken at run time show their names: an input's ('?' for
      // unnamed ones), an output's where it is an input's named dim (-1
      // for other run-time sizes).
      std::string shape =
          shapeString(std::vector<int64_t>(t.shape, t.shape + t.rank));
      bool dynamic = dlc_tensor_info_elements(&t) < 0;
      if (dynamic) {
        shape = "[";
        for (int32_t d = 0; d < t.rank; ++d) {
          const char *name = (inputs ? dlc_model_input_dim_name
                                     : dlc_model_output_dim_name)(model, i, d);
          shape += d ? "," : "";
          if (t.shape[d] >= 0)
            shape += std::to_string(t.shape[d]);
          else
            shape += *name ? name : inputs ? "?" : "-1";
        }
        shape += "]";
      }
      std::printf("%s %zu: %s %s %s%s\n", what, i, t.name, type.c_str(),
                  shape.c_str(),
                  !dynamic ? ""
                  : inputs ? " (named dims: sizes given by each call)"
                  : shape.find("-1") != std::string::npos
                      ? " (-1: known only at run time)"
                      : " (named dims: the inputs' sizes)");
    }
  };
  list("input ", dlc_model_num_inputs(model), true);
  list("output", dlc_model_num_outputs(model), false);
  if (!dlc_model_is_training(model))
    return;
  std::string hyper;
  for (size_t i = 0; i < dlc_model_num_hyperparameters(model); ++i) {
    const char *name;
    double value;
    dlc_model_hyperparameter(model, i, &name, &value);
    char buffer[64];
    std::snprintf(buffer, sizeof(buffer), "%g", value);
    hyper += std::string(i ? ", " : " (") + name + "=" + buffer;
  }
  if (!hyper.empty())
    hyper += ")";
  std::printf("training: loss %s, optimizer %s%s\n", dlc_model_loss(model),
              dlc_model_optimizer(model), hyper.c_str());
  if (dlc_model_num_step_inputs(model) != dlc_model_num_inputs(model))
    for (size_t i = 0; i < dlc_model_num_step_inputs(model); ++i) {
      dlc_tensor_info t;
      dlc_model_step_input_info(model, i, &t);
      std::printf("step input %zu: %s %s %s\n", i, t.name,
                  dlc_dtype_name(t.dtype),
                  shapeString(std::vector<int64_t>(t.shape, t.shape + t.rank))
                      .c_str());
    }
  for (size_t i = 0; i < dlc_model_num_state(model); ++i) {
    dlc_state_info t;
    dlc_model_state_info(model, i, &t);
    std::printf("state  %zu: %s %s %s %s\n", i, roleName(t.role), t.name,
                dlc_dtype_name(t.dtype),
                shapeString(std::vector<int64_t>(t.shape, t.shape + t.rank))
                    .c_str());
  }
  for (size_t i = 0; i < dlc_model_num_frozen(model); ++i) {
    dlc_tensor_info t;
    dlc_model_frozen_info(model, i, &t);
    std::printf("frozen %zu: %s %s %s\n", i, t.name, dlc_dtype_name(t.dtype),
                shapeString(std::vector<int64_t>(t.shape, t.shape + t.rank))
                    .c_str());
  }
  std::printf("state: %lld bytes\n", (long long)dlc_model_state_bytes(model));
  std::printf("step workspace: %lld bytes\n",
              (long long)dlc_model_step_workspace_bytes(model));
}

/// A zero-filled tensor shaped like the model's input or output `info`.
HostTensor allocateLike(const dlc_tensor_info &info) {
  HostTensor t;
  t.name = info.name;
  t.dtype = info.dtype;
  t.shape.assign(info.shape, info.shape + info.rank);
  // A size no memory holds stays unallocated: the runtime refuses the call
  // with the tensor's name.
  int64_t bytes = 0;
  if (t.elements() > 0 &&
      !__builtin_mul_overflow(t.elements(),
                              static_cast<int64_t>(dlc_dtype_size(t.dtype)),
                              &bytes)) {
    try {
      t.bytes.assign(static_cast<size_t>(bytes), 0);
    } catch (const std::bad_alloc &) {
      t.bytes.clear();
    }
  }
  return t;
}

void fillRandom(HostTensor &t, std::mt19937 &rng) {
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  if (t.dtype == DLC_FLOAT32) {
    float *p = reinterpret_cast<float *>(t.bytes.data());
    for (int64_t i = 0; i < t.elements(); ++i)
      p[i] = uniform(rng);
  } else if (t.dtype == DLC_FLOAT64) {
    double *p = reinterpret_cast<double *>(t.bytes.data());
    for (int64_t i = 0; i < t.elements(); ++i)
      p[i] = uniform(rng);
  }
  // Integer inputs (indices) stay zero: always in range.
}

/// Compares one output tensor with its reference, `label` naming it:
/// |y - ref| <= atol + rtol * |ref|.
bool compare(const HostTensor &got, const HostTensor &want,
             const std::string &label, double rtol, double atol) {
  if (got.shape != want.shape) {
    std::printf("%s: shape %s, reference %s: MISMATCH\n", label.c_str(),
                shapeString(got.shape).c_str(),
                shapeString(want.shape).c_str());
    return false;
  }
  if (got.dtype != want.dtype) {
    std::printf("%s: dtype %s, reference %s: MISMATCH\n", label.c_str(),
                dlc_dtype_name(got.dtype), dlc_dtype_name(want.dtype));
    return false;
  }
  int64_t bad = 0, first = -1;
  double maxAbs = 0, maxRel = 0;
  for (int64_t i = 0; i < got.elements(); ++i) {
    double y = dlc::tools::elementAsDouble(got, i);
    double r = dlc::tools::elementAsDouble(want, i);
    bool ok;
    if (std::isnan(r) || std::isnan(y))
      ok = std::isnan(r) && std::isnan(y);
    else if (std::isinf(r) || std::isinf(y))
      ok = y == r;
    else {
      double diff = std::fabs(y - r);
      maxAbs = std::max(maxAbs, diff);
      if (r != 0)
        maxRel = std::max(maxRel, diff / std::fabs(r));
      ok = diff <= atol + rtol * std::fabs(r);
    }
    if (!ok && bad++ == 0)
      first = i;
  }
  std::printf("%s: %lld elements, max abs err %.3g, max rel err %.3g: %s",
              label.c_str(), (long long)got.elements(), maxAbs, maxRel,
              bad ? "MISMATCH" : "ok");
  if (bad)
    std::printf(" (%lld outside tolerance; first at %lld: got %.9g, want "
                "%.9g)",
                (long long)bad, (long long)first,
                dlc::tools::elementAsDouble(got, first),
                dlc::tools::elementAsDouble(want, first));
  std::printf("\n");
  return bad == 0;
}

/// Compares one output value with its reference: an optional's presence, a
/// sequence's length, then each tensor as `compare` does.
bool compareValue(const HostValue &got, const HostValue &want, size_t index,
                  double rtol, double atol) {
  std::string label =
      "output " + std::to_string(index) + " ('" + got.name + "')";
  if (got.present != want.present) {
    std::printf("%s: %s, reference %s: MISMATCH\n", label.c_str(),
                got.present ? "present" : "absent",
                want.present ? "present" : "absent");
    return false;
  }
  if (!got.present) {
    std::printf("%s: absent: ok\n", label.c_str());
    return true;
  }
  if (!got.isSequence())
    return compare(got.tensor, want.tensor, label, rtol, atol);
  if (got.elements.size() != want.elements.size()) {
    std::printf("%s: a sequence of %zu tensors, reference %zu: MISMATCH\n",
                label.c_str(), got.elements.size(), want.elements.size());
    return false;
  }
  bool ok = true;
  for (size_t k = 0; k < got.elements.size(); ++k)
    ok &= compare(got.elements[k], want.elements[k],
                  label + " tensor " + std::to_string(k), rtol, atol);
  if (got.elements.empty())
    std::printf("%s: an empty sequence: ok\n", label.c_str());
  return ok;
}

/// Sets every Parameter and Buffer state tensor that has a file DIR/<name>.pb
/// (as --save-params writes them); the others keep their values. Fails on
/// a file whose dtype or shape differs from the state tensor's.
bool loadState(dlc_model *model, const std::string &dir, std::string &error) {
  if (!std::filesystem::is_directory(dir)) {
    error = dir + ": not a directory";
    return false;
  }
  std::vector<std::string> missing;
  size_t loaded = 0;
  for (size_t i = 0; i < dlc_model_num_state(model); ++i) {
    dlc_state_info info;
    dlc_model_state_info(model, i, &info);
    if (info.role != DLC_STATE_PARAMETER && info.role != DLC_STATE_BUFFER)
      continue;
    std::string file = dir + "/" + dlc::tools::stateFileName(info.name) + ".pb";
    if (!std::filesystem::exists(file)) {
      missing.push_back(info.name);
      continue;
    }
    ++loaded;
    HostTensor t;
    if (!dlc::tools::readTensorFile(file, t, error))
      return false;
    if (t.dtype != info.dtype ||
        t.shape != std::vector<int64_t>(info.shape, info.shape + info.rank)) {
      error = file + ": dtype or shape differs from state tensor '" +
              std::string(info.name) + "'";
      return false;
    }
    if (dlc_model_write_state(model, info.name, t.bytes.data(),
                              t.bytes.size()) != DLC_OK) {
      error = dlc_last_error();
      return false;
    }
  }
  if (loaded == 0) {
    error = dir + ": no file there names a parameter or buffer of the model "
                  "(DIR/<name>.pb, as --save-params writes them)";
    return false;
  }
  for (const std::string &name : missing)
    std::fprintf(stderr, "dlc-run: note: %s: no %s.pb: '%s' keeps its value\n",
                 dir.c_str(), dlc::tools::stateFileName(name).c_str(), name.c_str());
  return true;
}

/// --train: the steps on the same inputs, then what was asked to be saved.
int train(dlc_model *model, const Options &o,
          const std::vector<dlc_tensor> &inputs) {
  auto failed = [&](const std::string &message) {
    std::fprintf(stderr, "dlc-run: error: %s: %s\n", o.model.c_str(),
                 message.c_str());
    return 2;
  };
  float lr = static_cast<float>(o.lr);
  if (!o.hasLr) {
    bool found = false;
    for (size_t i = 0; i < dlc_model_num_hyperparameters(model); ++i) {
      const char *name;
      double value;
      dlc_model_hyperparameter(model, i, &name, &value);
      if (std::strcmp(name, "lr") == 0) {
        lr = static_cast<float>(value);
        found = true;
      }
    }
    if (!found)
      return failed("the manifest has no learning rate 'lr': give --lr");
  }
  if (!o.checkpointIn.empty() &&
      dlc_model_load_checkpoint(model, o.checkpointIn.c_str()) != DLC_OK)
    return failed(dlc_last_error());
  if (!o.loadParams.empty()) {
    std::string error;
    if (!loadState(model, o.loadParams, error))
      return failed(error);
  }

  int status = 0;
  bool stepped = false;
  std::vector<double> times;
  for (int i = 0; i < o.steps; ++i) {
    long long step = dlc_model_step_count(model) + 1;
    float loss = 0;
    auto start = std::chrono::steady_clock::now();
    dlc_status s = dlc_model_train_step(model, inputs.data(), inputs.size(),
                                        lr, &loss);
    times.push_back(std::chrono::duration<double, std::milli>(
                        std::chrono::steady_clock::now() - start)
                        .count());
    if (s == DLC_ERROR_NONFINITE) {
      // The state is the last good one: still worth saving below.
      failed(dlc_last_error());
      if (o.json)
        std::printf("{\"step\": %lld, \"error\": \"non-finite\"}\n", step);
      status = 1;
      break;
    }
    if (s != DLC_OK)
      return failed(dlc_last_error());
    stepped = true;
    if (o.json)
      std::printf("{\"step\": %lld, \"loss\": %.9g}\n", step, loss);
    else
      std::printf("step %lld: loss %.9g\n", step, loss);
    std::fflush(stdout);
  }

  if (o.time && !times.empty()) {
    // The first steps warm caches and page in the workspace.
    size_t warmup = times.size() > 5 ? 3 : 0;
    std::vector<double> kept(times.begin() + warmup, times.end());
    std::sort(kept.begin(), kept.end());
    double median = kept[kept.size() / 2], p90 = kept[kept.size() * 9 / 10];
    if (o.json)
      std::printf("{\"train_steps\": %zu, \"median_ms\": %.4f, \"min_ms\": %.4f, "
                  "\"p90_ms\": %.4f}\n", kept.size(), median, kept.front(), p90);
    else
      std::printf("train step: median %.4f ms, min %.4f ms, p90 %.4f ms "
                  "(%zu steps after %zu warm-up)\n",
                  median, kept.front(), p90, kept.size(), warmup);
  }
  std::string error;
  if (!o.saveParams.empty() &&
      !dlc::tools::saveState(model, o.saveParams, false, error))
    return failed(error);
  if (!o.saveGrads.empty()) {
    if (!stepped)
      std::fprintf(stderr, "dlc-run: note: no step succeeded: no gradients "
                           "to save\n");
    else if (!dlc::tools::saveState(model, o.saveGrads, true, error))
      return failed(error);
  }
  if (!o.checkpointOut.empty() &&
      dlc_model_save_checkpoint(model, o.checkpointOut.c_str()) != DLC_OK)
    return failed(dlc_last_error());
  if (!o.exportOnnx.empty() &&
      !dlc::tools::exportTrainedOnnx(model, o.exportOnnx, error))
    return failed(error);
  return status;
}

} // namespace

/// --profile: time per ONNX node over `runs` runs of `totalMs`, the
/// multithreaded kernels of each node summed, largest first.
void printProfile(dlc_model *model, int runs, double totalMs) {
  std::vector<dlc_profile_entry> entries(dlc_model_profile(model, nullptr, 0));
  dlc_model_profile(model, entries.data(), entries.size());
  struct Node {
    std::string name;
    int64_t calls = 0;
    double ms = 0;
  };
  std::vector<Node> nodes;
  for (const dlc_profile_entry &e : entries) {
    auto it = std::find_if(nodes.begin(), nodes.end(),
                           [&](const Node &n) { return n.name == e.kernel; });
    if (it == nodes.end())
      it = nodes.insert(nodes.end(), Node{e.kernel});
    it->calls += e.calls;
    it->ms += e.milliseconds;
  }
  std::sort(nodes.begin(), nodes.end(),
            [](const Node &x, const Node &y) { return x.ms > y.ms; });
  double perRun = totalMs / runs, profiled = 0;
  std::printf("%10s %7s %6s  %s\n", "ms/run", "share", "loops", "ONNX node");
  for (const Node &n : nodes) {
    double ms = n.ms / runs;
    profiled += ms;
    std::printf("%10.4f %6.1f%% %6.1f  %s\n", ms, 100.0 * ms / perRun,
                double(n.calls) / runs, n.name.c_str());
  }
  double rest = perRun - profiled;
  std::printf("%10.4f %6.1f%%         (kernels too small to split, run inline "
              "on the calling thread)\n",
              rest, 100.0 * rest / perRun);
}

int main(int argc, char **argv) {
  Options o;
  std::string error;
  for (int i = 1; i < argc; ++i)
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h"))
      return usage(nullptr);
  if (!parse(argc, argv, o, error))
    return usage(error.c_str());

  dlc_model *model = nullptr;
  if (dlc_model_load(o.model.c_str(), &model) != DLC_OK) {
    std::fprintf(stderr, "dlc-run: error: %s\n", dlc_last_error());
    return 2;
  }
  struct Free { dlc_model *m; ~Free() { dlc_model_free(m); } } freeModel{model};
  if (o.threads > 0)
    dlc_model_set_num_threads(model, o.threads);
  if (o.info) {
    printInfo(model);
    if (o.inputs.empty() && !o.random && !o.train)
      return 0;
  }
  if ((o.train || !o.exportOnnx.empty()) && !dlc_model_is_training(model)) {
    std::fprintf(stderr, "dlc-run: error: %s: model is not a training library "
                         "(compile with dlc --train)\n", o.model.c_str());
    return 2;
  }
  // Without --train, a training library runs (or exports) the state it was
  // given: a checkpoint, parameter files, or its initial state.
  if (!o.train && (!o.checkpointIn.empty() || !o.loadParams.empty())) {
    if (!dlc_model_is_training(model)) {
      std::fprintf(stderr, "dlc-run: error: %s: --checkpoint-in and "
                           "--load-params need a training library\n",
                   o.model.c_str());
      return 2;
    }
    if ((!o.checkpointIn.empty() &&
         dlc_model_load_checkpoint(model, o.checkpointIn.c_str()) != DLC_OK) ||
        (!o.loadParams.empty() && !loadState(model, o.loadParams, error))) {
      std::fprintf(stderr, "dlc-run: error: %s\n",
                   error.empty() ? dlc_last_error() : error.c_str());
      return 2;
    }
  }
  if (!o.exportOnnx.empty() && !o.train) {
    if (!dlc::tools::exportTrainedOnnx(model, o.exportOnnx, error)) {
      std::fprintf(stderr, "dlc-run: error: %s: %s\n", o.model.c_str(),
                   error.c_str());
      return 2;
    }
    return 0;
  }

  // A training step may take more than the model (labels).
  size_t numInputs = o.train ? dlc_model_num_step_inputs(model)
                             : dlc_model_num_inputs(model);
  size_t numOutputs = dlc_model_num_outputs(model);
  std::vector<HostValue> inputs;
  if (o.random) {
    std::mt19937 rng(0);
    for (size_t i = 0; i < numInputs; ++i) {
      dlc_tensor_info info;
      (o.train ? dlc_model_step_input_info : dlc_model_input_info)(model, i,
                                                                   &info);
      dlc_value_kind kind =
          o.train ? DLC_VALUE_TENSOR : dlc_model_input_kind(model, i);
      if (info.rank < 0) {
        // A sequence: empty (its tensors' shapes are not known).
        HostValue v;
        v.kind = kind;
        v.name = info.name;
        v.dtype = info.dtype;
        inputs.push_back(std::move(v));
        continue;
      }
      // Dims each call gives take their size from --dim.
      std::vector<int64_t> shape(info.shape, info.shape + info.rank);
      for (int32_t d = 0; d < info.rank; ++d) {
        if (shape[d] >= 0)
          continue;
        std::string name = dlc_model_input_dim_name(model, i, d);
        auto it = o.dims.find(name);
        if (name.empty() || it == o.dims.end())
          return usage(
              ("--random: input '" + std::string(info.name) + "' dim " +
               std::to_string(d) +
               (name.empty() ? " has no name: give --inputs"
                             : " is '" + name + "': give --dim " + name + "=N"))
                  .c_str());
        shape[d] = it->second;
      }
      info.shape = shape.data();
      HostValue v(allocateLike(info));
      v.kind = kind;
      fillRandom(v.tensor, rng);
      inputs.push_back(std::move(v));
    }
  } else {
    for (size_t i = 0; i < o.inputs.size(); ++i) {
      // The model says what each file holds (a tensor, a sequence, an
      // optional); the runtime counts the files.
      HostValue v;
      dlc_value_kind kind = o.train || i >= numInputs
                                ? DLC_VALUE_TENSOR
                                : dlc_model_input_kind(model, i);
      if (!dlc::tools::readValueFile(o.inputs[i], kind, v, error)) {
        std::fprintf(stderr, "dlc-run: error: %s\n", error.c_str());
        return 2;
      }
      // An empty or absent sequence's file may not name its dtype.
      if (v.isSequence() && v.elements.empty()) {
        dlc_tensor_info info;
        dlc_model_input_info(model, i, &info);
        v.dtype = info.dtype;
      }
      inputs.push_back(std::move(v));
    }
    if (inputs.empty() && numInputs > 0)
      return usage("give --inputs or --random");
  }
  std::vector<HostValue> outputs;
  // Outputs of run-time shapes, sequences and optionals: the runtime
  // allocates every output.
  bool allocateOutputs = false;
  std::vector<dlc_value_kind> outputKinds;
  for (size_t i = 0; i < numOutputs; ++i) {
    dlc_tensor_info info;
    dlc_model_output_info(model, i, &info);
    outputKinds.push_back(dlc_model_output_kind(model, i));
    allocateOutputs |= dlc_tensor_info_elements(&info) < 0 ||
                       outputKinds.back() != DLC_VALUE_TENSOR;
  }
  for (size_t i = 0; i < numOutputs; ++i) {
    dlc_tensor_info info;
    dlc_model_output_info(model, i, &info);
    HostValue v;
    if (allocateOutputs) {
      v.name = info.name;
      v.dtype = info.dtype;
      v.kind = outputKinds[i];
    } else {
      v = HostValue(allocateLike(info));
    }
    outputs.push_back(std::move(v));
  }
  std::vector<dlc_tensor> inViews, outViews;
  for (auto &v : inputs)
    inViews.push_back(v.view());
  if (o.train)
    return train(model, o, inViews);
  for (auto &v : outputs)
    outViews.push_back(v.view());

  // Timed runs only free what the runtime allocated: copying it out is
  // dlc-run's work, not the model's.
  std::vector<dlc_tensor> got(numOutputs);
  auto runOnce = [&](bool keepOutputs = false) {
    if (!allocateOutputs)
      return dlc_model_run(model, inViews.data(), inViews.size(),
                           outViews.data(), outViews.size());
    dlc_status s = dlc_model_run_alloc(model, inViews.data(), inViews.size(),
                                       got.data(), got.size());
    for (size_t i = 0; s == DLC_OK && i < numOutputs; ++i) {
      if (keepOutputs)
        outputs[i] =
            dlc::tools::copyOutput(got[i], outputs[i].name, outputKinds[i]);
      dlc_tensor_free(&got[i]);
    }
    return s;
  };
  if (runOnce(/*keepOutputs=*/true) != DLC_OK) {
    std::fprintf(stderr, "dlc-run: error: %s: %s\n", o.model.c_str(),
                 dlc_last_error());
    return 2;
  }

  if (o.profile) {
    if (dlc_model_profile_enable(model, 1) != DLC_OK) {
      std::fprintf(stderr, "dlc-run: error: %s\n", dlc_last_error());
      return 2;
    }
    int runs = std::max(o.repeat, 10);
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < runs; ++i)
      runOnce();
    double totalMs = std::chrono::duration<double, std::milli>(
                         std::chrono::steady_clock::now() - start)
                         .count();
    dlc_model_profile_enable(model, 0);
    std::printf("%s: profile over %d runs on %d thread(s), %.4f ms per run\n",
                o.model.c_str(), runs, dlc_model_num_threads(model),
                totalMs / runs);
    printProfile(model, runs, totalMs);
  }

  if (o.repeat > 1) {
    // Warm up for repeat / 10 runs (1 to 10) and at least 0.2 s: a new
    // pool thread may share a CPU with the caller until the OS moves it.
    int warmup = 0;
    auto warmupStart = std::chrono::steady_clock::now();
    while (warmup < std::min(10, std::max(1, o.repeat / 10)) ||
           (std::chrono::steady_clock::now() - warmupStart <
                std::chrono::milliseconds(200) &&
            warmup < 100000)) {
      runOnce();
      ++warmup;
    }
    std::vector<double> ms;
    for (int i = 0; i < o.repeat; ++i) {
      auto start = std::chrono::steady_clock::now();
      runOnce();
      auto end = std::chrono::steady_clock::now();
      ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
    }
    std::sort(ms.begin(), ms.end());
    double median = ms[ms.size() / 2];
    double p90 = ms[std::min(ms.size() - 1, ms.size() * 9 / 10)];
    if (o.json)
      std::printf("{\"model\": \"%s\", \"runs\": %d, \"warmup\": %d, "
                  "\"threads\": %d, \"min_ms\": %.4f, \"median_ms\": %.4f, "
                  "\"p90_ms\": %.4f}\n",
                  o.model.c_str(), o.repeat, warmup,
                  dlc_model_num_threads(model), ms.front(), median, p90);
    else
      std::printf("%s: %d runs after %d warm-up on %d thread(s): min %.4f ms, "
                  "median %.4f ms, p90 %.4f ms\n",
                  o.model.c_str(), o.repeat, warmup,
                  dlc_model_num_threads(model), ms.front(), median, p90);
  }

  if (!o.saveDir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(o.saveDir, ec);
    for (size_t i = 0; i < outputs.size(); ++i) {
      std::string path = o.saveDir + "/output_" + std::to_string(i) + ".pb";
      if (!dlc::tools::writeValueFile(path, outputs[i], error)) {
        std::fprintf(stderr, "dlc-run: error: %s\n", error.c_str());
        return 2;
      }
    }
  }

  if (!o.expects.empty()) {
    if (o.expects.size() != outputs.size()) {
      std::fprintf(stderr, "dlc-run: error: %zu --expect files for %zu "
                           "outputs\n", o.expects.size(), outputs.size());
      return 2;
    }
    bool allOk = true;
    for (size_t i = 0; i < outputs.size(); ++i) {
      HostValue want;
      if (!dlc::tools::readValueFile(o.expects[i], outputs[i].kind, want,
                                     error)) {
        std::fprintf(stderr, "dlc-run: error: %s\n", error.c_str());
        return 2;
      }
      allOk &= compareValue(outputs[i], want, i, o.rtol, o.atol);
    }
    return allOk ? 0 : 1;
  }
  if (o.repeat <= 1 && o.saveDir.empty() && !o.json) {
    // No check asked for: show the first values of each output.
    auto show = [](const std::string &label, const HostTensor &t) {
      std::printf("%s %s:", label.c_str(), shapeString(t.shape).c_str());
      for (int64_t j = 0; j < std::min<int64_t>(8, t.elements()); ++j)
        std::printf(" %.6g", dlc::tools::elementAsDouble(t, j));
      std::printf("%s\n", t.elements() > 8 ? " ..." : "");
    };
    for (size_t i = 0; i < outputs.size(); ++i) {
      const HostValue &v = outputs[i];
      std::string label = "output " + std::to_string(i) + " ('" + v.name + "')";
      if (!v.present)
        std::printf("%s: absent\n", label.c_str());
      else if (!v.isSequence())
        show(label, v.tensor);
      else if (v.elements.empty())
        std::printf("%s: an empty sequence\n", label.c_str());
      for (size_t k = 0; v.present && k < v.elements.size(); ++k)
        show(label + "[" + std::to_string(k) + "]", v.elements[k]);
    }
  }
  return 0;
}
