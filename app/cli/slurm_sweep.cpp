#include "slurm_sweep.h"

#include <poll.h>
#include <sys/stat.h>

#include <cctype>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <vector>

#include "commands.h"
#include "protocol/worker_address.h"
#include "run_support.h"
#include "worker_process.h"

namespace plab::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A word for the job script's shell: in single quotes, each ' written as '\''.
std::string shellQuote(const std::string& word) {
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// "fp16 with and without loss scaling" -> "fp16-with-and-without-loss-scaling": at most
// 40 characters, cut after a whole word.
std::string slug(const std::string& title) {
  constexpr std::size_t kMost = 40;
  std::string s;
  for (unsigned char c : title) {
    if (std::isalnum(c)) s += char(std::tolower(c));
    else if (!s.empty() && s.back() != '-') s += '-';
  }
  if (s.size() > kMost) {
    const std::size_t cut = s.rfind('-', kMost);
    s.resize(cut != std::string::npos && cut > 0 ? cut : kMost);
  }
  while (!s.empty() && s.back() == '-') s.pop_back();
  return s.empty() ? "sweep" : s;
}

std::string utcStamp() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%d-%H%M%S", &tm);
  return text;
}

// 128 random bits as hex: what makes a second merge of the same folder find its sweep.
std::string randomId() {
  std::ifstream in("/dev/urandom", std::ios::binary);
  unsigned char bytes[16] = {};
  in.read(reinterpret_cast<char*>(bytes), sizeof bytes);
  if (!in) throw CliExit(kExitFailed, "cannot read /dev/urandom for the sweep's id");
  std::string hex;
  char two[3];
  for (unsigned char b : bytes) {
    std::snprintf(two, sizeof two, "%02x", b);
    hex += two;
  }
  return hex;
}

std::string taskName(std::size_t position) {
  char text[16];
  std::snprintf(text, sizeof text, "%03zu", position);
  return text;
}

void writeText(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.flush();
  if (!out) throw CliExit(kExitFailed, "--dir: cannot write " + path.string());
}

struct CommandResult {
  int status = 0;
  std::string out, err;
};

// Runs a program to its end, its stdout and stderr kept.
CommandResult runCommand(const std::vector<std::string>& argv) {
  WorkerProcess p(argv);
  p.closeInput();
  CommandResult r;
  std::vector<std::string> lines;
  while (p.stdoutFd() >= 0 || p.stderrFd() >= 0) {
    std::vector<pollfd> fds;
    if (p.stdoutFd() >= 0) fds.push_back({p.stdoutFd(), POLLIN, 0});
    if (p.stderrFd() >= 0) fds.push_back({p.stderrFd(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), 1000) <= 0) continue;
    for (const pollfd& f : fds) {
      if (!(f.revents & (POLLIN | POLLHUP | POLLERR))) continue;
      if (f.fd == p.stdoutFd()) p.readStdout(lines);
      else p.readStderr();
    }
  }
  r.status = p.wait();
  for (const std::string& l : lines) r.out += l + "\n";
  r.err = p.stderrText();
  return r;
}

// The sbatch script: one array task per variant, each `run` into its own store.
std::string jobScript(const fs::path& dir, const Sweep& sweep, const SlurmSubmission& s) {
  std::string script = "#!/bin/sh\n";
  script += "# Written by `precisionlab-cli sweep --slurm` (docs/remote.md). Task N trains variant N.\n";
  script += "#SBATCH --job-name=plab-" + slug(sweep.title) + "\n";
  script += "#SBATCH --array=0-" + std::to_string(sweep.variants.size() - 1) + "\n";
  // %a is the task's index; Slurm does not pad it, so the logs are logs/0.out, logs/1.out...
  script += "#SBATCH --output=" + (dir / "logs" / "%a.out").string() + "\n";
  if (!s.partition.empty()) script += "#SBATCH --partition=" + s.partition + "\n";
  if (!s.gres.empty()) script += "#SBATCH --gres=" + s.gres + "\n";
  script += "task=$(printf %03d \"$SLURM_ARRAY_TASK_ID\")\n";
  script += "dir=" + shellQuote(dir.string()) + "\n";
  script += "exec " + shellQuote(selfExecutable()) + " run \"$dir/variants/$task.json\" --db \"$dir/runs/$task.sqlite\"" +
            (s.backend.empty() ? "" : " --backend " + shellQuote(s.backend)) + "\n";
  return script;
}

