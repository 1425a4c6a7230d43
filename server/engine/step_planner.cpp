#include "server/engine/step_planner.h"

#include <algorithm>

namespace fpgaserve {

bool TakesQueueHead(std::span<const CardRoom> cards, size_t self) {
  const int mine = cards[self].free_slots;
  if (mine <= 0) return false;
  for (size_t i = 0; i < cards.size(); i++) {
    if (i != self && cards[i].in_service && cards[i].free_slots > mine) return false;
  }
  return true;
}

StepPlanner::StepPlanner(int budget) : budget_(budget) {}

void StepPlanner::Plan(std::span<const PlanInput> running, Step* step, std::vector<PlannedWork>* planned) {
  step->entries.clear();
  step->n_out_rows = 0;
  planned->clear();

  // Decode tokens first: every running stream advances each step. Only a card with more slots than the
  // budget can have more decoders than fit; those take turns.
  decoders_.clear();
  for (size_t i = 0; i < running.size(); i++) {
    if (running[i].fed >= static_cast<int>(running[i].prompt.size())) decoders_.push_back(i);
  }
  const size_t n_decode = std::min(decoders_.size(), static_cast<size_t>(budget_));
  if (decoders_.size() > n_decode) {
    const size_t start = decode_cursor_ % decoders_.size();
    std::rotate(decoders_.begin(), decoders_.begin() + static_cast<std::ptrdiff_t>(start), decoders_.end());
    decode_cursor_ = start + n_decode;
  }
  for (size_t k = 0; k < n_decode; k++) {
    const PlanInput& seq = running[decoders_[k]];
    const int row = step->n_out_rows++;
    step->entries.push_back({seq.next_token, seq.fed, seq.slot, row});
    planned->push_back({decoders_[k], 1, row});
  }

  // Then prompt chunks, in admission order, while the budget lasts. A prompt's last chunk asks for the
  // logits of its last token: they give the first generated token.
  for (size_t i = 0; i < running.size(); i++) {
    const int room = budget_ - static_cast<int>(step->entries.size());
    if (room == 0) break;
    const PlanInput& seq = running[i];
    const int prompt_len = static_cast<int>(seq.prompt.size());
    if (seq.fed >= prompt_len) continue;
    const int n = std::min(room, prompt_len - seq.fed);
    for (int k = 0; k < n; k++) {
      const int pos = seq.fed + k;
      step->entries.push_back({seq.prompt[pos], pos, seq.slot, -1});
    }
    int row = -1;
    if (seq.fed + n == prompt_len) {
      row = step->n_out_rows++;
      step->entries.back().out_row = row;
    }
    planned->push_back({i, n, row});
  }
}

}  // namespace fpgaserve
