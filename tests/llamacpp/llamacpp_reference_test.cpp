// fpgaserve against llama.cpp on the same GGUF files: llama.cpp (node-llama-cpp's CPU build, driven by
// tests/llamacpp/logits.mjs) is the independent reference for our GGUF reading and our math.
//
// Each test writes a random model of one shape as two GGUF files, F32 and Q8_0, feeds both programs the
// same token ids (no tokenizer involved) and compares, position by position, the log-probabilities over
// the whole vocabulary and the greedy continuation:
//   F32 file:  llama.cpp (F32 KV cache)  against our fp32 float reference, within kFloatLogprobTolerance;
//   Q8_0 file: llama.cpp (F16 KV cache)  against the kernel on a simulated card, within kKernelLogprobTolerance.
// Our rows are computed on llama.cpp's tokens (its prompt, then its greedy tokens), so every row compares
// the same context. Our greedy token at a step is the argmax of our row; it may differ from llama.cpp's
// only at a near-tie, where llama.cpp's own log-probabilities of the two tokens are closer than twice the
// largest difference of the two programs' rows (then either token may win on either side).
//
// run.sh installs node-llama-cpp and runs this binary; it is not built under the sanitizers.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fpga/sim_card.h"
#include "server/model/float_reference.h"
#include "server/model/gguf_writer.h"
#include "server/model/loaded_model.h"
#include "server/model/made_up_vocabulary.h"
#include "server/model/random_model.h"
#include "server/model/tokenizer.h"
#include "support/test_support.h"

