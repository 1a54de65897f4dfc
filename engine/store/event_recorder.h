#pragma once
// A run trained by another process, recorded from its events (docs/remote.md): a worker
// on another machine keeps no store of its own (`worker --no-store`), and the local
// relay writes what arrives over the SSH channel into the local store through RunWriter,
// the same rows a local worker's StoreRecorder writes. Each event is written as it
// comes (RunWriter commits at least twice a second), so a connection that breaks
// leaves every step received, and `interrupt` ends the run `interrupted`.
#include <cstdint>
#include <memory>
#include <string>

#include "protocol/messages.h"
#include "store/store.h"

namespace plab {

class EventRecorder {
 public:
  // Opens (creating or migrating) the store; throws StoreError naming the file.
  explicit EventRecorder(const std::string& dbPath, StoreOptions options = {});
  ~EventRecorder();
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  // Writes what `event` holds and returns it as this store knows it: run_started with
  // the local run id and database, run_finished with the local run id in its summary;
  // other events unchanged. Throws StoreError when the store fails, and
  // protocol::ProtocolError for an event out of order (records before run_started).
  protocol::Event record(protocol::Event event);

  // The stream ended without run_finished: ends the run with `status` (`interrupted`
  // when the connection broke, `failed` when the worker died) and `why`, every row
  // received so far kept, and returns the run_finished to report. Before run_started
  // there is no run to end: nothing is written.
  protocol::RunFinished endUnfinished(RunStatus status, const std::string& why);

  bool started() const { return runId_ != 0; }
  bool finished() const { return finished_; }
  std::int64_t runId() const { return runId_; }
  std::int64_t lastStep() const { return lastStep_; }
  const std::string& path() const { return path_; }

 private:
  struct Writer;
  void requireRun(const char* type) const;

  std::string path_;
  std::unique_ptr<RunWriter> writer_;
  std::int64_t runId_ = 0;
  std::int64_t lastStep_ = 0;
  bool finished_ = false;
  std::string backendNote_;   // a "backend: ..." log line before run_started
};

}  // namespace plab
