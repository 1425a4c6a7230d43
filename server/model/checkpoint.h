// Checkpoint: a llama2.c model file, memory-mapped read-only, seen as a ModelView.
//
// Three formats, told apart by the first four bytes (all little-endian):
//
//   v0  legacy, run.c          7 int32: dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
//                              (vocab_size < 0: the classifier is not shared, |vocab_size| is the vocab);
//                              fp32: token_embedding, rms_att[L], wq[L], wk[L], wv[L], wo[L], rms_ffn[L],
//                              w1[L], w2[L], w3[L], rms_final, freq_cis_real, freq_cis_imag (seq_len *
//                              head_size / 2 each; skipped, we compute RoPE), wcls if not shared.
//   v1  fp32, export.py        uint32 magic 0x616b3432 ("ak42"; on disk the bytes "24ka"), int32 version 1,
//                              the 7 int32 (vocab > 0), uint8 shared_classifier, zeros to byte 256;
//                              fp32: rms_att[L], rms_ffn[L],
//                              rms_final, token_embedding, wq[L], wk[L], wv[L], wo[L], w1[L], w2[L], w3[L],
//                              wcls if not shared.
//   v2  Q8_0, export.py/runq.c as v1 with version 2 and an int32 group_size at byte 37 (unaligned); fp32
//                              rms_att[L], rms_ffn[L], rms_final; then each matrix as its int8 values
//                              followed by its fp32 scales (numel / group_size): token_embedding, wq[L],
//                              wk[L], wv[L], wo[L], w1[L], w2[L], w3[L], wcls if not shared.
//
// Matrices are row-major (out_features, in_features), as PyTorch's nn.Linear stores them.
//
// The view points straight into the mapping: opening a 440 MB file costs no copy and the pages are read
// on first use. One exception: in a v2 file whose matrices have a size that is not a multiple of 4 (only
// possible when group_size < 4), the scales that follow land on an offset that is not 4-aligned; those
// scales are copied into buffers the Checkpoint owns, so every `const float*` in the view is aligned.
//
// The file is checked completely before any weight is looked at: the header's numbers (see
// ValidateModelConfig), and its exact size against the size the numbers imply, computed with checked
// 64-bit arithmetic. A file that is shorter *or longer* than expected is refused: trailing bytes mean
// the header does not describe the data (a wrong shape, a wrong format), and reading on would give
// garbage, not an error.
//
// Group size: v2 files carry theirs. For fp32 files (v0, v1) config.group_size is the one the packer
// should quantize with: DefaultGroupSize(dim), halved further until it also divides hidden_dim
// (DefaultGroupSizeFor). Q8_0 groups in fpgaserve never straddle a row, so a group size must divide both
// dim and hidden_dim; llama2.c's export only checks each tensor's element count, and a file it wrote
// with such a group size (stories42M at 64: hidden_dim 1376) is refused with a message saying so.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "fpga/model_view.h"

namespace fpgaserve {

class MappedFile;  // mapped_file.h

enum class CheckpointFormat {
  kV0Legacy,  // fp32, 28-byte header
  kV1Float,   // fp32, 256-byte header
  kV2Q8,      // Q8_0, 256-byte header
};

// "v0", "v1", "v2".
const char* CheckpointFormatName(CheckpointFormat format);

// The rules a model shape obeys, whatever its file. OK, or InvalidArgument with a message that names the
// offending field and its value (without a file name; callers prefix one):
//   every dimension > 0; n_heads divides dim; 0 < n_kv_heads <= n_heads and divides n_heads; head_size
//   even (RoPE rotates pairs); group_size > 0 and dividing both dim and hidden_dim (the column counts of
//   every matrix, so groups never straddle rows).
Status ValidateModelConfig(const ModelConfig& config);

// The group size fp32 models are quantized with: DefaultGroupSize(dim), halved while it does not divide
// hidden_dim. REQUIRES: dim > 0, hidden_dim > 0.
int DefaultGroupSizeFor(int dim, int hidden_dim);

// Weights of a model of this shape: embedding, norms, matrices, and the classifier when not shared.
// REQUIRES: ValidateModelConfig(config).ok() (then the count fits easily in 64 bits).
uint64_t ParameterCount(const ModelConfig& config);

class Checkpoint {
 public:
  // Maps the file at `path` and checks it (see the top of this file). On success the Checkpoint owns the
  // mapping. Failure: NotFound when the file does not exist; InvalidArgument for anything else (not a
  // regular file, unreadable, malformed) with a message that starts with the path and says what is wrong
  // (for sizes: the expected and the actual byte count). Never reads past the end of the file.
  // The file must not be truncated or rewritten in place while it is open (the mapping would fault);
  // replacing it by rename, as WriteCheckpoint does, is safe.
  static Result<std::unique_ptr<Checkpoint>> Open(const std::string& path);

  ~Checkpoint();
  Checkpoint(const Checkpoint&) = delete;
  Checkpoint& operator=(const Checkpoint&) = delete;

  // Valid while this Checkpoint lives. fp32 files give fp32 matrices (`f32`), v2 files Q8_0 ones (`q`,
  // `s`); norms are fp32 in every format. The classifier is the token embedding when
  // config.shared_classifier.
  const ModelView& view() const { return view_; }
  const ModelConfig& config() const { return view_.config; }
  CheckpointFormat format() const { return format_; }
  const std::string& path() const { return path_; }
  uint64_t file_bytes() const { return file_bytes_; }

  // A few lines for `fpgaserve model info`: path, format, shape, classifier, parameters, bytes.
  std::string Describe() const;

  // Thread-safety: immutable after Open; every method may be called concurrently.

 private:
  Checkpoint() = default;
  // Returns p when it is 4-aligned, else a copy of its `count` floats that this object keeps.
  const float* AlignedFloats(const uint8_t* p, uint64_t count);

  std::string path_;
  CheckpointFormat format_ = CheckpointFormat::kV0Legacy;
  std::unique_ptr<MappedFile> file_;
  uint64_t file_bytes_ = 0;
  ModelView view_;
  std::vector<std::vector<float>> realigned_;  // see AlignedFloats
};

}  // namespace fpgaserve
