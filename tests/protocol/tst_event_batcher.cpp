// EventBatcher driven by a simulated clock: the line rate stays at ~30 a second for
// any step rate, nothing but superseded progress is dropped, and control messages
// go out at once, after what was recorded before them.
#include <QtTest>

#include <map>

#include "protocol/event_batcher.h"

using namespace plab;
using namespace plab::protocol;
using Clock = EventBatcher::Clock;
using namespace std::chrono_literals;

namespace {

StepMetrics step(std::int64_t n) {
  StepMetrics m;
  m.step = n;
  m.loss = 1.0 / double(n);
  return m;
}

struct Delivered {
  std::vector<std::int64_t> steps, overflowSteps;
  std::int64_t lastProgress = -1;
  std::map<std::int64_t, int> linesPerSecond;  // whole simulated second -> lines written
  std::vector<std::string> types;

  void write(const std::vector<Event>& lines, Clock::time_point now, Clock::time_point start) {
    for (const auto& e : lines) {
      ++linesPerSecond[std::chrono::duration_cast<std::chrono::seconds>(now - start).count()];
      types.push_back(typeName(e));
      if (auto* s = std::get_if<StepsBatch>(&e))
        for (const auto& m : s->steps) steps.push_back(m.step);
      if (auto* o = std::get_if<OverflowBatch>(&e))
        for (const auto& ev : o->events) overflowSteps.push_back(ev.step);
      if (auto* p = std::get_if<Progress>(&e)) lastProgress = p->step;
    }
  }
};

}  // namespace

class TestEventBatcher : public QObject {
  Q_OBJECT

