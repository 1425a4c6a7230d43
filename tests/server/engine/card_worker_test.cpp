// CardWorker: the loop of one card against a scripted StepScheduler (no engine): it runs the steps it is
// given, hands back each outcome, fences a throwing card and a card that reports itself unhealthy into a
// failed step, shows the watchdog when it is inside Run, and ends when the scheduler says so.
#include "server/engine/card_worker.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "server/engine/fake_device.h"

namespace fpgaserve {
namespace {

using testing::FakeControl;
using testing::FakeDevice;
using testing::FakeDeviceOptions;

// Gives `steps` one-entry steps to card 0, calling BeginRun / EndRun as the engine does, and records what
// came back. It stops the worker after the last step or at the first failed one.
class ScriptedScheduler final : public StepScheduler {
 public:
  explicit ScriptedScheduler(int steps) : steps_(steps) {}
  void set_worker(CardWorker* worker) { worker_ = worker; }

  bool NextStep(size_t card, Step* step) override {
    EXPECT_EQ(card, 0u);
    if (given_ == steps_) return false;
    step->entries = {{1, given_, 0, 0}};
    step->n_out_rows = 1;
    given_++;
    worker_->BeginRun(clock_.Now());
    return true;
  }
  bool FinishStep(size_t card, const Status& status, float* logits) override {
    EXPECT_EQ(card, 0u);
    worker_->EndRun(clock_.Now());
    statuses.push_back(status);
    if (status.ok()) row_argmax.push_back(static_cast<int>(std::max_element(logits, logits + 512) - logits));
    return status.ok();
  }

  // Read after Join.
  std::vector<Status> statuses;
  std::vector<int> row_argmax;

 private:
  const int steps_;
  int given_ = 0;
  CardWorker* worker_ = nullptr;
  FakeClock clock_;
};

// Runs `scheduler` on a worker over `device` until the worker ends.
void RunToEnd(ScriptedScheduler& scheduler, std::unique_ptr<Device> device) {
  CardWorker worker(0, std::move(device), nullptr);
  scheduler.set_worker(&worker);
  worker.Start(&scheduler);
  worker.Join();
  EXPECT_FALSE(worker.RunningSince().has_value());
}

TEST(CardWorkerTest, RunsEachStepAndHandsBackItsLogitsUntilTheSchedulerStops) {
  auto control = std::make_shared<FakeControl>();
  FakeDeviceOptions o;
  o.next_token = [](const StepEntry& e) { return 200 + e.pos; };
  ScriptedScheduler scheduler(3);
  RunToEnd(scheduler, std::make_unique<FakeDevice>(o, control));
  ASSERT_EQ(scheduler.statuses.size(), 3u);
  for (const Status& st : scheduler.statuses) EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(scheduler.row_argmax, (std::vector<int>{200, 201, 202}));
  EXPECT_EQ(control->step_count(), 3);
}

TEST(CardWorkerTest, AFailingCardIsAFailedStepAndEndsTheLoop) {
  auto control = std::make_shared<FakeControl>();
  FakeDeviceOptions o;
  o.fail_at_step = 1;
  ScriptedScheduler scheduler(5);
  RunToEnd(scheduler, std::make_unique<FakeDevice>(o, control));
  ASSERT_EQ(scheduler.statuses.size(), 2u);
  EXPECT_EQ(scheduler.statuses[1].code(), StatusCode::kDeviceFailure);
  EXPECT_EQ(control->step_count(), 2);
}

TEST(CardWorkerTest, AThrowingCardIsAFailedStep) {
  auto control = std::make_shared<FakeControl>();
  FakeDeviceOptions o;
  o.fail_at_step = 0;
  o.throw_at_fail = true;
  ScriptedScheduler scheduler(5);
  RunToEnd(scheduler, std::make_unique<FakeDevice>(o, control));
  ASSERT_EQ(scheduler.statuses.size(), 1u);
  EXPECT_EQ(scheduler.statuses[0].code(), StatusCode::kDeviceFailure);
  EXPECT_EQ(scheduler.statuses[0].message(), "the card threw: the fake card broke");
}

// A card whose step succeeds but which then says it is unhealthy.
class SickAfterRunDevice final : public Device {
 public:
  explicit SickAfterRunDevice(std::unique_ptr<Device> inner) : inner_(std::move(inner)) {}
  const DeviceInfo& info() const override { return inner_->info(); }
  bool Healthy() const override { return !ran_; }
  Status Run(const Step& step, float* logits) override {
    ran_ = true;
    return inner_->Run(step, logits);
  }

 private:
  std::unique_ptr<Device> inner_;
  bool ran_ = false;  // the worker thread only
};

TEST(CardWorkerTest, ACardReportingItselfUnhealthyAfterAStepIsAFailedStep) {
  ScriptedScheduler scheduler(5);
  RunToEnd(scheduler, std::make_unique<SickAfterRunDevice>(
                          std::make_unique<FakeDevice>(FakeDeviceOptions{}, std::make_shared<FakeControl>())));
  ASSERT_EQ(scheduler.statuses.size(), 1u);
  EXPECT_EQ(scheduler.statuses[0].code(), StatusCode::kDeviceFailure);
  EXPECT_EQ(scheduler.statuses[0].message(), "the card reports itself unhealthy");
}

TEST(CardWorkerTest, TheWatchdogSeesWhenTheWorkerIsInsideRun) {
  auto control = std::make_shared<FakeControl>();
  FakeDeviceOptions o;
  o.hang_at_step = 0;
  ScriptedScheduler scheduler(1);
  CardWorker worker(0, std::make_unique<FakeDevice>(o, control), nullptr);
  scheduler.set_worker(&worker);
  EXPECT_FALSE(worker.RunningSince().has_value());
  worker.Start(&scheduler);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!control->hanging() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(control->hanging());
  EXPECT_TRUE(worker.RunningSince().has_value());
  control->Release();
  worker.Join();
  EXPECT_FALSE(worker.RunningSince().has_value());
  ASSERT_EQ(scheduler.statuses.size(), 1u);
  EXPECT_EQ(scheduler.statuses[0].code(), StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace fpgaserve
