/*===- dlc/runtime.h - run a dlc-compiled model ------------------*- C -*-===*
 *
 * A model compiled by `dlc model.onnx -o model.so` is a standalone shared
 * library. This API loads one, tells what it takes and returns, and runs it
 * on tensors the caller owns. Every call validates its arguments against the
 * model's manifest and reports misuse as an error status with a message; it
 * never aborts.
 *
 *===----------------------------------------------------------------------===*/

#ifndef DLC_RUNTIME_H
#define DLC_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dlc_status {
  DLC_OK = 0,
  DLC_ERROR_INVALID_ARGUMENT = 1, /* null pointer, bad index, ... */
  DLC_ERROR_LOAD = 2,             /* the library cannot be loaded */
  DLC_ERROR_MANIFEST = 3,         /* missing or malformed manifest */
  DLC_ERROR_SIGNATURE = 4,        /* wrong count, dtype or shape of tensors */
  DLC_ERROR_NONFINITE = 5,        /* a training step's loss is nan or inf */
  DLC_ERROR_IO = 6,               /* a checkpoint file cannot be read/written */
  DLC_ERROR_OUT_OF_MEMORY = 7,    /* a workspace cannot be allocated */
  DLC_ERROR_RUNTIME_CHECK = 8,    /* the inputs failed a check of the
                                     generated code (an index outside its
                                     tensor): outputs not valid, training
                                     state unchanged */
  DLC_ERROR_DEVICE = 9,           /* a GPU library could not run: no CUDA
                                     driver or GPU, or the driver failed
                                     (its message is in the error text);
                                     outputs not valid */
} dlc_status;

typedef enum dlc_dtype {
  DLC_FLOAT32 = 0, DLC_FLOAT64, DLC_FLOAT16, DLC_INT64, DLC_INT32, DLC_INT16,
  DLC_INT8, DLC_UINT8, DLC_BOOL, DLC_UINT16, DLC_UINT32, DLC_UINT64
} dlc_dtype;

/* A dense, row-major tensor owned by the caller. A rank below 0 marks a
 * value that is not a plain tensor (ONNX sequences and optionals, see
 * dlc_model_input_kind): DLC_RANK_SEQUENCE, DLC_RANK_ABSENT. */
typedef struct dlc_tensor {
  void *data;
  dlc_dtype dtype;
  int32_t rank;
  const int64_t *shape;
} dlc_tensor;

/* What an ONNX value a model input or output is. */
typedef enum dlc_value_kind {
  DLC_VALUE_TENSOR = 0,            /* a tensor */
  DLC_VALUE_SEQUENCE = 1,          /* a sequence of tensors of one dtype */
  DLC_VALUE_OPTIONAL_TENSOR = 2,   /* a tensor, or nothing */
  DLC_VALUE_OPTIONAL_SEQUENCE = 3, /* a sequence, or nothing */
} dlc_value_kind;

/* An ONNX sequence: `length` tensors of one dtype, each of its own rank
 * (at most DLC_SEQUENCE_MAX_RANK) and shape. */
typedef struct dlc_sequence {
  int64_t length;
  dlc_tensor *tensors;
} dlc_sequence;

/* Sequences and optionals travel as a dlc_tensor with a rank sentinel:
 *  - DLC_RANK_SEQUENCE: `data` points to a dlc_sequence, `dtype` is its
 *    elements' dtype and `shape` is unused (a sequence, or a present
 *    optional sequence);
 *  - DLC_RANK_ABSENT: an optional that holds nothing (`data` and `shape`
 *    unused; `dtype` is the model's).
 * A present optional tensor is a plain dlc_tensor. */
#define DLC_RANK_SEQUENCE (-2)
#define DLC_RANK_ABSENT (-3)
/* The highest rank of a sequence's tensors. */
#define DLC_SEQUENCE_MAX_RANK 8

/* Describes one model input or output; pointers live as long as the model.
 * An output dim of -1 is known only at run time: it depends on the values
 * of the inputs (a Reshape's shape given as an input, a Range's limit, ...).
 * Sequences and optionals (dlc_model_input_kind): `dtype` is their tensors'
 * dtype; an optional tensor has the rank and shape of its tensor; a
 * sequence (optional or not) has rank -1 and a NULL shape: its tensors'
 * ranks and dims are free (each at most DLC_SEQUENCE_MAX_RANK dims).
 */
