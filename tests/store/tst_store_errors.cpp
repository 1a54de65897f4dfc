// What goes wrong with real files: old and new schema versions, files that are not
// databases, read-only files and folders, a full database. Each gives a StoreError
// naming the file, and nothing committed is lost.
#include <QtTest>

#include <limits>

#include <sqlite3.h>
#include <unistd.h>

#include "store/database.h"
#include "store/schema.h"
#include "store/store.h"
#include "store_fixtures.h"

using namespace plab;
using namespace plab::testing;

namespace {

// Runs SQL on the file with a plain SQLite connection (outside the store's code).
void rawExec(const QString& path, const char* sql) {
  sqlite3* db = nullptr;
  QCOMPARE(sqlite3_open(path.toLocal8Bit().constData(), &db), SQLITE_OK);
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &message);
  const QString text = message ? message : "";
  sqlite3_free(message);
  sqlite3_close(db);
  QVERIFY2(rc == SQLITE_OK, qPrintable(text));
}

std::int64_t rawInt(const QString& path, const char* sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.toLocal8Bit().constData(), &db);
  sqlite3_stmt* s = nullptr;
  std::int64_t value = -1;
  if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) value = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(db);
  return value;
}

QString rawText(const QString& path, const char* sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.toLocal8Bit().constData(), &db);
  sqlite3_stmt* s = nullptr;
  QString value = "(no row)";
  if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
    value = QString::fromUtf8(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)));
  sqlite3_finalize(s);
  sqlite3_close(db);
  return value;
}

template <class F>
QString storeErrorOf(F&& open) {
  try {
    open();
  } catch (const StoreError& e) {
    return e.what();
  }
  return "(no error)";
}

StoreOptions manualFlush() {
  StoreOptions o;
  o.flushInterval = std::chrono::hours(1);
  o.backgroundFlush = false;
  return o;
}

}  // namespace

