// fpgaserve model info | quantize | convert | random: look at llama2.c checkpoints and GGUF files,
// convert between them, and make models of known shapes with random weights.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>

#include "server/cli/commands.h"
#include "server/model/checkpoint.h"
#include "server/model/checkpoint_writer.h"
#include "server/model/gguf_model.h"
#include "server/model/gguf_writer.h"
#include "server/model/hf_tokenizer.h"
#include "server/model/random_model.h"
#include "server/model/tokenizer.h"

namespace fpgaserve::cli {
namespace {

std::unique_ptr<Checkpoint> OpenOrFail(const std::string& path) {
  Result<std::unique_ptr<Checkpoint>> ckpt = Checkpoint::Open(path);
  if (!ckpt.ok()) Fail(ckpt.status().message());
  return std::move(ckpt).value();
}

// Re-opens what was just written, so the command reports what a reader will see.
void PrintWritten(const std::string& path) { std::printf("wrote %s", OpenOrFail(path)->Describe().c_str()); }

void PrintWrittenGguf(const std::string& path) {
  Result<std::unique_ptr<GgufModel>> written = GgufModel::Open(path);
  if (!written.ok()) Fail(written.status().message());
  std::printf("wrote %s", written.value()->Describe().c_str());
}

// The output format: `format` when given, else gguf when `out` ends with .gguf, else v2.
std::string OutputFormat(const std::string& format, const std::string& out) {
  if (!format.empty()) return format;
  return out.ends_with(".gguf") ? "gguf" : "v2";
}

// A llama2.c checkpoint records neither a RoPE base nor a RoPE scaling: refuses `config` when it has either.
void RequireLlama2cRope(const ModelConfig& config, const std::string& what) {
  if (config.rope_theta != 10000.0f || config.rope_scaling.active()) {
    Fail(what + " has a RoPE base or scaling a llama2.c checkpoint cannot record: write GGUF (OUT.gguf)");
  }
}

}  // namespace

void AddModelCommand(CLI::App& app) {
  CLI::App* model = app.add_subcommand(
      "model", "Inspect, quantize and convert model files (llama2.c, GGUF); make random ones of known shapes");
  model->require_subcommand(1);

  // model info FILE
  {
    CLI::App* info =
        model->add_subcommand("info",
                              "Print a model file's format, shape, parameters and size (and a GGUF's metadata)");
    auto file = std::make_shared<std::string>();
    info->add_option("FILE", *file, "llama2.c checkpoint (v0, v1 or v2) or GGUF file (architecture llama)")->required();
    info->callback([file] {
      if (GgufFile::HasMagic(*file)) {
        Result<std::unique_ptr<GgufModel>> gguf = GgufModel::Open(*file);
        if (!gguf.ok()) Fail(gguf.status().message());
        std::printf("%s%s", gguf.value()->Describe().c_str(), gguf.value()->DescribeMetadata().c_str());
        return;
      }
      std::printf("%s", OpenOrFail(*file)->Describe().c_str());
    });
  }

  // model quantize IN OUT
  {
    CLI::App* quantize =
        model->add_subcommand("quantize",
                              "Write a checkpoint as llama2.c v2 (Q8_0); fp32 input is quantized with the group size "
                              "`model info` shows, v2 input is copied");
    auto in = std::make_shared<std::string>();
    auto out = std::make_shared<std::string>();
    quantize->add_option("IN", *in, "input checkpoint (v0, v1 or v2)")->required();
    quantize->add_option("OUT", *out, "output file (replaced atomically)")->required();
    quantize->callback([in, out] {
      std::unique_ptr<Checkpoint> ckpt = OpenOrFail(*in);
      if (Status s = WriteCheckpoint(ckpt->view(), *out, CheckpointFormat::kV2Q8); !s.ok()) Fail(s.message());
      PrintWritten(*out);
    });
  }

  // model convert IN OUT [--tokenizer FILE] [--format v1|v2|gguf]
  {
    CLI::App* convert =
        model->add_subcommand("convert", "Convert between llama2.c checkpoints and GGUF files (architecture llama)");
    struct Options {
      std::string in;
      std::string out;
      std::string tokenizer;
      std::string format;
      std::string type = "F32";
    };
    auto o = std::make_shared<Options>();
    convert->add_option("IN", o->in, "llama2.c checkpoint (v0, v1 or v2) or GGUF file")->required();
    convert->add_option("OUT", o->out, "output file (replaced atomically)")->required();
    convert->add_option("--tokenizer", o->tokenizer,
                        "llama2.c tokenizer.bin whose vocabulary a GGUF written from a llama2.c checkpoint carries "
                        "(required then: a GGUF serves with its own vocabulary)");
    convert
        ->add_option("--format", o->format,
                     "v1 (llama2.c fp32), v2 (llama2.c Q8_0) or gguf (fp32 matrices stay fp32, Q8_0 ones Q8_0); "
                     "default gguf when OUT ends with .gguf, else v2")
        ->check(CLI::IsMember({"v1", "v2", "gguf"}));
    // The types ModelToGguf can encode; K-quants need rows of a multiple of 256 values.
    convert
        ->add_option("--type", o->type,
                     "GGUF output: the type fp32 matrices are written as (Q8_0 matrices stay Q8_0): F32, F16, "
                     "BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K; fpgaserve requantizes 4-6-bit types to Q8_0 at load")
        ->check(CLI::IsMember({"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"}))
        ->capture_default_str();
    convert->callback([o] {
      const std::string format = OutputFormat(o->format, o->out);
      if (GgufFile::HasMagic(o->in)) {
        if (format == "gguf") Fail("IN is a GGUF file already: choose --format v1 or v2 (llama2.c)");
        if (!o->tokenizer.empty()) Fail("--tokenizer is for GGUF output from a llama2.c checkpoint");
        Result<std::unique_ptr<GgufModel>> gguf = GgufModel::Open(o->in);
        if (!gguf.ok()) Fail(gguf.status().message());
        RequireLlama2cRope(gguf.value()->config(), o->in);
        const CheckpointFormat f = format == "v1" ? CheckpointFormat::kV1Float : CheckpointFormat::kV2Q8;
        if (Status s = WriteCheckpoint(gguf.value()->view(), o->out, f); !s.ok()) Fail(s.message());
        PrintWritten(o->out);
        std::printf("the vocabulary stays in %s (llama2.c keeps its tokenizer in a file of its own)\n", o->in.c_str());
        return;
      }
      std::unique_ptr<Checkpoint> ckpt = OpenOrFail(o->in);
      if (format != "gguf") {
        if (!o->tokenizer.empty()) Fail("--tokenizer is for GGUF output");
        const CheckpointFormat f = format == "v1" ? CheckpointFormat::kV1Float : CheckpointFormat::kV2Q8;
        if (Status s = WriteCheckpoint(ckpt->view(), o->out, f); !s.ok()) Fail(s.message());
        PrintWritten(o->out);
        return;
      }
      if (o->tokenizer.empty()) Fail("GGUF output needs the checkpoint's vocabulary: --tokenizer tokenizer.bin");
      Result<Tokenizer> tokenizer = Tokenizer::Load(o->tokenizer, ckpt->view().config.vocab_size);
      if (!tokenizer.ok()) Fail(tokenizer.status().message());
      GgufModelOptions options;
      options.vocabulary = &tokenizer.value();
      options.matrix_type = GgmlTypeFromName(o->type);
      const uint32_t block = GgmlTypeLayout(static_cast<uint32_t>(options.matrix_type)).block_elements;
      for (const int cols : {ckpt->view().config.dim, ckpt->view().config.hidden_dim}) {
        if (cols % static_cast<int>(block) != 0) {
          Fail(o->type + " needs rows of a multiple of " + std::to_string(block) + " values; this model has rows of " +
               std::to_string(cols));
        }
      }
      GgufBuilder b = ModelToGguf(ckpt->view(), options);
      if (Status s = WriteGgufFile(b, o->out); !s.ok()) Fail(s.message());
      PrintWrittenGguf(o->out);
    });
  }

  // model random --shape NAME [--seed N] [--format v1|v2|gguf] [--tokenizer-json F [--tokenizer-config F]] OUT
  {
    CLI::App* random = model->add_subcommand("random", "Write a model of a known shape with random weights");
    struct Options {
      std::string shape;
      uint64_t seed = 1;
      std::string format;
      std::string tokenizer_json;
      std::string tokenizer_config;
      std::string out;
    };
    auto o = std::make_shared<Options>();
    std::string shapes;
    for (const std::string& name : NamedShapeNames()) shapes += (shapes.empty() ? "" : "|") + name;
    random->add_option("--shape", o->shape, shapes)->required();
    random->add_option("--seed", o->seed, "seed of the weights (same seed, same file)")->capture_default_str();
    random
        ->add_option("--format", o->format,
                     "v1 (llama2.c fp32), v2 (llama2.c Q8_0) or gguf (Q8_0); default gguf when OUT ends with "
                     ".gguf, else v2")
        ->check(CLI::IsMember({"v1", "v2", "gguf"}));
    random->add_option("--tokenizer-json", o->tokenizer_json,
                       "a Hugging Face tokenizer.json (byte-level BPE: Llama 3, SmolLM2) whose vocabulary the GGUF "
                       "carries; the model's vocabulary size becomes the tokenizer's");
    random->add_option("--tokenizer-config", o->tokenizer_config,
                       "its tokenizer_config.json (BOS, EOS, add_bos_token, chat template)");
    random->add_option("OUT", o->out, "output file (replaced atomically)")->required();
    random->callback([o] {
      Result<ModelConfig> config = NamedShape(o->shape);
      if (!config.ok()) Fail(config.status().message());
      const std::string format = OutputFormat(o->format, o->out);
      if (format != "gguf" && !o->tokenizer_json.empty()) Fail("--tokenizer-json needs GGUF output (OUT.gguf)");
      if (format != "gguf") RequireLlama2cRope(config.value(), "shape " + o->shape);
      GgufVocabulary vocabulary;
      if (!o->tokenizer_json.empty()) {
        Result<GgufVocabulary> v = ReadHfTokenizer(o->tokenizer_json, o->tokenizer_config);
        if (!v.ok()) Fail(v.status().message());
        vocabulary = std::move(v.value());
        const int n = static_cast<int>(vocabulary.tokens.size());
        if (n != config.value().vocab_size) {
          std::fprintf(stderr, "fpgaserve: vocabulary size %d (the tokenizer's) instead of the shape's %d\n", n,
                       config.value().vocab_size);
          config.value().vocab_size = n;
        }
      }
      const RandomModel m = MakeRandomModel(config.value(), o->seed);
      if (format == "gguf") {
        GgufModelOptions options;
        options.matrix_type = GgmlType::kQ8_0;
        options.gguf_vocabulary = o->tokenizer_json.empty() ? nullptr : &vocabulary;
        GgufBuilder b = ModelToGguf(m.view, options);
        b.Erase("general.name");
        b.String("general.name", "random-" + o->shape);  // the id `serve` gives it
        if (Status s = WriteGgufFile(b, o->out); !s.ok()) Fail(s.message());
        PrintWrittenGguf(o->out);
        return;
      }
      const CheckpointFormat checkpoint_format = format == "v1" ? CheckpointFormat::kV1Float : CheckpointFormat::kV2Q8;
      if (Status s = WriteCheckpoint(m.view, o->out, checkpoint_format); !s.ok()) Fail(s.message());
      PrintWritten(o->out);
    });
  }
}

}  // namespace fpgaserve::cli