 private slots:
  void lineRateStaysBoundedWhateverTheStepRate_data() {
    QTest::addColumn<int>("stepsPerSecond");
    QTest::newRow("10/s") << 10;
    QTest::newRow("100/s") << 100;
    QTest::newRow("2000/s") << 2000;
    QTest::newRow("100000/s") << 100000;
  }
  void lineRateStaysBoundedWhateverTheStepRate() {
    QFETCH(int, stepsPerSecond);
    EventBatcher batcher;  // 30 lines/s, burst 3
    const Clock::time_point start{};
    const auto interval = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / stepsPerSecond));
    const std::int64_t total = std::int64_t(stepsPerSecond) * 4;  // four simulated seconds
    Delivered out;
    std::int64_t overflows = 0;
    Clock::time_point now = start;
    for (std::int64_t s = 1; s <= total; ++s) {
      now = start + interval * s;
      batcher.add(StepsBatch{{step(s)}}, now);
      batcher.add(Progress{s, total, 0, double(stepsPerSecond), 0, false}, now);
      if (s % 7 == 0) {
        batcher.add(OverflowBatch{{{s, 2, 1, {"layers[0] linear"}}}}, now);
        ++overflows;
      }
      out.write(batcher.take(now), now, start);
    }
    out.write(batcher.takeAll(), now, start);

    for (const auto& [second, lines] : out.linesPerSecond)
      QVERIFY2(lines <= 30 + 3 + 1, qPrintable(QStringLiteral("second %1: %2 lines at %3 steps/s").arg(second).arg(lines).arg(stepsPerSecond)));
    // Every step exactly once, in order; every overflow; the latest progress.
    QCOMPARE(std::int64_t(out.steps.size()), total);
    for (std::int64_t i = 0; i < total; ++i)
      QVERIFY2(out.steps[std::size_t(i)] == i + 1, qPrintable(QStringLiteral("position %1 holds step %2").arg(i).arg(out.steps[std::size_t(i)])));
    QCOMPARE(std::int64_t(out.overflowSteps.size()), overflows);
    QCOMPARE(out.lastProgress, total);
    if (stepsPerSecond >= 2000) {
      // Merging did happen: far fewer lines than records.
      std::int64_t lines = 0;
      for (const auto& [second, n] : out.linesPerSecond) lines += n;
      QVERIFY2(lines <= 4 * 34 + 3, qPrintable(QString::number(lines)));
    }
  }

  void overflowsAreNotStarvedBySteps() {
    EventBatcher batcher;
    const Clock::time_point start{};
    Delivered out;
    Clock::time_point now = start;
    // 10000 steps a second with progress; one overflow at 0.5 s must be out within 0.2 s.
    Clock::time_point overflowSentAt{};
    for (int i = 1; i <= 10000; ++i) {
      now = start + i * 100us;
      batcher.add(StepsBatch{{step(i)}}, now);
      batcher.add(Progress{i, 10000, 0, 10000, 0, false}, now);
      if (i == 5000) batcher.add(OverflowBatch{{{i, 2, 1, {"a"}}}}, now);
      const auto lines = batcher.take(now);
      for (const auto& e : lines)
        if (std::holds_alternative<OverflowBatch>(e)) overflowSentAt = now;
      out.write(lines, now, start);
    }
    QCOMPARE(out.overflowSteps.size(), std::size_t(1));
    const double delayMs = std::chrono::duration<double, std::milli>(overflowSentAt - (start + 5000 * 100us)).count();
    QVERIFY2(delayMs >= 0 && delayMs <= 200, qPrintable(QStringLiteral("overflow waited %1 ms").arg(delayMs)));
  }

  void controlMessagesFollowPendingDataAtOnce() {
    EventBatcher batcher;
    const Clock::time_point t{};
    batcher.add(Hello{1, "cpu", "test"}, t);
    // Spend the budget, then record more and finish at the same instant.
    for (int i = 1; i <= 5; ++i) {
      batcher.add(StepsBatch{{step(i)}}, t);
      batcher.add(LogBatch{{{"info", "line " + std::to_string(i)}}}, t);
      batcher.take(t);
    }
    batcher.add(StepsBatch{{step(6)}}, t);
    batcher.add(EpochBatch{{{0, 6, 1, 0.5, 1, 0.5}}}, t);
    batcher.add(RunFinished{RunStatus::completed, "", {}}, t);
    const auto lines = batcher.take(t);  // no token left, yet all of it goes out
    QVERIFY(!lines.empty());
    QCOMPARE(std::string(typeName(lines.back())), std::string("run_finished"));
    bool sawStep6 = false, sawEpoch = false;
    for (const auto& e : lines) {
      if (auto* s = std::get_if<StepsBatch>(&e)) sawStep6 |= s->steps.back().step == 6;
      sawEpoch |= std::holds_alternative<EpochBatch>(e);
    }
    QVERIFY(sawStep6 && sawEpoch);
    QVERIFY(!batcher.hasPending());
  }

  void helloGoesOutFirst() {
    EventBatcher batcher;
    const Clock::time_point t{};
    batcher.add(Hello{1, "cpu", "test"}, t);
    const auto lines = batcher.take(t);
    QCOMPARE(lines.size(), std::size_t(1));
    QCOMPARE(std::string(typeName(lines[0])), std::string("hello"));
  }

  void nextDueSaysWhenTheBudgetAllowsALine() {
    EventBatcher batcher;
    const Clock::time_point t{};
    QVERIFY(!batcher.nextDue(t).has_value());  // nothing pending: sleep until an event
    for (int i = 0; i < 3; ++i) {              // spend the burst
      batcher.add(LogBatch{{{"info", "x"}}}, t);
      QCOMPARE(batcher.take(t).size(), std::size_t(1));
    }
    batcher.add(StepsBatch{{step(1)}}, t);
    QVERIFY(batcher.take(t).empty());
    const auto due = batcher.nextDue(t);
    QVERIFY(due.has_value());
    const double waitMs = std::chrono::duration<double, std::milli>(*due - t).count();
    QVERIFY2(std::abs(waitMs - 1000.0 / 30) < 0.5, qPrintable(QString::number(waitMs)));
    QVERIFY(batcher.take(*due - 1ms).empty());
    QCOMPARE(batcher.take(*due).size(), std::size_t(1));
  }
};

QTEST_GUILESS_MAIN(TestEventBatcher)
#include "tst_event_batcher.moc"