class TestStoreErrors : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;

  // A store file left at schema `version` ("v<version>.sqlite"), holding run 4 and one
  // layer_stats row given as the VALUES tuple of that version's columns.
  QString oldStoreWithLayerRow(int version, const char* layerRowValues) {
    const QString path = dir_.filePath(QStringLiteral("v%1.sqlite").arg(version));
    {
      Database db(path.toStdString(), StoreOptions{}, false);
      if (migrateSchema(db, version) != version) qFatal("cannot make a version-%d store", version);
      db.exec("INSERT INTO runs (id, created_at, status, config) VALUES (4, '2026-01-01T00:00:00.000Z', 'completed', '{}')");
      db.exec(std::string("INSERT INTO layer_stats (run_id, step, layer_index, layer_name, kind, precision, count, zeros, "
                          "underflows, overflows, non_finite, max_abs, histogram) VALUES ") +
              layerRowValues);
    }
    if (rawInt(path, "PRAGMA user_version") != version) qFatal("the version-%d store says another version", version);
    return path;
  }

 private slots:
  void migratesFromUserVersionZero() {
    const QString path = dir_.filePath("v0.sqlite");
    rawExec(path, "PRAGMA user_version = 0");
    QCOMPARE(rawInt(path, "PRAGMA user_version"), 0);
    {
      RunReader r(path.toStdString());
      QVERIFY(r.listRuns().empty());
    }
    QCOMPARE(rawInt(path, "PRAGMA user_version"), kStoreSchemaVersion);
    for (const char* table : {"runs", "step_metrics", "events", "epoch_metrics", "layer_stats", "speed_results", "speed_layer_timings"}) {
      const QByteArray sql = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '" + QByteArray(table) + "'";
      QVERIFY2(rawInt(path, sql.constData()) == 1, table);
    }
    QCOMPARE(rawInt(path, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"), 1);
    // A second open finds the current version and changes nothing.
    RunWriter w(path.toStdString(), manualFlush());
    QVERIFY(w.createRun({}, "after migration", "cpu", "d") > 0);
  }

  // A file written by the version-1 program (no browser figures on the run row) is
  // migrated to version 2 on open, and the figures are computed from its rows.
  void migratesFromVersionOneWithBackfill() {
    const QString path = dir_.filePath("v1.sqlite");
    {
      Database db(path.toStdString(), StoreOptions{}, false);
      QCOMPARE(migrateSchema(db, 1), 1);
      db.exec("INSERT INTO runs (id, created_at, status, config) VALUES (7, '2026-01-01T00:00:00.000Z', 'completed', '{}')");
      db.exec("INSERT INTO step_metrics (run_id, step, epoch, loss, loss_scale, overflow, skipped) VALUES "
              "(7, 1, 0, 2.0, 65536, 0, 0), (7, 2, 0, NULL, 65536, 1, 1), (7, 3, 0, 1.5, 32768, 0, 0)");
      db.exec("INSERT INTO events (run_id, step, kind, name, payload) VALUES (7, 2, 'overflow', 'overflow', '{}')");
    }
    QCOMPARE(rawInt(path, "PRAGMA user_version"), 1);
    {
      StoreOptions readOnly;
      readOnly.readOnly = true;
      const QString error = storeErrorOf([&] { RunReader r(path.toStdString(), readOnly); });
      QVERIFY2(error.contains("needs migrating to"), qPrintable(error));
    }
    RunReader r(path.toStdString());
    QCOMPARE(rawInt(path, "PRAGMA user_version"), kStoreSchemaVersion);
    const auto runs = r.listRuns();
    QCOMPARE(runs.size(), std::size_t(1));
    QCOMPARE(runs[0].stepCount, 3);
    QCOMPARE(runs[0].lastStep, 3);
    QCOMPARE(runs[0].lastLoss, 1.5);
    QCOMPARE(runs[0].lastLossScale, 32768.0);
    QCOMPARE(runs[0].skippedCount, 1);
    QCOMPARE(runs[0].overflowCount, 1);
    QVERIFY(std::isnan(r.loadSteps(7)[1].loss));  // rows untouched
  }

  // A version-3 file (layer statistics without shadow columns) is migrated to version 4:
  // its rows read back without shadow figures, and a new run stores and reads them.
  void migratesFromVersionThreeToShadowColumns() {
    const QString path = oldStoreWithLayerRow(3, "(4, 25, 0, 'layers[0] linear', 'gradient', 'fp16', 10, 10, 0, 0, 0, 0, '[]')");
    std::int64_t id = 0;
    LayerStatsRecord withShadow;
    withShadow.step = 1;
    withShadow.layerName = "layers[0] linear";
    withShadow.kind = StatsKind::gradient;
    withShadow.precision = "fp16";
    withShadow.stats.count = 8;
    withShadow.hasShadow = true;
    withShadow.shadow.count = 8;
    withShadow.shadow.underflows = 6;
    withShadow.shadow.precisionLoss = 1;
    withShadow.shadow.zeros = 1;
    withShadow.shadow.relError = std::numeric_limits<double>::infinity();
    withShadow.shadow.log2Hist[20] = 7;
    {
      RunWriter w(path.toStdString(), manualFlush());
      QCOMPARE(rawInt(path, "PRAGMA user_version"), kStoreSchemaVersion);
      id = w.createRun({}, "shadow", "cpu", "d");
      w.appendLayerStats(withShadow);
      w.finish(RunStatus::completed);
    }
    RunReader r(path.toStdString());
    const auto old = r.loadLayerStats(4);
    QCOMPARE(old.size(), std::size_t(1));
    QVERIFY(!old[0].hasShadow);
    QCOMPARE(old[0].stats.zeros, 10);
    const auto fresh = r.loadLayerStats(id);
    QCOMPARE(fresh.size(), std::size_t(1));
    QVERIFY(fresh[0].hasShadow);
    QCOMPARE(fresh[0].shadow.underflows, 6);
    QCOMPARE(fresh[0].shadow.precisionLoss, 1);
    QCOMPARE(fresh[0].shadow.zeros, 1);
    QVERIFY(std::isinf(fresh[0].shadow.relError));
    QCOMPARE(fresh[0].shadow.log2Hist[20], 7);
  }

  // A version-4 file is migrated to version 5: its rows read back without a product
  // error, and a new run stores and reads one (docs/architecture.md, "Accumulation").
  void migratesFromVersionFourToProductError() {
    const QString path = oldStoreWithLayerRow(4, "(4, 25, 0, 'layers[0] linear', 'activation', 'fp16', 10, 0, 0, 0, 0, 1, '[]')");
    LayerStatsRecord measured;
    measured.step = 1;
    measured.layerName = "layers[0] linear";
    measured.kind = StatsKind::activation;
    measured.precision = "fp16";
    measured.stats.count = 8;
    measured.productRelError = 0.00612;
    std::int64_t id = 0;
    {
      RunWriter w(path.toStdString(), manualFlush());
      QCOMPARE(rawInt(path, "PRAGMA user_version"), kStoreSchemaVersion);
      id = w.createRun({}, "accumulation", "cpu", "d");
      w.appendLayerStats(measured);
      w.finish(RunStatus::completed);
    }
    RunReader r(path.toStdString());
    const auto old = r.loadLayerStats(4);
    QCOMPARE(old.size(), std::size_t(1));
    QVERIFY(!old[0].productRelError);
    const auto fresh = r.loadLayerStats(id);
    QCOMPARE(fresh.size(), std::size_t(1));
    QVERIFY(fresh[0].productRelError);
    QCOMPARE(*fresh[0].productRelError, 0.00612);
  }

  // A version-5 file is migrated to version 6: its rows read back without a sample,
  // and a new run stores and reads one (the values the Precision Explorer quantises).
  void migratesFromVersionFiveToSamples() {
    const QString path = oldStoreWithLayerRow(5, "(4, 25, 0, 'layers[0] linear', 'activation', 'fp16', 10, 0, 0, 0, 0, 1, '[]')");
    LayerStatsRecord measured;
    measured.step = 1;
    measured.layerName = "layers[0] linear";
    measured.kind = StatsKind::gradient;
    measured.precision = "fp16";
    measured.stats.count = 8;
    measured.sample = {1.0f, -2.5e-8f, 0.0f};
    std::int64_t id = 0;
    {
      RunWriter w(path.toStdString(), manualFlush());
      QCOMPARE(rawInt(path, "PRAGMA user_version"), kStoreSchemaVersion);
      id = w.createRun({}, "sample", "cpu", "d");
      w.appendLayerStats(measured);
      w.finish(RunStatus::completed);
    }
    RunReader r(path.toStdString());
    const auto old = r.loadLayerStats(4);
    QCOMPARE(old.size(), std::size_t(1));
    QVERIFY(old[0].sample.empty());
    const auto fresh = r.loadLayerStats(id);
    QCOMPARE(fresh.size(), std::size_t(1));
    QCOMPARE(fresh[0].sample, measured.sample);
  }

  void unversionedForeignFileIsRefused() {
    const QString path = dir_.filePath("foreign.sqlite");
    rawExec(path, "CREATE TABLE photos (id INTEGER)");
    const QString error = storeErrorOf([&] { RunReader r(path.toStdString()); });
    QVERIFY2(error.contains(path) && error.contains("not a Precision Lab run database"), qPrintable(error));
    QCOMPARE(rawInt(path, "SELECT count(*) FROM sqlite_master WHERE name = 'runs'"), 0);
  }

  void newerSchemaIsRefused() {
    const QString path = dir_.filePath("future.sqlite");
    { RunReader r(path.toStdString()); }
    rawExec(path, "PRAGMA user_version = 99");
    const QString error = storeErrorOf([&] { RunWriter w(path.toStdString()); });
    const QString expected = QStringLiteral("schema version 99 is newer than this program supports (%1)").arg(kStoreSchemaVersion);
    QVERIFY2(error.contains(path) && error.contains(expected), qPrintable(error));
    QCOMPARE(rawInt(path, "PRAGMA user_version"), 99);
  }

  void fileThatIsNotADatabaseIsReported() {
    const QString path = dir_.filePath("garbage.sqlite");
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(QByteArray("this is not a database, just text. ").repeated(200));
    f.close();
    const QString error = storeErrorOf([&] { RunReader r(path.toStdString()); });
    QVERIFY2(error.startsWith(path) && error.contains("file is not a database"), qPrintable(error));
  }

  void readOnlyOpenReadsButRefusesWrites() {
    const QString path = dir_.filePath("readonly-flag.sqlite");
    std::int64_t id = 0;
    {
      RunWriter w(path.toStdString(), manualFlush());
      id = w.createRun({}, "kept", "cpu", "d");
      w.appendStep(sampleStep(1));
      w.finish(RunStatus::completed);
    }
    // The writer was the last connection: SQLite checkpointed and removed the WAL, so
    // this is the case of `export` on a closed store.
    QVERIFY(!QFile::exists(path + "-wal"));
    StoreOptions o;
    o.readOnly = true;
    RunReader r(path.toStdString(), o);
    QCOMPARE(r.listRuns().size(), std::size_t(1));
    QCOMPARE(r.loadSteps(id).size(), std::size_t(1));
    const QString error = storeErrorOf([&] { r.updateNotes(id, "x"); });
    QVERIFY2(error.startsWith(path) && error.contains("readonly"), qPrintable(error));
  }

  void writeProtectedFileGivesClearError() {
    if (geteuid() == 0) QSKIP("running as root: file permissions do not stop root from writing (readOnlyOpenReadsButRefusesWrites covers the read-only path)");
    const QString path = dir_.filePath("chmod.sqlite");
    {
      RunWriter w(path.toStdString(), manualFlush());
      w.createRun({}, "kept", "cpu", "d");
      w.finish(RunStatus::completed);
    }
    QVERIFY(QFile::setPermissions(path, QFile::ReadOwner | QFile::ReadGroup | QFile::ReadOther));
    const QString error = storeErrorOf([&] { RunWriter w(path.toStdString()); });
    QVERIFY2(error.startsWith(path) && error.contains("read-only"), qPrintable(error));
    RunReader r(path.toStdString());  // a reader falls back to reading
    QCOMPARE(r.listRuns().size(), std::size_t(1));
  }

  void writeProtectedFolderGivesClearError() {
    if (geteuid() == 0) QSKIP("running as root: folder permissions do not stop root from writing");
    QTemporaryDir locked;
    const QString path = locked.filePath("runs.sqlite");
    QVERIFY(QFile::setPermissions(locked.path(), QFile::ReadOwner | QFile::ExeOwner));
    const QString error = storeErrorOf([&] { RunWriter w(path.toStdString()); });
    QFile::setPermissions(locked.path(), QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
    QVERIFY2(error.contains("is not writable"), qPrintable(error));
  }

  void missingFolderIsNamed() {
    const QString error = storeErrorOf([&] { RunWriter w("/nonexistent-plab-folder/runs.sqlite"); });
    QVERIFY2(error.contains("/nonexistent-plab-folder does not exist"), qPrintable(error));
  }

  // SQLITE_FULL without filling a real disk: PRAGMA max_page_count caps the file, and
  // SQLite reports a write past the cap exactly as it reports a full disk.
  void fullDatabaseKeepsCommittedRows() {
    const QString path = dir_.filePath("full.sqlite");
    StoreOptions o = manualFlush();
    o.maxPageCount = 48;  // the empty schema takes about 20 pages
    RunWriter w(path.toStdString(), o);
    const auto id = w.createRun({}, "fills up", "cpu", "d");
    for (int s = 1; s <= 10; ++s) w.appendStep(sampleStep(s));
    w.flush();
    for (int s = 11; s <= 3000; ++s) {
      w.appendStep(sampleStep(s));
      w.appendLayerStats(sampleLayerStats(s, 0, StatsKind::gradient));
    }
    const QString error = storeErrorOf([&] { w.flush(); });
    QVERIFY2(error.startsWith(path) && error.contains("full"), qPrintable(error));
    // The failed batch rolled back as a whole; the committed one is intact.
    RunReader r(path.toStdString());
    const auto steps = r.loadSteps(id);
    QCOMPARE(steps.size(), std::size_t(10));
    QCOMPARE(steps.back().step, 10);
    QCOMPARE(rawText(path, "PRAGMA integrity_check"), QString("ok"));
    QCOMPARE(statusText(r.getRun(id)->status), QString("running"));
  }
};

QTEST_GUILESS_MAIN(TestStoreErrors)
#include "tst_store_errors.moc"
