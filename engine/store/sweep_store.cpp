#include "store/sweep_store.h"

#include "store/database.h"
#include "store/store_open.h"

namespace plab {

int SweepRow::completed() const {
  int n = 0;
  for (const SweepVariantRow& v : variants) n += v.runStatus == RunStatus::completed ? 1 : 0;
  return n;
}

SweepStore::SweepStore(const std::string& dbPath, StoreOptions options)
    : db_(openStore(dbPath, options, options.readOnly)) {}

SweepStore::~SweepStore() = default;

std::int64_t SweepStore::createSweep(const std::string& title, const std::string& sourceName, const std::string& source,
                                     const nlohmann::json& options, const std::vector<SweepVariantRow>& variants) {
  Transaction tx(*db_);
  Statement s = db_->prepare(
      "INSERT INTO sweeps (title, source_name, source, options, created_at) VALUES (?, ?, ?, ?, ?)");
  s.bind(1, title).bind(2, sourceName).bind(3, source).bind(4, options.dump()).bind(5, utcNow()).run();
  const std::int64_t id = db_->lastInsertId();
  Statement v = db_->prepare("INSERT INTO sweep_variants (sweep_id, position, name, experiment) VALUES (?, ?, ?, ?)");
  for (const SweepVariantRow& row : variants) {
    v.bind(1, id).bind(2, row.position).bind(3, row.name).bind(4, row.experiment.dump()).run();
  }
  tx.commit();
  return id;
}

void SweepStore::setVariantRun(std::int64_t sweepId, int position, std::int64_t runId) {
  Statement s = db_->prepare("UPDATE sweep_variants SET run_id = ? WHERE sweep_id = ? AND position = ?");
  s.bind(1, runId).bind(2, sweepId).bind(3, position).run();
  if (db_->changes() != 1) {
    throw StoreError(db_->path() + ": sweep " + std::to_string(sweepId) + " has no variant " + std::to_string(position));
  }
}

namespace {

std::vector<SweepVariantRow> loadVariants(Database& db, std::int64_t sweepId) {
  Statement s = db.prepare(
      "SELECT v.position, v.name, v.experiment, v.run_id, r.status FROM sweep_variants v "
      "LEFT JOIN runs r ON r.id = v.run_id WHERE v.sweep_id = ? ORDER BY v.position");
  s.bind(1, sweepId);
  std::vector<SweepVariantRow> rows;
  while (s.step()) {
    SweepVariantRow row;
    row.position = int(s.columnInt(0));
    row.name = s.columnText(1);
    row.experiment = nlohmann::json::parse(s.columnText(2));
    if (!s.columnIsNull(3)) row.runId = s.columnInt(3);
    RunStatus status;
    if (!s.columnIsNull(4) && parseRunStatus(s.columnText(4), status)) row.runStatus = status;
    rows.push_back(std::move(row));
  }
  return rows;
}

SweepRow readSweepRow(Statement& s) {
  SweepRow row;
  row.id = s.columnInt(0);
  row.title = s.columnText(1);
  row.sourceName = s.columnText(2);
  row.source = s.columnText(3);
  row.options = nlohmann::json::parse(s.columnText(4));
  row.createdAt = s.columnText(5);
  return row;
}

constexpr const char* kSweepColumns = "SELECT id, title, source_name, source, options, created_at FROM sweeps";

}  // namespace

std::optional<SweepRow> SweepStore::getSweep(std::int64_t sweepId) {
  Statement s = db_->prepare(std::string(kSweepColumns) + " WHERE id = ?");
  s.bind(1, sweepId);
  if (!s.step()) return std::nullopt;
  SweepRow row = readSweepRow(s);
  row.variants = loadVariants(*db_, sweepId);
  return row;
}

std::vector<SweepRow> SweepStore::listSweeps() {
  Statement s = db_->prepare(std::string(kSweepColumns) + " ORDER BY id DESC");
  std::vector<SweepRow> rows;
  while (s.step()) rows.push_back(readSweepRow(s));
  for (SweepRow& row : rows) row.variants = loadVariants(*db_, row.id);
  return rows;
}

std::optional<std::pair<std::int64_t, int>> SweepStore::sweepOfRun(std::int64_t runId) {
  Statement s = db_->prepare("SELECT sweep_id, position FROM sweep_variants WHERE run_id = ?");
  s.bind(1, runId);
  if (!s.step()) return std::nullopt;
  return std::make_pair(s.columnInt(0), int(s.columnInt(1)));
}

}  // namespace plab
