// precisionlab-cli worker: the training engine speaking JSON lines (docs/architecture.md,
// "Process model"; messages in docs/protocol.md and engine/protocol/messages.h).
//
// stdin:  a `start` command with the experiment, then `pause`, `resume`, `stop` at any
//         time (a reader thread sets the run's atomic flags). End of input = `stop`:
//         a worker whose GUI went away cancels its run instead of training on.
// stdout: `hello`, then the run's events batched by protocol::EventBatcher (about
//         30 lines a second), ending with `run_finished`. Nothing else is written
//         there; diagnostics go to stderr.
// The worker writes the run to SQLite itself, so the GUI loses nothing if either dies.
// Two variants (docs/remote.md): `--no-store` keeps no store, for a worker on another
// machine whose events are recorded by the relay that started it over SSH; `--remote
// URL` is that relay (remote_worker.cpp).
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "backend/registry.h"
#include "commands.h"
#include "model/memory_estimate.h"
#include "model/network.h"
#include "protocol/event_batcher.h"
#include "remote_worker.h"
#include "run_support.h"
#include "store/store.h"
#include "train/event_stream.h"
#include "train/store_recorder.h"
#include "train/trainer.h"

namespace plab::cli {

namespace {

using protocol::EventBatcher;

// Owns stdout: events go in from any thread, a writer thread sends them out as the
// batcher allows.
class EventWriter {
 public:
  EventWriter() : thread_([this] { loop(); }) {}
  ~EventWriter() { close(); }

