#include "fpga/device.h"

#include <string>
#include <unordered_map>

namespace fpgaserve {

Status ValidateStep(const Step& step, const DeviceInfo& info) {
  const int n = static_cast<int>(step.entries.size());
  if (n == 0 || n > info.max_step) {
    return Status::InvalidArgument("a step has " + std::to_string(n) + " entries; " + info.name + " takes 1 to " +
                                   std::to_string(info.max_step));
  }
  if (step.n_out_rows < 0 || step.n_out_rows > n) {
    return Status::InvalidArgument("a step asks for " + std::to_string(step.n_out_rows) + " logits rows with " +
                                   std::to_string(n) + " entries");
  }
  std::vector<char> row_used(step.n_out_rows, 0);
  std::unordered_map<int, int> last_pos;  // slot -> highest pos seen so far in this step
  for (int i = 0; i < n; i++) {
    const StepEntry& e = step.entries[i];
    const std::string where = "step entry " + std::to_string(i) + ": ";
    if (e.token < 0 || e.token >= info.model.vocab_size) {
      return Status::InvalidArgument(where + "token " + std::to_string(e.token) + " is outside the vocabulary");
    }
    if (e.slot < 0 || e.slot >= info.n_slots) {
      return Status::InvalidArgument(where + "slot " + std::to_string(e.slot) + " does not exist");
    }
    if (e.pos < 0 || e.pos >= info.cache_len) {
      return Status::InvalidArgument(where + "position " + std::to_string(e.pos) + " is outside the cache of " +
                                     std::to_string(info.cache_len) + " tokens");
    }
    auto [it, fresh] = last_pos.emplace(e.slot, e.pos);
    if (!fresh) {
      if (e.pos <= it->second) {
        return Status::InvalidArgument(where + "positions of slot " + std::to_string(e.slot) + " must increase");
      }
      it->second = e.pos;
    }
    if (e.out_row >= step.n_out_rows || e.out_row < -1) {
      return Status::InvalidArgument(where + "out_row " + std::to_string(e.out_row) + " is out of range");
    }
    if (e.out_row >= 0) {
      if (row_used[e.out_row])
        return Status::InvalidArgument(where + "out_row " + std::to_string(e.out_row) + " is used twice");
      row_used[e.out_row] = 1;
    }
  }
  for (int r = 0; r < step.n_out_rows; r++) {
    if (!row_used[r]) return Status::InvalidArgument("logits row " + std::to_string(r) + " is asked for by no entry");
  }
  return Status::Ok();
}

}  // namespace fpgaserve
