#include "server/model/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace fpgaserve {
namespace {

// Unicode's White_Space property (what \s means in Rust's regex, which Hugging Face tokenizers use).
#define WS "\\t-\\r \\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}"
constexpr const char* kSpace = "[" WS "]";
constexpr const char* kNotSpace = "[^" WS "]";
constexpr const char* kNotSpaceLetterDigit = "[^" WS "\\p{L}\\p{N}]";
#undef WS

std::string Llama3Pattern() {
  return std::string("(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])") + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+" +
         "|\\p{N}{1,3}" + "| ?" + kNotSpaceLetterDigit + "+[\\r\\n]*" + "|" + kSpace + "*[\\r\\n]+" + "|" + kSpace +
         "+(?!" + kNotSpace + ")" + "|" + kSpace + "+";
}

std::string Gpt2Pattern() {
  return std::string("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?") + kNotSpaceLetterDigit + "+|" + kSpace + "+(?!" +
         kNotSpace + ")|" + kSpace + "+";
}

}  // namespace

struct Pretokenizer::Stage {
  pcre2_code* code = nullptr;
};

Pretokenizer::Pretokenizer() = default;

Pretokenizer::~Pretokenizer() {
  for (Stage& s : stages_) pcre2_code_free(s.code);
}

std::vector<std::string> Pretokenizer::Names() { return {"llama-bpe", "smollm"}; }

Result<std::shared_ptr<const Pretokenizer>> Pretokenizer::Create(std::string_view name) {
  std::vector<std::string> patterns;
  bool ignore_merges = false;
  if (name == "llama-bpe") {
    patterns = {Llama3Pattern()};
    ignore_merges = true;
  } else if (name == "smollm") {
    patterns = {"\\p{N}", Gpt2Pattern()};
  } else {
    std::string known;
    for (const std::string& n : Names()) known += (known.empty() ? "\"" : ", \"") + n + "\"";
    return Status::InvalidArgument("pre-tokenizer \"" + std::string(name) + "\" is not supported (fpgaserve knows " +
                                   known + ")");
  }
  std::shared_ptr<Pretokenizer> p(new Pretokenizer());
  p->name_ = std::string(name);
  p->ignore_merges_ = ignore_merges;
  for (const std::string& pattern : patterns) {
    int error = 0;
    PCRE2_SIZE offset = 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.c_str()), pattern.size(),
                                     PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error, &offset, nullptr);
    if (code == nullptr) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(error, message, sizeof(message));
      return Status::Internal("PCRE2 refuses the " + p->name_ + " pattern at offset " + std::to_string(offset) + ": " +
                              reinterpret_cast<const char*>(message));
    }
    p->stages_.push_back({code});
    // JIT is an optimisation: without it (a platform PCRE2 has no JIT for) pcre2_match interprets.
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  }
  return std::shared_ptr<const Pretokenizer>(std::move(p));
}

void Pretokenizer::SplitStage(const Stage& stage, std::string_view text, std::vector<std::string_view>* pieces) const {
  std::unique_ptr<pcre2_match_data, void (*)(pcre2_match_data*)> match(pcre2_match_data_create_from_pattern(stage.code,
                                                                                                            nullptr),
                                                                       &pcre2_match_data_free);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t gap_from = 0;  // start of the text not yet matched
  size_t at = 0;
  while (at < text.size()) {
    const int rc = pcre2_match(stage.code, subject, text.size(), at, 0, match.get(), nullptr);
    if (rc < 0) break;  // no further match (or a resource limit: the rest stays one piece)
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(match.get());
    const size_t begin = ov[0];
    const size_t end = ov[1];
    if (end <= begin) {  // the patterns cannot match empty; guard against looping anyway
      at = begin + 1;
      continue;
    }
    if (begin > gap_from) pieces->push_back(text.substr(gap_from, begin - gap_from));
    pieces->push_back(text.substr(begin, end - begin));
    gap_from = at = end;
  }
  if (gap_from < text.size()) pieces->push_back(text.substr(gap_from));
}

void Pretokenizer::Split(std::string_view text, std::vector<std::string_view>* pieces) const {
  if (text.empty()) return;
  std::vector<std::string_view> current = {text};
  std::vector<std::string_view> next;
  for (size_t s = 0; s < stages_.size(); ++s) {
    next.clear();
    for (std::string_view piece : current) SplitStage(stages_[s], piece, &next);
    current.swap(next);
  }
  pieces->insert(pieces->end(), current.begin(), current.end());
}

}  // namespace fpgaserve