void requireSafeOption(const char* option, const std::string& value) {
  for (unsigned char c : value) {
    if (c <= ' ' || c == '\'' || c == '"' || c == '\\' || c == 0x7f)
      throw CliExit(kExitBadExperiment, std::string(option) + " \"" + value + "\": spaces, quotes and control characters are not allowed");
  }
}

}  // namespace

int submitSweepToSlurm(const Sweep& sweep, const std::string& file, const std::string& text,
                       const SlurmSubmission& s) {
  requireSafeOption("--partition", s.partition);
  requireSafeOption("--gres", s.gres);
  if (sweep.variants.empty()) throw CliExit(kExitBadExperiment, file + ": the sweep has no variants to submit");
  const fs::path dir = fs::absolute(s.dir.empty() ? fs::path("precisionlab-slurm") / (slug(sweep.title) + "-" + utcStamp())
                                                  : fs::path(s.dir)).lexically_normal();
  std::error_code ec;
  if (fs::exists(dir / kSlurmManifest, ec))
    throw CliExit(kExitBadExperiment, "--dir " + dir.string() + ": already holds a submitted sweep (" +
                                          kSlurmManifest + "); give a new folder");
  for (const char* sub : {"variants", "runs", "logs"}) {
    fs::create_directories(dir / sub, ec);
    if (ec) throw CliExit(kExitFailed, "--dir: cannot make " + (dir / sub).string() + ": " + ec.message());
  }

  json manifest = {{"format", kSlurmManifestFormat},
                   {"version", kSlurmManifestVersion},
                   {"id", randomId()},
                   {"title", sweep.title},
                   {"source_name", fs::absolute(file).lexically_normal().string()},
                   {"source", text},
                   {"options", s.options},
                   {"variants", json::array()}};
  for (std::size_t i = 0; i < sweep.variants.size(); ++i) {
    const SweepVariant& v = sweep.variants[i];
    writeText(dir / "variants" / (taskName(i) + ".json"), v.experimentJson.dump(2) + "\n");
    manifest["variants"].push_back({{"position", i},
                                    {"name", v.name},
                                    {"experiment", "variants/" + taskName(i) + ".json"},
                                    {"db", "runs/" + taskName(i) + ".sqlite"},
                                    {"log", "logs/" + std::to_string(i) + ".out"}});
  }
  writeText(dir / "job.sh", jobScript(dir, sweep, s));
  fs::permissions(dir / "job.sh", fs::perms::owner_exec, fs::perm_options::add, ec);
  writeText(dir / kSlurmManifest, manifest.dump(2) + "\n");  // before sbatch: its tasks may finish at once

  CommandResult submitted;
  try {
    submitted = runCommand({"sbatch", "--parsable", (dir / "job.sh").string()});
  } catch (const CliExit& e) {
    throw CliExit(kExitFailed, std::string(e.what()) + " (is Slurm's sbatch installed and on PATH? Debian: slurm-client)");
  }
  const std::string said = protocol::lastLine(submitted.err);
  if (submitted.status != 0)
    throw CliExit(kExitFailed, "sbatch refused " + (dir / "job.sh").string() + " (exit status " +
                                   std::to_string(submitted.status) + ")" + (said.empty() ? "" : ": " + said));
  // --parsable prints "JOBID" or "JOBID;CLUSTER".
  std::string jobId = protocol::lastLine(submitted.out);
  jobId = jobId.substr(0, jobId.find(';'));
  if (jobId.empty() || jobId.find_first_not_of("0123456789") != std::string::npos)
    throw CliExit(kExitFailed, "sbatch printed no job id (stdout: \"" + submitted.out + "\")");
  manifest["job_id"] = jobId;
  writeText(dir / kSlurmManifest, manifest.dump(2) + "\n");

  std::cout << "sweep \"" << (sweep.title.empty() ? file : sweep.title) << "\": " << sweep.variants.size()
            << " variant" << (sweep.variants.size() == 1 ? "" : "s") << " submitted to Slurm as job array " << jobId
            << (s.partition.empty() ? "" : " on partition " + s.partition) << "\n"
            << "each task stores its run in " << (dir / "runs").string() << "; logs in " << (dir / "logs").string()
            << "\nwhen tasks have finished: precisionlab-cli merge " << dir.string() << " --db STORE\n";
  std::cout.flush();
  return 0;
}

}  // namespace plab::cli
