#pragma once
// Where a worker runs when it is not a child of this machine (docs/remote.md): another
// machine reached over SSH, named by a URL
//
//   ssh://[user@]host[:port][/path/to/precisionlab-cli]
//
// The worker there is started as `ssh HOST precisionlab-cli worker --no-store` and speaks
// the same JSON lines (docs/protocol.md) over the SSH channel. Nothing here runs ssh: this
// is the URL, the command line that starts it, and the sentence that says why ssh failed,
// so that the CLI and the GUI read a URL and report a failure the same way.
#include <stdexcept>
#include <string>
#include <vector>

namespace plab::protocol {

struct WorkerAddressError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct SshWorkerAddress {
  std::string url;        // as given
  std::string user;       // "": ssh's choice (the ssh config's User, else the local user name)
  std::string host;       // a name or an address (an IPv6 address without its brackets)
  int port = 0;           // 0: ssh's choice (the config's Port, else 22)
  // The remote precisionlab-cli: the URL's path ("/opt/plab/bin/precisionlab-cli"; a
  // path that starts "/~/" is taken from the remote home folder), or kDefaultRemoteProgram,
  // found on the remote PATH, when the URL has none.
  std::string program;
  // "root@127.0.0.1:2222": for messages.
  std::string where() const;
};

inline constexpr const char* kDefaultRemoteProgram = "precisionlab-cli";
// The environment variable that replaces `ssh` (the program and options before ours,
// split at spaces, as GIT_SSH_COMMAND does without the shell): "ssh -F /path/config".
inline constexpr const char* kSshCommandVariable = "PLAB_SSH_COMMAND";

// Throws WorkerAddressError naming the URL and what is wrong with it, e.g.
// `"ssh://host:99999/x": port 99999 is not in 1..65535`.
SshWorkerAddress parseWorkerAddress(const std::string& url);

// kSshCommandVariable's words, or {"ssh"} when it is unset or blank.
std::vector<std::string> sshCommandFromEnvironment();

// The argv that starts the remote worker: sshCommand, then -o BatchMode=yes (ssh must
// never wait for a password or a host-key question nobody can answer), keep-alives
// (ServerAliveInterval=15, ServerAliveCountMax=4: a silent connection counts as lost
// after a minute), the port and user when the URL has them, `--`, the host, and the
// remote command `program args...` with every word quoted for the remote shell.
std::vector<std::string> sshWorkerCommand(const SshWorkerAddress& address, const std::vector<std::string>& sshCommand,
                                          const std::vector<std::string>& workerArgs);

// Why ssh ended before the remote worker said hello, as a sentence that starts with the
// URL and names the cause (the host key, the authentication, a refused or unreachable
// host, a missing program) from ssh's exit status and what it wrote to stderr.
std::string describeSshFailure(const SshWorkerAddress& address, int exitStatus, const std::string& sshStderr);

// The last non-empty line of ssh's stderr, for "the connection was lost" messages.
std::string lastLine(const std::string& text);

}  // namespace plab::protocol
