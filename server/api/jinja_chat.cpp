#include "server/api/jinja_chat.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace fpgaserve {

Result<std::shared_ptr<const JinjaChatTemplate>> JinjaChatTemplate::Create(std::string_view template_text,
                                                                           JinjaChatOptions options) {
  Result<JinjaTemplate> parsed = JinjaTemplate::Parse(template_text, options.limits);
  if (!parsed.ok()) return parsed.status();
  for (const SpecialToken& s : options.special_tokens) {
    if (s.text.empty() || s.id < 0) {
      return Status::InvalidArgument("a special token needs a non-empty spelling and an id >= 0");
    }
  }
  return std::shared_ptr<const JinjaChatTemplate>(new JinjaChatTemplate(std::move(parsed.value()), std::move(options)));
}

Result<std::vector<PromptPiece>> JinjaChatTemplate::Render(const std::vector<ChatMessage>& messages,
                                                           int64_t now_unix_seconds) const {
  if (messages.empty()) return Status::InvalidArgument("messages must contain at least one message");
  JinjaRenderInput input;
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const ChatMessage& m : messages) list.push_back({{"role", m.role}, {"content", m.content}});
  input.user_variables["messages"] = std::move(list);
  input.user_variables["add_generation_prompt"] = messages.back().role != "assistant";
  input.trusted_variables["bos_token"] = options_.bos_token;
  input.trusted_variables["eos_token"] = options_.eos_token;
  input.now_unix_seconds = now_unix_seconds;
  Result<jinja::TaintedText> text = template_.Render(input);
  if (!text.ok()) return text.status();
  return SplitSpecialTokens(text.value(), options_.special_tokens);
}

JinjaChatOptions LlamaVocabChatOptions(int bos_id, int eos_id) {
  JinjaChatOptions o;
  o.bos_token = "<s>";
  o.eos_token = "</s>";
  o.special_tokens = {{"<s>", bos_id}, {"</s>", eos_id}};
  return o;
}

JinjaChatOptions VocabularyChatOptions(const Tokenizer& tokenizer) {
  if (tokenizer.kind() == Tokenizer::Kind::kSentencePiece) {
    return LlamaVocabChatOptions(tokenizer.bos_id(), tokenizer.eos_id());
  }
  JinjaChatOptions o;
  o.bos_token = tokenizer.bos_id() >= 0 ? tokenizer.Piece(tokenizer.bos_id()) : std::string();
  o.eos_token = tokenizer.Piece(tokenizer.eos_id());
  for (const SpecialTokenSpelling& s : tokenizer.special_tokens()) o.special_tokens.push_back({s.text, s.id});
  return o;
}

Result<std::shared_ptr<const JinjaChatTemplate>> LoadJinjaChatTemplateFile(const std::string& path,
                                                                           JinjaChatOptions options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("chat template file " + path + " cannot be opened");
  std::stringstream ss;
  ss << in.rdbuf();
  Result<std::shared_ptr<const JinjaChatTemplate>> t = JinjaChatTemplate::Create(ss.str(), std::move(options));
  if (!t.ok()) return Status(t.status().code(), path + ": " + t.status().message());
  return t;
}

std::vector<PromptPiece> SplitSpecialTokens(const jinja::TaintedText& text, const std::vector<SpecialToken>& specials) {
  std::vector<PromptPiece> out;
  const std::string& s = text.text;
  size_t span = 0;       // the first user range that does not end before `i`
  size_t text_from = 0;  // start of the pending text piece
  auto flush = [&](size_t end) {
    if (end > text_from) out.push_back({s.substr(text_from, end - text_from), -1});
  };
  for (size_t i = 0; i < s.size();) {
    while (span < text.user.size() && text.user[span].end <= i) ++span;
    if (span < text.user.size() && text.user[span].begin <= i) {
      i = text.user[span].end;  // inside user text: no token may start here
      continue;
    }
    // Template bytes run up to the next user range.
    const size_t trusted_end = span < text.user.size() ? text.user[span].begin : s.size();
    const SpecialToken* best = nullptr;
    for (const SpecialToken& t : specials) {
      if (!t.text.empty() && t.text.size() <= trusted_end - i && s.compare(i, t.text.size(), t.text) == 0 &&
          (best == nullptr || t.text.size() > best->text.size())) {
        best = &t;
      }
    }
    if (best == nullptr) {
      ++i;
      continue;
    }
    flush(i);
    out.push_back({best->text, best->id});
    i += best->text.size();
    text_from = i;
  }
  flush(s.size());
  return out;
}

std::string PromptPiecesText(const std::vector<PromptPiece>& pieces) {
  std::string s;
  for (const PromptPiece& p : pieces) s += p.text;
  return s;
}

}  // namespace fpgaserve
