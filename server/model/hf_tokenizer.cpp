#include "server/model/hf_tokenizer.h"

#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

namespace fpgaserve {
namespace {

using nlohmann::json;

// Llama 3's tokenizer.json Split pattern, byte for byte.
constexpr const char* kLlama3Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

Result<json> ReadJson(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(std::string(what) + " " + path + " cannot be opened");
  std::stringstream ss;
  ss << in.rdbuf();
  json j = json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument(std::string(what) + " " + path + " is not a JSON object");
  }
  return j;
}

bool IsType(const json& j, const char* type) { return j.is_object() && j.value("type", "") == type; }

// "llama-bpe", "smollm", or "" for a pre-tokenizer we do not know.
std::string PreOf(const json& pre) {
  auto is_llama3_split = [](const json& p) {
    return IsType(p, "Split") && p.contains("pattern") && p["pattern"].is_object() &&
           p["pattern"].value("Regex", "") == kLlama3Regex && p.value("behavior", "") == "Isolated" &&
           !p.value("invert", false);
  };
  if (is_llama3_split(pre)) return "llama-bpe";
  if (!IsType(pre, "Sequence") || !pre.contains("pretokenizers") || !pre["pretokenizers"].is_array()) return "";
  const json& seq = pre["pretokenizers"];
  if (seq.size() == 2 && is_llama3_split(seq[0]) && IsType(seq[1], "ByteLevel") && !seq[1].value("use_regex", true) &&
      !seq[1].value("add_prefix_space", false)) {
    return "llama-bpe";
  }
  if (seq.size() == 2 && IsType(seq[0], "Digits") && seq[0].value("individual_digits", false) &&
      IsType(seq[1], "ByteLevel") && seq[1].value("use_regex", true) && !seq[1].value("add_prefix_space", false)) {
    return "smollm";
  }
  return "";
}

// A special token as tokenizer_config.json gives it: a string or {"content": ...}; "" when absent.
std::string TokenText(const json& config, const char* key) {
  if (!config.contains(key)) return "";
  const json& v = config[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return "";
}

}  // namespace

Result<GgufVocabulary> ReadHfTokenizer(const std::string& tokenizer_json_path,
                                       const std::string& tokenizer_config_path) {
  Result<json> doc = ReadJson(tokenizer_json_path, "tokenizer.json file");
  if (!doc.ok()) return doc.status();
  const json& t = doc.value();
  const std::string where = "tokenizer.json file " + tokenizer_json_path;
  auto bad = [&](const std::string& defect) { return Status::InvalidArgument(where + ": " + defect); };
  try {
    if (!t.contains("model") || !IsType(t["model"], "BPE")) return bad("model.type must be \"BPE\"");
    const json& model = t["model"];
    if (t.contains("normalizer") && !t["normalizer"].is_null()) {
      return bad("it has a normalizer (" + t["normalizer"].dump().substr(0, 200) +
                 "); byte-level BPE vocabularies such as Llama 3's and SmolLM2's have none");
    }
    GgufVocabulary v;
    v.model = "gpt2";
    v.pre = PreOf(t.value("pre_tokenizer", json()));
    if (v.pre.empty()) {
      return bad("its pre_tokenizer " + t.value("pre_tokenizer", json()).dump().substr(0, 300) +
                 " is not one fpgaserve knows (Llama 3's Split regex = \"llama-bpe\", SmolLM2's Digits + ByteLevel = "
                 "\"smollm\")");
    }
    const bool ignore_merges = model.value("ignore_merges", false);
    if (ignore_merges != (v.pre == "llama-bpe")) {
      return bad(std::string("model.ignore_merges is ") + (ignore_merges ? "true" : "false") + " but the " + v.pre +
                 " pre-tokenizer implies " + (v.pre == "llama-bpe" ? "true" : "false") +
                 " (GGUF does not record it; llama.cpp derives it from the pre-tokenizer too)");
    }

    // Tokens by id: the model's vocabulary, then the added tokens (which may repeat a vocabulary entry).
    std::map<int64_t, std::string> by_id;
    std::map<int64_t, int32_t> type_of;
    if (!model.contains("vocab") || !model["vocab"].is_object()) return bad("model.vocab must be an object");
    for (const auto& [text, id] : model["vocab"].items()) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0) return bad("model.vocab[\"" + text + "\"] is not an id");
      if (!by_id.emplace(id.get<int64_t>(), text).second) {
        return bad("id " + std::to_string(id.get<int64_t>()) + " appears twice in model.vocab");
      }
    }
    for (const json& a : t.value("added_tokens", json::array())) {
      if (!a.contains("id") || !a["id"].is_number_integer() || a["id"].get<int64_t>() < 0 || !a.contains("content") ||
          !a["content"].is_string()) {
        return bad("an added token lacks a non-negative id or a content string: " + a.dump());
      }
      const int64_t id = a["id"].get<int64_t>();
      const std::string content = a["content"].get<std::string>();
      auto [it, inserted] = by_id.emplace(id, content);
      if (!inserted && it->second != content) {
        return bad("added token " + std::to_string(id) + " (\"" + content + "\") has the id of \"" + it->second + "\"");
      }
      type_of[id] = a.value("special", false) ? 3 : 4;
    }
    if (by_id.empty() || by_id.rbegin()->first + 1 != static_cast<int64_t>(by_id.size())) {
      return bad("token ids must be 0..n-1 without holes; there are " + std::to_string(by_id.size()) +
                 " tokens and the largest id is " + (by_id.empty() ? "none" : std::to_string(by_id.rbegin()->first)));
    }
    std::map<std::string, int> id_of;
    for (const auto& [id, text] : by_id) {
      v.tokens.push_back(text);
      const auto type = type_of.find(id);
      v.token_types.push_back(type == type_of.end() ? 1 : type->second);
      id_of.emplace(text, static_cast<int>(id));
    }

