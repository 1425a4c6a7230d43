// StepPlanner: what a card runs next, decided over plain data (no threads, no locks, no devices), so the
// scheduling rules of engine.h can be tested on their own (tests/server/engine/step_planner_test.cpp).
//
// Two decisions, both taken by the engine at a card's step boundary with its lock held:
//   - Admission (TakesQueueHead): a card takes the queue head into a free slot unless another card in service
//     has strictly more free slots; that card takes it at its own next boundary. Each sequence thus lands on
//     a card in service with the most free slots.
//   - The step (StepPlanner::Plan): one decode entry for every sequence past its prompt, first; then chunks of
//     the prompts still being prefilled, in admission order, while the token budget lasts. A prompt's last
//     chunk asks for the logits of its last token (they give the first generated token); a decode entry
//     always does. Only when a card has more slots than the budget can decoders outnumber it; they then take
//     turns (a rotation cursor the planner keeps from step to step).
//
// Threading: a StepPlanner is used by one thread at a time (the engine calls it with its lock held).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "fpga/device.h"

namespace fpgaserve {

// One card's room, for admission.
struct CardRoom {
  bool in_service = true;  // healthy and not abandoned: a card that can take sequences
  int free_slots = 0;
};

// Whether card `self` takes the queue head now: it has a free slot and no other card in service has strictly
// more. REQUIRES: self < cards.size().
bool TakesQueueHead(std::span<const CardRoom> cards, size_t self);

// One sequence on the card, as the planner sees it.
struct PlanInput {
  int slot = -1;                    // its KV slot
  int fed = 0;                      // tokens already in the slot: positions 0..fed-1
  std::span<const int32_t> prompt;  // not empty
  int32_t next_token = 0;           // past the prompt (fed >= prompt.size()): the token fed next, at `fed`
};

// One sequence's part of a planned step.
struct PlannedWork {
  size_t index = 0;  // into the PlanInput span given to Plan
  int entries = 0;   // its tokens in the step (1 for a decode entry, the chunk's length for a prefill)
  int out_row = -1;  // its logits row, or -1 (a prefill chunk that is not the prompt's last)
};

class StepPlanner {
 public:
  // `budget`: entries per step (min(step_token_budget, the card's max_step)); >= 1.
  explicit StepPlanner(int budget);

  // Plans one step over the card's sequences in admission order: fills `step` (cleared first; its entries of
  // one slot are in increasing position, out rows numbered from 0) and `planned` (cleared first; decode entries
  // first, then prefill chunks, each sequence at most once). Advances the rotation cursor when decoders
  // outnumber the budget. An empty `running` gives an empty step.
  void Plan(std::span<const PlanInput> running, Step* step, std::vector<PlannedWork>* planned);

  int budget() const { return budget_; }

 private:
  int budget_;
  size_t decode_cursor_ = 0;      // rotation: where the next step's decoders start, modulo their count
  std::vector<size_t> decoders_;  // scratch, reused every step
};

}  // namespace fpgaserve
