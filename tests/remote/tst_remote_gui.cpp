// The app's side of a worker over SSH (docs/remote.md, "Use it"): the WorkerClient the
// main window runs experiments with, pointed at the sshd that tests/remote/with_sshd.sh
// started, trains there through the relay and shows the server's backend and device;
// Stop cancels the remote run; Run > Train on… refuses what is not a worker address.
#include <QApplication>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include "../cli/cli_test_support.h"
#include "runs/worker_client.h"
#include "runs/worker_location.h"
#include "store/store.h"

using namespace plab;
using namespace plab::ui;

namespace {

QString workerUrl() {
  return QString("ssh://%1@127.0.0.1:%2%3")
      .arg(qEnvironmentVariable("PLAB_TEST_SSH_USER"), qEnvironmentVariable("PLAB_TEST_SSH_PORT"), test::cliPath());
}

}  // namespace

class TestRemoteGui : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);  // the settings of this test only
    QSettings().clear();
    if (qEnvironmentVariableIsEmpty("PLAB_TEST_SSH_DIR")) QSKIP("run through tests/remote/with_sshd.sh");
    qputenv("PLAB_SSH_COMMAND", ("ssh -F " + qEnvironmentVariable("PLAB_TEST_SSH_DIR") + "/ssh_config_good").toUtf8());
  }

  void runTrainsOverSshAndIsStoredHere() {
    QTemporaryDir dir;
    const QString db = dir.filePath("runs.sqlite");
    WorkerClient client;
    client.setRemote(workerUrl());
    QSignalSpy ended(&client, &WorkerClient::runEnded);
    QVERIFY2(client.start(test::tinySpirals(), db), qPrintable(client.error()));
    QVERIFY2(ended.wait(60000), qPrintable(client.lastMessages().join('\n')));
    QCOMPARE(ended.first().at(0).toString(), QStringLiteral("completed"));
    const RunDataPtr run = client.run();
    RunReader reader(db.toStdString());
    const auto info = reader.getRun(run->runId);
    QVERIFY(info.has_value());
    QCOMPARE(info->status, RunStatus::completed);
    QCOMPARE(run->backend.toStdString(), info->backend);
    QCOMPARE(run->device.toStdString(), info->device);
    QVERIFY(!info->device.empty());
    QCOMPARE(std::int64_t(run->steps.size()), info->stepCount);
    QCOMPARE(run->summary["run_id"].get<std::int64_t>(), run->runId);
  }

  void stopCancelsTheRemoteRun() {
    QTemporaryDir dir;
    const QString db = dir.filePath("runs.sqlite");
    WorkerClient client;
    client.setRemote(workerUrl());
    QSignalSpy ended(&client, &WorkerClient::runEnded);
    QVERIFY2(client.start(test::endlessSpirals(), db), qPrintable(client.error()));
    QTRY_VERIFY_WITH_TIMEOUT(client.run()->steps.size() > 50, 30000);
    client.stop();
    QVERIFY(ended.wait(30000));
    QCOMPARE(ended.first().at(0).toString(), QStringLiteral("cancelled"));
    QTRY_VERIFY_WITH_TIMEOUT(!client.isRunning(), 10000);
    const auto info = RunReader(db.toStdString()).getRun(client.run()->runId);
    QVERIFY(info.has_value());
    QCOMPARE(info->status, RunStatus::cancelled);
  }

  // The app says why it could not connect, as the CLI does.
  void aRefusedKeyIsNamedInTheRunsError() {
    const QByteArray good = qgetenv("PLAB_SSH_COMMAND");
    qputenv("PLAB_SSH_COMMAND", ("ssh -F " + qEnvironmentVariable("PLAB_TEST_SSH_DIR") + "/ssh_config_refused_key").toUtf8());
    QTemporaryDir dir;
    WorkerClient client;
    client.setRemote(workerUrl());
    QSignalSpy ended(&client, &WorkerClient::runEnded);
    QVERIFY2(client.start(test::tinySpirals(), dir.filePath("runs.sqlite")), qPrintable(client.error()));
    const bool endedInTime = ended.wait(30000);
    qputenv("PLAB_SSH_COMMAND", good);
    QVERIFY(endedInTime);
    QCOMPARE(ended.first().at(0).toString(), QStringLiteral("failed"));
    QVERIFY2(client.run()->error.contains("authentication failed: " + QString(workerUrl()).section('/', 2, 2)),
             qPrintable(client.run()->error));
  }

  void trainOnRefusesWhatIsNotAnAddress() {
    QWidget window;
    WorkerLocation location(&window);
    QCOMPARE(location.address(), QString());
    QVERIFY(location.statusLabel()->text().contains("this computer"));
    QString seen = "unset";
    location.follow([&](const QString& a) { seen = a; });
    QCOMPARE(seen, QString());
    QString error;
    QVERIFY(!location.setAddress("ftp://gpu1/x", &error));
    QVERIFY2(error.contains("must start with ssh://"), qPrintable(error));
    QCOMPARE(location.address(), QString());
    QVERIFY(location.setAddress(workerUrl(), &error));
    QCOMPARE(seen, workerUrl());
    QVERIFY(location.statusLabel()->text().contains(workerUrl()));
    WorkerLocation again(&window);  // kept in the settings
    QCOMPARE(again.address(), workerUrl());
    QVERIFY(location.setAddress("", &error));
    QCOMPARE(seen, QString());
  }
};

QTEST_MAIN(TestRemoteGui)
#include "tst_remote_gui.moc"
