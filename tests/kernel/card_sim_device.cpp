#include "card_sim_device.h"

#include <cstring>

#include "fpga/step_input.h"

namespace fpgaserve {

CardSimDevice::CardSimDevice(std::shared_ptr<const WeightsImage> image, int n_slots, int cache_len)
    : image_(std::move(image)) {
  const ModelConfig& c = image_->config();
  info_.name = "card-csim";
  info_.model = c;
  info_.n_slots = n_slots;
  info_.cache_len = cache_len;
  info_.max_step = 32;  // the C simulation's FPGASERVE_MAX_STEP (kernel/CMakeLists.txt)
  kv_base_ = static_cast<int64_t>((image_->port_bytes() + kernel::kWordBytes - 1) / kernel::kWordBytes);
  const int64_t kv_words = kernel::KvPortWords(c.n_layers, n_slots, c.n_kv_heads, cache_len, c.head_size());
  for (int p = 0; p < kernel::kMemPorts; p++) {
    std::vector<kernel::Word> port(kv_base_ + kv_words, kernel::ZeroWord());
    std::memcpy(port.data(), image_->port(p), image_->port_bytes());
    ports_.push_back(std::move(port));
  }
}

#define FPGASERVE_TEST_PORT_ARG(p) ports_[p].data(),

Status CardSimDevice::Run(const Step& step, float* logits) {
  if (Status st = ValidateStep(step, info_); !st.ok()) return st;
  const std::vector<uint8_t> input_bytes = BuildStepInput(step, info_.model);
  std::vector<kernel::Word> input(input_bytes.size() / kernel::kWordBytes);
  std::memcpy(input.data(), input_bytes.data(), input_bytes.size());
  const int vocab = info_.model.vocab_size;
  std::vector<kernel::Word> out(std::max<int64_t>(1, kernel::CardLogitsWords(vocab, step.n_out_rows)));
  fpgaserve_step(FPGASERVE_FOR_PORTS(FPGASERVE_TEST_PORT_ARG) input.data(), out.data(),
                 static_cast<int>(step.entries.size()), info_.n_slots, info_.cache_len, static_cast<int>(kv_base_));
  counters_ = *fpgaserve_step_counters();
  for (int r = 0; r < step.n_out_rows; r++) {
    for (int tile = 0; tile < kernel::TileCount(vocab); tile++) {
      const kernel::Word& w = out[kernel::CardLogitsWord(tile, r, vocab, step.n_out_rows)];
      for (int j = 0; j < kernel::kTileRows && tile * kernel::kTileRows + j < vocab; j++) {
        logits[static_cast<int64_t>(r) * vocab + tile * kernel::kTileRows + j] = kernel::WordF32(w, j);
      }
    }
  }
  return Status::Ok();
}

}  // namespace fpgaserve
