#include "protocol/worker_address.h"

#include <cstdlib>
#include <sstream>

namespace plab::protocol {
namespace {

[[noreturn]] void fail(const std::string& url, const std::string& what) {
  throw WorkerAddressError("\"" + url + "\": " + what);
}

bool hasControlOrSpace(const std::string& s) {
  for (unsigned char c : s) {
    if (c <= ' ' || c == 0x7f) return true;
  }
  return false;
}

// A word for the remote shell: in single quotes, each ' written as '\''.
std::string shellQuote(const std::string& word) {
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The program as the remote shell should see it: quoted, except a leading "~/", which
// only the shell can expand to the remote home folder.
std::string quoteProgram(const std::string& program) {
  if (program.rfind("~/", 0) == 0) return "~/" + shellQuote(program.substr(2));
  return shellQuote(program);
}

bool contains(const std::string& text, const char* what) { return text.find(what) != std::string::npos; }

}  // namespace

std::string SshWorkerAddress::where() const {
  const bool v6 = host.find(':') != std::string::npos;
  std::string s = user.empty() ? "" : user + "@";
  s += v6 && port ? "[" + host + "]" : host;
  if (port) s += ":" + std::to_string(port);
  return s;
}

SshWorkerAddress parseWorkerAddress(const std::string& url) {
  SshWorkerAddress a;
  a.url = url;
  const std::string scheme = "ssh://";
  if (url.rfind(scheme, 0) != 0)
    fail(url, "a worker address must start with ssh:// (ssh://[user@]host[:port][/path/to/precisionlab-cli])");
  std::string rest = url.substr(scheme.size());
  if (hasControlOrSpace(rest)) fail(url, "spaces and control characters are not allowed in a worker address");

  const auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  const std::string path = slash == std::string::npos ? "" : rest.substr(slash);
  if (const auto at = authority.rfind('@'); at != std::string::npos) {
    a.user = authority.substr(0, at);
    authority = authority.substr(at + 1);
    if (a.user.empty()) fail(url, "the user before '@' is empty");
    if (a.user[0] == '-') fail(url, "the user \"" + a.user + "\" must not start with '-'");
  }
  std::string port;
  if (!authority.empty() && authority[0] == '[') {  // [IPv6]:port
    const auto close = authority.find(']');
    if (close == std::string::npos) fail(url, "'[' opens an IPv6 address that no ']' closes");
    a.host = authority.substr(1, close - 1);
    const std::string after = authority.substr(close + 1);
    if (!after.empty() && after[0] != ':') fail(url, "after the ']' of an IPv6 address only :port may follow");
    if (!after.empty()) port = after.substr(1);
    if (port.empty() && !after.empty()) fail(url, "the port after ':' is empty");
  } else {
    const auto colon = authority.find(':');
    a.host = authority.substr(0, colon);
    if (colon != std::string::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) fail(url, "the port after ':' is empty");
    }
  }
  if (a.host.empty()) fail(url, "no host (ssh://[user@]host[:port][/path/to/precisionlab-cli])");
  if (a.host[0] == '-') fail(url, "the host \"" + a.host + "\" must not start with '-'");
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
      fail(url, "port \"" + port + "\" is not a number");
    a.port = std::atoi(port.c_str());
    if (a.port < 1 || a.port > 65535) fail(url, "port " + port + " is not in 1..65535");
  }
  if (path.empty() || path == "/") {
    a.program = kDefaultRemoteProgram;
  } else if (path.rfind("/~/", 0) == 0) {
    a.program = path.substr(1);
  } else {
    a.program = path;
  }
  if (a.program.back() == '/') fail(url, "the path \"" + path + "\" names a folder, not the precisionlab-cli program");
  return a;
}

std::vector<std::string> sshCommandFromEnvironment() {
  std::vector<std::string> words;
  if (const char* text = std::getenv(kSshCommandVariable)) {
    std::istringstream in(text);
    for (std::string w; in >> w;) words.push_back(w);
  }
  if (words.empty()) words.push_back("ssh");
  return words;
}

