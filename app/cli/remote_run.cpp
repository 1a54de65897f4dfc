#include "remote_run.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <vector>

#include "commands.h"
#include "core/json_number.h"
#include "protocol/messages.h"
#include "protocol/worker_address.h"
#include "run_support.h"
#include "store/store.h"
#include "worker_process.h"

namespace plab::cli {
namespace {

using namespace protocol;
using nlohmann::json;

// The relay's events, turned into the calls a local run's ProgressLine hears.
class RemoteProgress {
 public:
  explicit RemoteProgress(bool terminal) : line_(terminal) {}

  void handle(const Event& event) {
    if (const auto* started = std::get_if<RunStarted>(&event)) {
      runId_ = started->runId;
      RunStartInfo info;
      info.title = started->config.is_object() ? started->config.value("title", std::string()) : "";
      info.backend.name = started->backend;
      info.backend.device = started->device;
      info.totalSteps = started->totalSteps;
      line_.onStarted(info);
    } else if (const auto* steps = std::get_if<StepsBatch>(&event)) {
      if (!steps->steps.empty()) last_ = steps->steps.back();
    } else if (const auto* promotions = std::get_if<PromotionBatch>(&event)) {
      for (const PrecisionPromotion& p : promotions->events) {
        line_.onPromotion(p);
        promotions_.push_back(p);
      }
    } else if (const auto* epochs = std::get_if<EpochBatch>(&event)) {
      for (const EpochMetrics& e : epochs->epochs) line_.onEpoch(e);
    } else if (const auto* p = std::get_if<Progress>(&event)) {
      RunProgress r;
      r.step = p->step;
      r.totalSteps = p->total;
      r.epoch = p->epoch;
      r.lastLoss = last_.loss;
      r.lossScale = last_.lossScale;
      r.stepsPerSecond = p->stepsPerSecond;
      r.etaSeconds = p->etaSeconds;
      r.paused = p->paused;
      line_.onProgress(r);
    } else if (const auto* log = std::get_if<LogBatch>(&event)) {
      for (const LogEntry& e : log->entries) std::cerr << e.text << "\n";
    } else if (const auto* error = std::get_if<ErrorMessage>(&event)) {
      error_ = error->context.empty() ? error->message : error->context + ": " + error->message;
    } else if (const auto* finished = std::get_if<RunFinished>(&event)) {
      finished_ = *finished;
      RunOutcome o;
      o.status = finished->status;
      o.error = finished->error;
      const json& s = finished->summary;
      o.steps = s.is_object() && s.contains("steps") ? s["steps"].get<std::int64_t>() : last_.step;
      o.skippedSteps = s.value("skipped_steps", std::int64_t(0));
      o.overflowEvents = s.value("overflow_events", std::int64_t(0));
      if (s.contains("final_loss_scale")) o.finalLossScale = numberFromJson(s["final_loss_scale"]).value_or(0);
      if (s.contains("median_step_ms")) o.medianStepMs = numberFromJson(s["median_step_ms"]).value_or(0);
      o.promotions = promotions_;
      line_.onFinished(o);
    }
  }

  std::int64_t runId() const { return runId_; }
  const std::optional<RunFinished>& finished() const { return finished_; }
  const std::string& error() const { return error_; }

 private:
  ProgressLine line_;
  StepMetrics last_;
  std::vector<PrecisionPromotion> promotions_;
  std::int64_t runId_ = 0;
  std::optional<RunFinished> finished_;
  std::string error_;
};

json readExperimentJson(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return json::parse(text.str());  // already parsed once by loadExperimentOrExit
}

}  // namespace

void requireWorkerAddress(const std::string& option, const std::string& url) {
  try {
    parseWorkerAddress(url);
  } catch (const WorkerAddressError& e) {
    throw CliExit(kExitBadExperiment, option + " " + e.what());
  }
}

int runOnRemoteWorker(const std::string& file, const std::string& url, const std::string& backend,
                      const std::string& db, const std::string& summaryJson) {
  requireWorkerAddress("--worker", url);
  loadExperimentOrExit(file);  // a wrong file is named here, before any connection
  const json experiment = readExperimentJson(file);
  const std::string dbPath = db.empty() ? defaultDatabasePath() : db;

  installStopSignalHandlers();
  ::signal(SIGPIPE, SIG_IGN);
  WorkerProcess relay(dbPath, backend, url);
  relay.send(encodeLine(Command{StartCommand{experiment}}));
  RemoteProgress progress(isatty(STDOUT_FILENO) != 0);
  bool stopSent = false;
  while (relay.stdoutFd() >= 0) {
    if (stopSignal() != 0 && !stopSent) {
      stopSent = true;
      relay.send(encodeLine(Command{StopCommand{}}));
    }
    pollfd fds[2] = {{relay.stdoutFd(), POLLIN, 0}, {relay.stderrFd(), POLLIN, 0}};
    if (::poll(fds, 2, 200) <= 0) continue;
    if (fds[1].fd >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) relay.readStderr();
    if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    std::vector<std::string> lines;
    relay.readStdout(lines);
    for (const std::string& line : lines) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      try {
        const Event event = decodeEvent(line);
        progress.handle(event);
        if (std::holds_alternative<RunFinished>(event)) relay.closeInput();  // the relay may exit now
      } catch (const std::exception& e) {
        std::cerr << "precisionlab-cli: the relay wrote a line that is not a protocol message: " << e.what() << "\n";
      }
    }
  }
  while (relay.stderrFd() >= 0 && relay.readStderr()) {
  }
  const int exitStatus = relay.wait();
  const auto& finished = progress.finished();
  if (!finished || progress.runId() == 0) {
    // Nothing was stored: the connection, the file or the store failed first.
    const std::string why = !progress.error().empty() ? progress.error() : lastLine(relay.stderrText());
    throw CliExit(exitStatus != 0 ? exitStatus : kExitRemote, why.empty() ? "the relay worker ended without a run" : why);
  }
  std::cout << "run " << progress.runId() << " stored in " << dbPath << "\n";
  if (!summaryJson.empty()) {
    json summary = finished->summary;
    if (!summary.is_object() || summary.empty())
      summary = {{"run_id", progress.runId()}, {"status", toString(finished->status)}, {"error", finished->error}};
    std::ofstream out(summaryJson);
    out << summary.dump(2) << "\n";
    if (!out) throw CliExit(kExitFailed, "--summary-json: cannot write " + summaryJson);
  }
  switch (finished->status) {
    case RunStatus::completed: return 0;
    case RunStatus::cancelled: return stopSignal() != 0 ? exitCodeForCancel() : kExitFailed;
    case RunStatus::interrupted:
      std::cerr << "precisionlab-cli: run " << progress.runId() << " interrupted: " << finished->error << "\n";
      return kExitRemote;
    case RunStatus::running:
    case RunStatus::failed: break;
  }
  std::cerr << "precisionlab-cli: run " << progress.runId() << " " << toString(finished->status) << ": "
            << finished->error << "\n";
  return kExitFailed;
}

}  // namespace plab::cli
