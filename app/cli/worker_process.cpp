#include "worker_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "commands.h"

extern char** environ;

namespace plab::cli {
namespace {

// Enough of a worker's stderr to explain a failure; the rest is dropped.
constexpr std::size_t kMaxStderr = 16 * 1024;

void closeFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

std::string selfExecutable() {
  char path[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) throw CliExit(1, std::string("cannot find this program's path: ") + std::strerror(errno));
  path[n] = '\0';
  return path;
}

namespace {

std::vector<std::string> workerArguments(const std::string& db, const std::string& backend, const std::string& remote) {
  std::vector<std::string> args = {selfExecutable(), "worker", "--db", db};
  if (!backend.empty()) args.insert(args.end(), {"--backend", backend});
  if (!remote.empty()) args.insert(args.end(), {"--remote", remote});
  return args;
}

}  // namespace

WorkerProcess::WorkerProcess(const std::string& db, const std::string& backend, const std::string& remote)
    : WorkerProcess(workerArguments(db, backend, remote)) {}

WorkerProcess::WorkerProcess(const std::vector<std::string>& arguments) {
  int inPipe[2], outPipe[2], errPipe[2];
  if (::pipe2(inPipe, O_CLOEXEC) != 0 || ::pipe2(outPipe, O_CLOEXEC) != 0 || ::pipe2(errPipe, O_CLOEXEC) != 0) {
    throw CliExit(1, std::string("cannot make pipes for a worker: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, inPipe[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, outPipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, errPipe[1], STDERR_FILENO);
  std::vector<std::string> args = arguments;
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int rc = ::posix_spawnp(&pid_, args[0].c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(inPipe[0]);
  ::close(outPipe[1]);
  ::close(errPipe[1]);
  in_ = inPipe[1];
  out_ = outPipe[0];
  err_ = errPipe[0];
  if (rc != 0) {
    closeFd(in_);
    closeFd(out_);
    closeFd(err_);
    throw CliExit(1, "cannot start a worker (" + args[0] + "): " + std::strerror(rc));
  }
}

WorkerProcess::~WorkerProcess() {
  closeFd(in_);
  closeFd(out_);
  closeFd(err_);
  if (pid_ > 0 && status_ < 0) {
    if (::waitpid(pid_, nullptr, WNOHANG) == 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
}

bool WorkerProcess::send(const std::string& line) {
  if (in_ < 0) return false;
  const std::string text = line + "\n";
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(in_, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;   // EPIPE: the worker has gone (SIGPIPE is ignored by sweep)
    done += std::size_t(n);
  }
  return true;
}

void WorkerProcess::closeInput() { closeFd(in_); }

bool WorkerProcess::readStdout(std::vector<std::string>& lines) {
  char buffer[65536];
  const ssize_t n = ::read(out_, buffer, sizeof buffer);
  if (n < 0 && errno == EINTR) return true;
  if (n <= 0) {
    endedMidLine_ = !partial_.empty();
    if (!partial_.empty()) lines.push_back(std::move(partial_));
    partial_.clear();
    closeFd(out_);
    return false;
  }
  partial_.append(buffer, std::size_t(n));
  std::size_t start = 0;
  for (std::size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(partial_.substr(start, nl - start));
  }
  partial_.erase(0, start);
  return true;
}

bool WorkerProcess::readStderr() {
  char buffer[4096];
  const ssize_t n = ::read(err_, buffer, sizeof buffer);
  if (n < 0 && errno == EINTR) return true;
  if (n <= 0) {
    closeFd(err_);
    return false;
  }
  if (errText_.size() < kMaxStderr) errText_.append(buffer, std::min(std::size_t(n), kMaxStderr - errText_.size()));
  return true;
}

int WorkerProcess::wait() {
  if (status_ >= 0) return status_;
  closeFd(in_);
  int raw = 0;
  while (::waitpid(pid_, &raw, 0) < 0 && errno == EINTR) {
  }
  signaled_ = WIFSIGNALED(raw);
  status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : WIFSIGNALED(raw) ? 128 + WTERMSIG(raw) : 1;
  return status_;
}

}  // namespace plab::cli
