// fpgaserve tokenize: a model's vocabulary applied to text, for checking our tokenizers against others
// (tests/tokenizer/run.sh compares it with Hugging Face's tokenizers through transformers.js).
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "server/cli/commands.h"
#include "server/model/loaded_model.h"

namespace fpgaserve::cli {

void AddTokenizeCommand(CLI::App& app) {
  struct Options {
    std::string model;
    std::string tokenizer;
    bool bos = false;
    bool no_special = false;
    bool jsonl = false;
    std::string text;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd =
      app.add_subcommand("tokenize",
                         "Print the token ids of a text (as a completions prompt is tokenized: special-token spellings "
                         "become those tokens), or with --jsonl, of every JSON string line of stdin");
  cmd->add_option("--model", o->model, "model file (GGUF with its vocabulary, or llama2.c with --tokenizer)")
      ->required();
  cmd->add_option("--tokenizer", o->tokenizer, "llama2.c tokenizer.bin (default: the GGUF's own vocabulary)");
  cmd->add_flag("--bos", o->bos, "start with BOS when the vocabulary adds one (as prompts do)");
  cmd->add_flag("--no-special", o->no_special, "special-token spellings stay text (as chat message content)");
  cmd->add_flag("--jsonl", o->jsonl,
                "read JSON strings, one a line, from stdin; print one JSON object a line: \"ids\" (specials "
                "parsed), \"text_ids\" (specials as text) and \"decoded\" (the bytes of text_ids)");
  cmd->add_option("TEXT", o->text, "the text (without --jsonl)");
  cmd->callback([o] {
    Result<std::shared_ptr<const LoadedModel>> model = LoadedModel::FromFile(o->model);
    if (!model.ok()) Fail(model.status().message());
    Result<Tokenizer> loaded = LoadTokenizerFor(*model.value(), o->tokenizer, "");
    if (!loaded.ok()) Fail(loaded.status().message());
    const Tokenizer& tok = loaded.value();
    const bool bos = o->bos && tok.add_bos();
    if (!o->jsonl) {
      const std::vector<int> ids = o->no_special ? tok.Encode(o->text, bos, false)
                                                 : tok.EncodeWithSpecials(o->text, bos, false);
      std::printf("%s\n", nlohmann::json(ids).dump().c_str());
      return;
    }
    std::string line;
    int number = 0;
    while (std::getline(std::cin, line)) {
      ++number;
      const nlohmann::json in = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (!in.is_string()) Fail("stdin line " + std::to_string(number) + " is not a JSON string");
      const std::string text = in.get<std::string>();
      const std::vector<int> text_ids = tok.Encode(text, bos, false);
      nlohmann::json out = {{"ids", tok.EncodeWithSpecials(text, bos, false)}, {"text_ids", text_ids}};
      // Invalid UTF-8 would make dump() throw; replace it, which a test then sees as a mismatch.
      out["decoded"] = tok.Decode(text_ids);
      std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    }
  });
}

}  // namespace fpgaserve::cli
