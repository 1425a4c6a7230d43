// Stream and RequestEvents: events in order, attaching without losing or reordering any, waits that end on a
// push or on the clock's deadline and on nothing else, and the non-blocking consumer's TryPop and notify
// function (once per event; never after SetNotify(nullptr) returned).
#include "server/engine/stream.h"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

namespace fpgaserve {
namespace {

using std::chrono::milliseconds;

StreamEvent Token(int32_t id) {
  StreamEvent e;
  e.token = id;
  e.text = "t" + std::to_string(id);
  return e;
}

StreamEvent Final(StreamEvent::Kind kind = StreamEvent::Kind::kFinished) {
  StreamEvent e;
  e.kind = kind;
  if (kind == StreamEvent::Kind::kError) e.error = Status::Cancelled("cancelled");
  return e;
}

// Parks until `clock` has `n` waiters (a thread is inside a fake wait), so the test advances or pushes only
// once the wait has begun.
void AwaitWaiters(FakeClock& clock, int n) {
  while (clock.Waiters() < n) std::this_thread::yield();
}

TEST(StreamTest, NextReturnsTheEventsInOrderAndNothingAfterTheFinal) {
  Stream stream;
  stream.Push(Token(1));
  stream.Push(Token(2));
  stream.Push(Final());
  StreamEvent e;
  ASSERT_TRUE(stream.Next(&e, milliseconds(0)));
  EXPECT_EQ(e.token, 1);
  ASSERT_TRUE(stream.Next(&e, milliseconds(0)));
  EXPECT_EQ(e.token, 2);
  ASSERT_TRUE(stream.Next(&e, milliseconds(0)));
  EXPECT_EQ(e.kind, StreamEvent::Kind::kFinished);
  EXPECT_FALSE(stream.Next(&e, milliseconds(0)));
}

TEST(StreamTest, CancelIsSeenByTheEngineSide) {
  Stream stream;
  EXPECT_FALSE(stream.cancelled());
  stream.Cancel();
  stream.Cancel();
  EXPECT_TRUE(stream.cancelled());
}

TEST(RequestEventsTest, EventsPushedBeforeAttachingComeFirstInOrder) {
  auto events = std::make_shared<RequestEvents>();
  Stream stream;
  stream.Push(Token(1));
  stream.Push(Token(2));
  stream.AttachTo(events, 2);
  stream.Push(Token(3));
  stream.Push(Final());
  EXPECT_TRUE(events->ended(2));  // the final event has arrived, though nobody has taken it yet
  RequestEvents::Event e;
  for (int32_t id = 1; id <= 3; ++id) {
    ASSERT_TRUE(events->WaitUntil(Clock::TimePoint::max(), &e));
    EXPECT_EQ(e.choice, 2);
    EXPECT_EQ(e.event.token, id);
  }
  ASSERT_TRUE(events->WaitUntil(Clock::TimePoint::max(), &e));
  EXPECT_EQ(e.event.kind, StreamEvent::Kind::kFinished);
}

TEST(RequestEventsTest, AnAttachRacingWithPushesLosesAndReordersNothing) {
  constexpr int kTokens = 5000;
  auto events = std::make_shared<RequestEvents>();
  auto stream = std::make_shared<Stream>();
  std::thread producer([stream] {
    for (int32_t id = 0; id < kTokens; ++id) stream->Push(Token(id));
    stream->Push(Final());
  });
  stream->AttachTo(events, 0);  // somewhere in the middle of the pushes, or before or after them all
  RequestEvents::Event e;
  for (int32_t id = 0; id < kTokens; ++id) {
    ASSERT_TRUE(events->WaitUntil(Clock::TimePoint::max(), &e));
    ASSERT_EQ(e.event.token, id);
  }
  ASSERT_TRUE(events->WaitUntil(Clock::TimePoint::max(), &e));
  EXPECT_EQ(e.event.kind, StreamEvent::Kind::kFinished);
  producer.join();
}

TEST(RequestEventsTest, SeveralStreamsArriveInPushOrderEachTaggedWithItsChoice) {
  auto events = std::make_shared<RequestEvents>();
  Stream streams[3];
  for (int k = 0; k < 3; ++k) streams[k].AttachTo(events, k);
  const int order[] = {2, 0, 1, 1, 0, 2};
  for (int i = 0; i < 6; ++i) streams[order[i]].Push(Token(i));
  RequestEvents::Event e;
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(events->WaitUntil(Clock::TimePoint::max(), &e));
    EXPECT_EQ(e.choice, order[i]);
    EXPECT_EQ(e.event.token, i);
  }
  EXPECT_FALSE(events->ended(0));
  streams[1].Push(Final(StreamEvent::Kind::kError));
  EXPECT_FALSE(events->ended(0));
  EXPECT_TRUE(events->ended(1));
  EXPECT_FALSE(events->ended(7));  // a choice never seen
}

TEST(RequestEventsTest, AWaitEndsExactlyAtTheFakeDeadline) {
  FakeClock clock;
  auto events = std::make_shared<RequestEvents>(&clock);
  const Clock::TimePoint start = clock.Now();
  bool got = true;
  Clock::TimePoint returned_at;
  std::thread consumer([&] {
    RequestEvents::Event e;
    got = events->WaitUntil(start + milliseconds(50), &e);
    returned_at = clock.Now();
  });
  AwaitWaiters(clock, 1);
  clock.Advance(milliseconds(49));
  clock.Advance(milliseconds(1));
  consumer.join();
  EXPECT_FALSE(got);
  EXPECT_EQ(returned_at - start, milliseconds(50));
}

TEST(RequestEventsTest, AWaitingConsumerWakesOnAPushWithoutTimeMoving) {
  FakeClock clock;
  auto events = std::make_shared<RequestEvents>(&clock);
  Stream stream;
  stream.AttachTo(events, 1);
  const Clock::TimePoint start = clock.Now();
  RequestEvents::Event e;
  bool got = false;
  std::thread consumer([&] { got = events->WaitUntil(start + std::chrono::hours(1), &e); });
  AwaitWaiters(clock, 1);
  stream.Push(Token(7));
  consumer.join();
  ASSERT_TRUE(got);
  EXPECT_EQ(e.choice, 1);
  EXPECT_EQ(e.event.token, 7);
  EXPECT_EQ(clock.Now(), start);
}

// On the real clock a wait without a deadline blocks (it neither returns at once nor overflows) until a push.
TEST(RequestEventsTest, AWaitWithoutDeadlineOnTheRealClockEndsOnAPush) {
  auto events = std::make_shared<RequestEvents>();
  auto stream = std::make_shared<Stream>();
  stream->AttachTo(events, 0);
  std::thread producer([stream] {
    std::this_thread::sleep_for(milliseconds(20));  // the consumer is waiting by then (the real clock's case)
    stream->Push(Token(5));
  });
  RequestEvents::Event e;
  ASSERT_TRUE(events->WaitUntil(Clock::TimePoint::max(), &e));
  EXPECT_EQ(e.event.token, 5);
  producer.join();
}

TEST(RequestEventsTest, TryPopTakesTheOldestEventOrReturnsFalseAtOnce) {
  FakeClock clock;  // never advanced: a TryPop that waited would hang
  auto events = std::make_shared<RequestEvents>(&clock);
  Stream streams[2];
  streams[0].AttachTo(events, 0);
  streams[1].AttachTo(events, 1);
  RequestEvents::Event e;
  EXPECT_FALSE(events->TryPop(&e));
  streams[1].Push(Token(1));
  streams[0].Push(Token(2));
  streams[1].Push(Final());
  ASSERT_TRUE(events->TryPop(&e));
  EXPECT_EQ(e.choice, 1);
  EXPECT_EQ(e.event.token, 1);
  ASSERT_TRUE(events->TryPop(&e));
  EXPECT_EQ(e.choice, 0);
  EXPECT_EQ(e.event.token, 2);
  ASSERT_TRUE(events->TryPop(&e));
  EXPECT_EQ(e.choice, 1);
  EXPECT_EQ(e.event.kind, StreamEvent::Kind::kFinished);
  EXPECT_FALSE(events->TryPop(&e));
  EXPECT_EQ(clock.Waiters(), 0);
}

// The notify function runs once per queued event, the events an attach moves over included; events queued
// before it was set call nothing.
TEST(RequestEventsTest, NotifyRunsOncePerEventIncludingTheAttachReplay) {
  auto events = std::make_shared<RequestEvents>();
  Stream before;
  before.AttachTo(events, 0);
  before.Push(Token(0));  // no notify set yet
  int calls = 0;
  events->SetNotify([&calls] { calls++; });
  EXPECT_EQ(calls, 0);
  Stream late;
  late.Push(Token(1));
  late.Push(Token(2));
  late.AttachTo(events, 1);  // moves 1 and 2 over: a call each
  EXPECT_EQ(calls, 2);
  late.Push(Token(3));
  EXPECT_EQ(calls, 3);
  before.Push(Final());
  EXPECT_EQ(calls, 4);
  RequestEvents::Event e;
  for (int32_t id = 0; id <= 3; ++id) {
    ASSERT_TRUE(events->TryPop(&e));
    EXPECT_EQ(e.event.token, id);
  }
  ASSERT_TRUE(events->TryPop(&e));
  EXPECT_EQ(e.choice, 0);
  EXPECT_EQ(e.event.kind, StreamEvent::Kind::kFinished);
  events->SetNotify(nullptr);
  late.Push(Final());
  EXPECT_EQ(calls, 4);  // cleared
  EXPECT_TRUE(events->TryPop(&e));
}

// SetNotify(nullptr) racing with a producer: once it has returned, no call of the old function is running or
// begins. The function lingers (a sleep) so that SetNotify is called while a call is in progress; a
// SetNotify that only swapped the function without waiting that call out would return in its middle.
TEST(RequestEventsTest, NoNotifyRunsAfterSetNotifyNullReturnsWhilePushesContinue) {
  for (int round = 0; round < 20; ++round) {
    auto events = std::make_shared<RequestEvents>();
    auto stream = std::make_shared<Stream>();
    stream->AttachTo(events, 0);
    std::atomic<bool> entered{false};
    std::atomic<bool> cleared{false};  // set right after SetNotify(nullptr) returned
    std::atomic<int> late{0};          // calls running or begun after that
    events->SetNotify([&] {
      if (cleared.load()) late++;
      entered.store(true);
      std::this_thread::sleep_for(milliseconds(2));
      if (cleared.load()) late++;
    });
    std::thread producer([&] {
      int32_t id = 0;
      while (!cleared.load()) stream->Push(Token(id++));
      for (int i = 0; i < 1000; ++i) stream->Push(Token(id++));  // and go on after it
    });
    while (!entered.load()) std::this_thread::yield();
    events->SetNotify(nullptr);
    cleared.store(true);
    producer.join();
    EXPECT_EQ(late.load(), 0) << "round " << round;
  }
}

}  // namespace
}  // namespace fpgaserve