namespace fpgaserve {
namespace {

using testing::TempDir;

// Bounds on |ours - llama.cpp| for a log-probability, in nats, over every token of every row; README.md
// ("llama.cpp as the reference") has the measurements they rest on.
// F32: both sides compute in fp32 and differ only in the order of their sums; measured at most 1.2e-5.
constexpr double kFloatLogprobTolerance = 1e-4;
// Q8_0: both sides quantize each matmul's input to int8 in groups of 32 (llama.cpp's q8_0 dot products;
// our kernel at the file's group size), rounding differently (llama.cpp stores each group's scale as fp16
// and rounds attention's query and weights to fp16 too), so each side carries its own int8 noise: on the
// same dequantized weights, llama.cpp differs from our fp32 reference by up to 0.089 and our kernel by up
// to 0.097, and the two from each other by up to 0.095. Twice that, for seeds and shapes not measured.
constexpr double kKernelLogprobTolerance = 0.2;

constexpr int kPromptTokens = 8;
constexpr int kGreedySteps = 8;

// llama.cpp's answer for one file: log-probability rows and greedy tokens (see logits.mjs).
struct Reference {
  std::vector<std::vector<double>> logprobs;  // (rows, vocab); -inf where the probability underflowed
  std::vector<int> greedy;
};

Reference RunLlamaCpp(const std::string& gguf, const std::vector<int>& tokens, const std::string& kv_type) {
  std::string ids;
  for (int t : tokens) ids += (ids.empty() ? std::string() : std::string(",")) + std::to_string(t);
  const std::string cmd = "node '" + testing::SourceDir() + "/tests/llamacpp/logits.mjs' --model '" + gguf +
                          "' --tokens " + ids + " --steps " + std::to_string(kGreedySteps) + " --threads 2 --kv-type " +
                          kv_type;
  std::string out;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) ADD_FAILURE() << "cannot run: " << cmd;
  char buf[1 << 16];
  for (size_t n; pipe != nullptr && (n = fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
  const int status = pipe != nullptr ? pclose(pipe) : -1;
  EXPECT_EQ(status, 0) << cmd << " failed (run tests/llamacpp/run.sh, which installs node-llama-cpp)";
  Reference r;
  if (status != 0) return r;
  const nlohmann::json j = nlohmann::json::parse(out);
  for (const auto& row : j.at("logprobs")) {
    std::vector<double> v;
    for (const auto& x : row) v.push_back(x.is_null() ? -INFINITY : x.get<double>());
    r.logprobs.push_back(std::move(v));
  }
  r.greedy = j.at("greedy").get<std::vector<int>>();
  return r;
}

std::vector<double> LogSoftmax(const float* logits, int vocab) {
  const double max_logit = *std::max_element(logits, logits + vocab);
  double sum = 0.0;
  for (int i = 0; i < vocab; i++) sum += std::exp(logits[i] - max_logit);
  std::vector<double> out(static_cast<size_t>(vocab));
  for (int i = 0; i < vocab; i++) out[static_cast<size_t>(i)] = logits[i] - max_logit - std::log(sum);
  return out;
}

int Argmax(const std::vector<double>& v) { return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin()); }

// Our rows for `tokens` (row p: after the token at position p), one position at a time.
std::vector<std::vector<double>> FloatRows(const std::string& gguf, const std::vector<int>& tokens) {
  auto loaded = LoadedModel::FromFile(gguf);
  EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
  if (!loaded.ok()) return {};
  FloatReference reference(loaded.value()->view());
  const int vocab = loaded.value()->config().vocab_size;
  std::vector<std::vector<double>> rows;
  for (size_t p = 0; p < tokens.size(); p++)
    rows.push_back(LogSoftmax(reference.Forward(tokens[p], static_cast<int>(p)), vocab));
  return rows;
}

// The same from the kernel on a simulated card: the prompt as one step, then one step per greedy token,
// as the server runs a sequence.
std::vector<std::vector<double>> KernelRows(const std::string& gguf, const std::vector<int>& tokens) {
  auto loaded = LoadedModel::FromFile(gguf);
  EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
  if (!loaded.ok()) return {};
  SimCardOptions options;
  options.n_slots = 1;
  options.cache_len = static_cast<int>(tokens.size());
  options.threads = 2;
  auto card = SimCard::Create(loaded.value()->image(), options);
  EXPECT_TRUE(card.ok()) << card.status().ToString();
  if (!card.ok()) return {};
  const int vocab = loaded.value()->config().vocab_size;
  std::vector<float> logits(static_cast<size_t>(kPromptTokens) * vocab);
  std::vector<std::vector<double>> rows;
  for (int pos = 0; pos < static_cast<int>(tokens.size());) {
    Step step;
    const int n = pos == 0 ? kPromptTokens : 1;
    for (int i = 0; i < n; i++) step.entries.push_back({tokens[static_cast<size_t>(pos + i)], pos + i, 0, i});
    step.n_out_rows = n;
    const Status st = card.value()->Run(step, logits.data());
    EXPECT_TRUE(st.ok()) << st.ToString();
    if (!st.ok()) return {};
    for (int i = 0; i < n; i++) rows.push_back(LogSoftmax(logits.data() + static_cast<size_t>(i) * vocab, vocab));
    pos += n;
  }
  return rows;
}

// Compares our rows with llama.cpp's; prints the largest difference (the figure the tolerances rest on).
void Compare(const std::string& what, const Reference& ref, const std::vector<std::vector<double>>& ours,
             double tolerance) {
  ASSERT_EQ(ref.logprobs.size(), static_cast<size_t>(kPromptTokens + kGreedySteps - 1)) << what;
  ASSERT_EQ(ours.size(), ref.logprobs.size()) << what;
  double max_diff = 0.0;
  size_t worst_row = 0;
  for (size_t r = 0; r < ours.size(); r++) {
    ASSERT_EQ(ours[r].size(), ref.logprobs[r].size()) << what << ": vocabulary sizes differ";
    for (size_t t = 0; t < ours[r].size(); t++) {
      const double theirs = ref.logprobs[r][t];
      // A probability below float32's range is 0 in llama.cpp's list; ours must be as small.
      const double d = std::isinf(theirs) ? (ours[r][t] < -87.0 ? 0.0 : INFINITY) : std::fabs(ours[r][t] - theirs);
      if (d > max_diff) max_diff = d, worst_row = r;
    }
  }
  std::printf("%s: max |log p ours - log p llama.cpp| = %.3g nats (row %zu; bound %.3g)\n", what.c_str(), max_diff,
              worst_row, tolerance);
  EXPECT_LE(max_diff, tolerance) << what << ", row " << worst_row;

  // Greedy: our argmax on each row that chose a greedy token (the prompt's last and every one after).
  ASSERT_EQ(ref.greedy.size(), static_cast<size_t>(kGreedySteps)) << what;
  std::printf("%s: llama.cpp's greedy tokens:", what.c_str());
  for (int t : ref.greedy) std::printf(" %d", t);
  std::printf("\n");
  for (int s = 0; s < kGreedySteps; s++) {
    const auto& theirs = ref.logprobs[static_cast<size_t>(kPromptTokens - 1 + s)];
    const int mine = Argmax(ours[static_cast<size_t>(kPromptTokens - 1 + s)]);
    EXPECT_EQ(Argmax(theirs), ref.greedy[static_cast<size_t>(s)]) << what << ": llama.cpp's greedy token is its argmax";
    if (mine == ref.greedy[static_cast<size_t>(s)]) continue;
    // Where both rows are within max_diff of each other, the two tokens can swap places only when
    // llama.cpp's log-probabilities of them are within 2 * max_diff.
    const double gap = theirs[static_cast<size_t>(ref.greedy[static_cast<size_t>(s)])] -
                       theirs[static_cast<size_t>(mine)];
    std::printf("%s: greedy step %d: ours %d, llama.cpp %d, which llama.cpp prefers by %.3g nats\n", what.c_str(), s,
                mine, ref.greedy[static_cast<size_t>(s)], gap);
    EXPECT_LE(gap, 2 * max_diff) << what << ": greedy step " << s << " differs (ours " << mine << ", llama.cpp "
                                 << ref.greedy[static_cast<size_t>(s)] << ") and is no near-tie";
  }
}

// GPT-2's spelling of byte b as a token: printable Latin-1 bytes stand for themselves, the others
// (controls, space, 0x7F-0xA0, 0xAD) for U+0100 upwards in byte order.
std::string ByteToken(int b) {
  auto printable = [](int c) {
    return (c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF);
  };
  int code = b;
  if (!printable(b)) {
    code = 0x100;
    for (int c = 0; c < b; c++) code += printable(c) ? 0 : 1;
  }
  std::string s;
  if (code < 0x80) {
    s += static_cast<char>(code);
  } else {
    s += static_cast<char>(0xC0 | (code >> 6));
    s += static_cast<char>(0x80 | (code & 0x3F));
  }
  return s;
}

// Replaces the tokenizer metadata ModelToGguf wrote.
void EraseVocabulary(GgufBuilder& b) {
  for (const char* key : {"tokenizer.ggml.model", "tokenizer.ggml.tokens", "tokenizer.ggml.scores",
                          "tokenizer.ggml.token_type", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"}) {
    b.Erase(key);
  }
}

// A minimal byte-level BPE vocabulary as Llama 3 and SmolLM2 files carry it: the 256 byte tokens, merges
// that build a few words, then two control tokens (BOS, EOS); `vocab` tokens in all.
void WriteBpeVocabulary(GgufBuilder& b, int vocab) {
  std::vector<std::string> tokens;
  for (int i = 0; i < 256; i++) tokens.push_back(ByteToken(i));
  const std::string space = ByteToken(' ');  // "Ġ"
  std::vector<std::string> merges;
  auto merge = [&](const std::string& a, const std::string& c) {
    merges.push_back(a + " " + c);
    tokens.push_back(a + c);
  };
  merge(space, "t"), merge("h", "e"), merge(space + "t", "he"), merge(space, "a"), merge("i", "n"), merge(space, "s"),
      merge("e", "r"), merge(space + "a", "n"), merge("o", "n"), merge(space, "w");
  // Then two-letter words until the vocabulary is full.
  for (char x = 'a'; x <= 'z'; x++) {
    for (char y = 'a'; y <= 'z' && static_cast<int>(tokens.size()) < vocab - 2; y++) {
      const std::string a(1, x), c(1, y);
      if (std::find(tokens.begin(), tokens.end(), a + c) == tokens.end()) merge(a, c);
    }
  }
  tokens.push_back("<|begin_of_text|>");
  tokens.push_back("<|end_of_text|>");
  std::vector<int32_t> types(tokens.size(), 1);
  types[types.size() - 2] = types[types.size() - 1] = 3;
  EraseVocabulary(b);
  b.String("tokenizer.ggml.model", "gpt2");
  b.String("tokenizer.ggml.pre", "llama-bpe");
  b.StringArray("tokenizer.ggml.tokens", tokens);
  b.Int32Array("tokenizer.ggml.token_type", types);
  b.StringArray("tokenizer.ggml.merges", merges);
  b.Uint32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(vocab - 2));
  b.Uint32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(vocab - 1));
}

enum class Vocabulary { kMadeUpSentencePiece, kLlama2SentencePiece, kBpe };

// Writes `config`'s random model as an F32 and a Q8_0 GGUF, feeds both programs kPromptTokens token ids,
// and compares (see the file comment).
void CompareWithLlamaCpp(const std::string& name, const ModelConfig& config, Vocabulary vocabulary) {
  TempDir dir;
  const RandomModel model = MakeRandomModel(config, /*seed=*/7);
  std::unique_ptr<Tokenizer> llama2;
  if (vocabulary == Vocabulary::kLlama2SentencePiece) {
    auto t = Tokenizer::Load(testing::SharedDataFile("llama2-tokenizer.bin"), config.vocab_size);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    llama2 = std::make_unique<Tokenizer>(std::move(t.value()));
  }
  std::vector<int> prompt;
  for (int i = 0; i < kPromptTokens; i++) prompt.push_back((i * 7919 + 11) % (config.vocab_size - 3) + 3);

  for (GgmlType type : {GgmlType::kF32, GgmlType::kQ8_0}) {
    const bool f32 = type == GgmlType::kF32;
    GgufModelOptions options;
    options.matrix_type = type;
    options.vocabulary = llama2.get();
    GgufBuilder b = ModelToGguf(model.view, options);
    b.Erase("test.nested");  // a test key of the writer's; llama.cpp takes no arrays of arrays
    if (vocabulary == Vocabulary::kMadeUpSentencePiece) WriteMadeUpSentencePieceVocabulary(b, config.vocab_size);
    if (vocabulary == Vocabulary::kBpe) WriteBpeVocabulary(b, config.vocab_size);
    const std::string path = dir.file(f32 ? "f32.gguf" : "q8_0.gguf");
    ASSERT_TRUE(testing::WriteFile(path, b.Build()));

    const Reference ref = RunLlamaCpp(path, prompt, f32 ? "F32" : "F16");
    if (::testing::Test::HasFailure()) return;
    std::vector<int> tokens = prompt;
    tokens.insert(tokens.end(), ref.greedy.begin(), ref.greedy.end() - 1);  // the last greedy token is not fed
    if (f32) {
      Compare(name + " F32 vs float reference", ref, FloatRows(path, tokens), kFloatLogprobTolerance);
    } else {
      Compare(name + " Q8_0 vs kernel", ref, KernelRows(path, tokens), kKernelLogprobTolerance);
    }
  }
}

ModelConfig Shape(int dim, int hidden_dim, int n_layers, int n_heads, int n_kv_heads, int vocab, bool shared) {
  ModelConfig c;
  c.dim = dim;
  c.hidden_dim = hidden_dim;
  c.n_layers = n_layers;
  c.n_heads = n_heads;
  c.n_kv_heads = n_kv_heads;
  c.vocab_size = vocab;
  c.seq_len = 64;
  c.group_size = 32;
  c.shared_classifier = shared;
  return c;
}

TEST(LlamaCppReference, SentencePieceVocabularyUntiedClassifierMatches) {
  // The Llama-2 vocabulary (32000 pieces with byte tokens) when the shared data has it, else a made-up one.
  const bool have_llama2 = !testing::SharedDataFile("llama2-tokenizer.bin").empty();
  CompareWithLlamaCpp("llama vocabulary", Shape(64, 160, 2, 4, 4, 32000, /*shared=*/false),
                      have_llama2 ? Vocabulary::kLlama2SentencePiece : Vocabulary::kMadeUpSentencePiece);
}

TEST(LlamaCppReference, BpeVocabularyMatches) {
  CompareWithLlamaCpp("gpt2 vocabulary", Shape(96, 256, 3, 3, 3, 288, /*shared=*/false), Vocabulary::kBpe);
}

TEST(LlamaCppReference, GroupedQueryHeadsTiedEmbeddingsMatch) {
  // The tiny shape: 4 query heads over 2 key/value heads, no output.weight (the classifier is token_embd).
  CompareWithLlamaCpp("grouped-query tied", Shape(64, 192, 2, 4, 2, 512, /*shared=*/true),
                      Vocabulary::kMadeUpSentencePiece);
}

}  // namespace
}  // namespace fpgaserve