typedef struct dlc_tensor_info {
  const char *name;
  dlc_dtype dtype;
  int32_t rank;
  const int64_t *shape;
} dlc_tensor_info;

typedef struct dlc_model dlc_model;

/* Loads a model library. On failure *model is NULL and dlc_last_error()
 * says why. */
dlc_status dlc_model_load(const char *path, dlc_model **model);
void dlc_model_free(dlc_model *model);

/* The thread's last error message ("" if none). */
const char *dlc_last_error(void);

/* One input or output per ONNX graph input or output, in the graph's order
 * (a sequence or an optional is one, whatever the entry point takes). */
size_t dlc_model_num_inputs(const dlc_model *model);
size_t dlc_model_num_outputs(const dlc_model *model);
dlc_status dlc_model_input_info(const dlc_model *model, size_t index,
                                dlc_tensor_info *info);
dlc_status dlc_model_output_info(const dlc_model *model, size_t index,
                                 dlc_tensor_info *info);
/* Whether an input or output is a tensor, a sequence or an optional;
 * DLC_VALUE_TENSOR for a null model or an index out of range. */
dlc_value_kind dlc_model_input_kind(const dlc_model *model, size_t index);
dlc_value_kind dlc_model_output_kind(const dlc_model *model, size_t index);
const char *dlc_value_kind_name(dlc_value_kind kind); /* "sequence", ... */
/* An input dim of -1 is a dim whose size each call gives (a symbolic dim
 * the library was compiled to take at run time, such as a batch size): the
 * model's name for it (its ONNX dim_param, e.g. "batch"), or "" for a dim
 * without a name, a static dim or an index out of range. Dims of one name
 * must be one size in a call (DLC_ERROR_SIGNATURE otherwise); the string
 * lives as long as the model. */
const char *dlc_model_input_dim_name(const dlc_model *model, size_t input,
                                     int32_t dim);
/* An output dim of -1 that is the size of an input's named dim: that name
 * (the output's size there is known before the call); "" otherwise. */
const char *dlc_model_output_dim_name(const dlc_model *model, size_t output,
                                      int32_t dim);

/* Manifest fields: dlc version, target triple and CPU, source file. */
const char *dlc_model_dlc_version(const dlc_model *model);
const char *dlc_model_target(const dlc_model *model);
const char *dlc_model_target_cpu(const dlc_model *model);
const char *dlc_model_source(const dlc_model *model);
/* Where the kernels run: "cpu", or "cuda:<chip>" (e.g. "cuda:sm_90") for a
 * library compiled with --target=cuda. Such a library loads anywhere (it
 * opens the CUDA driver, libcuda.so.1 or the file $DLC_CUDA_DRIVER names,
 * on its first run); its runs fail with DLC_ERROR_DEVICE where there is no
 * driver or GPU. Its entry point takes host memory, as a CPU library's does,
 * and copies the tensors to the device and back. */
const char *dlc_model_device(const dlc_model *model);

/* The weights file a library compiled with `dlc --weights=external` was
 * loaded with: the name its manifest gives, in the library's folder (a
 * missing, truncated or foreign file fails dlc_model_load with
 * DLC_ERROR_LOAD). "" when the weights are in the library. */
const char *dlc_model_weights_file(const dlc_model *model);

/* The model's weights (scalars and bytes), and the scratch
 * memory each run uses (one allocated at load; concurrent runs each use
 * one, see dlc_model_run). */
int64_t dlc_model_parameter_count(const dlc_model *model);
int64_t dlc_model_parameter_bytes(const dlc_model *model);
int64_t dlc_model_workspace_bytes(const dlc_model *model);

/* Threads the model's kernels run on, the calling thread included. The pool
 * belongs to the library file: models loaded from the same file share it.
 * Its default is the DLC_NUM_THREADS environment variable, else the number
 * of CPUs the process may run on; n < 1 restores it. Outputs are
 * bit-identical at every count. Calls running at the same time on one
 * library do not wait for each other's threads: all but one run their
 * kernels on their own thread. Fails with DLC_ERROR_INVALID_ARGUMENT for a
 * null model, and for n > 1 on a library without a thread pool (one not
 * made by dlc). */
