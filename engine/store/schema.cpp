#include "store/schema.h"

#include <functional>
#include <vector>

namespace plab {
namespace {

// Version 1: the first schema. Timestamps are ISO 8601 UTC text; JSON columns hold
// text that protocol/records_json.h reads and writes. NaN is stored as NULL.
const char* kSchemaV1 = R"sql(
CREATE TABLE runs (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  name          TEXT NOT NULL DEFAULT '',
  title         TEXT NOT NULL DEFAULT '',
  created_at    TEXT NOT NULL,
  finished_at   TEXT,
  status        TEXT NOT NULL CHECK (status IN ('running','completed','failed','cancelled','interrupted')),
  config        TEXT NOT NULL,
  dataset       TEXT NOT NULL DEFAULT '',
  backend       TEXT NOT NULL DEFAULT '',
  device        TEXT NOT NULL DEFAULT '',
  notes         TEXT NOT NULL DEFAULT '',
  tags          TEXT NOT NULL DEFAULT '[]',
  error         TEXT NOT NULL DEFAULT '',
  summary       TEXT NOT NULL DEFAULT '{}',
  writer_host   TEXT NOT NULL DEFAULT '',
  writer_pid    INTEGER NOT NULL DEFAULT 0,
  writer_start  TEXT NOT NULL DEFAULT '',
  heartbeat_at  TEXT
);
CREATE INDEX runs_status ON runs(status);

CREATE TABLE step_metrics (
  run_id              INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step                INTEGER NOT NULL,
  epoch               INTEGER NOT NULL,
  loss                REAL,
  loss_scale          REAL,
  overflow            INTEGER NOT NULL,
  skipped             INTEGER NOT NULL,
  culprit             TEXT NOT NULL DEFAULT '',
  grad_norm           REAL,
  learning_rate       REAL,
  step_ms             REAL,
  samples_per_second  REAL,
  PRIMARY KEY (run_id, step)
) WITHOUT ROWID;

CREATE TABLE events (
  id       INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step     INTEGER NOT NULL,
  kind     TEXT NOT NULL CHECK (kind IN ('overflow','scale_growth','other')),
  name     TEXT NOT NULL,
  payload  TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_run ON events(run_id, id);

CREATE TABLE epoch_metrics (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id          INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  epoch           INTEGER NOT NULL,
  step            INTEGER NOT NULL,
  train_loss      REAL,
  train_accuracy  REAL,
  test_loss       REAL,
  test_accuracy   REAL
);
CREATE INDEX epoch_metrics_run ON epoch_metrics(run_id, step);

CREATE TABLE layer_stats (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step         INTEGER NOT NULL,
  layer_index  INTEGER NOT NULL,
  layer_name   TEXT NOT NULL,
  kind         TEXT NOT NULL CHECK (kind IN ('activation','gradient')),
  precision    TEXT NOT NULL,
  count        INTEGER NOT NULL,
  zeros        INTEGER NOT NULL,
  underflows   INTEGER NOT NULL,
  overflows    INTEGER NOT NULL,
  non_finite   INTEGER NOT NULL,
  max_abs      REAL,
  histogram    TEXT NOT NULL DEFAULT '[]'  -- sparse [[bin, count], ...], bin 0 = log2|x| < kLog2HistMin + 1
);
CREATE INDEX layer_stats_run ON layer_stats(run_id, step);

CREATE TABLE speed_results (
  id                  INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id              INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  config              TEXT NOT NULL,
  batch_size          INTEGER NOT NULL,
  median_step_ms      REAL,
  samples_per_second  REAL,
  measured_steps      INTEGER NOT NULL
);
CREATE INDEX speed_results_run ON speed_results(run_id);

CREATE TABLE speed_layer_timings (
  speed_id     INTEGER NOT NULL REFERENCES speed_results(id) ON DELETE CASCADE,
  position     INTEGER NOT NULL,
  layer_name   TEXT NOT NULL,
  forward_ms   REAL,
  backward_ms  REAL,
  PRIMARY KEY (speed_id, position)
) WITHOUT ROWID;
)sql";

// Version 2: the run browser's figures kept on the run row by the writer, so that
// listing runs does not count every step of every run (250 ms for 1M steps). The
// backfill computes them for runs written before.
const char* kSchemaV2 = R"sql(
ALTER TABLE runs ADD COLUMN step_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN skipped_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN overflow_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN last_step INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN last_loss REAL;
ALTER TABLE runs ADD COLUMN last_loss_scale REAL;
UPDATE runs SET
  step_count = (SELECT count(*) FROM step_metrics s WHERE s.run_id = runs.id),
  skipped_count = (SELECT count(*) FROM step_metrics s WHERE s.run_id = runs.id AND s.skipped),
  overflow_count = (SELECT count(*) FROM events e WHERE e.run_id = runs.id AND e.kind = 'overflow'),
  last_step = coalesce((SELECT max(step) FROM step_metrics s WHERE s.run_id = runs.id), 0),
  last_loss = (SELECT loss FROM step_metrics s WHERE s.run_id = runs.id ORDER BY step DESC LIMIT 1),
  last_loss_scale = (SELECT loss_scale FROM step_metrics s WHERE s.run_id = runs.id ORDER BY step DESC LIMIT 1);
)sql";

// Version 3: sweeps (docs/store.md, "Sweeps"). A sweep keeps its file's text and each
// variant's expanded experiment, so that it can be resumed without the file; a
// variant's run is a run like any other (ON DELETE SET NULL: deleting the run leaves
// the variant to be run again).
const char* kSchemaV3 = R"sql(
CREATE TABLE sweeps (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  title        TEXT NOT NULL DEFAULT '',
  source_name  TEXT NOT NULL DEFAULT '',
  source       TEXT NOT NULL,
  options      TEXT NOT NULL DEFAULT '{}',
  created_at   TEXT NOT NULL
);
CREATE TABLE sweep_variants (
  sweep_id    INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
  position    INTEGER NOT NULL,
  name        TEXT NOT NULL,
  experiment  TEXT NOT NULL,
  run_id      INTEGER REFERENCES runs(id) ON DELETE SET NULL,
  PRIMARY KEY (sweep_id, position)
) WITHOUT ROWID;
CREATE INDEX sweep_variants_run ON sweep_variants(run_id);
)sql";

