// SequenceOutput: what one sequence makes of its logits rows — the sampled tokens and the events its Stream
// gets (engine.h, "Events of a sequence", says what each means). It holds the sequence's Sampler, Rng,
// StreamDecoder and StopMatcher; given a logits row it samples, detokenizes, matches stop strings and returns
// the kToken and kFinished events to push, with usage. It pushes nothing itself: the engine pushes the events
// once the sequence's slot is free (a final event is only visible then).
//
// A sequence gets a fresh SequenceOutput at each admission to a card (a restart after a card failure
// generates from the prompt again, with the same seed).
//
// Threading: not thread-safe; one thread at a time (the worker of the sequence's card).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/status.h"
#include "server/engine/engine.h"
#include "server/engine/rng.h"
#include "server/engine/sampler.h"
#include "server/engine/stop_matcher.h"
#include "server/engine/stream.h"
#include "server/model/detokenizer.h"
#include "server/model/tokenizer.h"

namespace fpgaserve {

class SequenceOutput {
 public:
  // `request` (prompt not empty) and `tokenizer` must outlive this object; the RNG starts from `seed`.
  SequenceOutput(const SequenceRequest& request, uint64_t seed, int vocab_size, const Tokenizer& tokenizer);

  // What one logits row produced.
  struct Next {
    int32_t token = -1;                      // the sampled token
    std::optional<StreamEvent> token_event;  // kToken (absent for an end-of-generation token or a completed stop)
    std::optional<StreamEvent> final_event;  // kFinished: the sequence has ended
  };

  // Samples the next token from `logits_row` (vocab_size floats, processed in place) and makes its events.
  // `slot_full`: the KV slot has no room for the token to be fed, which ends the sequence with "length" as
  // max_tokens does. REQUIRES: !finished().
  Next OnLogits(float* logits_row, bool slot_full);

  // The final kError event, with usage so far. Does not end the output (the caller ends the sequence).
  StreamEvent ErrorEvent(Status status) const;

  int generated() const { return generated_; }  // tokens sampled, end-of-generation included
  bool emitted() const { return emitted_; }     // a kToken event was made: the sequence can no longer move
  bool finished() const { return finished_; }

 private:
  // The held-back text and the kFinished event.
  StreamEvent Finish(FinishReason reason, std::string text);

  const SequenceRequest& request_;
  const Tokenizer& tokenizer_;
  Sampler sampler_;
  Rng rng_;
  StreamDecoder decoder_;
  StopMatcher stop_;
  int generated_ = 0;
  bool emitted_ = false;
  bool finished_ = false;
};

}  // namespace fpgaserve
