// precisionlab-cli numbers --format FMT [--json] VALUE...
// Shows what a format does to each value. The explaining is engine/numerics/explain.h;
// this file only parses the command line and prints.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "numerics/explain.h"

namespace plab::cli {
namespace {

struct NumbersOptions {
  std::string format;
  bool json = false;
};

// VALUEs are CLI11 "extras", not a positional option, so that their order is kept
// whatever they look like: CLI11 takes "-inf" or "-nan" for unknown short options, and
// those land in the extras while a positional option would collect the others apart.
// See addNumbersCommand for how "--" is kept in this subcommand.
double parseValue(const std::string& text) {
  const char* begin = text.c_str();
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(begin, &end);
  // ERANGE is fine: 1e999 is inf and 1e-999 is 0 to every format, as they should be.
  if (text.empty() || end != begin + text.size()) {
    throw CliExit(2, "numbers: \"" + text + "\" is not a number");
  }
  return value;
}

std::vector<Precision> parseFormats(const std::string& name) {
  if (name == "all") return {kAllPrecisions.begin(), kAllPrecisions.end()};
  if (const std::optional<Precision> p = parsePrecision(name)) return {*p};
  throw CliExit(2, "numbers: unknown format \"" + name + "\" (allowed: " +
                       allowedPrecisionNames() + ", all)");
}

// A JSON number, or "inf" / "-inf" / "nan", which JSON numbers cannot hold.
nlohmann::json jsonNumber(double x) {
  if (std::isfinite(x)) return x;
  return formatNumber(x);
}

nlohmann::json toJson(const ValueExplanation& e) {
  return {{"format", std::string(toString(e.precision))},
          {"input", jsonNumber(e.input)},
          {"value", jsonNumber(e.value)},
          {"bits", bitsHex(e.precision, e.bits)},
          {"class", toString(e.valueClass)},
          {"sign", e.signField},
          {"exponent_field", e.exponentField},
          {"mantissa_field", e.mantissaField},
          {"exponent", e.exponent},
          {"fields", bitsFieldsBinary(e)},
          {"abs_error", jsonNumber(e.absError)},
          {"rel_error", jsonNumber(e.relError)},
          {"outcome", e.outcome}};
}

std::string shortError(double x) {
  if (!std::isfinite(x) || x == 0.0) return formatNumber(x);
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3e", x);
  return buffer;
}

void printTable(const std::vector<ValueExplanation>& rows, std::size_t rowsPerValue) {
  const std::vector<std::string> header = {"input", "format", "value", "bits", "sign exponent mantissa",
                                           "class", "abs error", "rel error", "outcome"};
  std::vector<std::vector<std::string>> cells;
  for (const ValueExplanation& e : rows) {
    cells.push_back({formatNumber(e.input), std::string(toString(e.precision)),
                     formatNumber(e.value), bitsHex(e.precision, e.bits), bitsFieldsBinary(e),
                     toString(e.valueClass), shortError(e.absError), shortError(e.relError),
                     e.outcome});
  }
  std::vector<std::size_t> widths(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) {
    widths[c] = header[c].size();
    for (const auto& row : cells) widths[c] = std::max(widths[c], row[c].size());
  }
  auto printRow = [&](const std::vector<std::string>& row) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line += std::string(widths[c] - row[c].size() + 2, ' ');
    }
    std::cout << line << "\n";
  };
  printRow(header);
  for (std::size_t r = 0; r < cells.size(); ++r) {
    // With several formats, a blank line between values groups each value's rows.
    if (r > 0 && rowsPerValue > 1 && r % rowsPerValue == 0) std::cout << "\n";
    printRow(cells[r]);
  }
}

void runNumbers(const NumbersOptions& options, const std::vector<std::string>& texts) {
  const std::vector<Precision> formats = parseFormats(options.format);
  if (texts.empty()) throw CliExit(2, "numbers: give at least one VALUE");
  std::vector<double> values;
  for (const std::string& text : texts) values.push_back(parseValue(text));
  std::vector<ValueExplanation> rows;
  for (double v : values) {
    for (Precision p : formats) rows.push_back(explainValue(p, v));
  }
  if (options.json) {
    nlohmann::json array = nlohmann::json::array();
    for (const ValueExplanation& e : rows) array.push_back(toJson(e));
    std::cout << array.dump(2) << "\n";
  } else {
    printTable(rows, formats.size());
  }
}

}  // namespace

void addNumbersCommand(CLI::App& app) {
  auto options = std::make_shared<NumbersOptions>();
  CLI::App* sub = app.add_subcommand(
      "numbers", "Show what a format does to each VALUE: rounded value, bits, class, error");
  sub->add_option("--format,-f", options->format,
                  "fp32, tf32, fp16, bf16, fp8_e4m3, fp8_e5m2 or all")
      ->required();
  sub->add_flag("--json", options->json, "Print one JSON array of objects");
  sub->allow_extras();
  // CLI11 hands "--" back to the parent app (which rejects what follows) unless this
  // subcommand still waits for a positional. This one (there for the help text) waits
  // forever: it rejects every value (validate_positionals), so values fall through to
  // the extras, in order, and the first "--" stays among them as a marker, dropped below.
  sub->add_option("VALUE", "One or more numbers (0.1, -1e-8, 0x1p-24, inf, nan); "
                           "negative ones also after --")
      ->check(CLI::Validator([](std::string&) { return std::string("not taken"); }, ""));
  sub->validate_positionals();
  sub->callback([options, sub] {
    std::vector<std::string> values = sub->remaining();
    const auto marker = std::find(values.begin(), values.end(), "--");
    if (marker != values.end()) values.erase(marker);
    runNumbers(*options, values);
  });
}

}  // namespace plab::cli
