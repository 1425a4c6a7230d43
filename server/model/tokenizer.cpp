#include "server/model/tokenizer.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <queue>

#include "server/model/utf8.h"

namespace fpgaserve {
namespace {

// The length of the valid UTF-8 character at the start of `s`, or 1 when it does not start with one (a stray
// byte is a unit of its own).
size_t CharLength(std::string_view s) {
  const Utf8Scan scan = ScanUtf8(s);
  return scan.kind == Utf8Kind::kComplete ? scan.length : 1;
}

// The byte a piece spelled "<0xXX>" (upper-case hex, as SentencePiece writes it) stands for, or -1.
int ByteOfPiece(std::string_view piece) {
  if (piece.size() != 6 || piece.substr(0, 3) != "<0x" || piece[5] != '>') return -1;
  int value = 0;
  for (char c : piece.substr(3, 2)) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      return -1;
    }
    value = value * 16 + digit;
  }
  return value;
}

// Sequential reads from a file that report how far they got, so every truncation names its byte offset.
class FileReader {
 public:
  explicit FileReader(std::FILE* file) : file_(file) {}
  // Reads exactly `n` bytes into `dst`; false at end of file or on a read error.
  bool Read(void* dst, size_t n) {
    const size_t got = std::fread(dst, 1, n, file_);
    offset_ += got;
    return got == n;
  }
  bool ReadU32(uint32_t* value) {
    unsigned char b[4];
    if (!Read(b, 4)) return false;
    *value = uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 | uint32_t{b[3]} << 24;
    return true;
  }
  uint64_t offset() const { return offset_; }
  bool error() const { return std::ferror(file_) != 0; }

 private:
  std::FILE* file_;
  uint64_t offset_ = 0;
};

}  // namespace

// A mergeable adjacent pair. It is stale (and skipped) once either node has changed or left the list; the
// ids recorded here detect that, because a node's piece only grows, so its id never comes back.
struct Tokenizer::Candidate {
  float score;
  int left;     // node index; list order is index order, so the smaller index is the leftmost pair
  int right;    // node index
  int left_id;  // token ids when the pair was queued
  int right_id;
  int merged;  // the token the pair becomes
};

Result<Tokenizer> Tokenizer::Load(const std::string& path, int vocab_size) {
  const std::string where = "tokenizer file " + path;
  if (vocab_size < 3) {
    return Status::InvalidArgument(where + ": vocab_size must be at least 3 (<unk>, BOS, EOS), got " +
                                   std::to_string(vocab_size));
  }
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) return Status::NotFound("cannot open " + where + ": " + std::strerror(errno));
  FileReader reader(file.get());
  auto truncated = [&](const std::string& what) {
    return Status::InvalidArgument(where + " is truncated or unreadable: it ends at byte " +
                                   std::to_string(reader.offset()) + " inside " + what + " (expected " +
                                   std::to_string(vocab_size) + " tokens)" +
                                   (reader.error() ? std::string(": ") + std::strerror(errno) : std::string()));
  };

  Tokenizer t;
  if (!reader.ReadU32(&t.max_token_length_)) return truncated("the header (max_token_length)");
  if (t.max_token_length_ > kMaxPieceBytes) {
    return Status::InvalidArgument(where + ": max_token_length " + std::to_string(t.max_token_length_) +
                                   " is absurd (limit " + std::to_string(kMaxPieceBytes) +
                                   "); this is not a llama2.c tokenizer.bin");
  }

  // Every token takes at least 8 bytes, so the file size bounds what is worth reserving: a huge vocab_size
  // with a small file must fail as truncated, not as out of memory.
  std::error_code ec;
  const uintmax_t file_size = std::filesystem::file_size(path, ec);
  const size_t reserve = ec ? 0 : static_cast<size_t>(std::min<uintmax_t>(vocab_size, file_size / 8));
  t.pieces_.reserve(reserve);
  t.scores_.reserve(reserve);

  for (int id = 0; id < vocab_size; ++id) {
    const std::string token = "token " + std::to_string(id);
    uint32_t score_bits;
    if (!reader.ReadU32(&score_bits)) return truncated("the score of " + token);
    const float score = std::bit_cast<float>(score_bits);
    if (!std::isfinite(score)) {
      return Status::InvalidArgument(where + ": the score of " + token + " at byte " +
                                     std::to_string(reader.offset() - 4) + " is not a finite number");
    }
    uint32_t length;
    if (!reader.ReadU32(&length)) return truncated("the length of " + token);
    if (length > t.max_token_length_ || length > kMaxPieceBytes) {
      return Status::InvalidArgument(where + ": " + token + " at byte " + std::to_string(reader.offset() - 4) +
                                     " has length " + std::to_string(length) + ", more than max_token_length " +
                                     std::to_string(t.max_token_length_));
    }
    std::string piece(length, '\0');
    if (!reader.Read(piece.data(), length)) return truncated("the " + std::to_string(length) + " bytes of " + token);
    t.pieces_.push_back(std::move(piece));
    t.scores_.push_back(score);
  }

  t.BuildIndex();
  return t;
}

