// precisionlab-cli sweep FILE [--jobs N] [--seed S] [--steps N] [--backend B] [--db PATH]
// Runs every variant of a sweep file (docs/experiment-format.md, "Sweep files"), N
// `worker` processes at once, each storing its run in the SQLite store as any run
// does; prints a progress line (variant i of n, step, time left) and, at the end, a
// table of the variants' results.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "protocol/messages.h"
#include "run_support.h"
#include "store/store.h"
#include "sweep/sweep.h"
#include "worker_process.h"

namespace plab::cli {

namespace {

using nlohmann::json;

struct SweepOptions {
  std::string file;
  int jobs = 1;
  std::optional<std::uint64_t> seed;
  std::optional<std::int64_t> steps;
  std::string backend;
  std::string db;
  std::string summaryJson;
};

double nowSeconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// One variant's run, from queued to finished.
struct VariantRun {
  enum class State { queued, running, finished };
  const SweepVariant* variant = nullptr;
  int number = 0;                        // 1-based, as printed
  State state = State::queued;
  std::unique_ptr<WorkerProcess> worker;
  std::int64_t runId = 0;
  std::int64_t step = 0, total = 0;
  double etaSeconds = 0;
  double startedAt = 0, finishedAt = 0;
  bool gotFinished = false;              // a run_finished line arrived
  RunStatus status = RunStatus::failed;
  std::string error;
  json summary = json::object();
};

class SweepRunner {
 public:
  SweepRunner(const Sweep& sweep, const SweepOptions& o) : sweep_(sweep), options_(o) {
    for (std::size_t i = 0; i < sweep.variants.size(); ++i) {
      VariantRun r;
      r.variant = &sweep.variants[i];
      r.number = int(i) + 1;
      runs_.push_back(std::move(r));
    }
    terminal_ = isatty(STDOUT_FILENO) != 0;
  }

  void run() {
    startedAt_ = nowSeconds();
    while (true) {
      if (stopSignal() != 0 && !stopping_) stopAll();
      if (!stopping_) startQueued();
      if (activeCount() == 0) break;
      pollOnce();
      printProgress(false);
    }
    endProgressLine();
  }

  const std::vector<VariantRun>& runs() const { return runs_; }

 private:
  int activeCount() const {
    return int(std::count_if(runs_.begin(), runs_.end(), [](const VariantRun& r) { return r.state == VariantRun::State::running; }));
  }

  void startQueued() {
    for (VariantRun& r : runs_) {
      if (activeCount() >= options_.jobs) return;
      if (r.state != VariantRun::State::queued) continue;
      r.worker = std::make_unique<WorkerProcess>(options_.db, options_.backend);
      r.state = VariantRun::State::running;
      r.startedAt = nowSeconds();
      // The worker reads commands after its hello; the pipe holds the line until then.
      r.worker->send(protocol::encodeLine(protocol::Command{protocol::StartCommand{r.variant->experimentJson}}));
    }
  }

  // Every running worker's stdout and stderr, at most 200 ms.
  void pollOnce() {
    std::vector<pollfd> fds;
    std::vector<std::pair<VariantRun*, bool>> owners;  // run, is stdout
    for (VariantRun& r : runs_) {
      if (r.state != VariantRun::State::running) continue;
      if (r.worker->stdoutFd() >= 0) {
        fds.push_back({r.worker->stdoutFd(), POLLIN, 0});
        owners.emplace_back(&r, true);
      }
      if (r.worker->stderrFd() >= 0) {
        fds.push_back({r.worker->stderrFd(), POLLIN, 0});
        owners.emplace_back(&r, false);
      }
    }
    const int ready = ::poll(fds.data(), fds.size(), 200);
    if (ready <= 0) return;  // timeout, or EINTR from a stop signal (checked by the caller)
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      VariantRun& r = *owners[i].first;
      if (!r.worker) continue;  // finished by its stdout entry earlier in this loop
      if (!owners[i].second) {
        r.worker->readStderr();
        continue;
      }
      std::vector<std::string> lines;
      const bool open = r.worker->readStdout(lines);
      for (const std::string& line : lines) handleLine(r, line);
      if (!open) finish(r);
    }
  }

