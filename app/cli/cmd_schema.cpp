// precisionlab-cli schema [--markdown] [--json] [--check FILE] [--write FILE]
// The experiment schema (engine/model/experiment_schema.h): its key tables in Markdown
// (the text between the schema markers of docs/experiment-format.md), the table as
// JSON, or a check that a doc's tables are the generated ones.
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "model/experiment_schema.h"

namespace plab::cli {
namespace {

struct SchemaOptions {
  bool markdown = false;
  bool json = false;
  std::string check;
  std::string write;
};

std::string readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CliExit(1, "schema: " + path + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

nlohmann::json schemaJson() {
  nlohmann::json out = nlohmann::json::array();
  for (const KeyRule& r : experimentSchema()) {
    nlohmann::json j{{"path", r.path}, {"type", std::string(toString(r.type))}, {"help", r.help}};
    if (!r.defaultValue.is_null()) j["default"] = r.defaultValue;
    if (r.type == KeyType::integer || r.type == KeyType::number) {
      j["min"] = r.min;
      if (r.max != kUnbounded) j["max"] = r.max;
    }
    if (!r.choices.empty()) j["choices"] = r.choices;
    if (!r.units.empty()) j["units"] = r.units;
    if (!r.when.empty()) j["when"] = {{std::string(selectorKey(r.section())), r.when}};
    for (const auto& [value, def] : r.defaultWhen) j["default_when"][value] = def;
    if (!r.defaultFrom.empty()) j["default_from"] = r.defaultFrom;
    if (r.required) j["required"] = true;
    out.push_back(j);
  }
  return out;
}

std::string withTables(const std::string& path) {
  try {
    return withSchemaTables(readText(path));
  } catch (const std::invalid_argument& e) {
    throw CliExit(1, "schema: " + path + ": " + e.what());
  }
}

void runSchema(const SchemaOptions& o) {
  if (!o.check.empty()) {
    if (readText(o.check) != withTables(o.check)) {
      throw CliExit(1, "schema: " + o.check +
                           ": the key tables differ from the schema (engine/model/experiment_schema.cpp); "
                           "regenerate them with: precisionlab-cli schema --write " + o.check);
    }
    std::cout << o.check << ": the key tables match the schema\n";
    return;
  }
  if (!o.write.empty()) {
    const std::string text = withTables(o.write);
    std::ofstream out(o.write, std::ios::binary | std::ios::trunc);
    if (!(out << text)) throw CliExit(1, "schema: " + o.write + ": cannot write");
    std::cout << o.write << ": key tables written\n";
    return;
  }
  if (o.json) {
    std::cout << schemaJson().dump(2) << "\n";
    return;
  }
  std::cout << schemaMarkdown();
}

}  // namespace

void addSchemaCommand(CLI::App& app) {
  auto opts = std::make_shared<SchemaOptions>();
  auto* cmd = app.add_subcommand("schema", "Every experiment key: type, default, range, units, help");
  cmd->add_flag("--markdown", opts->markdown, "The key tables of docs/experiment-format.md (the default)");
  cmd->add_flag("--json", opts->json, "The schema as JSON");
  cmd->add_option("--check", opts->check, "Fail unless FILE's tables between the schema markers are current");
  cmd->add_option("--write", opts->write, "Regenerate the tables between the schema markers of FILE");
  cmd->callback([opts] { runSchema(*opts); });
}

}  // namespace plab::cli