std::vector<std::string> sshWorkerCommand(const SshWorkerAddress& a, const std::vector<std::string>& sshCommand,
                                          const std::vector<std::string>& workerArgs) {
  std::vector<std::string> argv = sshCommand;
  argv.insert(argv.end(), {"-o", "BatchMode=yes"});
  // A connection that goes silent (a laptop that lost its network) is seen as lost
  // within a minute rather than TCP's hours; the run is then ended `interrupted`.
  // Options given first (kSshCommandVariable, ~/.ssh/config is read later) win.
  argv.insert(argv.end(), {"-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4"});
  if (a.port) argv.insert(argv.end(), {"-p", std::to_string(a.port)});
  if (!a.user.empty()) argv.insert(argv.end(), {"-l", a.user});
  argv.push_back("--");
  argv.push_back(a.host);
  // ssh joins the words after the host with spaces and hands them to the remote
  // user's shell: one string, each word quoted, so that a path or a value with a
  // space or a quote arrives as it was.
  std::string remote = quoteProgram(a.program);
  for (const std::string& w : workerArgs) remote += " " + shellQuote(w);
  argv.push_back(remote);
  return argv;
}

std::string lastLine(const std::string& text) {
  std::istringstream in(text);
  std::string last;
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) last = line;
  }
  return last;
}

std::string describeSshFailure(const SshWorkerAddress& a, int exitStatus, const std::string& err) {
  const std::string said = lastLine(err);
  const std::string ssh = said.empty() ? "" : " (ssh: " + said + ")";
  // The machine (host and port), not the login: a host key belongs to the machine.
  SshWorkerAddress machine = a;
  machine.user.clear();
  const std::string host = machine.where();
  std::string why;
  if (contains(err, "REMOTE HOST IDENTIFICATION HAS CHANGED") || contains(err, "has changed and you have requested strict")) {
    why = "host key verification failed: the host key that " + host +
          " sent is not the one known for it in known_hosts (the server's key changed, or something is in between); "
          "if the key really changed, remove the old one with ssh-keygen -R and connect once by hand";
  } else if (contains(err, "host key is known for") || contains(err, "Host key verification failed")) {
    why = "host key verification failed: no host key is known for " + host +
          " (it is not in known_hosts, and with BatchMode ssh cannot ask); connect once with ssh by hand and "
          "check the fingerprint, or add the key with ssh-keyscan";
  } else if (contains(err, "Permission denied") || contains(err, "Too many authentication failures")) {
    why = "authentication failed: " + a.where() +
          " refused every key offered (is this machine's public key in ~/.ssh/authorized_keys there, and is the "
          "key loaded in ssh-agent or named by IdentityFile? BatchMode never asks for a password)";
  } else if (contains(err, "Connection refused")) {
    why = "the connection was refused: nothing accepts SSH connections on " + host;
  } else if (contains(err, "Could not resolve hostname")) {
    why = "unknown host \"" + a.host + "\": the name does not resolve";
  } else if (contains(err, "timed out") || contains(err, "No route to host") || contains(err, "Network is unreachable")) {
    why = "cannot reach " + host;
  } else if (exitStatus == 127 || exitStatus == 126) {
    why = "the worker program " + a.program + " cannot be run on " + host +
          (exitStatus == 127 ? " (not found: give its full path in the URL, ssh://host/path/to/precisionlab-cli)"
                             : " (not executable)");
  } else if (contains(err, "Connection closed") || contains(err, "Connection reset") ||
             contains(err, "closed by remote host")) {
    why = "the connection was closed by " + host + " before the worker started";
  } else if (exitStatus == 255) {
    why = "ssh could not connect to " + host;
  } else {
    why = "the remote worker ended (exit status " + std::to_string(exitStatus) + ") before it said hello";
  }
  return a.url + ": " + why + ssh;
}

}  // namespace plab::protocol
