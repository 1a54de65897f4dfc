// precisionlab-cli selftest [--backend cpu|cuda|all] [--json] [--filter OP]:
// the backend conformance suite (engine/backend/conformance.h), every op in every
// format against a naive reference, each check with its tolerance. Exit code 1 when
// any check fails, 2 when a requested backend cannot be used.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backend/conformance.h"
#include "backend/registry.h"
#include "commands.h"
#include "train/capture_check.h"
#include "train/shadow_check.h"

namespace plab::cli {

namespace {

struct SelftestOptions {
  std::string backend = "cpu";
  std::string filter;
  bool json = false;
  bool failuresOnly = false;
};

struct BackendReport {
  BackendInfo info;
  std::string note;
  std::vector<ConformanceResult> results;
};

std::string errorText(double e) {
  if (std::isinf(e)) return "inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", e);
  return buf;
}

void printTable(const BackendReport& r, bool failuresOnly) {
  std::printf("backend %s: %s\n  %s\n  %s\n", r.info.name.c_str(), r.info.device.c_str(), r.info.details.c_str(),
              r.note.c_str());
  std::printf("%-52s %-9s %-34s %9s %6s  %-44s %s\n", "op", "format", "shape", "max err", "limit", "tolerance",
              "result");
  int failed = 0;
  for (const auto& c : r.results) {
    failed += c.pass ? 0 : 1;
    if (failuresOnly && c.pass) continue;
    std::printf("%-52s %-9s %-34s %9s %6s  %-44s %s\n", c.op.c_str(), c.format.c_str(), c.shape.c_str(),
                errorText(c.maxError).c_str(), errorText(c.limit).c_str(), c.tolerance.c_str(),
                c.pass ? "PASS" : "FAIL");
    if (!c.pass && !c.detail.empty()) std::printf("    %s\n", c.detail.c_str());
  }
  std::printf("%s: %zu checks, %d failed\n\n", r.info.name.c_str(), r.results.size(), failed);
}

nlohmann::json toJson(const BackendReport& r) {
  nlohmann::json checks = nlohmann::json::array();
  for (const auto& c : r.results) {
    checks.push_back({{"op", c.op},
                      {"format", c.format},
                      {"shape", c.shape},
                      {"max_error", std::isfinite(c.maxError) ? nlohmann::json(c.maxError) : nlohmann::json("inf")},
                      {"limit", c.limit},
                      {"tolerance", c.tolerance},
                      {"pass", c.pass},
                      {"detail", c.detail}});
  }
  return {{"backend", r.info.name}, {"device", r.info.device}, {"details", r.info.details},
          {"note", r.note},         {"checks", checks}};
}

std::vector<std::string> requestedBackends(const std::string& which) {
  if (which == "cpu" || which == "cuda") return {which};
  // Every backend, built or not, so that the output says why one was skipped.
  if (which == "all") return {"cuda", "cpu"};
  throw CliExit(2, "--backend \"" + which + "\" is not one of cpu, cuda, all");
}

void runSelftest(const SelftestOptions& o) {
  std::vector<BackendReport> reports;
  nlohmann::json skipped = nlohmann::json::array();
  for (const auto& name : requestedBackends(o.backend)) {
    BackendReport r;
    std::unique_ptr<Backend> backend;
    try {
      backend = createBackend(name, r.note);
    } catch (const std::exception& e) {
      // --backend all runs what this machine can; naming one that cannot run is an error.
      if (o.backend != "all") throw CliExit(2, e.what());
      skipped.push_back({{"backend", name}, {"reason", e.what()}});
      if (!o.json) std::printf("backend %s: skipped (%s)\n\n", name.c_str(), e.what());
      continue;
    }
    r.info = backend->info();
    ConformanceOptions options;
    options.filter = o.filter;
    r.results = runConformance(*backend, options);
    // Whole training steps captured and replayed (CUDA graphs) against the same steps
    // issued op by op; nothing for a backend that cannot capture.
    if (o.filter.empty() ||
        std::string("training step: captured and replayed vs issued op by op").find(o.filter) != std::string::npos) {
      auto capture = checkStepCapture(*backend);
      r.results.insert(r.results.end(), capture.begin(), capture.end());
    }
    // The shadow pass (shadow_stats) against an fp32 run of the same step.
    if (o.filter.empty() || std::string("shadow pass = fp32 step from the run's weights").find(o.filter) != std::string::npos) {
      auto shadow = checkShadowPass(*backend);
      r.results.insert(r.results.end(), shadow.begin(), shadow.end());
    }
    if (!o.json) printTable(r, o.failuresOnly);
    reports.push_back(std::move(r));
  }
  std::size_t checks = 0, failed = 0;
  for (const auto& r : reports)
    for (const auto& c : r.results) {
      ++checks;
      failed += c.pass ? 0 : 1;
    }
  if (o.json) {
    nlohmann::json out{{"passed", failed == 0 && checks > 0}, {"checks", checks}, {"failed", failed},
                       {"skipped", skipped}, {"backends", nlohmann::json::array()}};
    for (const auto& r : reports) out["backends"].push_back(toJson(r));
    std::cout << out.dump(2) << "\n";
  } else {
    std::printf("selftest: %zu checks, %zu failed: %s\n", checks, failed, failed == 0 && checks > 0 ? "PASS" : "FAIL");
  }
  if (checks == 0) throw CliExit(1, "no check ran (filter \"" + o.filter + "\" matches no op?)");
  if (failed > 0) throw CliExit(1, "");
}

}  // namespace

void addSelftestCommand(CLI::App& app) {
  auto options = std::make_shared<SelftestOptions>();
  auto* cmd = app.add_subcommand("selftest", "Backend conformance suite: every op in every format against a reference");
  cmd->add_option("--backend", options->backend, "cpu, cuda or all (every backend built and usable here)")
      ->capture_default_str();
  cmd->add_option("--filter", options->filter, "only ops whose name contains this text");
  cmd->add_flag("--json", options->json, "print one JSON object instead of the table");
  cmd->add_flag("--failures-only", options->failuresOnly, "list only the failed checks in the table");
  cmd->callback([options] { runSelftest(*options); });
}

}  // namespace plab::cli
