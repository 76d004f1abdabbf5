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
} dlc_status;

typedef enum dlc_dtype {
  DLC_FLOAT32 = 0, DLC_FLOAT64, DLC_FLOAT16, DLC_INT64, DLC_INT32, DLC_INT16,
  DLC_INT8, DLC_UINT8, DLC_BOOL, DLC_UINT16, DLC_UINT32, DLC_UINT64
} dlc_dtype;

/* A dense, row-major tensor owned by the caller. */
typedef struct dlc_tensor {
  void *data;
  dlc_dtype dtype;
  int32_t rank;
  const int64_t *shape;
} dlc_tensor;

/* Describes one model input or output; pointers live as long as the model. */
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

size_t dlc_model_num_inputs(const dlc_model *model);
size_t dlc_model_num_outputs(const dlc_model *model);
dlc_status dlc_model_input_info(const dlc_model *model, size_t index,
                                dlc_tensor_info *info);
dlc_status dlc_model_output_info(const dlc_model *model, size_t index,
                                 dlc_tensor_info *info);

/* Manifest fields: dlc version, target triple and CPU, source file. */
const char *dlc_model_dlc_version(const dlc_model *model);
const char *dlc_model_target(const dlc_model *model);
const char *dlc_model_target_cpu(const dlc_model *model);
const char *dlc_model_source(const dlc_model *model);

/* Weights embedded in the library (scalars and bytes), and the scratch
 * memory each run uses (allocated once at load). */
int64_t dlc_model_parameter_count(const dlc_model *model);
int64_t dlc_model_parameter_bytes(const dlc_model *model);
int64_t dlc_model_workspace_bytes(const dlc_model *model);

/* Size in bytes of one element of a dtype. */
size_t dlc_dtype_size(dlc_dtype dtype);
const char *dlc_dtype_name(dlc_dtype dtype);
/* Number of elements of a described tensor. */
int64_t dlc_tensor_info_elements(const dlc_tensor_info *info);

/* Runs the model: inputs and outputs in manifest order, their dtypes and
 * shapes exactly as the manifest says; outputs are written in place. */
dlc_status dlc_model_run(dlc_model *model, const dlc_tensor *inputs,
                         size_t num_inputs, dlc_tensor *outputs,
                         size_t num_outputs);

#ifdef __cplusplus
}
#endif

#endif /* DLC_RUNTIME_H */