Result<Tokenizer> Tokenizer::FromPieces(std::vector<std::string> pieces, std::vector<float> scores,
                                        const std::string& source) {
  if (pieces.size() < 3 || pieces.size() != scores.size() || pieces.size() > static_cast<size_t>(INT32_MAX)) {
    return Status::InvalidArgument(source +
                                   ": a vocabulary needs at least 3 pieces (<unk>, BOS, EOS) and one "
                                   "score per piece; got " +
                                   std::to_string(pieces.size()) + " pieces and " + std::to_string(scores.size()) +
                                   " scores");
  }
  Tokenizer t;
  for (size_t id = 0; id < pieces.size(); ++id) {
    if (pieces[id].size() > kMaxPieceBytes) {
      return Status::InvalidArgument(source + ": token " + std::to_string(id) + " is " +
                                     std::to_string(pieces[id].size()) + " bytes long (limit " +
                                     std::to_string(kMaxPieceBytes) + ")");
    }
    if (!std::isfinite(scores[id])) {
      return Status::InvalidArgument(source + ": the score of token " + std::to_string(id) + " is not finite");
    }
    t.max_token_length_ = std::max(t.max_token_length_, static_cast<uint32_t>(pieces[id].size()));
  }
  t.pieces_ = std::move(pieces);
  t.scores_ = std::move(scores);
  t.BuildIndex();
  return t;
}

Result<Tokenizer> Tokenizer::FromByteLevelBpe(std::shared_ptr<const ByteLevelBpe> vocab, const ByteLevelBpeIds& ids,
                                              const std::string& source) {
  const int n = vocab->size();
  const std::pair<const char*, int> named[] = {{"BOS", ids.bos},         {"EOS", ids.eos},
                                               {"end-of-turn", ids.eot}, {"end-of-message", ids.eom},
                                               {"unknown", ids.unk},     {"padding", ids.pad}};
  for (const auto& [name, id] : named) {
    if (id < -1 || id >= n) {
      return Status::InvalidArgument(source + ": the " + std::string(name) + " token id " + std::to_string(id) +
                                     " is outside the vocabulary [0, " + std::to_string(n - 1) + "]");
    }
  }
  if (ids.eos < 0) return Status::InvalidArgument(source + " has no EOS token id: generation could never stop");
  Tokenizer t;
  std::fill(std::begin(t.byte_token_), std::end(t.byte_token_), -1);
  t.bpe_ = std::move(vocab);
  t.bos_id_ = ids.bos;
  t.eos_id_ = ids.eos;
  t.unk_id_ = ids.unk;
  t.add_bos_ = ids.add_bos && ids.bos >= 0;
  t.eog_ids_ = {ids.eos};
  for (int id : {ids.eot, ids.eom}) {
    if (id >= 0 && !t.IsEndOfGeneration(id)) t.eog_ids_.push_back(id);
  }
  return t;
}

void Tokenizer::BuildIndex() {
  std::fill(std::begin(byte_token_), std::end(byte_token_), -1);
  byte_of_.assign(pieces_.size(), -1);
  piece_ids_.reserve(pieces_.size());
  for (int id = 0; id < vocab_size(); ++id) {
    piece_ids_.emplace(pieces_[id], id);  // keeps the lowest id when a text repeats
    const int byte = ByteOfPiece(pieces_[id]);
    if (byte >= 0) {
      byte_of_[id] = static_cast<int16_t>(byte);
      if (byte_token_[byte] < 0) byte_token_[byte] = id;
    }
  }
}

void Tokenizer::AppendUnits(std::string_view text, std::vector<int>& out) const {
  for (size_t i = 0; i < text.size();) {
    const std::string_view unit = text.substr(i, CharLength(text.substr(i)));
    i += unit.size();
    const auto it = piece_ids_.find(unit);
    if (it != piece_ids_.end() && Mergeable(it->second)) {
      out.push_back(it->second);
      continue;
    }
    const bool have_bytes = std::all_of(unit.begin(), unit.end(),
                                        [&](char c) { return byte_token_[static_cast<uint8_t>(c)] >= 0; });
    if (!have_bytes) {
      out.push_back(kUnkId);
      continue;
    }
    for (char c : unit) out.push_back(byte_token_[static_cast<uint8_t>(c)]);
  }
}

int Tokenizer::MergeOf(int left, int right, std::string& scratch) const {
  if (!Mergeable(left) || !Mergeable(right)) return -1;
  const std::string& a = pieces_[left];
  const std::string& b = pieces_[right];
  if (a.size() + b.size() > max_token_length_) return -1;  // no piece is that long
  scratch.assign(a);
  scratch.append(b);
  const auto it = piece_ids_.find(scratch);
  return it != piece_ids_.end() && Mergeable(it->second) ? it->second : -1;
}