dlc_status dlc_model_set_num_threads(dlc_model *model, int n);
/* The current count (1 for a null model). */
int dlc_model_num_threads(const dlc_model *model);

/* Per-kernel profile. While enabled, the library adds the wall time of each
 * multithreaded kernel (the loops big enough to be split; smaller kernels run
 * inline and are not timed) to an entry named after the ONNX node it comes
 * from. Enabling starts from zero. Like the thread count, the profile belongs
 * to the library file. */
typedef struct dlc_profile_entry {
  const char *kernel; /* the ONNX node name; owned by the library */
  int64_t calls;
  double milliseconds; /* total over the calls */
} dlc_profile_entry;
dlc_status dlc_model_profile_enable(dlc_model *model, int enable);
/* Copies up to `capacity` entries, in the order the kernels first ran, and
 * returns how many there are (0 for a null model or a library without a
 * thread pool). One node can have several entries (im2col copy, product). */
size_t dlc_model_profile(const dlc_model *model, dlc_profile_entry *entries,
                         size_t capacity);

/* Size in bytes of one element of a dtype. */
size_t dlc_dtype_size(dlc_dtype dtype);
const char *dlc_dtype_name(dlc_dtype dtype);
/* Number of elements of a described tensor; -1 when a dim is (-1) or the
 * rank is (a sequence). */
int64_t dlc_tensor_info_elements(const dlc_tensor_info *info);

/* Runs the model: inputs and outputs in manifest order, their dtypes and
 * shapes exactly as the manifest says; outputs are written in place. A
 * training library runs with its current state (the trained parameters).
 *
 * Threads: several threads may run one model at once; the calls do not take
 * turns. Each takes a workspace of its own (dlc_model_workspace_bytes; the
 * one allocated at load, or one allocated when more calls overlap than
 * there are free ones, kept until the model is freed; DLC_ERROR_OUT_OF_MEMORY
 * if that allocation fails). Only one call at a time uses the model's
 * thread pool; the others run their kernels on their own thread. Training
 * steps and state changes of a training library wait for running calls,
 * and calls wait for them. dlc_model_set_num_threads and the profile
 * functions change settings every call shares. */
dlc_status dlc_model_run(dlc_model *model, const dlc_tensor *inputs,
                         size_t num_inputs, dlc_tensor *outputs,
                         size_t num_outputs);
/* Sequence and optional inputs (dlc_model_input_kind), passed with the rank
 * sentinels above:
 *  - a sequence: rank DLC_RANK_SEQUENCE, `data` a dlc_sequence of `length`
 *    >= 0 tensors (`tensors` may be NULL when it is 0), each of the
 *    sequence's dtype, rank 0..DLC_SEQUENCE_MAX_RANK, dims >= 0;
 *  - an optional tensor: a plain dlc_tensor (checked like a tensor input
 *    against the info's rank and static dims), or rank DLC_RANK_ABSENT;
 *  - an optional sequence: as a sequence, or rank DLC_RANK_ABSENT.
 * The runtime copies a sequence's tensors into one buffer for the call
 * (freed before it returns); the caller's stay untouched. A wrong dtype,
 * rank or dim fails with DLC_ERROR_SIGNATURE, a null pointer with
 * DLC_ERROR_INVALID_ARGUMENT, the message naming the input and the
 * sequence's element. An absent optional's named dims (its dim_params) are
 * not compared with other inputs'.
 * Sequence and optional outputs are returned by dlc_model_run_alloc only:
 * dlc_model_run fails with DLC_ERROR_SIGNATURE for a model that has one,
 * naming it. */
/* Outputs of run-time shapes (dims of -1 in dlc_model_output_info):
 * dlc_model_run takes them when the caller knows their shape; a shape that
 * differs from the one the inputs make fails with DLC_ERROR_SIGNATURE (the
 * message says both): that output is not written, the others not valid.
 * dlc_model_run_alloc allocates
 * every output instead: on DLC_OK, outputs[i] (num_outputs of them, set by
 * the call; what they held is ignored) has its dtype, rank, a shape array
 * and 64-byte aligned data that the caller owns and releases with
 * dlc_tensor_free; on any failure they are empty (data and shape NULL),
 * when `outputs` is not NULL. Each output of a run-time shape is allocated
 * twice during the call (the result, and the buffer handed over). */
