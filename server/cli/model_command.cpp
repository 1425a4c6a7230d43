// fpgaserve model info | quantize | random: look at (llama2.c checkpoints and GGUF files), convert and make
// llama2.c checkpoint files.
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

namespace fpgaserve::cli {
namespace {

std::unique_ptr<Checkpoint> OpenOrFail(const std::string& path) {
  Result<std::unique_ptr<Checkpoint>> ckpt = Checkpoint::Open(path);
  if (!ckpt.ok()) Fail(ckpt.status().message());
  return std::move(ckpt).value();
}

// Re-opens what was just written, so the command reports what a reader will see.
void PrintWritten(const std::string& path) { std::printf("wrote %s", OpenOrFail(path)->Describe().c_str()); }

}  // namespace

void AddModelCommand(CLI::App& app) {
  CLI::App* model = app.add_subcommand("model", "Inspect model files (llama2.c, GGUF); quantize and generate llama2.c checkpoints");
  model->require_subcommand(1);

  // model info FILE
  {
    CLI::App* info = model->add_subcommand(
        "info", "Print a model file's format, shape, parameters and size (and a GGUF's metadata)");
    auto file = std::make_shared<std::string>();
    info->add_option("FILE", *file, "llama2.c checkpoint (v0, v1 or v2) or GGUF file (architecture llama)")
        ->required();
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
    CLI::App* quantize = model->add_subcommand(
        "quantize", "Write a checkpoint as llama2.c v2 (Q8_0); fp32 input is quantized with the group size "
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
    random->add_option("--format", o->format,
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
      std::string format = o->format;
      if (format.empty()) format = o->out.ends_with(".gguf") ? "gguf" : "v2";
      if (format != "gguf" && !o->tokenizer_json.empty()) Fail("--tokenizer-json needs GGUF output (OUT.gguf)");
      if (format != "gguf" && (config.value().rope_theta != 10000.0f || config.value().rope_scaling.active())) {
        Fail("shape " + o->shape + " has a RoPE base or scaling a llama2.c checkpoint cannot record: write GGUF "
             "(OUT.gguf)");
      }
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
        b.Erase("test.nested");  // the made-up vocabulary's test-only key
        if (Status s = WriteGgufFile(b, o->out); !s.ok()) Fail(s.message());
        Result<std::unique_ptr<GgufModel>> written = GgufModel::Open(o->out);
        if (!written.ok()) Fail(written.status().message());
        std::printf("wrote %s", written.value()->Describe().c_str());
        return;
      }
      const CheckpointFormat checkpoint_format = format == "v1" ? CheckpointFormat::kV1Float : CheckpointFormat::kV2Q8;
      if (Status s = WriteCheckpoint(m.view, o->out, checkpoint_format); !s.ok()) Fail(s.message());
      PrintWritten(o->out);
    });
  }
}

}  // namespace fpgaserve::cli
