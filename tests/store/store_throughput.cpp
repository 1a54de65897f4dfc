// plab_store_throughput [DB]: what recording costs the trainer and what reading costs
// the GUI. Not a test (no pass/fail): the figures in docs/PERFORMANCE.md come from it.
//   - appendStep with the default 1 s batching (per step, commits included)
//   - one flush() of 1000 buffered steps (the commit a trainer step may pay)
//   - loadSteps of the whole run, and of the last 1000 steps (the GUI's incremental read)
//   - listRuns over 21 runs holding 1.2M steps (the run browser)
//   - EventBatcher add + take per step, and encodeLine of a 100-step "steps" line
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <string>

#include "protocol/event_batcher.h"
#include "store/store.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Timer {
  Clock::time_point wall = Clock::now();
  std::clock_t cpu = std::clock();
  void report(const char* what, double count, const char* unit) const {
    const double wallS = std::chrono::duration<double>(Clock::now() - wall).count();
    const double cpuS = double(std::clock() - cpu) / CLOCKS_PER_SEC;
    std::printf("%-52s %10.3f us/%s wall  %10.3f us/%s cpu\n", what, wallS * 1e6 / count, unit, cpuS * 1e6 / count, unit);
  }
};

plab::StepMetrics step(std::int64_t s) {
  plab::StepMetrics m;
  m.step = s;
  m.loss = 1.0 / double(s);
  m.lossScale = 65536;
  m.gradNorm = 0.5;
  m.learningRate = 1e-3;
  m.stepMs = 0.2;
  m.samplesPerSecond = 3e5;
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "/tmp/plab_store_throughput.sqlite";
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  constexpr std::int64_t kSteps = 200000;
  std::int64_t runId = 0;
  {
    plab::RunWriter writer(path);
    runId = writer.createRun({{"dataset", {{"name", "spirals"}}}}, "throughput", "cpu", "bench");
    Timer t;
    for (std::int64_t s = 1; s <= kSteps; ++s) writer.appendStep(step(s));
    writer.flush();
    t.report("appendStep, 1 s batches (200k steps)", double(kSteps), "step");

    for (std::int64_t s = kSteps + 1; s <= kSteps + 1000; ++s) writer.appendStep(step(s));
    Timer f;
    writer.flush();
    f.report("flush() of 1000 buffered steps", 1.0, "flush");
    writer.finish(plab::RunStatus::completed);
  }
  plab::RunReader reader(path);
  {
    Timer t;
    const auto all = reader.loadSteps(runId);
    t.report("loadSteps, whole run (201k rows)", double(all.size()), "row");
  }
  {
    Timer t;
    const auto tail = reader.loadSteps(runId, kSteps);
    t.report("loadSteps since step 200000 (1000 rows)", 1.0, "call");
  }
  {
    // The run browser's list: 20 more runs of 50k steps each.
    plab::StoreOptions manual;
    manual.backgroundFlush = false;
    for (int r = 0; r < 20; ++r) {
      plab::RunWriter writer(path, manual);
      writer.createRun({}, "list", "cpu", "bench");
      for (std::int64_t s = 1; s <= 50000; ++s) writer.appendStep(step(s));
      writer.finish(plab::RunStatus::completed);
    }
    Timer t;
    const auto runs = reader.listRuns();
    t.report("listRuns, 21 runs holding 1.2M steps", 1.0, "call");
  }
  {
    plab::protocol::EventBatcher batcher;
    auto now = Clock::time_point{};
    std::size_t lines = 0;
    Timer t;
    for (std::int64_t s = 1; s <= kSteps; ++s) {
      now += std::chrono::microseconds(50);
      batcher.add(plab::protocol::StepsBatch{{step(s)}}, now);
      batcher.add(plab::protocol::Progress{s, kSteps, 0, 2e4, 1, false}, now);
      lines += batcher.take(now).size();
    }
    t.report("EventBatcher add(step)+add(progress)+take", double(kSteps), "step");
    std::printf("  (%zu lines for %lld steps over %.0f simulated seconds)\n", lines, (long long)kSteps, kSteps * 50e-6);
  }
  {
    plab::protocol::StepsBatch batch;
    for (std::int64_t s = 1; s <= 100; ++s) batch.steps.push_back(step(s));
    const plab::protocol::Event e = batch;
    std::size_t bytes = 0;
    Timer t;
    for (int i = 0; i < 2000; ++i) bytes += plab::protocol::encodeLine(e).size();
    t.report("encodeLine of a 100-step line", 2000.0, "line");
    std::printf("  (%zu bytes per line)\n", bytes / 2000);
  }
  return 0;
}
