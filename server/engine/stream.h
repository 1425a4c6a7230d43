// Stream: the events of one sequence, from the engine (the producer) to the HTTP layer (its one consumer),
// and the consumer's way to cancel it. What each event means is in engine.h ("Events of a sequence").
//
// RequestEvents: one queue for all the sequences of a request (its n choices). The consumer attaches each
// Stream to it and then waits once, on one condition variable, for whichever choice moves next, or for a
// deadline of its own (an SSE keep-alive), instead of polling the streams in turn.
//
//   auto events = std::make_shared<RequestEvents>(clock);
//   for (k...) streams[k]->AttachTo(events, k);          // events already pushed move over, in order
//   RequestEvents::Event e;
//   while (events->WaitUntil(deadline, &e)) ... e.choice, e.event ...
//
// A consumer that must not block (an event-driven connection) takes events with TryPop instead and is told
// of each new one by a notify function (SetNotify), which it uses to schedule its next TryPop.
//
// Lock order: the engine's locks, then a Stream's, then its RequestEvents' (Push forwards with the Stream's
// lock held, so that an Attach racing with a Push neither loses nor reorders events). The one call out with
// RequestEvents' lock held is the notify function, which is therefore a leaf (see SetNotify).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/mutex.h"
#include "base/status.h"
#include "server/engine/sampler.h"

namespace fpgaserve {

enum class FinishReason { kStop, kLength };  // "stop" (EOS or a stop string), "length" (max_tokens / context)
const char* FinishReasonName(FinishReason reason);

struct StreamEvent {
  enum class Kind {
    kToken,     // one generated token: `text` is the new text it makes visible (may be empty while a
                // UTF-8 character or a possible stop string is held back)
    kFinished,  // the last event of a sequence that ended normally; `text` flushes what was held back
    kError,     // the last event of a sequence that failed: `error` says why (no more events follow)
  };
  Kind kind = Kind::kToken;
  std::string text;
  int32_t token = -1;                                // kToken: the sampled token id
  float logprob = 0.0f;                              // kToken: when sampling.logprobs
  std::vector<TokenLogprob> top_logprobs;            // kToken: when sampling.top_logprobs > 0
  FinishReason finish_reason = FinishReason::kStop;  // kFinished
  Status error;                                      // kError
  int prompt_tokens = 0;                             // kFinished / kError: usage so far
  int completion_tokens = 0;

  bool is_final() const { return kind != Kind::kToken; }
};

class RequestEvents;

// The consumer's end of one sequence: events in order, and cancellation.
class Stream {
 public:
  // Waits up to `timeout` (real time) for the next event. Returns true with *event filled, false on timeout.
  // After the final event it returns true no more (returns false immediately). For a consumer of this one
  // stream; REQUIRES: not attached to a RequestEvents (its events go there instead).
  bool Next(StreamEvent* event, std::chrono::milliseconds timeout) EXCLUDES(mu_);

  // Sends this stream's events to `events`, tagged with `choice`: first those pushed so far and not yet
  // taken by Next, in order, then every later one as it is pushed. `events` stays alive as long as this
  // stream does. REQUIRES: called once.
  void AttachTo(std::shared_ptr<RequestEvents> events, int choice) EXCLUDES(mu_);

  // Asks the engine to stop this sequence; its slot is freed at the next step boundary and a final
  // kError event with code kCancelled follows. Idempotent; safe from any thread.
  void Cancel() { cancelled_.store(true); }
  bool cancelled() const { return cancelled_.load(); }

  // Engine side: append an event (REQUIRES: no event after a final one). Wakes the consumer.
  void Push(StreamEvent event) EXCLUDES(mu_);

 private:
  Mutex mu_;
  std::condition_variable cv_;                               // Next's wait; notified by Push
  std::deque<StreamEvent> events_ GUARDED_BY(mu_);           // not attached: pushed, not yet taken
  bool final_taken_ GUARDED_BY(mu_) = false;                 // Next has returned the final event
  std::shared_ptr<RequestEvents> attached_ GUARDED_BY(mu_);  // set once by AttachTo
  int choice_ GUARDED_BY(mu_) = 0;
  std::atomic<bool> cancelled_{false};
};

// The events of one request's sequences in arrival order, each tagged with its choice index.
//
// Threading: Add (through Stream::Push) from any producer thread; WaitUntil and TryPop from one consumer
// thread at a time; SetNotify and ended() from any thread.
class RequestEvents {
 public:
  struct Event {
    int choice = 0;
    StreamEvent event;
  };

  // `clock` times WaitUntil's deadline (nullptr: RealClock()); it must outlive this object.
  explicit RequestEvents(Clock* clock = nullptr);
  RequestEvents(const RequestEvents&) = delete;
  RequestEvents& operator=(const RequestEvents&) = delete;

  // Waits until an event is queued or the clock reaches `deadline` (TimePoint::max(): no deadline). Returns
  // true with the oldest event moved into *out, or false at the deadline with nothing queued. Only a push
  // or the deadline ends the wait: there is no polling in between.
  bool WaitUntil(Clock::TimePoint deadline, Event* out) EXCLUDES(mu_);

  // Takes the oldest queued event into *out and returns true, or returns false at once when none is queued.
  bool TryPop(Event* out) EXCLUDES(mu_);

  // Sets the function called after each event is queued (nullptr: none), to wake a consumer that does not
  // wait here. It is called once per event, on the pushing thread (the engine's, or AttachTo's caller for
  // the events an attach moves over), after the event is queued and with this object's lock held, and a
  // Stream's lock and possibly the engine's locks as well: it must be a leaf that takes no lock of ours and
  // calls nothing that might (an atomic exchange and a post to an event loop are fine). An event queued
  // before the function is set does not call it: the consumer looks once (TryPop) after setting it.
  // When SetNotify returns, no call of the previous function is running or will begin, so a consumer may
  // set nullptr and then free what its function touches, while streams keep pushing. REQUIRES: not called
  // from inside the notify function, nor holding a lock that a pusher holds around Push (a Stream's, the
  // engine's): either would deadlock. The previous function is destroyed after the lock is released.
  void SetNotify(std::function<void()> notify) EXCLUDES(mu_);

  // Whether `choice`'s final event has arrived (taken by WaitUntil or not): its sequence has ended, so there
  // is nothing left to cancel.
  bool ended(int choice) EXCLUDES(mu_);

 private:
  friend class Stream;
  // From Stream::Push and AttachTo (with that stream's lock held).
  void Add(int choice, StreamEvent event) EXCLUDES(mu_);

  Clock* const clock_;
  Mutex mu_;
  std::condition_variable cv_;  // notified by Add
  std::deque<Event> queue_ GUARDED_BY(mu_);
  std::vector<bool> ended_ GUARDED_BY(mu_);       // by choice index; grown on demand
  std::function<void()> notify_ GUARDED_BY(mu_);  // called by Add under mu_ (so SetNotify can wait it out)
};

}  // namespace fpgaserve
