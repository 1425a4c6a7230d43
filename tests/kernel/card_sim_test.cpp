// The card kernel's C simulation against the simulated card (the host's SIMD step, and its AVX2 and
// portable forms): the same logits, bit for bit, on random models of several shapes, over a prefill step
// of many sequences and decode steps after it.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "card_sim_device.h"
#include "fpga/perf_model.h"
#include "fpga/sim_card.h"
#include "fpga/weights_image.h"
#include "server/model/random_model.h"

extern "C" void fpgaserve_host_step_portable(const uint8_t* const*, uint16_t*, uint16_t*, const uint8_t*, float*, int,
                                             int, int);
extern "C" void fpgaserve_host_step_avx2(const uint8_t* const*, uint16_t*, uint16_t*, const uint8_t*, float*, int, int,
                                         int);

namespace fpgaserve {
namespace {

struct Case {
  const char* name;
  ModelConfig config;
};

std::vector<Case> Cases() {
  std::vector<Case> cases;
  ModelConfig tiny = NamedShape("tiny").value();  // head size 16, grouped-query (4 heads, 2 kv), groups of 64
  tiny.vocab_size = 500;                          // a short last tile
  cases.push_back({"tiny", tiny});
  ModelConfig tiny_mha = tiny;  // head size 16, multi-head: the online softmax's lanes pad each position
  tiny_mha.n_kv_heads = tiny.n_heads;
  cases.push_back({"tiny-multi-head", tiny_mha});
  ModelConfig s15 = NamedShape("stories15M").value();  // head size 48 (a padded key word), groups of 32
  s15.n_layers = 2;
  s15.vocab_size = 700;
  cases.push_back({"stories15M-2layers", s15});
  ModelConfig s110 = NamedShape("stories110M").value();  // head size 64: two key words
  s110.n_layers = 1;
  s110.vocab_size = 300;
  s110.seq_len = 64;
  cases.push_back({"stories110M-1layer", s110});
  return cases;
}

// Logits of a run of steps: a prefill of several sequences (21 entries: three chunks and single tokens),
// then decode steps of every sequence.
std::vector<std::vector<float>> RunSteps(Device& d) {
  const int vocab = d.info().model.vocab_size;
  std::vector<std::vector<float>> all;
  std::vector<StepEntry> prefill;
  for (int pos = 0; pos < 10; pos++) prefill.push_back({(pos * 37 + 1) % vocab, pos, 0, -1});
  for (int pos = 0; pos < 6; pos++) prefill.push_back({(pos * 11 + 3) % vocab, pos, 1, -1});
  for (int slot = 2; slot < 7; slot++) prefill.push_back({(slot * 5) % vocab, 0, slot, -1});
  std::vector<int> next_pos(7, 0);
  for (const StepEntry& e : prefill) next_pos[e.slot] = e.pos + 1;
  std::vector<Step> steps;
  Step first;
  first.entries = prefill;
  for (size_t i = 0; i < prefill.size(); i++) first.entries[i].out_row = static_cast<int>(i);
  first.n_out_rows = static_cast<int>(prefill.size());
  steps.push_back(first);
  for (int round = 0; round < 2; round++) {
    Step decode;
    for (int slot = 0; slot < 7; slot++) {
      decode.entries.push_back({(slot * 13 + round) % vocab, next_pos[slot]++, slot, slot});
    }
    decode.n_out_rows = 7;
    steps.push_back(decode);
  }
  // A long sequence in slot 7: two 24-entry steps, then a decode step at position 48, so attention's
  // loaders read more than one chunk of positions (kernel::kKvChunk) and the online softmax's lanes
  // rescale their sums many times; logits of each step's last four entries.
  for (int first_pos = 0; first_pos <= 48; first_pos += 24) {
    Step chunk;
    const int count = first_pos == 48 ? 1 : 24;
    for (int i = 0; i < count; i++) {
      const int row = i - (count - std::min(count, 4));
      chunk.entries.push_back({(first_pos + i) * 7 % vocab, first_pos + i, 7, row >= 0 ? row : -1});
    }
    chunk.n_out_rows = std::min(count, 4);
    steps.push_back(chunk);
  }
  for (const Step& step : steps) {
    std::vector<float> logits(static_cast<size_t>(step.n_out_rows) * vocab);
    const Status st = d.Run(step, logits.data());
    EXPECT_TRUE(st.ok()) << st.ToString();
    all.push_back(logits);
  }
  return all;
}

TEST(CardSim, HostStepsComputeTheCardKernelsBits) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    RandomModel model = MakeRandomModel(c.config, 11);
    auto image = WeightsImage::Pack(model.view).value();
    CardSimDevice card(image, 8, c.config.seq_len);
    const auto want = RunSteps(card);
    struct Form {
      const char* name;
      StepFunction fn;
    };
    std::vector<Form> forms = {{"SIMD", nullptr}, {"portable", &fpgaserve_host_step_portable}};
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
      forms.push_back({"AVX2", &fpgaserve_host_step_avx2});
    for (const Form& f : forms) {
      SimCardOptions options;
      options.n_slots = 8;
      options.kernel = f.fn;
      auto sim = SimCard::Create(image, options).value();
      const auto got = RunSteps(*sim);
      ASSERT_EQ(got.size(), want.size());
      for (size_t s = 0; s < want.size(); s++) {
        ASSERT_EQ(got[s].size(), want[s].size());
        size_t mismatches = 0, first = 0;
        for (size_t i = 0; i < want[s].size(); i++) {
          if (std::memcmp(&got[s][i], &want[s][i], 4) != 0 && mismatches++ == 0) first = i;
        }
        EXPECT_EQ(mismatches, 0u) << f.name << " step " << s << ": first at " << first << " host " << got[s][first]
                                  << " card " << want[s][first];
      }
    }
  }
}