// The simple algorithm rescans all pairs after each merge (O(n^2)). Here the pairs wait in a max-heap keyed by
// (score, leftmost); the tokens form a doubly-linked list over their original indices, and a merge only
// queues the two pairs it creates. Stale entries are skipped when they reach the top. The top valid entry is
// always the best-scoring, leftmost current pair, so the merges happen in exactly the simple order.
void Tokenizer::MergePairs(std::vector<int>& tokens) const {
  const int n = static_cast<int>(tokens.size());
  if (n < 2) return;
  std::vector<int> prev(n);
  std::vector<int> next(n);
  for (int i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  auto lower = [](const Candidate& a, const Candidate& b) {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  };
  std::vector<Candidate> storage;
  storage.reserve(n);
  std::priority_queue<Candidate, std::vector<Candidate>, decltype(lower)> queue(lower, std::move(storage));
  std::string scratch;
  scratch.reserve(max_token_length_);
  auto push_pair = [&](int left) {
    if (left < 0) return;
    const int right = next[left];
    if (right < 0) return;
    const int merged = MergeOf(tokens[left], tokens[right], scratch);
    if (merged >= 0) queue.push({scores_[merged], left, right, tokens[left], tokens[right], merged});
  };
  for (int i = 0; i + 1 < n; ++i) push_pair(i);

  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    if (next[c.left] != c.right || tokens[c.left] != c.left_id || tokens[c.right] != c.right_id) continue;
    // The left node takes the merged token; the right node leaves the list (node 0 therefore stays the head).
    tokens[c.left] = c.merged;
    tokens[c.right] = -1;
    next[c.left] = next[c.right];
    if (next[c.right] >= 0) prev[next[c.right]] = c.left;
    next[c.right] = -1;
    push_pair(prev[c.left]);
    push_pair(c.left);
  }

  int kept = 0;
  for (int i = 0; i >= 0; i = next[i]) tokens[kept++] = tokens[i];
  tokens.resize(kept);
}

bool Tokenizer::IsEndOfGeneration(int id) const {
  return std::find(eog_ids_.begin(), eog_ids_.end(), id) != eog_ids_.end();
}

const std::vector<SpecialTokenSpelling>& Tokenizer::special_tokens() const {
  static const std::vector<SpecialTokenSpelling> kNone;
  return bpe_ ? bpe_->specials() : kNone;
}

std::vector<int> Tokenizer::EncodeWithSpecials(std::string_view text, bool bos, bool eos) const {
  if (!bpe_) return Encode(text, bos, eos);
  std::vector<int> tokens;
  if (bos && bos_id_ >= 0) tokens.push_back(bos_id_);
  bpe_->Encode(text, /*parse_control=*/true, &tokens);
  if (eos) tokens.push_back(eos_id_);
  return tokens;
}

std::vector<int> Tokenizer::Encode(std::string_view text, bool bos, bool eos) const {
  if (bpe_) {
    std::vector<int> tokens;
    if (bos && bos_id_ >= 0) tokens.push_back(bos_id_);
    bpe_->Encode(text, /*parse_control=*/false, &tokens);
    if (eos) tokens.push_back(eos_id_);
    return tokens;
  }
  std::vector<int> tokens;
  tokens.reserve(text.size() + 3);
  if (bos) tokens.push_back(kBosId);
  if (!text.empty()) {
    std::vector<int> body;
    body.reserve(text.size() + 1);
    AppendUnits(" ", body);  // the dummy prefix: a character like the others, so it may merge into " word"
    AppendUnits(text, body);
    MergePairs(body);
    tokens.insert(tokens.end(), body.begin(), body.end());
  }
  if (eos) tokens.push_back(kEosId);
  return tokens;
}

std::string Tokenizer::Decode(int prev_token, int token) const {
  if (bpe_) return bpe_->Bytes(token);
  if (!ValidId(token) || token == kBosId || token == kEosId) return std::string();
  if (token == kUnkId) return std::string(kReplacementChar);
  if (byte_of_[token] >= 0) return std::string(1, static_cast<char>(byte_of_[token]));
  std::string_view piece = pieces_[token];
  if (prev_token == kBosId && !piece.empty() && piece.front() == ' ') piece.remove_prefix(1);
  return std::string(piece);
}

std::string Tokenizer::Decode(std::span<const int> tokens) const {
  std::string text;
  int prev = bos_id_;
  for (int token : tokens) {
    text += Decode(prev, token);
    prev = token;
  }
  return text;
}

int Tokenizer::PieceToId(std::string_view piece) const {
  if (bpe_) return bpe_->Find(piece);
  const auto it = piece_ids_.find(piece);
  return it == piece_ids_.end() ? -1 : it->second;
}

const std::string& Tokenizer::Piece(int id) const {
  static const std::string kNone;
  if (bpe_) return ValidId(id) ? bpe_->Token(id) : kNone;
  return ValidId(id) ? pieces_[id] : kNone;
}

float Tokenizer::Score(int id) const { return ValidId(id) && !bpe_ ? scores_[id] : 0.0f; }

bool Tokenizer::IsByteToken(int id) const { return ValidId(id) && !bpe_ && byte_of_[id] >= 0; }

}  // namespace fpgaserve
