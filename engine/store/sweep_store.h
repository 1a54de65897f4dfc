#pragma once
// Sweeps in the run store (docs/store.md, "Sweeps"): a sweep's file text, its
// variants (name and expanded experiment) and the run each variant made. The runs
// themselves are ordinary runs, written by their workers; `precisionlab-cli sweep`
// links each to its variant as it starts, so an interrupted sweep can be resumed by
// running only the variants without a completed run.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/store.h"

namespace plab {

class Database;

struct SweepVariantRow {
  int position = 0;                   // 0-based, the file's order after expansion
  std::string name;
  nlohmann::json experiment;          // the variant's whole experiment file
  std::optional<std::int64_t> runId;  // its latest run, if one was started
  std::optional<RunStatus> runStatus; // that run's status
};

struct SweepRow {
  std::int64_t id = 0;
  std::string title;
  std::string sourceName;             // the file's path as given
  std::string source;                 // the file's text
  nlohmann::json options;             // the overrides it ran with: {"seed", "steps", "backend"}
  std::string createdAt;
  std::vector<SweepVariantRow> variants;  // by position
  int completed() const;              // variants whose run completed
};

class SweepStore {
 public:
  explicit SweepStore(const std::string& dbPath, StoreOptions options = {});
  ~SweepStore();
  SweepStore(const SweepStore&) = delete;
  SweepStore& operator=(const SweepStore&) = delete;

  // Stores the sweep and its variants (no runs yet); returns its id.
  std::int64_t createSweep(const std::string& title, const std::string& sourceName, const std::string& source,
                           const nlohmann::json& options, const std::vector<SweepVariantRow>& variants);
  // Links the run a variant just started (replacing an earlier one when resumed).
  void setVariantRun(std::int64_t sweepId, int position, std::int64_t runId);
  std::optional<SweepRow> getSweep(std::int64_t sweepId);
  std::vector<SweepRow> listSweeps();  // newest first, with their variants
  // The sweep a run belongs to, and its variant's position.
  std::optional<std::pair<std::int64_t, int>> sweepOfRun(std::int64_t runId);

 private:
  std::unique_ptr<Database> db_;
};

}  // namespace plab