  void handleLine(VariantRun& r, const std::string& line) {
    protocol::Event event;
    try {
      event = protocol::decodeEvent(line);
    } catch (const std::exception& e) {
      r.error = std::string("the worker wrote a line that is not a protocol message: ") + e.what();
      return;
    }
    if (const auto* started = std::get_if<protocol::RunStarted>(&event)) {
      r.runId = started->runId;
      r.total = started->totalSteps;
    } else if (const auto* progress = std::get_if<protocol::Progress>(&event)) {
      r.step = progress->step;
      r.total = progress->total;
      r.etaSeconds = progress->etaSeconds;
    } else if (const auto* error = std::get_if<protocol::ErrorMessage>(&event)) {
      r.error = error->context.empty() ? error->message : error->context + ": " + error->message;
    } else if (const auto* finished = std::get_if<protocol::RunFinished>(&event)) {
      r.gotFinished = true;
      r.status = finished->status;
      if (!finished->error.empty()) r.error = finished->error;
      r.summary = finished->summary;
      r.step = r.total ? r.total : r.step;
      r.worker->closeInput();  // the run is over: let the worker exit
    }
  }

  // The worker's stdout ended: reap it and say how the variant ended.
  void finish(VariantRun& r) {
    while (r.worker->stderrFd() >= 0 && r.worker->readStderr()) {
    }
    const int exitStatus = r.worker->wait();
    if (!r.gotFinished) {
      r.status = RunStatus::failed;
      if (r.error.empty()) {
        std::string err = r.worker->stderrText();
        while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
        r.error = "the worker ended (exit status " + std::to_string(exitStatus) + ") before the run finished" +
                  (err.empty() ? "" : ": " + err.substr(err.rfind('\n') == std::string::npos ? 0 : err.rfind('\n') + 1));
      }
    }
    r.state = VariantRun::State::finished;
    r.finishedAt = nowSeconds();
    r.worker.reset();
    printProgress(true);
    printVariantLine(r);
  }

  void stopAll() {
    stopping_ = true;
    for (VariantRun& r : runs_) {
      if (r.state == VariantRun::State::running) r.worker->send(protocol::encodeLine(protocol::Command{protocol::StopCommand{}}));
    }
  }

  // Seconds left: the running variants' own estimates, plus the queued ones at the
  // mean length of the variants seen so far, shared among the jobs.
  double etaSeconds() const {
    double running = 0, lengthSum = 0;
    int lengths = 0, queued = 0;
    const double now = nowSeconds();
    for (const VariantRun& r : runs_) {
      if (r.state == VariantRun::State::finished) {
        lengthSum += r.finishedAt - r.startedAt;
        ++lengths;
      } else if (r.state == VariantRun::State::running) {
        running += r.etaSeconds;
        if (r.step > 0) {
          lengthSum += (now - r.startedAt) + r.etaSeconds;
          ++lengths;
        }
      } else {
        ++queued;
      }
    }
    const double perVariant = lengths ? lengthSum / lengths : 0;
    return (running + queued * perVariant) / std::max(1, options_.jobs);
  }

  void printProgress(bool force) {
    const double now = nowSeconds();
    // A log or a pipe gets a line every few seconds, a terminal one rewritten line.
    if (!force && now - lastLine_ < (terminal_ ? 0.2 : 5.0)) return;
    if (!terminal_ && force) return;  // plain output: the finished variant's own line says it
    lastLine_ = now;
    int done = 0;
    std::string active;
    for (const VariantRun& r : runs_) {
      if (r.state == VariantRun::State::finished) ++done;
      if (r.state != VariantRun::State::running) continue;
      active += (active.empty() ? "" : " | ") + std::string("variant ") + std::to_string(r.number) + " of " +
                std::to_string(runs_.size()) + " \"" + r.variant->name + "\" " +
                (r.total > 0 ? "step " + std::to_string(r.step) + "/" + std::to_string(r.total) : std::string("starting"));
    }
    const int eta = int(std::lround(etaSeconds()));
    char tail[96];
    std::snprintf(tail, sizeof tail, "  %d of %zu done  eta %d:%02d", done, runs_.size(), eta / 60, eta % 60);
    const std::string line = (active.empty() ? std::string("sweep") : active) + tail + (stopping_ ? "  (stopping)" : "");
    if (terminal_) {
      std::cout << "\r" << line << "\x1b[K";
      lineOpen_ = true;
    } else {
      std::cout << line << "\n";
    }
    std::cout.flush();
  }

  void endProgressLine() {
    if (lineOpen_) std::cout << "\r\x1b[K";
    lineOpen_ = false;
    std::cout.flush();
  }

  void printVariantLine(const VariantRun& r) {
    endProgressLine();
    std::cout << "variant " << r.number << " of " << runs_.size() << " \"" << r.variant->name << "\": " << toString(r.status);
    if (r.runId) std::cout << " (run " << r.runId << ")";
    if (!r.error.empty()) std::cout << ": " << r.error;
    std::cout << "\n";
    std::cout.flush();
  }