    if (!model.contains("merges") || !model["merges"].is_array()) return bad("model.merges must be an array");
    for (const json& m : model["merges"]) {
      if (m.is_string()) {
        v.merges.push_back(m.get<std::string>());
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
        v.merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
      } else {
        return bad("merge " + std::to_string(v.merges.size()) + " is neither \"a b\" nor [\"a\", \"b\"]: " + m.dump());
      }
    }

    json config = json::object();
    std::string config_where;
    if (!tokenizer_config_path.empty()) {
      Result<json> c = ReadJson(tokenizer_config_path, "tokenizer_config.json file");
      if (!c.ok()) return c.status();
      config = std::move(c.value());
      config_where = "tokenizer_config.json file " + tokenizer_config_path;
    }
    auto id_named = [&](const std::string& text, const char* what, int* id) -> Status {
      if (text.empty()) return Status::Ok();
      const auto it = id_of.find(text);
      if (it == id_of.end()) {
        return Status::InvalidArgument((config_where.empty() ? where : config_where) + ": the " + what + " token \"" +
                                       text + "\" is not in the vocabulary");
      }
      *id = it->second;
      return Status::Ok();
    };
    auto first_present = [&](std::initializer_list<const char*> names) -> std::string {
      for (const char* n : names) {
        if (id_of.count(n) != 0) return n;
      }
      return "";
    };
    std::string bos = TokenText(config, "bos_token");
    std::string eos = TokenText(config, "eos_token");
    if (bos.empty()) bos = first_present({"<|begin_of_text|>", "<|endoftext|>"});
    if (eos.empty()) eos = first_present({"<|end_of_text|>", "<|endoftext|>"});
    if (Status s = id_named(bos, "BOS", &v.bos); !s.ok()) return s;
    if (Status s = id_named(eos, "EOS", &v.eos); !s.ok()) return s;
    if (Status s = id_named(TokenText(config, "pad_token"), "padding", &v.pad); !s.ok()) return s;
    if (model.contains("unk_token") && model["unk_token"].is_string()) {
      if (Status s = id_named(model["unk_token"].get<std::string>(), "unknown", &v.unk); !s.ok()) return s;
    }
    auto control = [&](const char* text) {
      const auto it = id_of.find(text);
      return it != id_of.end() && v.token_types[static_cast<size_t>(it->second)] == 3 ? it->second : -1;
    };
    v.eot = control("<|eot_id|>") >= 0 ? control("<|eot_id|>") : control("<|im_end|>");
    v.eom = control("<|eom_id|>");

    v.add_bos = v.pre == "llama-bpe";
    const json post = t.value("post_processor", json());
    if (IsType(post, "TemplateProcessing") && post.contains("single") && post["single"].is_array()) {
      const json& first = post["single"].empty() ? json() : post["single"][0];
      v.add_bos = first.is_object() && first.contains("SpecialToken") && first["SpecialToken"].value("id", "") == bos &&
                  !bos.empty();
    }
    if (config.contains("add_bos_token") && config["add_bos_token"].is_boolean()) {
      v.add_bos = config["add_bos_token"].get<bool>();
    }
    if (config.contains("add_eos_token") && config["add_eos_token"].is_boolean()) {
      v.add_eos = config["add_eos_token"].get<bool>();
    }
    if (config.contains("chat_template") && config["chat_template"].is_string()) {
      v.chat_template = config["chat_template"].get<std::string>();
    }
    return v;
  } catch (const json::exception& e) {
    return bad(std::string("unexpected JSON structure: ") + e.what());
  }
}

}  // namespace fpgaserve
