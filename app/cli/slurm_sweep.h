#pragma once
// Sweeps on a Slurm cluster (docs/remote.md, "Sweeps on Slurm"). `sweep FILE --slurm`
// writes a folder on storage that the cluster's nodes share and submits one job array,
// a task per variant; `merge DIR` brings the finished tasks' runs into one store.
//
//   DIR/manifest.json        the sweep: its id, title, file text, variants, job id
//   DIR/variants/NNN.json    variant NNN's whole experiment file
//   DIR/job.sh               the sbatch script: task NNN runs `precisionlab-cli run`
//                            on variants/NNN.json into runs/NNN.sqlite
//   DIR/runs/NNN.sqlite      task NNN's own store (one writer per file: SQLite's
//                            locking is not to be trusted across NFS clients)
//   DIR/logs/NNN.out         task NNN's output
#include <string>

#include <nlohmann/json.hpp>

#include "sweep/sweep.h"

namespace plab::cli {

inline constexpr const char* kSlurmManifest = "manifest.json";
inline constexpr const char* kSlurmManifestFormat = "precisionlab-slurm-sweep";
inline constexpr int kSlurmManifestVersion = 1;

struct SlurmSubmission {
  std::string dir;         // "" : precisionlab-slurm/<title>-<time> under the current folder
  std::string partition;   // "" : the cluster's default
  std::string gres;        // "gpu:1"; "" : none
  std::string backend;     // passed to every task's `run --backend`
  nlohmann::json options;  // the sweep's overrides (seed, steps, backend), as a local sweep stores them
};

// Writes DIR and submits it with sbatch; prints the job id and the merge command.
// Returns the exit status; CliExit naming the file, the folder or sbatch's words on failure.
int submitSweepToSlurm(const Sweep& sweep, const std::string& file, const std::string& text,
                       const SlurmSubmission& submission);

}  // namespace plab::cli
