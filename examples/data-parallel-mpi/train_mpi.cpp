//===- train_mpi.cpp - data-parallel training with MPI on dlc's runtime ---===//
//
//   mpirun -np R train-mpi step.so --inputs x.pb labels.pb --steps N
//          [--lr LR] [--save-params DIR]
//
// Every rank loads the same training library, compiled for 1/R of the
// batch, and takes its slice of the whole batch (x.pb, labels.pb hold all
// of it). Per step: compute the gradients of its slice, average them across
// ranks with MPI_Allreduce, apply the average; the ranks stay identical
// because they apply the same update. With a loss that is a mean over the
// batch and no layer that mixes the batch's rows, this is the step one
// process takes on the whole batch. BatchNorm does mix them: each rank
// normalizes with its slice's statistics (PyTorch's DDP without
// SyncBatchNorm does the same), and the averaged running variance misses the
// spread between the slices' means. Dropout draws the same masks on every
// rank's slice (same seed, same step).
//
//===----------------------------------------------------------------------===//

#include "dlc/runtime.h"
#include "tools/dlc-run/TensorFiles.h"

#include <mpi.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using dlc::tools::HostTensor;

namespace {

int rank = 0, ranks = 1;

int fail(const std::string &message) {
  std::fprintf(stderr, "train-mpi: rank %d: error: %s\n", rank,
               message.c_str());
  MPI_Abort(MPI_COMM_WORLD, 2);
  return 2;
}

/// Rows [rank * n / ranks, (rank + 1) * n / ranks) of a tensor's first dim.
bool sliceForRank(HostTensor &t, int64_t rows, std::string &error) {
  if (t.shape.empty() || t.shape[0] != rows * ranks) {
    error = "input '" + t.name + "' has " +
            (t.shape.empty() ? std::string("no batch dim")
                             : std::to_string(t.shape[0]) + " rows") +
            "; the library takes " + std::to_string(rows) + " per rank, " +
            std::to_string(rows * ranks) + " in all";
    return false;
  }
  size_t rowBytes = t.bytes.size() / t.shape[0];
  std::vector<unsigned char> part(t.bytes.begin() + rank * rows * rowBytes,
                                  t.bytes.begin() + (rank + 1) * rows * rowBytes);
  t.bytes = std::move(part);
  t.shape[0] = rows;
  return true;
}

} // namespace

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);

  std::string library, saveDir;
  std::vector<std::string> inputFiles;
  int steps = 1;
  double lr = -1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--inputs") {
      while (i + 1 < argc && argv[i + 1][0] != '-')
        inputFiles.push_back(argv[++i]);
    } else if (a == "--steps" && i + 1 < argc) {
      steps = std::atoi(argv[++i]);
    } else if (a == "--lr" && i + 1 < argc) {
      lr = std::atof(argv[++i]);
    } else if (a == "--save-params" && i + 1 < argc) {
      saveDir = argv[++i];
    } else if (library.empty() && a[0] != '-') {
      library = a;
    } else {
      return fail("unknown argument '" + a + "' (usage: train-mpi step.so "
                  "--inputs F.pb... --steps N [--lr LR] [--save-params DIR])");
    }
  }
  dlc_model *model = nullptr;
  if (dlc_model_load(library.c_str(), &model) != DLC_OK)
    return fail(dlc_last_error());
  if (!dlc_model_is_training(model))
    return fail(library + ": not a training library (compile with dlc --train)");
  if (lr < 0)
    for (size_t i = 0; i < dlc_model_num_hyperparameters(model); ++i) {
      const char *name;
      double value;
      dlc_model_hyperparameter(model, i, &name, &value);
      if (std::strcmp(name, "lr") == 0)
        lr = value;
    }

  size_t numInputs = dlc_model_num_step_inputs(model);
  if (inputFiles.size() != numInputs)
    return fail("the library takes " + std::to_string(numInputs) +
                " inputs, " + std::to_string(inputFiles.size()) + " given");
  std::vector<HostTensor> inputs(numInputs);
  std::vector<dlc_tensor> views;
  std::string error;
  for (size_t i = 0; i < numInputs; ++i) {
    dlc_tensor_info info;
    dlc_model_step_input_info(model, i, &info);
    if (!dlc::tools::readTensorFile(inputFiles[i], inputs[i], error) ||
        !sliceForRank(inputs[i], info.rank ? info.shape[0] : 0, error))
      return fail(error);
    views.push_back(inputs[i].view());
  }

  // One buffer per parameter, in state order: what apply_gradients takes.
  std::vector<std::string> names;
  std::vector<std::vector<float>> gradients;
  for (size_t i = 0; i < dlc_model_num_state(model); ++i) {
    dlc_state_info info;
    dlc_model_state_info(model, i, &info);
    if (info.role != DLC_STATE_PARAMETER)
      continue;
    names.push_back(info.name);
    gradients.emplace_back(info.bytes / sizeof(float));
  }
  std::vector<const float *> pointers;
  for (const auto &g : gradients)
    pointers.push_back(g.data());

  for (int step = 1; step <= steps; ++step) {
    float loss = 0;
    if (dlc_model_compute_gradients(model, views.data(), views.size(),
                                    &loss) != DLC_OK)
      return fail(dlc_last_error());
    for (size_t p = 0; p < gradients.size(); ++p) {
      if (dlc_model_read_gradient(model, names[p].c_str(), gradients[p].data(),
                                  gradients[p].size() * sizeof(float)) != DLC_OK)
        return fail(dlc_last_error());
      MPI_Allreduce(MPI_IN_PLACE, gradients[p].data(),
                    static_cast<int>(gradients[p].size()), MPI_FLOAT, MPI_SUM,
                    MPI_COMM_WORLD);
      for (float &v : gradients[p])
        v /= static_cast<float>(ranks);
    }
    // BatchNorm running statistics are each rank's own after its forward
    // pass: averaged, so that every rank keeps the same state.
    for (size_t i = 0; i < dlc_model_num_state(model); ++i) {
      dlc_state_info info;
      dlc_model_state_info(model, i, &info);
      if (info.role != DLC_STATE_BUFFER)
        continue;
      std::vector<float> buffer(info.bytes / sizeof(float));
      dlc_model_read_state(model, info.name, buffer.data(), info.bytes);
      MPI_Allreduce(MPI_IN_PLACE, buffer.data(), static_cast<int>(buffer.size()),
                    MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
      for (float &v : buffer)
        v /= static_cast<float>(ranks);
      dlc_model_write_state(model, info.name, buffer.data(), info.bytes);
    }
    float total = 0;
    MPI_Allreduce(&loss, &total, 1, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    if (dlc_model_apply_gradients(model, pointers.data(), pointers.size(),
                                  static_cast<float>(lr)) != DLC_OK)
      return fail(dlc_last_error());
    if (rank == 0)
      std::printf("step %d: loss %.9g\n", step, total / ranks);
  }

  if (rank == 0 && !saveDir.empty() &&
      !dlc::tools::saveState(model, saveDir, /*gradients=*/false, error))
    return fail(error);
  dlc_model_free(model);
  MPI_Finalize();
  return 0;
}
