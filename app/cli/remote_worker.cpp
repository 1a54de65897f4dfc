// The relay between a local client and a worker reached over SSH (remote_worker.h).
//
// One thread, one poll() over three descriptors: this process's stdin (commands, passed
// to ssh as they are: the remote worker answers a bad one itself), ssh's stdout (events)
// and ssh's stderr (kept, to say what went wrong). Every event is recorded in the local
// store before it is passed on, so what a client has seen is on disk (RunWriter commits
// at least twice a second). The remote events are already batched to ~30 lines a second
// (docs/protocol.md, "Batching and rate"), so the relay passes each line on at once.
#include "remote_worker.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "protocol/messages.h"
#include "protocol/worker_address.h"
#include "run_support.h"
#include "store/event_recorder.h"
#include "store/store.h"
#include "worker_process.h"

namespace plab::cli {
namespace {

using namespace protocol;

void writeEvent(const Event& e) {
  std::fputs((encodeLine(e) + "\n").c_str(), stdout);
  std::fflush(stdout);  // a client that went away is not an error: the run is still recorded
}

void reportError(const std::string& context, const std::string& message) {
  writeEvent(ErrorMessage{message, context});
  std::cerr << "precisionlab-cli worker: " << context << ": " << message << "\n";
}

std::string preview(const std::string& line) { return line.size() > 120 ? line.substr(0, 120) + "..." : line; }

class Relay {
 public:
  Relay(SshWorkerAddress address, EventRecorder& recorder, WorkerProcess& ssh)
      : address_(std::move(address)), recorder_(recorder), ssh_(ssh) {}

  int run() {
    while (ssh_.stdoutFd() >= 0) {
      if (stopSignal() != 0) sendStop();
      pollOnce();
    }
    while (ssh_.stderrFd() >= 0 && ssh_.readStderr()) {
    }
    return finish(ssh_.wait());
  }

 private:
  void sendStop() {
    if (stopSent_) return;
    stopSent_ = true;
    ssh_.send(encodeLine(Command{StopCommand{}}));
  }

  void pollOnce() {
    std::vector<pollfd> fds = {{ssh_.stdoutFd(), POLLIN, 0}, {ssh_.stderrFd(), POLLIN, 0},
                               {stdinOpen_ ? STDIN_FILENO : -1, POLLIN, 0}};
    if (::poll(fds.data(), fds.size(), 200) <= 0) return;  // timeout, or EINTR from a stop signal
    const auto ready = [](const pollfd& p) { return p.fd >= 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)); };
    if (ready(fds[2])) forwardCommands();
    if (ready(fds[1])) ssh_.readStderr();
    if (ready(fds[0])) {
      std::vector<std::string> lines;
      if (!ssh_.readStdout(lines) && ssh_.endedMidLine() && !lines.empty()) {
        lines.pop_back();  // half a message, cut by the connection's end: nothing to read in it
        cutShort_ = true;
      }
      for (const std::string& line : lines) handleLine(line);
    }
  }

