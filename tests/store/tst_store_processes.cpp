// The store across processes: a live writer in another process is left alone, a
// writer killed with SIGKILL has its run marked `interrupted` on the next open with
// its committed rows kept, and a reader follows a run while another process writes it.
#include <QtTest>

#include "store/store.h"
#include "store_fixtures.h"

using namespace plab;
using plab::testing::statusText;

namespace {

// Starts the helper and waits for its "ready <id>" line; returns the run id.
std::int64_t startHelper(QProcess& helper, const QString& db, const QStringList& args) {
  helper.setProcessChannelMode(QProcess::ForwardedErrorChannel);
  helper.start(PLAB_STORE_HELPER, QStringList{db} + args);
  if (!helper.waitForStarted(10000)) return -1;
  QByteArray line;
  while (!line.contains('\n')) {
    if (!helper.waitForReadyRead(20000)) return -1;
    line += helper.readLine();
  }
  const QList<QByteArray> parts = line.trimmed().split(' ');
  return parts.size() == 2 && parts[0] == "ready" ? parts[1].toLongLong() : -1;
}

}  // namespace

class TestStoreProcesses : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;

 private slots:
  void killedWriterIsMarkedInterrupted() {
    const QString db = dir_.filePath("killed.sqlite");
    QProcess helper;
    const std::int64_t id = startHelper(helper, db, {"hold"});
    QVERIFY2(id > 0, "the helper did not report a run");

    {
      // The writer is alive in another process: opening the file must not touch its run.
      RunReader r(db.toStdString());
      QVERIFY(r.interruptedOnOpen().empty());
      QCOMPARE(statusText(r.getRun(id)->status), QString("running"));
      QCOMPARE(r.getRun(id)->writerPid, qint64(helper.processId()));
    }

    {
      // The GUI follows a live run through read-only connections.
      StoreOptions readOnly;
      readOnly.readOnly = true;
      RunReader r(db.toStdString(), readOnly);
      QCOMPARE(r.loadSteps(id).size(), std::size_t(5));
      QCOMPARE(statusText(r.getRun(id)->status), QString("running"));
    }

    helper.kill();  // SIGKILL: no destructor, no finish
    QVERIFY(helper.waitForFinished(10000));
    QCOMPARE(helper.exitStatus(), QProcess::CrashExit);

    RunReader r(db.toStdString());
    QCOMPARE(r.interruptedOnOpen(), (std::vector<std::int64_t>{id}));
    const auto run = r.getRun(id);
    QCOMPARE(statusText(run->status), QString("interrupted"));
    QVERIFY2(QString::fromStdString(run->error).contains("ended without finishing"), run->error.c_str());
    QVERIFY(!run->finishedAt.empty());
    QCOMPARE(r.loadSteps(id).size(), std::size_t(5));  // the committed rows are kept
    RunReader again(db.toStdString());
    QVERIFY(again.interruptedOnOpen().empty());  // marked once
  }

  void readerFollowsARunWhileAnotherProcessWrites() {
    const QString db = dir_.filePath("concurrent.sqlite");
    const int total = 3000;
    QProcess helper;
    const std::int64_t id = startHelper(helper, db, {"stream", QString::number(total)});
    QVERIFY2(id > 0, "the helper did not report a run");

    RunReader r(db.toStdString());
    std::int64_t lastStep = 0;
    int reads = 0, readsWithNewRows = 0;
    QElapsedTimer timer;
    timer.start();
    while (lastStep < total && timer.elapsed() < 60000) {
      const auto rows = r.loadSteps(id, lastStep);
      ++reads;
      for (const auto& m : rows) {
        // Incremental reads see each step once, in order, with no gaps.
        QVERIFY2(m.step == lastStep + 1, qPrintable(QStringLiteral("expected step %1, got %2").arg(lastStep + 1).arg(m.step)));
        QCOMPARE(m.loss, 1.0 / double(m.step));
        lastStep = m.step;
      }
      readsWithNewRows += rows.empty() ? 0 : 1;
      QTest::qWait(5);
    }
    QCOMPARE(lastStep, qint64(total));
    // waitForFinished answers false for a process that has already ended.
    QVERIFY(helper.state() == QProcess::NotRunning || helper.waitForFinished(30000));
    QCOMPARE(helper.exitStatus(), QProcess::NormalExit);
    QCOMPARE(helper.exitCode(), 0);
    QCOMPARE(statusText(r.getRun(id)->status), QString("completed"));
    // A read-only connection opened after the writer exited reads everything too.
    StoreOptions readOnly;
    readOnly.readOnly = true;
    RunReader after(db.toStdString(), readOnly);
    QCOMPARE(after.loadSteps(id).size(), std::size_t(total));
    // The rows arrived in several commits while the writer ran, not all at the end.
    QVERIFY2(readsWithNewRows >= 2, qPrintable(QStringLiteral("%1 of %2 reads saw new rows").arg(readsWithNewRows).arg(reads)));
  }
};

QTEST_GUILESS_MAIN(TestStoreProcesses)
#include "tst_store_processes.moc"
