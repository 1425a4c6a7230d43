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

  // model random --shape NAME [--seed N] [--format v1|v2] OUT
  {
    CLI::App* random = model->add_subcommand("random", "Write a model of a known shape with random weights");
    struct Options {
      std::string shape;
      uint64_t seed = 1;
      std::string format = "v2";
      std::string out;
    };
    auto o = std::make_shared<Options>();
    std::string shapes;
    for (const std::string& name : NamedShapeNames()) shapes += (shapes.empty() ? "" : "|") + name;
    random->add_option("--shape", o->shape, shapes)->required();
    random->add_option("--seed", o->seed, "seed of the weights (same seed, same file)")->capture_default_str();
    random->add_option("--format", o->format, "v1 (fp32) or v2 (Q8_0)")
        ->check(CLI::IsMember({"v1", "v2"}))
        ->capture_default_str();
    random->add_option("OUT", o->out, "output file (replaced atomically)")->required();
    random->callback([o] {
      Result<ModelConfig> config = NamedShape(o->shape);
      if (!config.ok()) Fail(config.status().message());
      const RandomModel m = MakeRandomModel(config.value(), o->seed);
      const CheckpointFormat format = o->format == "v1" ? CheckpointFormat::kV1Float : CheckpointFormat::kV2Q8;
      if (Status s = WriteCheckpoint(m.view, o->out, format); !s.ok()) Fail(s.message());
      PrintWritten(o->out);
    });
  }
}

}  // namespace fpgaserve::cli
