// WriteCheckpoint: a ModelView to a llama2.c checkpoint file (v1 fp32 or v2 Q8_0), the inverse of
// Checkpoint::Open. `fpgaserve model quantize` and `fpgaserve model random` write with it.
#pragma once

#include <string>

#include "base/status.h"
#include "fpga/model_view.h"
#include "server/model/checkpoint.h"

namespace fpgaserve {

// Writes `model` to `path` in `format`, which is kV1Float or kV2Q8 (v0 is read, never written).
//
//   kV1Float  fp32 matrices are written as they are; Q8_0 ones are dequantized (DequantizeQ8_0).
//   kV2Q8     Q8_0 matrices are copied as they are; fp32 ones are quantized with QuantizeQ8_0 and
//             model.config.group_size, which the header records.
//
// A view may mix fp32 and Q8_0 matrices. Q8_0 input is taken to be grouped by model.config.group_size.
// The classifier is written only when !config.shared_classifier (and must then be set).
//
// Atomic: the bytes go to a temporary file beside `path` (same folder, so the rename cannot cross file
// systems), are flushed to disk, and the temporary is renamed over `path`; on failure it is removed and
// `path` is untouched. Overwriting a file that a Checkpoint has open is safe (the mapping keeps the old
// file's data).
//
// Returns OK; InvalidArgument when the format is v0 or the view is incomplete, mis-shaped or its config
// fails ValidateModelConfig (nothing is written); for I/O failures NotFound (the folder does not exist),
// ResourceExhausted (the disk is full) or InvalidArgument (anything else, e.g. no permission). Messages
// name `path`. Reads the view only; concurrent calls for different paths are fine.
Status WriteCheckpoint(const ModelView& model, const std::string& path, CheckpointFormat format);

}  // namespace fpgaserve
