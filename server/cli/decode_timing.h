// The decode measurement `bench kernel` and `bench llamacpp` share, so their figures mean the same thing.
#pragma once

#include "base/status.h"
#include "fpga/device.h"

namespace fpgaserve::cli {

// Decode throughput of `batch` streams on `card`: every step holds one entry per stream (slot b, all at
// the same position, logits for each), positions 0 .. steps-1. One untimed pass first, so the timed one
// finds the KV cache pages resident and the thread team up, as on a server whose slots have been used
// before (a first touch costs a page fault per 4 KB). Returns tokens per second (batch * steps over the
// timed pass), or the card's error.
// REQUIRES: batch <= card.info().n_slots and card.info().max_step; steps <= card.info().cache_len.
Result<double> DecodeTokensPerSecond(Device& card, int batch, int steps);

}  // namespace fpgaserve::cli
