// precisionlab-cli numbers --format FMT [--json] VALUE...
// Shows what a format does to each value; a block-scaled format (mxfp4, nvfp4, ...)
// quantises the values as consecutive blocks, as a layer would, and also shows each
// block's scale. The explaining is engine/numerics/explain.h; this file only parses the
// command line and prints.
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

// "all": the formats that round one value at a time, side by side. A block-scaled
// format quantises the list as a whole, so it is asked for by name, alone.
std::vector<Precision> parseFormats(const std::string& name) {
  if (name == "all") return {kScalarPrecisions.begin(), kScalarPrecisions.end()};
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
  nlohmann::json o = {{"format", std::string(toString(e.precision))},
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
  if (e.block >= 0) {
    o["block"] = e.block;
    o["element"] = jsonNumber(e.element);
  }
  return o;
}

nlohmann::json toJson(const BlockExplanation& b) {
  const FormatInfo& f = formatInfo(b.precision);
  nlohmann::json blocks = nlohmann::json::array();
  for (std::size_t i = 0; i < b.blocks.size(); ++i) {
    const BlockScaleExplanation& s = b.blocks[i];
    nlohmann::json o = {{"block", i},
                        {"first", s.first},
                        {"count", s.count},
                        {"scale_format", std::string(toString(s.format))},
                        {"scale_bits", scaleBitsHex(s.format, s.bits)},
                        {"scale", jsonNumber(s.value)},
                        {"multiplier", jsonNumber(s.multiplier)},
                        {"amax", jsonNumber(s.amax)}};
    if (!s.note.empty()) o["note"] = s.note;
    blocks.push_back(o);
  }
  nlohmann::json values = nlohmann::json::array();
  for (const ValueExplanation& e : b.values) values.push_back(toJson(e));
  nlohmann::json o = {{"format", std::string(f.name)},
                      {"block_size", f.blockSize},
                      {"scale_format", std::string(toString(f.blockScale))},
                      {"bits_per_value", 8.0 * double(tensorBytes(f, f.blockSize)) / f.blockSize},
                      {"blocks", blocks},
                      {"values", values}};
  if (b.hasTensorScale) {
    o["tensor_scale"] = jsonNumber(b.tensorScale);
    o["tensor_amax"] = jsonNumber(b.tensorAmax);
  }
  return o;
}

std::string shortError(double x) {
  if (!std::isfinite(x) || x == 0.0) return formatNumber(x);
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3e", x);
  return buffer;
}

// Printed before row `row` of the table: a blank line and a block's scale, say.
struct TableBreak {
  std::size_t row;
  std::string text;
};

void printTable(const std::vector<ValueExplanation>& rows, std::size_t rowsPerValue,
                const std::vector<TableBreak>& breaks = {}) {
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
  auto nextBreak = breaks.begin();
  for (std::size_t r = 0; r < cells.size(); ++r) {
    for (; nextBreak != breaks.end() && nextBreak->row == r; ++nextBreak) std::cout << nextBreak->text << "\n";
    // With several formats, a blank line between values groups each value's rows.
    if (r > 0 && rowsPerValue > 1 && r % rowsPerValue == 0) std::cout << "\n";
    printRow(cells[r]);
  }
}

// "2^-3" for an exact power of two, "" otherwise.
std::string powerOfTwo(double x) {
  if (!(x > 0) || std::isinf(x)) return "";
  int exponent = 0;
  const double fraction = std::frexp(x, &exponent);
  return fraction == 0.5 ? "2^" + std::to_string(exponent - 1) : "";
}

// One line per block before its values, counting from 1 as a reader does (the JSON
// counts from 0): "block 1, values 1-4: e8m0 scale 0x7f = 1 (2^0)".
std::string describeBlock(const BlockExplanation& b, std::size_t index) {
  const BlockScaleExplanation& s = b.blocks[index];
  std::string text = "\nblock " + std::to_string(index + 1) + ", value" + (s.count == 1 ? " " : "s ") +
                     std::to_string(s.first + 1) + (s.count == 1 ? "" : "-" + std::to_string(s.first + s.count)) +
                     ": " + std::string(toString(s.format)) + " scale " + scaleBitsHex(s.format, s.bits) + " = " +
                     formatNumber(s.value);
  if (b.hasTensorScale && !std::isnan(s.value)) {
    text += ", times the tensor scale: " + formatNumber(s.multiplier);
  } else if (const std::string power = powerOfTwo(s.value); !power.empty()) {
    text += " (" + power + ")";
  }
  if (!s.note.empty()) text += "; " + s.note;
  return text;
}

void printBlocks(const BlockExplanation& b) {
  std::cout << describeBlockFormat(b.precision) << "\n";
  if (b.hasTensorScale) {
    std::cout << "tensor scale (fp32): " << formatNumber(b.tensorScale) << " = amax " << formatNumber(b.tensorAmax)
              << " / (6 x 448), rounded down to 19 significant bits (at least 2^-126)\n";
  }
  std::cout << "\n";
  std::vector<TableBreak> breaks;
  for (std::size_t i = 0; i < b.blocks.size(); ++i) breaks.push_back({b.blocks[i].first, describeBlock(b, i)});
  printTable(b.values, 1, breaks);
}

void runNumbers(const NumbersOptions& options, const std::vector<std::string>& texts) {
  const std::vector<Precision> formats = parseFormats(options.format);
  if (texts.empty()) throw CliExit(2, "numbers: give at least one VALUE");
  std::vector<double> values;
  for (const std::string& text : texts) values.push_back(parseValue(text));
  if (formats.size() == 1 && isBlockScaled(formats.front())) {
    const BlockExplanation blocks = explainBlocks(formats.front(), values);
    if (options.json) {
      std::cout << toJson(blocks).dump(2) << "\n";
    } else {
      printBlocks(blocks);
    }
    return;
  }
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
                  allowedPrecisionNames() + " or all (the formats before mxfp8_e4m3, side by side); "
                  "a block-scaled format (mx..., nvfp4) quantises the VALUEs as consecutive blocks")
      ->required();
  sub->add_flag("--json", options->json,
                "Print one JSON array of objects (a block-scaled format: one object with its blocks and values)");
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