dlc_status dlc_model_run_alloc(dlc_model *model, const dlc_tensor *inputs,
                               size_t num_inputs, dlc_tensor *outputs,
                               size_t num_outputs);
/* Sequence and optional outputs of dlc_model_run_alloc: a sequence is a
 * dlc_tensor of rank DLC_RANK_SEQUENCE whose `data` is a new dlc_sequence
 * (`tensors` a new array of `length` tensors, each with its own shape array
 * and 64-byte aligned data; `shape` NULL); an optional is its tensor or
 * sequence when present, and rank DLC_RANK_ABSENT (data and shape NULL)
 * when not. The dtype is the elements'. One dlc_tensor_free releases all of
 * it. A sequence the library returns malformed (a table row outside its
 * values) fails the call with DLC_ERROR_SIGNATURE. */
/* Frees the data and shape of a tensor from dlc_model_run_alloc and empties
 * it (a sequence with all its tensors; an absent optional is only
 * emptied); NULL and empty tensors are left alone. */
void dlc_tensor_free(dlc_tensor *tensor);

/*===----------------------------------------------------------------------===*
 * Training libraries (`dlc model.onnx --train ...`)
 *
 * A training library keeps its state (parameters, BatchNorm buffers,
 * optimizer moments, step counter) in one buffer the runtime owns, allocated
 * at load and initialized from the library's `dlc_initial_state`. Each
 * step updates it; dlc_model_run uses it. The model inputs of a step are
 * those of dlc_model_run (the labels included when the loss takes them).
 *
 * Functions returning dlc_status fail with DLC_ERROR_INVALID_ARGUMENT and
 * "model is not a training library (compile with dlc --train)" on any other
 * model, where queries return 0 or "". The training calls on one model
 * take turns with each other and with dlc_model_run (one lock per model;
 * runs alone overlap, see dlc_model_run).
 *===----------------------------------------------------------------------===*/

typedef enum dlc_state_role {
  DLC_STATE_PARAMETER = 0, /* trained: has a gradient */
  DLC_STATE_BUFFER = 1,    /* updated by the forward pass (BatchNorm stats) */
  DLC_STATE_MOMENT = 2,    /* optimizer state of one parameter */
  DLC_STATE_STEP = 3,      /* the optimizer's step counter (float32 scalar) */
} dlc_state_role;

/* Describes one state tensor; pointers live as long as the model. */
typedef struct dlc_state_info {
  const char *name;      /* initializer name; moments "<param>:<slot>" */
  dlc_state_role role;
  dlc_dtype dtype;
  int32_t rank;
  const int64_t *shape;
  const char *parameter; /* for moments: the parameter's name; else "" */
  int64_t offset;        /* bytes from the start of the state buffer */
  size_t bytes;          /* elements * dtype size */
} dlc_state_info;

/* 1 for a training library, 0 otherwise (and for NULL). */
int dlc_model_is_training(const dlc_model *model);

/* The state tensors, in manifest order (the order of gradients). */
size_t dlc_model_num_state(const dlc_model *model);
dlc_status dlc_model_state_info(const dlc_model *model, size_t index,
                                dlc_state_info *info);
/* Size of the whole state buffer (what a checkpoint holds). */
int64_t dlc_model_state_bytes(const dlc_model *model);
/* Scratch memory of one step (the runtime allocates the larger of this and
 * dlc_model_workspace_bytes once, at load). */
int64_t dlc_model_step_workspace_bytes(const dlc_model *model);

/* "sgd", "adam", ...; the loss ("model": the graph's first output, or the
 * name given to --loss). */
const char *dlc_model_optimizer(const dlc_model *model);
const char *dlc_model_loss(const dlc_model *model);
/* The optimizer's hyperparameters as compiled in ("lr", "momentum", ...);
 * *name lives as long as the model. */
size_t dlc_model_num_hyperparameters(const dlc_model *model);
dlc_status dlc_model_hyperparameter(const dlc_model *model, size_t index,
                                    const char **name, double *value);

