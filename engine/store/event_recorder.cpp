#include "store/event_recorder.h"

#include <type_traits>

namespace plab {

using namespace protocol;

namespace {
// The worker's StoreRecorder keeps the backend note as an event named "backend"; the
// event stream carries the same note as a log line (train/event_stream.cpp).
constexpr const char* kBackendNotePrefix = "backend: ";
}  // namespace

// One overload per event type and no catch-all: a new event type does not compile
// here until it says what it stores.
struct EventRecorder::Writer {
  EventRecorder& r;

  void operator()(Hello&) const {}
  void operator()(RunStarted& m) const {
    if (r.runId_ != 0) failField("type", "a second run_started in one stream");
    const std::string title = m.config.is_object() ? m.config.value("title", std::string()) : std::string();
    r.runId_ = r.writer_->createRun(m.config, title, m.backend, m.device);
    if (!r.backendNote_.empty()) r.writer_->appendEvent(0, "backend", {{"note", r.backendNote_}});
    m.runId = r.runId_;
    m.dbPath = r.path_;
  }
  void operator()(StepsBatch& m) const {
    r.requireRun("steps");
    for (const StepMetrics& s : m.steps) {
      r.writer_->appendStep(s);
      r.lastStep_ = s.step;
    }
  }
  void operator()(OverflowBatch& m) const {
    r.requireRun("overflow");
    for (const OverflowEvent& e : m.events) r.writer_->appendOverflow(e);
  }
  void operator()(ScaleGrowthBatch& m) const {
    r.requireRun("scale_growth");
    for (const ScaleGrowthEvent& e : m.events) r.writer_->appendScaleGrowth(e);
  }
  void operator()(PromotionBatch& m) const {
    r.requireRun("promotion");
    for (const PrecisionPromotion& p : m.events) r.writer_->appendPromotion(p);
  }
  void operator()(EpochBatch& m) const {
    r.requireRun("epoch");
    for (const EpochMetrics& e : m.epochs) r.writer_->appendEpoch(e);
  }
  void operator()(LayerStatsBatch& m) const {
    r.requireRun("layer_stats");
    r.writer_->appendLayerStats(m.records);  // one transaction: a reader never sees a step in part
  }
  void operator()(SpeedBatch& m) const {
    r.requireRun("speed");
    for (const SpeedResult& s : m.results) r.writer_->appendSpeed(s);
  }
  void operator()(Progress&) const {}
  void operator()(LogBatch& m) const {
    for (const LogEntry& e : m.entries) {
      if (r.runId_ == 0 && e.text.rfind(kBackendNotePrefix, 0) == 0)
        r.backendNote_ = e.text.substr(std::char_traits<char>::length(kBackendNotePrefix));
    }
  }
  void operator()(ErrorMessage&) const {}
  void operator()(RunFinished& m) const {
    if (r.runId_ == 0) return;  // a worker that failed before its run: nothing stored
    if (m.summary.is_object() && m.summary.contains("run_id")) m.summary["run_id"] = r.runId_;
    r.writer_->finish(m.status, m.error, m.summary);
    r.finished_ = true;
  }
};

EventRecorder::EventRecorder(const std::string& dbPath, StoreOptions options)
    : path_(dbPath), writer_(std::make_unique<RunWriter>(dbPath, options)) {}

EventRecorder::~EventRecorder() = default;

void EventRecorder::requireRun(const char* type) const {
  if (runId_ == 0) failField("type", std::string("a ") + type + " message before run_started");
  if (finished_) failField("type", std::string("a ") + type + " message after run_finished");
}

Event EventRecorder::record(Event event) {
  std::visit(Writer{*this}, event);
  return event;
}

RunFinished EventRecorder::endUnfinished(RunStatus status, const std::string& why) {
  RunFinished m;
  m.status = status;
  m.error = why;
  if (runId_ == 0 || finished_) return m;
  // As a local run whose worker was killed: no summary (the trainer never made one).
  writer_->finish(status, why);
  finished_ = true;
  return m;
}

}  // namespace plab