  const Sweep& sweep_;
  SweepOptions options_;
  std::vector<VariantRun> runs_;
  bool terminal_ = false;
  bool lineOpen_ = false;
  bool stopping_ = false;
  double startedAt_ = 0;
  double lastLine_ = -1e9;
};

std::string cell(const json& summary, const char* key, const char* format) {
  const auto it = summary.find(key);
  if (it == summary.end() || !it->is_number()) return "-";
  char text[32];
  std::snprintf(text, sizeof text, format, it->get<double>());
  return text;
}

void printTable(const Sweep& sweep, const std::vector<VariantRun>& runs) {
  std::size_t width = 7;
  for (const VariantRun& r : runs) width = std::max(width, r.variant->name.size());
  std::printf("\n%-*s  %-11s %6s  %9s  %10s  %9s  %7s  %8s\n", int(width), "variant", "status", "run", "test acc",
              "train loss", "overflows", "skipped", "step ms");
  for (const VariantRun& r : runs) {
    std::printf("%-*s  %-11s %6s  %9s  %10s  %9s  %7s  %8s\n", int(width), r.variant->name.c_str(), toString(r.status),
                r.runId ? std::to_string(r.runId).c_str() : "-", cell(r.summary, "test_accuracy", "%.4f").c_str(),
                cell(r.summary, "final_train_loss", "%.4g").c_str(), cell(r.summary, "overflow_events", "%.0f").c_str(),
                cell(r.summary, "skipped_steps", "%.0f").c_str(), cell(r.summary, "median_step_ms", "%.3g").c_str());
  }
  (void)sweep;
  std::fflush(stdout);
}

void writeSummaryJson(const std::string& path, const Sweep& sweep, const std::vector<VariantRun>& runs) {
  json j;
  j["title"] = sweep.title;
  j["variants"] = json::array();
  for (const VariantRun& r : runs) {
    j["variants"].push_back({{"name", r.variant->name},
                             {"run_id", r.runId},
                             {"status", toString(r.status)},
                             {"error", r.error},
                             {"set", r.variant->set},
                             {"summary", r.summary}});
  }
  std::ofstream out(path);
  out << j.dump(2) << "\n";
  if (!out) throw CliExit(kExitFailed, "--summary-json: cannot write " + path);
}

int runSweep(const SweepOptions& o) {
  SweepOverrides overrides;
  overrides.seed = o.seed;
  overrides.steps = o.steps;
  Sweep sweep;
  try {
    sweep = loadSweepFile(o.file, overrides);
  } catch (const SweepError& e) {
    throw CliExit(kExitBadExperiment, e.what());
  }
  SweepOptions options = o;
  if (options.db.empty()) options.db = defaultDatabasePath();
  std::cout << (sweep.title.empty() ? o.file : sweep.title) << ": " << sweep.variants.size() << " variant"
            << (sweep.variants.size() == 1 ? "" : "s") << ", " << options.jobs << " at a time, store " << options.db << "\n";
  std::cout.flush();

  installStopSignalHandlers();
  ::signal(SIGPIPE, SIG_IGN);  // a worker that died is seen as EOF on its stdout, not a signal here
  SweepRunner runner(sweep, options);
  runner.run();
  printTable(sweep, runner.runs());
  if (!o.summaryJson.empty()) writeSummaryJson(o.summaryJson, sweep, runner.runs());
  if (stopSignal() != 0) return exitCodeForCancel();
  for (const VariantRun& r : runner.runs()) {
    if (r.status != RunStatus::completed) return kExitFailed;
  }
  return 0;
}

}  // namespace

void addSweepCommand(CLI::App& app) {
  auto options = std::make_shared<SweepOptions>();
  CLI::App* cmd = app.add_subcommand("sweep", "run every variant of a sweep file, several worker processes at once");
  cmd->add_option("FILE", options->file, "sweep file (JSON; docs/experiment-format.md, \"Sweep files\")")->required();
  cmd->add_option("--jobs,-j", options->jobs, "worker processes at once (default 1)")->check(CLI::Range(1, 64));
  cmd->add_option("--seed", options->seed, "run every variant with this seed instead of its own");
  cmd->add_option("--steps", options->steps, "run every variant for this many steps instead of its length")
      ->check(CLI::Range(std::int64_t(1), std::int64_t(1) << 40));
  cmd->add_option("--backend", options->backend, "cpu, cuda or auto (default: each variant's \"backend\")")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  cmd->add_option("--db", options->db, "SQLite run store (default: the user's data folder)");
  cmd->add_option("--summary-json", options->summaryJson, "write every variant's name, run id, status and summary here");
  cmd->footer(
      "Exit status: 0 when every variant completed, 1 when one failed or was cancelled,\n"
      "2 for a bad sweep file (the message names the key path), 130/143 when stopped by a signal.");
  cmd->callback([options] {
    const int code = runSweep(*options);
    if (code != 0) throw CliExit(code, "");
  });
}

}  // namespace plab::cli
