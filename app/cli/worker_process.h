#pragma once
// One `precisionlab-cli worker` child of this process, spoken to over pipes in the
// worker protocol (docs/protocol.md): commands to its stdin, events from its stdout.
// `sweep` runs several at once; each reads and writes through poll() in one thread.
// The relay of a remote worker (remote_worker.cpp) starts its `ssh` the same way.
#include <sys/types.h>

#include <string>
#include <vector>

namespace plab::cli {

class WorkerProcess {
 public:
  // Starts this same binary as `worker --db DB [--backend B] [--remote URL]` (a remote
  // worker is relayed by a local one: docs/remote.md). Throws CliExit when the process
  // cannot be made.
  WorkerProcess(const std::string& db, const std::string& backend, const std::string& remote = "");
  // Starts argv[0] (looked up on PATH when it has no '/') with these arguments.
  explicit WorkerProcess(const std::vector<std::string>& argv);
  ~WorkerProcess();  // closes the pipes and reaps the child (killing it if still running)
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  // Writes one line (a newline is added). False if the worker is gone.
  bool send(const std::string& line);
  void closeInput();  // end of input: the worker stops a run in progress, then exits

  int stdoutFd() const { return out_; }
  int stderrFd() const { return err_; }
  // After poll() said fd is readable: reads what is there. Complete stdout lines are
  // appended to `lines`; stderr text is kept (stderrText()). Returns false at EOF.
  bool readStdout(std::vector<std::string>& lines);
  // At EOF: the last line handed out had no newline (the stream was cut mid-line).
  bool endedMidLine() const { return endedMidLine_; }
  bool readStderr();
  const std::string& stderrText() const { return errText_; }

  // Waits for the child to exit; its exit status as the shell reports it (128 + signal).
  int wait();
  // After wait(): the child was ended by a signal (rather than exiting).
  bool killedBySignal() const { return signaled_; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, err_ = -1;
  std::string partial_;   // stdout text after the last newline
  std::string errText_;
  int status_ = -1;
  bool signaled_ = false;
  bool endedMidLine_ = false;
};

// The path of the running executable, to start its `worker` subcommand.
std::string selfExecutable();

}  // namespace plab::cli
