#pragma once
// A sweep file (docs/experiment-format.md, "Sweep files"): one base experiment and
// named variants, each a set of changes by key path, and/or a grid of values whose
// product is expanded into variants. Parsing expands and validates every variant as
// strictly as an experiment file, so a sweep that loads runs every variant.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/experiment.h"
#include "sweep/claims.h"
#include "core/records.h"  // RunStatus

namespace plab {

inline constexpr int kSweepFormatVersion = 1;
inline constexpr std::size_t kMostVariantNameChars = 100;

// A file that is not a valid sweep. keyPath() names the key of the sweep file that
// was wrong ("variants[2].set.network.layers[9].precision"); what() is the whole
// message, starting with the file's name.
class SweepError : public std::runtime_error {
 public:
  SweepError(std::string keyPath, const std::string& message)
      : std::runtime_error(message), keyPath_(std::move(keyPath)) {}
  const std::string& keyPath() const { return keyPath_; }

 private:
  std::string keyPath_;
};

struct SweepVariant {
  std::string name;               // unique within the sweep; the legend's label
  nlohmann::json set;             // key path -> value, as the file gave them (grid values included)
  nlohmann::json experimentJson;  // the base with the changes applied: a whole experiment file
  Experiment experiment;          // experimentJson parsed
  // How its run is meant to end: a lesson may show a run that fails (a static scale
  // so high that every step overflows), and that is then not a failure of the sweep.
  RunStatus expectedStatus = RunStatus::completed;
};

// A lesson is a sweep with a text and claims (docs/lessons.md).
struct Lesson {
  std::string watch;              // "what to watch": the side panel's text
  std::vector<Claim> claims;
};

struct Sweep {
  std::string title;
  std::string description;
  std::optional<Lesson> lesson;
  nlohmann::json base;            // the base experiment (from "base" or "base_file")
  std::vector<SweepVariant> variants;
};

// Changes that apply to every variant after its own: `sweep --seed/--steps`.
struct SweepOverrides {
  std::optional<std::uint64_t> seed;
  std::optional<std::int64_t> steps;   // replaces "steps" and sets "epochs" to 0
};

// text: the file's contents; sourceName: its path, for messages and for resolving
// "base_file" (relative to the sweep file's folder).
Sweep parseSweepText(const std::string& text, const std::string& sourceName,
                     const SweepOverrides& overrides = {});
Sweep loadSweepFile(const std::string& path, const SweepOverrides& overrides = {});

// Whether a JSON document is a sweep rather than an experiment (it has "variants"
// or "grid"): the GUI and the CLI open both kinds of file.
bool looksLikeSweep(const nlohmann::json& file);

}  // namespace plab
