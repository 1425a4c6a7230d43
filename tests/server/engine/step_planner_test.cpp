// StepPlanner: admission and step building over plain data, without threads or devices. The engine's
// scheduling rules (engine.h, "Scheduling") as the planner decides them: where a queued sequence goes, what
// a step holds within its budget, how decoders take turns, how prompts are chunked and which entries ask for
// logits.
#include "server/engine/step_planner.h"

#include <map>
#include <numeric>
#include <vector>

#include <gtest/gtest.h>

namespace fpgaserve {
namespace {

// ---- Admission ----

TEST(PlannerAdmission, ACardWithAFreeSlotTakesTheHeadWhenNoOtherHasMoreRoom) {
  EXPECT_TRUE(TakesQueueHead(std::vector<CardRoom>{{true, 1}}, 0));
  EXPECT_FALSE(TakesQueueHead(std::vector<CardRoom>{{true, 0}}, 0));
  // A tie: both may take it (whichever reaches its boundary first).
  const std::vector<CardRoom> tie = {{true, 2}, {true, 2}};
  EXPECT_TRUE(TakesQueueHead(tie, 0));
  EXPECT_TRUE(TakesQueueHead(tie, 1));
}

TEST(PlannerAdmission, ACardLeavesTheHeadToACardWithStrictlyMoreFreeSlots) {
  const std::vector<CardRoom> cards = {{true, 1}, {true, 3}, {true, 2}};
  EXPECT_FALSE(TakesQueueHead(cards, 0));
  EXPECT_TRUE(TakesQueueHead(cards, 1));
  EXPECT_FALSE(TakesQueueHead(cards, 2));
}

TEST(PlannerAdmission, CardsOutOfServiceDoNotCount) {
  const std::vector<CardRoom> cards = {{true, 1}, {false, 8}};
  EXPECT_TRUE(TakesQueueHead(cards, 0));
}

// Boundaries of the cards in turn, each admitting queue heads while the rule lets it: every sequence lands on
// a card that had the most free slots when it was admitted.
TEST(PlannerAdmission, EachSequenceLandsOnACardWithTheMostFreeSlots) {
  std::vector<CardRoom> cards = {{true, 2}, {true, 4}, {true, 0}};
  int queued = 6;
  std::map<size_t, int> admitted;
  for (int round = 0; round < 3 && queued > 0; round++) {
    for (size_t card = 0; card < cards.size(); card++) {
      while (queued > 0 && TakesQueueHead(cards, card)) {
        int most = 0;
        for (const CardRoom& c : cards) most = std::max(most, c.free_slots);
        EXPECT_EQ(cards[card].free_slots, most) << "card " << card;
        cards[card].free_slots--;
        admitted[card]++;
        queued--;
      }
    }
  }
  EXPECT_EQ(queued, 0);
  EXPECT_EQ(admitted[0], 2);
  EXPECT_EQ(admitted[1], 4);
  EXPECT_EQ(admitted[2], 0);
}

// ---- Steps ----

// A running sequence as the engine keeps it, advanced as the engine does after each step.
struct Seq {
  std::vector<int32_t> prompt;
  int slot = 0;
  int fed = 0;
  int32_t next_token = 0;
};

std::vector<PlanInput> Inputs(const std::vector<Seq>& seqs) {
  std::vector<PlanInput> in;
  for (const Seq& s : seqs) in.push_back({s.slot, s.fed, s.prompt, s.next_token});
  return in;
}

// Plans one step and applies it: entries fed, a sequence with a logits row gets token 100 + its slot next.
Step PlanAndAdvance(StepPlanner& planner, std::vector<Seq>& seqs, std::vector<PlannedWork>* work) {
  Step step;
  planner.Plan(Inputs(seqs), &step, work);
  for (const PlannedWork& w : *work) {
    seqs[w.index].fed += w.entries;
    if (w.out_row >= 0) seqs[w.index].next_token = 100 + seqs[w.index].slot;
  }
  return step;
}

std::vector<int32_t> Prompt(int n, int32_t first) {
  std::vector<int32_t> p(n);
  std::iota(p.begin(), p.end(), first);
  return p;
}

TEST(PlannerStep, NothingRunningIsAnEmptyStep) {
  StepPlanner planner(4);
  Step step;
  step.entries.push_back({1, 2, 3, 0});
  step.n_out_rows = 1;
  std::vector<PlannedWork> work = {{0, 1, 0}};
  planner.Plan({}, &step, &work);
  EXPECT_TRUE(step.entries.empty());
  EXPECT_EQ(step.n_out_rows, 0);
  EXPECT_TRUE(work.empty());
}

TEST(PlannerStep, DecodeEntriesFirstThenPrefillInAdmissionOrderWithinTheBudget) {
  StepPlanner planner(6);
  // Admission order: a prompt being prefilled, a decoder, another prompt, another decoder.
  std::vector<Seq> seqs = {{Prompt(4, 10), 0, 0, 0},
                           {Prompt(2, 20), 1, 5, 7},
                           {Prompt(3, 30), 2, 0, 0},
                           {Prompt(1, 40), 3, 2, 9}};
  std::vector<PlannedWork> work;
  const Step step = PlanAndAdvance(planner, seqs, &work);
  ASSERT_EQ(step.entries.size(), 6u);
  // The decoders, in admission order: their next token at position `fed`, each with a logits row.
  EXPECT_EQ(step.entries[0].token, 7);
  EXPECT_EQ(step.entries[0].pos, 5);
  EXPECT_EQ(step.entries[0].slot, 1);
  EXPECT_EQ(step.entries[0].out_row, 0);
  EXPECT_EQ(step.entries[1].token, 9);
  EXPECT_EQ(step.entries[1].pos, 2);
  EXPECT_EQ(step.entries[1].slot, 3);
  EXPECT_EQ(step.entries[1].out_row, 1);
  // Then the first prompt whole (its last token asks for logits), then what fits of the second.
  for (int k = 0; k < 4; k++) {
    EXPECT_EQ(step.entries[2 + k].token, 10 + k);
    EXPECT_EQ(step.entries[2 + k].pos, k);
    EXPECT_EQ(step.entries[2 + k].slot, 0);
    EXPECT_EQ(step.entries[2 + k].out_row, k == 3 ? 2 : -1);
  }
  EXPECT_EQ(step.n_out_rows, 3);
  ASSERT_EQ(work.size(), 3u);  // the third prompt got no room
  EXPECT_EQ(work[0].index, 1u);
  EXPECT_EQ(work[1].index, 3u);
  EXPECT_EQ(work[2].index, 0u);
  EXPECT_EQ(work[2].entries, 4);
  EXPECT_EQ(work[2].out_row, 2);
}

TEST(PlannerStep, ALongPromptIsChunkedAroundTheDecodersAndOnlyItsLastChunkAsksForLogits) {
  StepPlanner planner(4);
  std::vector<Seq> seqs = {{Prompt(1, 50), 0, 1, 60}, {Prompt(10, 0), 1, 0, 0}};
  std::vector<int> chunk_starts;
  for (int s = 0; s < 4; s++) {
    std::vector<PlannedWork> work;
    const Step step = PlanAndAdvance(planner, seqs, &work);
    // Every step: the decoder first, then up to 3 prompt tokens in increasing positions.
    ASSERT_EQ(step.entries[0].slot, 0);
    EXPECT_EQ(step.entries[0].out_row, 0);
    const bool last = s == 3;
    ASSERT_EQ(step.entries.size(), last ? 2u : 4u) << "step " << s;
    chunk_starts.push_back(step.entries[1].pos);
    for (size_t k = 1; k < step.entries.size(); k++) {
      EXPECT_EQ(step.entries[k].slot, 1);
      EXPECT_EQ(step.entries[k].pos, step.entries[1].pos + static_cast<int>(k) - 1);
      EXPECT_EQ(step.entries[k].token, step.entries[k].pos);
      EXPECT_EQ(step.entries[k].out_row, last && k + 1 == step.entries.size() ? 1 : -1);
    }
    EXPECT_EQ(step.n_out_rows, last ? 2 : 1);
  }
  EXPECT_EQ(chunk_starts, (std::vector<int>{0, 3, 6, 9}));
  // The prompt is in: the next step decodes both.
  std::vector<PlannedWork> work;
  const Step step = PlanAndAdvance(planner, seqs, &work);
  ASSERT_EQ(step.entries.size(), 2u);
  EXPECT_EQ(step.entries[1].token, 101);  // sampled from the last chunk's row
  EXPECT_EQ(step.entries[1].pos, 10);
}

TEST(PlannerStep, ABudgetOfOneFeedsOneTokenPerStep) {
  StepPlanner planner(1);
  std::vector<Seq> seqs = {{Prompt(3, 0), 0, 0, 0}};
  for (int pos = 0; pos < 3; pos++) {
    std::vector<PlannedWork> work;
    const Step step = PlanAndAdvance(planner, seqs, &work);
    ASSERT_EQ(step.entries.size(), 1u);
    EXPECT_EQ(step.entries[0].pos, pos);
    EXPECT_EQ(step.entries[0].out_row, pos == 2 ? 0 : -1);
  }
}

TEST(PlannerStep, DecodersBeyondTheBudgetTakeTurnsAndPromptsWait) {
  StepPlanner planner(2);
  std::vector<Seq> seqs;
  for (int slot = 0; slot < 5; slot++) seqs.push_back({Prompt(1, 0), slot, 1, 0});
  seqs.push_back({Prompt(2, 0), 5, 0, 0});  // a prompt: no room while decoders fill every step
  std::map<int, int> turns;
  std::vector<std::vector<int>> slots_per_step;
  for (int s = 0; s < 5; s++) {
    std::vector<PlannedWork> work;
    const Step step = PlanAndAdvance(planner, seqs, &work);
    ASSERT_EQ(step.entries.size(), 2u);
    std::vector<int> slots;
    for (const StepEntry& e : step.entries) {
      EXPECT_GE(e.out_row, 0);
      slots.push_back(e.slot);
      turns[e.slot]++;
    }
    slots_per_step.push_back(slots);
  }
  // In order around the ring: every decoder twice in five steps, the prompt never.
  EXPECT_EQ(slots_per_step, (std::vector<std::vector<int>>{{0, 1}, {2, 3}, {4, 0}, {1, 2}, {3, 4}}));
  for (int slot = 0; slot < 5; slot++) EXPECT_EQ(turns[slot], 2) << "slot " << slot;
  EXPECT_EQ(turns.count(5), 0u);
  EXPECT_EQ(planner.budget(), 2);
}

TEST(PlannerStep, WithoutRotationEveryDecoderRunsEveryStep) {
  StepPlanner planner(3);
  std::vector<Seq> seqs = {{Prompt(1, 0), 0, 1, 0}, {Prompt(1, 0), 1, 1, 0}, {Prompt(1, 0), 2, 1, 0}};
  for (int s = 0; s < 3; s++) {
    std::vector<PlannedWork> work;
    const Step step = PlanAndAdvance(planner, seqs, &work);
    ASSERT_EQ(step.entries.size(), 3u);
    for (int k = 0; k < 3; k++) EXPECT_EQ(step.entries[k].slot, k);  // admission order, no rotation
  }
}

}  // namespace
}  // namespace fpgaserve