/* Data-parallel training: each worker runs dlc_model_compute_gradients on its
 * part of the batch, the workers average the gradients (e.g. MPI_Allreduce),
 * and each applies the average with this call: the optimizer's update (with
 * its clipping, weight decay and moments) from `gradients`, one float32
 * array per parameter in state order (each the parameter's size), then the
 * step count advances. BatchNorm buffers keep the values the last
 * dlc_model_compute_gradients gave them (its forward pass runs in training
 * mode). The arrays stay the caller's. */
dlc_status dlc_model_apply_gradients(dlc_model *model,
                                     const float *const *gradients,
                                     size_t num_gradients, float lr);

/* The serialized ONNX ModelProto a training library was compiled from, with
 * the data of its state tensors (parameters, buffers) left out: fill them
 * with dlc_model_read_state to export the trained model. NULL (and *size 0)
 * when the library carries none. Owned by the model. */
const void *dlc_model_source_model(const dlc_model *model, size_t *size);

/* What dlc_model_train_step takes: the model's inputs, then `labels` when
 * the library was compiled with `dlc --train --loss=...` (int64 class indices
 * [N, d...] for cross-entropy and nll, the first output's shape otherwise).
 * Pointers live as long as the model. */
size_t dlc_model_num_step_inputs(const dlc_model *model);
dlc_status dlc_model_step_input_info(const dlc_model *model, size_t index,
                                     dlc_tensor_info *info);

/* Initializers kept constant (--freeze): embedded like any weight, not in
 * the state. */
size_t dlc_model_num_frozen(const dlc_model *model);
dlc_status dlc_model_frozen_info(const dlc_model *model, size_t index,
                                 dlc_tensor_info *info);

/* Updates applied since the initial state (restored by a checkpoint). */
int64_t dlc_model_step_count(const dlc_model *model);

/* One optimizer step with learning rate `lr`: inputs are validated like
 * dlc_model_run's. The loss is written to *loss (may be NULL) whatever
 * happens after the step ran. If it is nan or inf, the step returns
 * DLC_ERROR_NONFINITE and the state (and the last gradients) stay as they
 * were; otherwise the new state replaces the current one and the gradients
 * become readable with dlc_model_read_gradient. */
dlc_status dlc_model_train_step(dlc_model *model, const dlc_tensor *inputs,
                                size_t num_inputs, float lr, float *loss);

/* The loss and gradients at the current state, without updating the
 * parameters or the optimizer (for data-parallel training: average the
 * gradients of several models, then dlc_model_apply_gradients). BatchNorm
 * running statistics are updated, as the forward pass of a step updates
 * them. Same errors as dlc_model_train_step; the step count does not
 * change. */
dlc_status dlc_model_compute_gradients(dlc_model *model,
                                       const dlc_tensor *inputs,
                                       size_t num_inputs, float *loss);

/* Copies the current value of the state tensor `name` out of / into the
 * state; `bytes` must be its exact size (dlc_state_info.bytes). */
dlc_status dlc_model_read_state(const dlc_model *model, const char *name,
                                void *data, size_t bytes);
dlc_status dlc_model_write_state(dlc_model *model, const char *name,
                                 const void *data, size_t bytes);
/* The gradient of the Parameter `name` computed by the last successful
 * dlc_model_train_step or dlc_model_compute_gradients (an error before any,
 * and after loading a checkpoint). Shaped and typed like the parameter. */
dlc_status dlc_model_read_gradient(const dlc_model *model, const char *name,
                                   void *data, size_t bytes);

/* A checkpoint is the whole state buffer behind a 40-byte little-endian
 * header: "DLCCKPT2", uint64 state bytes, uint64 FNV-1a hash of the state
 * table (names, roles, dtypes, shapes, offsets), uint64 step count, uint64
 * FNV-1a hash of the state bytes. Loading refuses a checkpoint of another
 * model or a damaged one and changes nothing on any error;
 * training on from it gives bit-identical results to never stopping. Saving
 * writes `path`.tmp and renames it over `path`. Errors: DLC_ERROR_IO when
 * the file cannot be opened, read or written; DLC_ERROR_INVALID_ARGUMENT
 * when it is not a checkpoint of this model or is truncated. */
dlc_status dlc_model_save_checkpoint(const dlc_model *model, const char *path);
dlc_status dlc_model_load_checkpoint(dlc_model *model, const char *path);

#ifdef __cplusplus
}
#endif

#endif /* DLC_RUNTIME_H */
