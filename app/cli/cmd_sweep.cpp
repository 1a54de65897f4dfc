// precisionlab-cli sweep FILE [--jobs N] [--seed S] [--steps N] [--backend B] [--db PATH]
// Runs every variant of a sweep file (docs/experiment-format.md, "Sweep files"), N
// `worker` processes at once, each storing its run in the SQLite store as any run
// does; prints a progress line (variant i of n, step, time left) and, at the end, a
// table of the variants' results. With --worker ssh://..., each variant trains on that
// machine through a relay worker and is stored here; with --slurm, the variants are
// submitted as one Slurm job array instead (slurm_sweep.h; both in docs/remote.md).
#include <filesystem>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "protocol/messages.h"
#include "remote_run.h"
#include "run_support.h"
#include "slurm_sweep.h"
#include "store/store.h"
#include "store/sweep_store.h"
#include "sweep/comparison.h"
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
  std::string worker;           // ssh://...: where the variants train ("" here)
  std::string db;
  std::string summaryJson;
  std::optional<std::int64_t> resume;
  std::int64_t pace = 0;  // steps a second per variant, 0: full speed
  bool slurm = false;     // submit as a Slurm job array instead (slurm_sweep.h)
  SlurmSubmission submission;
};

// A variant to run now: all of a new sweep's, or the unfinished ones of a resumed one.
struct PlannedVariant {
  int position = 0;             // in the sweep (sweep_variants.position)
  std::string name;
  json set = json::object();    // its changes, as the file gave them ({} when resumed)
  json experimentJson;
  RunStatus expectedStatus = RunStatus::completed;
};

double nowSeconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// One variant's run, from queued to finished.
struct VariantRun {
  enum class State { queued, running, finished };
  const PlannedVariant* variant = nullptr;
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
  // onRunStarted(position, runId): a variant's run exists in the store.
  SweepRunner(const std::vector<PlannedVariant>& plan, const SweepOptions& o,
              std::function<void(int, std::int64_t)> onRunStarted)
      : options_(o), onRunStarted_(std::move(onRunStarted)) {
    for (std::size_t i = 0; i < plan.size(); ++i) {
      VariantRun r;
      r.variant = &plan[i];
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
      r.worker = std::make_unique<WorkerProcess>(options_.db, options_.backend, options_.worker);
      r.state = VariantRun::State::running;
      r.startedAt = nowSeconds();
      // The worker reads commands after its hello; the pipe holds the line until then.
      r.worker->send(protocol::encodeLine(protocol::Command{protocol::StartCommand{r.variant->experimentJson}}));
      if (options_.pace > 0) r.worker->send(protocol::encodeLine(protocol::Command{protocol::PaceCommand{options_.pace}}));
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
      onRunStarted_(r.variant->position, r.runId);
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
    if (r.status != r.variant->expectedStatus) std::cout << " (expected " << toString(r.variant->expectedStatus) << ")";
    else if (r.status != RunStatus::completed) std::cout << " (as expected)";
    if (r.runId) std::cout << " (run " << r.runId << ")";
    if (!r.error.empty()) std::cout << ": " << r.error;
    std::cout << "\n";
    std::cout.flush();
  }

  SweepOptions options_;
  std::function<void(int, std::int64_t)> onRunStarted_;
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

void printTable(const std::vector<VariantRun>& runs) {
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
  std::fflush(stdout);
}

// Every claim of the lesson, on the latest run of each variant of the stored sweep.
std::vector<ClaimCheck> checkClaims(const Lesson& lesson, const SweepRow& stored, const std::string& db) {
  RunReader reader(db);
  return checkLessonClaims(lesson, stored, reader);
}

void printClaims(const std::vector<ClaimCheck>& reports) {
  if (reports.empty()) return;
  std::printf("\nclaims\n");
  for (const ClaimCheck& r : reports) {
    std::printf("  %-14s %s\n  %14s %s\n", toString(r.result.status), r.claim.text.c_str(), "",
                r.result.measured.c_str());
  }
  std::fflush(stdout);
}

void writeSummaryJson(const std::string& path, std::int64_t sweepId, const std::string& title,
                      const std::vector<VariantRun>& runs, const std::vector<ClaimCheck>& claims) {
  json j;
  j["sweep_id"] = sweepId;
  j["title"] = title;
  j["variants"] = json::array();
  for (const VariantRun& r : runs) {
    j["variants"].push_back({{"name", r.variant->name},
                             {"run_id", r.runId},
                             {"status", toString(r.status)},
                             {"expected_status", toString(r.variant->expectedStatus)},
                             {"error", r.error},
                             {"set", r.variant->set},
                             {"summary", r.summary}});
  }
  j["claims"] = json::array();
  for (const ClaimCheck& c : claims) {
    j["claims"].push_back(
        {{"claim", c.claim.text}, {"status", toString(c.result.status)}, {"measured", c.result.measured}});
  }
  std::ofstream out(path);
  out << j.dump(2) << "\n";
  if (!out) throw CliExit(kExitFailed, "--summary-json: cannot write " + path);
}

std::string readSweepText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CliExit(kExitBadExperiment, path + ": cannot open the sweep file");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A new sweep, parsed from its file before anything (the store included) is touched.
Sweep parseNewSweep(const SweepOptions& o, std::string& text) {
  text = readSweepText(o.file);
  SweepOverrides overrides;
  overrides.seed = o.seed;
  overrides.steps = o.steps;
  try {
    return parseSweepText(text, o.file, overrides);
  } catch (const SweepError& e) {
    throw CliExit(kExitBadExperiment, e.what());
  }
}

// Stores a new sweep with its variants before any run, and plans every variant.
std::int64_t storeNewSweep(const SweepOptions& o, const Sweep& sweep, const std::string& text, SweepStore& store,
                           std::vector<PlannedVariant>& plan) {
  json options = json::object();
  if (o.seed) options["seed"] = *o.seed;
  if (o.steps) options["steps"] = *o.steps;
  if (!o.backend.empty()) options["backend"] = o.backend;
  if (!o.worker.empty()) options["worker"] = o.worker;
  std::vector<SweepVariantRow> rows;
  for (std::size_t i = 0; i < sweep.variants.size(); ++i) {
    const SweepVariant& v = sweep.variants[i];
    rows.push_back({int(i), v.name, v.experimentJson, std::nullopt, std::nullopt});
    plan.push_back({int(i), v.name, v.set, v.experimentJson, v.expectedStatus});
  }
  // Stored absolute: its base_file is found again (for the claims in `compare`, the GUI
  // and the report) from whatever folder the store is read.
  return store.createSweep(sweep.title, std::filesystem::absolute(o.file).lexically_normal().string(), text, options, rows);
}

// A stored sweep: the variants without a completed run, from their stored experiments
// (the file may have moved or changed since). The lesson comes from the stored text.
std::int64_t planResumedSweep(const SweepOptions& o, SweepStore& store, std::vector<PlannedVariant>& plan,
                              std::optional<Sweep>& sweep, SweepOptions& effective) {
  const auto row = store.getSweep(*o.resume);
  if (!row) throw CliExit(kExitBadExperiment, "--resume: no sweep " + std::to_string(*o.resume) + " in " + o.db);
  if (row->options.contains("backend") && effective.backend.empty()) effective.backend = row->options["backend"];
  if (row->options.contains("worker") && effective.worker.empty()) effective.worker = row->options["worker"];
  try {
    sweep = parseSweepText(row->source, row->sourceName);
  } catch (const SweepError& e) {
    std::cerr << "sweep " << row->id << ": its file no longer parses where it was (" << e.what()
              << "); its claims cannot be checked\n";
  }
  for (const SweepVariantRow& v : row->variants) {
    const bool sameVariants = sweep && sweep->variants.size() == row->variants.size();
    const RunStatus expected = sameVariants ? sweep->variants[std::size_t(v.position)].expectedStatus : RunStatus::completed;
    if (v.runStatus != expected) plan.push_back({v.position, v.name, json::object(), v.experiment, expected});
  }
  return row->id;
}

// --slurm: the variants go to the cluster as one job array; nothing trains here and
// no store is opened (`merge` makes the sweep in a store from the tasks' files).
int submitToSlurm(const SweepOptions& o) {
  if (o.resume) throw CliExit(kExitBadExperiment, "--slurm submits a sweep FILE; --resume continues a local one");
  if (!o.worker.empty()) throw CliExit(kExitBadExperiment, "--slurm and --worker: choose where the variants train, not both");
  if (!o.summaryJson.empty() || o.pace > 0 || !o.db.empty())
    throw CliExit(kExitBadExperiment, "--slurm: --db, --summary-json and --pace have no meaning for a submitted sweep "
                                      "(merge its folder into a store with `precisionlab-cli merge DIR --db STORE`)");
  std::string text;
  const Sweep sweep = parseNewSweep(o, text);
  SlurmSubmission s = o.submission;
  s.backend = o.backend;
  s.options = json::object();
  if (o.seed) s.options["seed"] = *o.seed;
  if (o.steps) s.options["steps"] = *o.steps;
  if (!o.backend.empty()) s.options["backend"] = o.backend;
  return submitSweepToSlurm(sweep, o.file, text, s);
}

int runSweep(const SweepOptions& o) {
  if (o.file.empty() == !o.resume) throw CliExit(kExitBadExperiment, "give a sweep FILE or --resume ID, one of the two");
  if (o.slurm) return submitToSlurm(o);
  if (!o.submission.partition.empty() || !o.submission.gres.empty() || !o.submission.dir.empty())
    throw CliExit(kExitBadExperiment, "--partition, --gres and --dir are for --slurm");
  if (!o.worker.empty()) requireWorkerAddress("--worker", o.worker);
  SweepOptions options = o;
  if (options.db.empty()) options.db = defaultDatabasePath();
  std::optional<Sweep> sweep;
  std::string text;
  if (!o.resume) sweep = parseNewSweep(o, text);
  std::unique_ptr<SweepStore> store;
  try {
    store = std::make_unique<SweepStore>(options.db);
  } catch (const std::exception& e) {
    throw CliExit(kExitStore, std::string("database: ") + e.what());
  }
  std::vector<PlannedVariant> plan;
  const std::int64_t sweepId = o.resume ? planResumedSweep(options, *store, plan, sweep, options)
                                        : storeNewSweep(options, *sweep, text, *store, plan);
  const std::string title = sweep && !sweep->title.empty() ? sweep->title : o.file;
  std::cout << "sweep " << sweepId << " \"" << title << "\": " << plan.size() << " variant"
            << (plan.size() == 1 ? "" : "s") << (o.resume ? " left to run" : "") << ", " << options.jobs
            << " at a time, store " << options.db << "\n";
  std::cout.flush();

  installStopSignalHandlers();
  ::signal(SIGPIPE, SIG_IGN);  // a worker that died is seen as EOF on its stdout, not a signal here
  // Each run is named after its variant, so the run browser and every legend say which
  // variant it was ("fp16, no scaling · sweep 7"), not only the experiment's title.
  RunReader namer(options.db);
  SweepRunner runner(plan, options, [&](int position, std::int64_t runId) {
    store->setVariantRun(sweepId, position, runId);
    for (const PlannedVariant& v : plan) {
      if (v.position == position) namer.renameRun(runId, v.name + " · sweep " + std::to_string(sweepId));
    }
  });
  runner.run();
  if (!plan.empty()) printTable(runner.runs());

  std::vector<ClaimCheck> claims;
  if (sweep && sweep->lesson && stopSignal() == 0) {
    claims = checkClaims(*sweep->lesson, *store->getSweep(sweepId), options.db);
    printClaims(claims);
  }
  if (!o.summaryJson.empty()) writeSummaryJson(o.summaryJson, sweepId, title, runner.runs(), claims);
  if (stopSignal() != 0) return exitCodeForCancel();
  for (const VariantRun& r : runner.runs()) {
    if (r.status != r.variant->expectedStatus) return kExitFailed;
  }
  for (const ClaimCheck& c : claims) {
    if (c.result.status == ClaimStatus::fails || c.result.status == ClaimStatus::no_data) return kExitFailed;
  }
  return 0;
}

}  // namespace

void addSweepCommand(CLI::App& app) {
  auto options = std::make_shared<SweepOptions>();
  CLI::App* cmd = app.add_subcommand("sweep", "run every variant of a sweep file, several worker processes at once");
  cmd->add_option("FILE", options->file, "sweep file (JSON; docs/experiment-format.md, \"Sweep files\")");
  cmd->add_option("--resume", options->resume, "run the variants of stored sweep ID that have no completed run");
  cmd->add_option("--jobs,-j", options->jobs, "worker processes at once (default 1)")->check(CLI::Range(1, 64));
  cmd->add_option("--seed", options->seed, "run every variant with this seed instead of its own");
  cmd->add_option("--steps", options->steps, "run every variant for this many steps instead of its length")
      ->check(CLI::Range(std::int64_t(1), std::int64_t(1) << 40));
  cmd->add_option("--backend", options->backend, "cpu, cuda or auto (default: each variant's \"backend\")")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  cmd->add_option("--worker", options->worker,
                  "ssh://[user@]host[:port][/path/to/precisionlab-cli]: train every variant on that machine, "
                  "store the runs here (docs/remote.md)");
  cmd->add_flag("--slurm", options->slurm,
                "submit the variants to Slurm as one job array, a task each, instead of running them here "
                "(docs/remote.md); then `precisionlab-cli merge DIR`");
  cmd->add_option("--partition", options->submission.partition, "--slurm: the partition (default: the cluster's)");
  cmd->add_option("--gres", options->submission.gres, "--slurm: generic resources per task, e.g. gpu:1");
  cmd->add_option("--dir", options->submission.dir,
                  "--slurm: a new folder on storage the nodes share, for the tasks' experiments, stores and logs "
                  "(default: precisionlab-slurm/TITLE-TIME here)");
  cmd->add_option("--pace", options->pace, "at most this many steps a second per variant, to watch a lesson unfold (default: full speed)")
      ->check(CLI::Range(std::int64_t(0), protocol::kMostPaceStepsPerSecond));
  cmd->add_option("--db", options->db, "SQLite run store (default: the user's data folder)");
  cmd->add_option("--summary-json", options->summaryJson, "write every variant's name, run id, status and summary here");
  cmd->footer(
      "Exit status: 0 when every variant completed (and every claim of a lesson holds),\n"
      "1 when one failed or was cancelled or a claim does not hold,\n"
      "2 for a bad sweep file (the message names the key path), 130/143 when stopped by a signal.");
  cmd->callback([options] {
    const int code = runSweep(*options);
    if (code != 0) throw CliExit(code, "");
  });
}

}  // namespace plab::cli