  // Commands go to the remote worker line by line; the end of our input is the end of
  // its input, which it takes as `stop` (docs/protocol.md).
  void forwardCommands() {
    char buffer[4096];
    const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) return;
    if (n <= 0) {
      if (!commandPartial_.empty()) ssh_.send(commandPartial_);
      commandPartial_.clear();
      stdinOpen_ = false;
      ssh_.closeInput();
      return;
    }
    commandPartial_.append(buffer, std::size_t(n));
    std::size_t start = 0;
    for (std::size_t nl; (nl = commandPartial_.find('\n', start)) != std::string::npos; start = nl + 1)
      ssh_.send(commandPartial_.substr(start, nl - start));
    commandPartial_.erase(0, start);
  }

  void handleLine(const std::string& line) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) return;
    Event event;
    try {
      event = decodeEvent(line);
    } catch (const std::exception& e) {
      if (!gotHello_ && std::string(e.what()).rfind("v: ", 0) == 0) {
        // Another release at the other end: nothing it says can be trusted to mean
        // what this one reads (docs/protocol.md, "Versioning").
        versionError_ = address_.url + ": the worker there speaks another protocol version (" + e.what() +
                        "); install the same Precision Lab release on both machines";
        reportError("connection", versionError_);
        ssh_.closeInput();
        return;
      }
      // Typically a login script on the server that prints to stdout: say so, go on.
      writeEvent(LogBatch{{LogEntry{"warning", address_.where() + " wrote a line that is not a protocol message "
                                                   "(does a login script there print to stdout?): " +
                                                   preview(line) + " (" + e.what() + ")"}}});
      return;
    }
    if (std::holds_alternative<Hello>(event)) gotHello_ = true;
    if (!storeError_.empty()) return;
    try {
      event = recorder_.record(std::move(event));
    } catch (const StoreError& e) {
      // The local store cannot take the run: stop the remote one rather than train on
      // with nowhere to keep it.
      storeError_ = e.what();
      reportError("database", storeError_);
      sendStop();
      ssh_.closeInput();
      return;
    } catch (const ProtocolError& e) {
      writeEvent(LogBatch{{LogEntry{"warning", "out of order from " + address_.where() + ": " + e.what()}}});
      return;
    }
    writeEvent(event);
  }

  // ssh's stdout has ended: the remote worker is done, or the connection is gone.
  int finish(int sshStatus) {
    if (!storeError_.empty()) return kExitStore;
    if (!versionError_.empty()) return kExitRemote;
    if (recorder_.finished()) return sshStatus == 255 || ssh_.killedBySignal() ? 0 : sshStatus;
    // ssh says 255 for its own failures (no connection, connection lost); killed, it
    // says nothing. Any other status is the remote worker's own exit.
    const bool connectionLost = sshStatus == 255 || ssh_.killedBySignal();
    const std::string sshSaid = lastLine(ssh_.stderrText());
    if (!gotHello_) {
      reportError("connection", describeSshFailure(address_, sshStatus, ssh_.stderrText()));
      return kExitRemote;
    }
    if (!recorder_.started()) {
      if (!connectionLost) return sshStatus;  // its error event (a bad experiment, ...) came through
      reportError("connection", "the connection to " + address_.where() + " was lost before the run started" +
                                    (sshSaid.empty() ? "" : " (ssh: " + sshSaid + ")"));
      return kExitRemote;
    }
    const std::string after = " after step " + std::to_string(recorder_.lastStep());
    const std::string why =
        connectionLost
            ? "the connection to " + address_.where() + " was lost" + after +
                  (ssh_.killedBySignal() ? " (ssh was killed)" : sshSaid.empty() ? "" : " (ssh: " + sshSaid + ")") +
                  "; the steps received are kept" + (cutShort_ ? " (a last message, cut in half, was dropped)" : "")
            : "the remote worker ended (exit status " + std::to_string(sshStatus) + ")" + after +
                  " without finishing the run" + (sshSaid.empty() ? "" : ": " + sshSaid);
    reportError("connection", why);
    try {
      writeEvent(recorder_.endUnfinished(connectionLost ? RunStatus::interrupted : RunStatus::failed, why));
    } catch (const StoreError& e) {
      reportError("database", e.what());
      return kExitStore;
    }
    return connectionLost ? kExitRemote : kExitFailed;
  }

  SshWorkerAddress address_;
  EventRecorder& recorder_;
  WorkerProcess& ssh_;
  std::string commandPartial_;
  std::string storeError_;
  std::string versionError_;
  bool stdinOpen_ = true;
  bool stopSent_ = false;
  bool gotHello_ = false;
  bool cutShort_ = false;   // ssh's stdout ended in the middle of a line
};

}  // namespace

int relayRemoteWorker(const std::string& url, const std::string& db, const std::string& backend) {
  installStopSignalHandlers();
  ::signal(SIGPIPE, SIG_IGN);  // ssh gone, or our client gone: seen as write errors, not a signal
  SshWorkerAddress address;
  try {
    address = parseWorkerAddress(url);
  } catch (const WorkerAddressError& e) {
    reportError("worker", std::string("--remote ") + e.what());
    return kExitBadExperiment;
  }
  const std::string dbPath = db.empty() ? defaultDatabasePath() : db;
  std::unique_ptr<EventRecorder> recorder;
  try {
    recorder = std::make_unique<EventRecorder>(dbPath);
  } catch (const std::exception& e) {
    reportError("database", e.what());
    return kExitStore;
  }
  std::vector<std::string> workerArgs = {"worker", "--no-store"};
  if (!backend.empty()) workerArgs.insert(workerArgs.end(), {"--backend", backend});
  const std::vector<std::string> argv = sshWorkerCommand(address, sshCommandFromEnvironment(), workerArgs);
  std::unique_ptr<WorkerProcess> ssh;
  try {
    ssh = std::make_unique<WorkerProcess>(argv);
  } catch (const CliExit& e) {
    reportError("connection", address.url + ": " + e.what());
    return kExitRemote;
  }
  Relay relay(address, *recorder, *ssh);
  return relay.run();
}

}  // namespace plab::cli