// The model's trip counts are the C simulation's: for the build the tests link (4 ports, 16-entry PE
// arrays, 8 scale rows a cycle, 2 attention chains, max step 32), on each shape, at several batch sizes and positions
// (40: two chunks of keys).
TEST(CardSim, ModelTripCountsEqualTheSimulationsCounters) {
  Platform build = *FindPlatform("u250");
  build.mem_ports = kernel::kMemPorts;
  build.pe_entries = kernel::kPeEntries;
  build.scale_rows = kernel::kScaleRows;
  build.attention_chains = kernel::kChains;
  build.max_step = 32;
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    RandomModel model = MakeRandomModel(c.config, 3);
    auto image = WeightsImage::Pack(model.view).value();
    for (int batch : {1, 5, 17}) {
      CardSimDevice card(image, 20, c.config.seq_len);
      std::vector<ModelEntry> model_entries;
      Step step;
      for (int pos : {0, 3, 9, 40}) {
        step.entries.clear();
        model_entries.clear();
        for (int e = 0; e < batch; e++) {
          const bool logits = e % 2 == 0;
          step.entries.push_back({(e * 31 + pos) % c.config.vocab_size, pos + e % 3, e, -1});
          model_entries.push_back({pos + e % 3, logits});
        }
        int rows = 0;
        for (size_t e = 0; e < step.entries.size(); e++) {
          if (model_entries[e].wants_logits) step.entries[e].out_row = rows++;
        }
        step.n_out_rows = rows;
        std::vector<float> logits(static_cast<size_t>(rows) * c.config.vocab_size);
        ASSERT_TRUE(card.Run(step, logits.data()).ok());
        const kernel::CardCounters got = card.counters();
        const kernel::CardCounters want = TripCounts(c.config, model_entries, build);
#define FPGASERVE_EXPECT_COUNTER(f) EXPECT_EQ(got.f, want.f) << #f << " batch " << batch << " pos " << pos
        FPGASERVE_EXPECT_COUNTER(header_words);
        FPGASERVE_EXPECT_COUNTER(input_words);
        FPGASERVE_EXPECT_COUNTER(embed_words);
        FPGASERVE_EXPECT_COUNTER(vector_words);
        FPGASERVE_EXPECT_COUNTER(norm_rows);
        FPGASERVE_EXPECT_COUNTER(quant_words);
        FPGASERVE_EXPECT_COUNTER(feed_words);
        FPGASERVE_EXPECT_COUNTER(fill_words);
        FPGASERVE_EXPECT_COUNTER(weight_words);
        FPGASERVE_EXPECT_COUNTER(pe_iterations);
        FPGASERVE_EXPECT_COUNTER(scale_iterations);
        FPGASERVE_EXPECT_COUNTER(store_words);
        FPGASERVE_EXPECT_COUNTER(rope_words);
        FPGASERVE_EXPECT_COUNTER(kv_write_words);
        FPGASERVE_EXPECT_COUNTER(kv_read_words);
        FPGASERVE_EXPECT_COUNTER(score_iterations);
        FPGASERVE_EXPECT_COUNTER(softmax_iterations);
        FPGASERVE_EXPECT_COUNTER(value_iterations);
        FPGASERVE_EXPECT_COUNTER(head_words);
        FPGASERVE_EXPECT_COUNTER(residual_words);
#undef FPGASERVE_EXPECT_COUNTER
      }
    }
  }
}

}  // namespace
}  // namespace fpgaserve