  void send(protocol::Event e) {
    std::lock_guard lock(mutex_);
    if (closed_) return;  // a late command's error after the run ended
    batcher_.add(std::move(e), EventBatcher::Clock::now());
    wake_.notify_one();
  }
  // Writes everything still pending and stops the writer thread.
  void close() {
    {
      std::lock_guard lock(mutex_);
      if (closed_) return;
      closed_ = true;
      wake_.notify_one();
    }
    thread_.join();
  }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
      const auto now = EventBatcher::Clock::now();
      write(closed_ ? batcher_.takeAll() : batcher_.take(now));
      if (closed_) return;
      const auto due = batcher_.nextDue(now);
      if (due) wake_.wait_until(lock, *due);
      else wake_.wait(lock);
    }
  }
  static void write(const std::vector<protocol::Event>& events) {
    for (const auto& e : events) std::fputs((encodeOrReport(e) + "\n").c_str(), stdout);
    if (!events.empty()) std::fflush(stdout);
  }
  // An exception here would end the writer thread, and with it the process, before
  // the run is finished in the store: an event that cannot be encoded goes out as an
  // error event instead (docs/protocol.md, "Envelope").
  static std::string encodeOrReport(const protocol::Event& e) {
    try {
      return protocol::encodeLine(e);
    } catch (const std::exception& error) {
      std::cerr << "precisionlab-cli worker: cannot encode a " << protocol::typeName(e) << " event: " << error.what() << "\n";
      return protocol::encodeLine(protocol::ErrorMessage{
          std::string("cannot encode a ") + protocol::typeName(e) + " event: " + error.what(), "worker"});
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  EventBatcher batcher_;
  bool closed_ = false;
  std::thread thread_;
};

// Reads commands from stdin. The first `start` is handed to the main thread; pause,
// resume and stop act on the run control at once.
class CommandReader {
 public:
  CommandReader(RunControl& control, EventWriter& out) : control_(control), out_(out) {
    std::thread([this] { loop(); }).detach();  // blocked in a read; the process ends it
  }
  // Waits for the start command; nullopt when stdin ended (or stop came) first.
  std::optional<nlohmann::json> waitForStart() {
    std::unique_lock lock(mutex_);
    startArrived_.wait(lock, [this] { return start_.has_value() || ended_; });
    return start_;
  }

 private:
  void loop() {
    std::string line;
    while (std::getline(std::cin, line)) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      try {
        handle(protocol::decodeCommand(line));
      } catch (const std::exception& e) {
        out_.send(protocol::ErrorMessage{std::string("bad command: ") + e.what(), "command"});
      }
    }
    control_.requestStop();
    std::lock_guard lock(mutex_);
    ended_ = true;
    startArrived_.notify_all();
  }
  void handle(const protocol::Command& command) {
    if (auto* start = std::get_if<protocol::StartCommand>(&command)) {
      std::lock_guard lock(mutex_);
      if (start_) throw std::runtime_error("a run was already started; one worker runs one experiment");
      start_ = start->experiment;
      startArrived_.notify_all();
    } else if (std::holds_alternative<protocol::PauseCommand>(command)) {
      control_.requestPause();
    } else if (std::holds_alternative<protocol::ResumeCommand>(command)) {
      control_.requestResume();
    } else if (auto* pace = std::get_if<protocol::PaceCommand>(&command)) {
      control_.setPace(pace->stepsPerSecond);
    } else if (std::holds_alternative<protocol::StopCommand>(command)) {
      control_.requestStop();
      std::lock_guard lock(mutex_);
      ended_ = true;  // a stop before start ends the worker too
      startArrived_.notify_all();
    }
  }

  RunControl& control_;
  EventWriter& out_;
  std::mutex mutex_;
  std::condition_variable startArrived_;
  std::optional<nlohmann::json> start_;
  bool ended_ = false;
};

struct WorkerOptions {
  std::string db;
  std::string backend;
  std::string remote;     // ssh://...: relay to a worker there (remote_worker.h)
  bool noStore = false;   // the events are the run's only record
};

// Emits an error event; returns the exit code for it.
int reportError(EventWriter& out, const std::string& context, const std::string& message, int code) {
  out.send(protocol::ErrorMessage{message, context});
  std::cerr << "precisionlab-cli worker: " << context << ": " << message << "\n";
  return code;
}

int trainFromStdin(const WorkerOptions& o, EventWriter& out);

int runWorker(const WorkerOptions& o) {
  installStopSignalHandlers();
  // Deliberately never destroyed: the reader thread may still be blocked on stdin
  // (and hand a late command to the writer) while the process exits.
  EventWriter& out = *new EventWriter;
  const int code = trainFromStdin(o, out);
  out.close();  // everything pending goes out; run_finished is the last line
  if (code == 0 && stopSignal() != 0) return exitCodeForCancel();
  return code;
}

int trainFromStdin(const WorkerOptions& o, EventWriter& out) {
  RunControl& control = processRunControl();
  std::string note;
  std::unique_ptr<Backend> backend;
  try {
    backend = createBackend(o.backend.empty() ? "auto" : o.backend, note);
  } catch (const std::exception& e) {
    return reportError(out, "backend", e.what(), kExitBackend);
  }
  const BackendInfo info = backend->info();
  out.send(protocol::Hello{protocol::kProtocolVersion, info.name, info.device});
  CommandReader& commands = *new CommandReader(control, out);  // lives as long as its thread

  const std::optional<nlohmann::json> file = commands.waitForStart();
  if (!file) return 0;  // stopped or stdin closed before a start: nothing to do
  Experiment experiment;
  Dataset data;
  try {
    experiment = parseExperiment(*file);
  } catch (const std::exception& e) {
    return reportError(out, "experiment", e.what(), kExitBadExperiment);
  }
  try {
    data = loadDataset(experiment.dataset, experiment.seed);
  } catch (const std::exception& e) {
    return reportError(out, "dataset", e.what(), kExitDataset);
  }
  // The file may ask for a specific backend; --backend on the command line wins.
  if (o.backend.empty() && experiment.backend != "auto" && experiment.backend != info.name) {
    try {
      backend = createBackend(experiment.backend, note);
    } catch (const std::exception& e) {
      return reportError(out, "backend", e.what(), kExitBackend);
    }
  }
  // Without a store, run_started says run 0 in no database: the relay that records
  // the events puts its own run id and file there (store/event_recorder.h).
  const std::string dbPath = o.noStore ? "" : o.db.empty() ? defaultDatabasePath() : o.db;
  std::unique_ptr<StoreRecorder> store;
  try {
    if (!o.noStore) store = std::make_unique<StoreRecorder>(dbPath);
  } catch (const std::exception& e) {
    return reportError(out, "database", e.what(), kExitStore);
  }
  StoreRecorder* storePtr = store.get();
  EventStreamObserver events([&out](protocol::Event e) { out.send(std::move(e)); },
                             [storePtr] { return storePtr ? storePtr->runId() : 0; }, dbPath);
  ObserverList observers;
  if (store) observers.add(store.get());  // first: the run id exists before run_started goes out
  observers.add(&events);
  try {
    requireTrainingMemory(experiment, data, backend->info());  // before anything is allocated
    Trainer trainer(experiment, data, *backend, observers, control, note);
    trainer.run();
  } catch (const ShapeError& e) {
    return reportError(out, "network", e.what(), kExitBadExperiment);
  } catch (const StoreError& e) {
    try { if (store) store->markFailed(e.what()); } catch (const std::exception&) {}
    return reportError(out, "database", e.what(), kExitStore);
  } catch (const std::exception& e) {
    try { if (store) store->markFailed(e.what()); } catch (const std::exception&) {}
    return reportError(out, "run", e.what(), kExitFailed);
  }
  return 0;
}

}  // namespace

void addWorkerCommand(CLI::App& app) {
  auto options = std::make_shared<WorkerOptions>();
  CLI::App* cmd = app.add_subcommand(
      "worker", "Run one experiment sent on stdin as JSON lines, streaming events on stdout (docs/protocol.md)");
  cmd->add_option("--db", options->db, "SQLite run store (default: the user's data folder)");
  cmd->add_option("--backend", options->backend, "cpu, cuda or auto (default: the experiment's \"backend\")")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  cmd->add_option("--remote", options->remote,
                  "ssh://[user@]host[:port][/path/to/precisionlab-cli]: train there over SSH, record the run "
                  "here (docs/remote.md)");
  cmd->add_flag("--no-store", options->noStore,
                "keep no run store: the events on stdout are the run's only record (what a remote worker does)");
  cmd->callback([options] {
    if (!options->remote.empty() && options->noStore)
      throw CliExit(kExitBadExperiment, "worker: --remote records the run here; --no-store is for the worker at the other end");
    const int code = options->remote.empty() ? runWorker(*options)
                                             : relayRemoteWorker(options->remote, options->db, options->backend);
    std::fflush(stdout);
    if (code != 0) throw CliExit(code, "");
  });
}

}  // namespace plab::cli