// Version 4: the shadow pass's figures beside each layer statistics row (docs/store.md,
// "Layer statistics"). NULL shadow_count: the run had shadow_stats off, as every run
// written before had.
const char* kSchemaV4 = R"sql(
ALTER TABLE layer_stats ADD COLUMN shadow_count INTEGER;
ALTER TABLE layer_stats ADD COLUMN shadow_zeros INTEGER;
ALTER TABLE layer_stats ADD COLUMN shadow_underflows INTEGER;
ALTER TABLE layer_stats ADD COLUMN shadow_overflows INTEGER;
ALTER TABLE layer_stats ADD COLUMN shadow_precision_loss INTEGER;
ALTER TABLE layer_stats ADD COLUMN shadow_rel_error REAL;
ALTER TABLE layer_stats ADD COLUMN shadow_histogram TEXT;
)sql";

// Version 5: the forward product's error against fp64 on activation rows of linear
// and conv2d layers (docs/store.md, "Layer statistics"); NULL on other rows and on
// rows written before.
const char* kSchemaV5 = R"sql(
ALTER TABLE layer_stats ADD COLUMN product_rel_error REAL;
)sql";

// Version 6: the first values of each statistics row's tensor before rounding, a JSON
// array (LayerStatsRecord::sample; docs/store.md); NULL on rows written before.
const char* kSchemaV6 = R"sql(
ALTER TABLE layer_stats ADD COLUMN sample TEXT;
)sql";

// migrations[n] takes a file from version n to n + 1. Append, never edit: files in
// the field were written by the old steps.
const std::vector<std::function<void(Database&)>>& migrations() {
  static const std::vector<std::function<void(Database&)>> steps = {
      [](Database& db) { db.exec(kSchemaV1); },
      [](Database& db) { db.exec(kSchemaV2); },
      [](Database& db) { db.exec(kSchemaV3); },
      [](Database& db) { db.exec(kSchemaV4); },
      [](Database& db) { db.exec(kSchemaV5); },
      [](Database& db) { db.exec(kSchemaV6); },
  };
  return steps;
}

bool hasUserTables(Database& db) {
  Statement s = db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'");
  s.step();
  return s.columnInt(0) > 0;
}

}  // namespace

int schemaVersion(Database& db) {
  Statement s = db.prepare("PRAGMA user_version");
  s.step();
  return int(s.columnInt(0));
}

int migrateSchema(Database& db, int targetVersion) {
  static_assert(kStoreSchemaVersion >= 1);
  if (targetVersion < 0 || targetVersion > kStoreSchemaVersion) throw StoreError("store: no schema version " + std::to_string(targetVersion));
  if (int(migrations().size()) != kStoreSchemaVersion) throw StoreError("store: migrations and kStoreSchemaVersion disagree");
  int version = schemaVersion(db);
  if (version > kStoreSchemaVersion)
    throw StoreError(db.path() + ": schema version " + std::to_string(version) +
                     " is newer than this program supports (" + std::to_string(kStoreSchemaVersion) +
                     "); use a newer Precision Lab");
  if (db.readOnly()) {
    if (version < kStoreSchemaVersion && (version != 0 || hasUserTables(db)))
      throw StoreError(db.path() + ": schema version " + std::to_string(version) +
                       " needs migrating to " + std::to_string(kStoreSchemaVersion) + ", which a read-only open cannot do");
    return version;
  }
  while (version < targetVersion) {
    Transaction tx(db);
    // Another process may have migrated between our read and our lock: read again.
    version = schemaVersion(db);
    if (version >= targetVersion) break;
    if (version == 0 && hasUserTables(db))
      throw StoreError(db.path() + ": has tables but no schema version; not a Precision Lab run database");
    migrations()[std::size_t(version)](db);
    db.exec("PRAGMA user_version = " + std::to_string(version + 1));
    tx.commit();
    ++version;
  }
  return version;
}

}  // namespace plab
