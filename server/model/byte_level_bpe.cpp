#include "server/model/byte_level_bpe.h"

#include <algorithm>
#include <queue>

#include "server/model/utf8.h"

namespace fpgaserve {
namespace {

// GPT-2's bytes_to_unicode: bytes '!'..'~', 0xA1..0xAC and 0xAE..0xFF stand for themselves; the other 68
// bytes, in increasing order, take code points 256, 257, ...
uint32_t CodePointOfByte(uint8_t b) {
  const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
  if (printable) return b;
  uint32_t shifted = 256;
  for (int x = 0; x < b; ++x) {
    const bool p = (x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE);
    if (!p) ++shifted;
  }
  return shifted;
}

std::string Utf8Of(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {  // byte characters stay below U+0144
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

// The byte each byte character (code point < 324) stands for, -1 for other code points.
struct ByteTable {
  int byte_of[324];
  ByteTable() {
    std::fill(std::begin(byte_of), std::end(byte_of), -1);
    for (int b = 0; b < 256; ++b) byte_of[CodePointOfByte(static_cast<uint8_t>(b))] = b;
  }
};

const ByteTable& Bytes() {
  static const ByteTable table;
  return table;
}

// Maps a normal token's byte characters back to bytes; false when it holds anything else.
bool TokenBytes(std::string_view token, std::string* out) {
  out->clear();
  for (size_t i = 0; i < token.size();) {
    const Utf8Scan scan = ScanUtf8(token.substr(i));
    if (scan.kind != Utf8Kind::kComplete) return false;
    uint32_t cp = 0;
    const auto b0 = static_cast<uint8_t>(token[i]);
    if (scan.length == 1) {
      cp = b0;
    } else if (scan.length == 2) {
      cp = (b0 & 0x1Fu) << 6 | (static_cast<uint8_t>(token[i + 1]) & 0x3Fu);
    } else {
      return false;  // three or more bytes: beyond U+07FF, not a byte character
    }
    if (cp >= 324 || Bytes().byte_of[cp] < 0) return false;
    *out += static_cast<char>(Bytes().byte_of[cp]);
    i += scan.length;
  }
  return true;
}

bool MatchedWhole(TokenType t) { return t == TokenType::kControl || t == TokenType::kUserDefined; }

}  // namespace

std::string ByteLevelBpe::ByteToUnicode(uint8_t byte) { return Utf8Of(CodePointOfByte(byte)); }

Result<std::shared_ptr<const ByteLevelBpe>> ByteLevelBpe::Create(std::vector<std::string> tokens,
                                                                 std::vector<TokenType> types,
                                                                 const std::vector<std::string>& merges,
                                                                 std::shared_ptr<const Pretokenizer> pre,
                                                                 const std::string& source) {
  if (tokens.empty() || tokens.size() != types.size() || tokens.size() > static_cast<size_t>(INT32_MAX)) {
    return Status::InvalidArgument(source +
                                   ": a byte-level BPE vocabulary needs one type per token and at least "
                                   "one token; got " +
                                   std::to_string(tokens.size()) + " tokens and " + std::to_string(types.size()) +
                                   " types");
  }
  std::shared_ptr<ByteLevelBpe> v(new ByteLevelBpe());
  v->pre_ = std::move(pre);
  v->bytes_.resize(tokens.size());
  v->ids_.reserve(tokens.size());
  std::fill(std::begin(v->byte_token_), std::end(v->byte_token_), -1);
  for (size_t id = 0; id < tokens.size(); ++id) {
    const std::string where = source + ": token " + std::to_string(id) + " (\"" + tokens[id] + "\")";
    const auto type = static_cast<int32_t>(types[id]);
    if (type < 1 || type > 6) {
      return Status::InvalidArgument(where + " has token type " + std::to_string(type) +
                                     "; GGUF token types are 1-6 (normal, unknown, control, user-defined, unused, "
                                     "byte)");
    }
    v->ids_.emplace(tokens[id], static_cast<int>(id));
    if (types[id] == TokenType::kControl) continue;  // decodes to ""
    if (types[id] == TokenType::kUserDefined) {
      v->bytes_[id] = tokens[id];
      continue;
    }
    if (!TokenBytes(tokens[id], &v->bytes_[id])) {
      if (types[id] == TokenType::kNormal) {
        return Status::InvalidArgument(where +
                                       " is a normal token but not spelled in byte-level characters "
                                       "(GPT-2's byte-to-unicode map)");
      }
      v->bytes_[id] = tokens[id];  // unknown/unused/byte tokens in another spelling: their text
    }
    if (types[id] == TokenType::kNormal && v->bytes_[id].size() == 1) {
      const auto b = static_cast<uint8_t>(v->bytes_[id][0]);
      if (v->byte_token_[b] < 0) v->byte_token_[b] = static_cast<int>(id);
    }
  }
  for (int b = 0; b < 256; ++b) {
    if (v->byte_token_[b] < 0) {
      return Status::InvalidArgument(source + ": no normal token stands for byte " + std::to_string(b) + " (\"" +
                                     ByteToUnicode(static_cast<uint8_t>(b)) +
                                     "\"); a byte-level BPE vocabulary needs all 256");
    }
  }
  v->merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const std::string& m = merges[rank];
    const std::string where = source + ": merge " + std::to_string(rank) + " (\"" + m + "\")";
    const size_t space = m.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 == m.size()) {
      return Status::InvalidArgument(where + " is not two tokens separated by a space");
    }
    const int left = v->Find(std::string_view(m).substr(0, space));
    const int right = v->Find(std::string_view(m).substr(space + 1));
    if (left < 0 || right < 0) {
      return Status::InvalidArgument(where + " names a token that is not in the vocabulary: \"" +
                                     (left < 0 ? m.substr(0, space) : m.substr(space + 1)) + "\"");
    }
    std::string joined = m.substr(0, space) + m.substr(space + 1);
    const int merged = v->Find(joined);
    if (merged < 0) {
      return Status::InvalidArgument(where + " yields \"" + joined + "\", which is not in the vocabulary");
    }
    // The first (lowest-rank) merge of a pair is the one that applies, as in tokenizers.
    v->merges_.emplace(static_cast<uint64_t>(left) << 32 | static_cast<uint32_t>(right),
                       Merge{static_cast<int>(rank), merged});
  }
  for (size_t id = 0; id < tokens.size(); ++id) {
    if (MatchedWhole(types[id]) && !tokens[id].empty()) {
      v->specials_.push_back({tokens[id], static_cast<int>(id)});
      v->starts_special_[static_cast<uint8_t>(tokens[id][0])] = true;
    }
  }
  std::stable_sort(v->specials_.begin(), v->specials_.end(),
                   [](const auto& a, const auto& b) { return a.text.size() > b.text.size(); });
  v->tokens_ = std::move(tokens);
  v->types_ = std::move(types);
  return std::shared_ptr<const ByteLevelBpe>(std::move(v));
}

int ByteLevelBpe::Find(std::string_view token) const {
  const auto it = ids_.find(token);
  return it == ids_.end() ? -1 : it->second;
}

const std::string& ByteLevelBpe::Bytes(int id) const {
  static const std::string kNone;
  return id >= 0 && id < size() ? bytes_[static_cast<size_t>(id)] : kNone;
}

const ByteLevelBpe::Merge* ByteLevelBpe::FindMerge(int left, int right) const {
  const auto it = merges_.find(static_cast<uint64_t>(left) << 32 | static_cast<uint32_t>(right));
  return it == merges_.end() ? nullptr : &it->second;
}

void ByteLevelBpe::Encode(std::string_view text, bool parse_control, std::vector<int>* out) const {
  size_t text_from = 0;
  for (size_t i = 0; i < text.size();) {
    const SpecialTokenSpelling* hit = nullptr;
    if (!starts_special_[static_cast<uint8_t>(text[i])]) {
      ++i;
      continue;
    }
    for (const SpecialTokenSpelling& s : specials_) {  // longest first, so the first hit is the longest
      if (s.text[0] != text[i] || s.text.size() > text.size() - i) continue;
      if (!parse_control && types_[static_cast<size_t>(s.id)] == TokenType::kControl) continue;
      if (text.compare(i, s.text.size(), s.text) == 0) {
        hit = &s;
        break;
      }
    }
    if (hit == nullptr) {
      ++i;
      continue;
    }
    EncodeText(text.substr(text_from, i - text_from), out);
    out->push_back(hit->id);
    i += hit->text.size();
    text_from = i;
  }
  EncodeText(text.substr(text_from), out);
}

void ByteLevelBpe::EncodeText(std::string_view text, std::vector<int>* out) const {
  std::vector<std::string_view> pieces;
  pre_->Split(text, &pieces);
  for (std::string_view piece : pieces) EncodePiece(piece, out);
}

// Byte tokens form a doubly-linked list over their original positions; candidate merges wait in a min-heap
// keyed by (rank, left position). A merge queues only the two pairs it creates; entries whose nodes changed
// since they were queued are skipped (a node's token only grows, so an id seen again means no change).
void ByteLevelBpe::EncodePiece(std::string_view piece, std::vector<int>* out) const {
  if (pre_->ignore_merges()) {
    std::string spelled;
    for (char c : piece) spelled += ByteToUnicode(static_cast<uint8_t>(c));
    const int whole = Find(spelled);
    if (whole >= 0 && types_[static_cast<size_t>(whole)] == TokenType::kNormal) {
      out->push_back(whole);
      return;
    }
  }
  const int n = static_cast<int>(piece.size());
  std::vector<int> tokens(piece.size());
  for (int i = 0; i < n; ++i) tokens[i] = byte_token_[static_cast<uint8_t>(piece[i])];
  std::vector<int> next(piece.size());
  std::vector<int> prev(piece.size());
  for (int i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  struct Candidate {
    int rank;
    int left;
    int left_id;
    int right_id;
    int merged;
  };
  auto later = [](const Candidate& a, const Candidate& b) {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  };
  std::priority_queue<Candidate, std::vector<Candidate>, decltype(later)> queue(later);
  auto push_pair = [&](int left) {
    if (left < 0 || next[left] < 0) return;
    const int right = next[left];
    if (const Merge* m = FindMerge(tokens[left], tokens[right])) {
      queue.push({m->rank, left, tokens[left], tokens[right], m->merged});
    }
  };
  for (int i = 0; i + 1 < n; ++i) push_pair(i);
  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    const int right = next[c.left];
    if (right < 0 || tokens[c.left] != c.left_id || tokens[right] != c.right_id) continue;
    tokens[c.left] = c.merged;
    tokens[right] = -1;
    next[c.left] = next[right];
    if (next[right] >= 0) prev[next[right]] = c.left;
    push_pair(prev[c.left]);
    push_pair(c.left);
  }
  for (int i = 0; i >= 0 && n > 0; i = next[i]) out->push_back(tokens[i]);
}

}  // namespace fpgaserve
