// Sequence: the engine's record of one submitted SequenceRequest, from Submit to its final event.
//
// Ownership and threading (see engine.h for the lock): a Sequence is held by shared_ptr in the engine's
// queue or in exactly one card's running list, never both.
//   - While queued, it is read and written only under Engine::mu_.
//   - While on a card, the fields below "card binding" belong to that card's worker thread: it reads and
//     writes them with or without the lock (between a step's Device::Run and the push of its events, the
//     worker samples without the lock). Another thread touches them (under mu_) only while the worker is
//     blocked inside Device::Run, when the engine takes the card's sequences away (card failure, hang,
//     shutdown); the worker then never touches them again.
// These fields carry no GUARDED_BY: who may touch them follows the sequence's place (queue, card, in Run),
// which the analysis cannot express; the containers that hold sequences are guarded.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "server/engine/engine.h"
#include "server/engine/sequence_output.h"

namespace fpgaserve {

struct Sequence {
  using Clock = std::chrono::steady_clock;

  // Constant after Submit.
  SequenceRequest request;
  std::shared_ptr<Stream> stream;
  uint64_t seed = 0;  // request.sampling.seed, or a random one drawn at Submit
  Clock::time_point submitted;

  // Set at the first admission (a re-queued sequence keeps it).
  bool admitted_once = false;

  // Card binding: reset by Bind() at each admission to a card.
  int slot = -1;
  int fed = 0;             // tokens written to the slot's KV cache: positions 0..fed-1
  int32_t next_token = 0;  // in the decode phase: the last sampled token, fed next at position `fed`
  Clock::time_point last_token_time;
  std::optional<SequenceOutput> output;  // sampler, RNG, detokenizer, stop matcher; set by Bind()

  int prompt_len() const { return static_cast<int>(request.prompt.size()); }
  bool prefilling() const { return fed < prompt_len(); }
  int generated() const { return output.has_value() ? output->generated() : 0; }
  // A kToken event was pushed: the sequence can no longer move to another card.
  bool emitted() const { return output.has_value() && output->emitted(); }

  // Starts (or restarts, after a card failure) generation in KV slot `slot`: a fresh output (sampler, RNG,
  // decoder, stop matcher), nothing fed. REQUIRES: nothing was emitted yet.
  void Bind(int new_slot, int vocab_size, const Tokenizer& tokenizer) {
    slot = new_slot;
    fed = 0;
    next_token = 0;
    output.emplace(request, seed, vocab_size, tokenizer);
  }

  // The final kError event, with usage so far.
  StreamEvent ErrorEvent(Status status) const {
    if (output.has_value()) return output->ErrorEvent(std::move(status));
    StreamEvent e;
    e.kind = StreamEvent::Kind::kError;
    e.error = std::move(status);
    e.prompt_tokens = prompt_len();
    return e;
  }
};

}  // namespace fpgaserve
