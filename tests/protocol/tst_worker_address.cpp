// Worker addresses (protocol/worker_address.h, docs/remote.md): what a URL means, the ssh
// command line it becomes, and the sentence that names why ssh failed, from the stderr
// texts OpenSSH 9.2 writes (the same failures run against a real sshd in
// tests/remote/tst_remote_ssh.cpp).
#include <QtTest>

#include "protocol/worker_address.h"

using namespace plab::protocol;

class TestWorkerAddress : public QObject {
  Q_OBJECT
 private slots:
  void parsesTheParts_data() {
    QTest::addColumn<QString>("url");
    QTest::addColumn<QString>("user");
    QTest::addColumn<QString>("host");
    QTest::addColumn<int>("port");
    QTest::addColumn<QString>("program");
    QTest::newRow("everything") << "ssh://ana@gpu1.lab:2222/opt/plab/bin/precisionlab-cli" << "ana" << "gpu1.lab" << 2222
                                << "/opt/plab/bin/precisionlab-cli";
    QTest::newRow("host only") << "ssh://gpu1" << "" << "gpu1" << 0 << "precisionlab-cli";
    QTest::newRow("slash only") << "ssh://gpu1/" << "" << "gpu1" << 0 << "precisionlab-cli";
    QTest::newRow("home-relative") << "ssh://gpu1/~/bin/precisionlab-cli" << "" << "gpu1" << 0 << "~/bin/precisionlab-cli";
    QTest::newRow("IPv6 with port") << "ssh://ana@[::1]:22/x/precisionlab-cli" << "ana" << "::1" << 22
                                    << "/x/precisionlab-cli";
  }
  void parsesTheParts() {
    QFETCH(QString, url);
    QFETCH(QString, user);
    QFETCH(QString, host);
    QFETCH(int, port);
    QFETCH(QString, program);
    const SshWorkerAddress a = parseWorkerAddress(url.toStdString());
    QCOMPARE(QString::fromStdString(a.user), user);
    QCOMPARE(QString::fromStdString(a.host), host);
    QCOMPARE(a.port, port);
    QCOMPARE(QString::fromStdString(a.program), program);
  }

  void refusesWhatIsNotAnAddress_data() {
    QTest::addColumn<QString>("url");
    QTest::addColumn<QString>("message");
    QTest::newRow("other scheme") << "http://gpu1/x" << "\"http://gpu1/x\": a worker address must start with ssh://";
    QTest::newRow("no host") << "ssh://:22/x" << "no host";
    QTest::newRow("empty user") << "ssh://@gpu1" << "the user before '@' is empty";
    QTest::newRow("port not a number") << "ssh://gpu1:ssh/x" << "port \"ssh\" is not a number";
    QTest::newRow("port 0") << "ssh://gpu1:0/x" << "port 0 is not in 1..65535";
    QTest::newRow("empty port") << "ssh://gpu1:/x" << "the port after ':' is empty";
    QTest::newRow("option as host") << "ssh://-oProxyCommand=sh/x" << "must not start with '-'";
    QTest::newRow("option as user") << "ssh://-F@gpu1/x" << "the user \"-F\" must not start with '-'";
    QTest::newRow("a space") << "ssh://gpu1/opt/my tools/precisionlab-cli" << "spaces and control characters";
    QTest::newRow("a folder") << "ssh://gpu1/opt/plab/" << "names a folder";
    QTest::newRow("unclosed IPv6") << "ssh://[::1/x" << "no ']' closes";
  }
  void refusesWhatIsNotAnAddress() {
    QFETCH(QString, url);
    QFETCH(QString, message);
    try {
      parseWorkerAddress(url.toStdString());
      QFAIL("accepted");
    } catch (const WorkerAddressError& e) {
      QVERIFY2(QString::fromUtf8(e.what()).contains(message), e.what());
    }
  }

  // BatchMode always; the remote command one string, each word quoted for the remote
  // shell (ssh joins the words with spaces), except the "~/" that only it can expand.
  void buildsTheSshCommand() {
    const SshWorkerAddress a = parseWorkerAddress("ssh://ana@gpu1:2222/~/it's/precisionlab-cli");
    const std::vector<std::string> argv = sshWorkerCommand(a, {"ssh", "-F", "/tmp/cfg"}, {"worker", "--no-store"});
    const std::vector<std::string> expected = {"ssh", "-F", "/tmp/cfg", "-o", "BatchMode=yes", "-o",
                                               "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4", "-p", "2222", "-l", "ana",
                                               "--", "gpu1", "~/'it'\\''s/precisionlab-cli' 'worker' '--no-store'"};
    QCOMPARE(argv, expected);
  }

  void sshCommandComesFromTheEnvironment() {
    qputenv(kSshCommandVariable, "  ssh   -F /etc/plab/ssh_config ");
    QCOMPARE(sshCommandFromEnvironment(), (std::vector<std::string>{"ssh", "-F", "/etc/plab/ssh_config"}));
    qputenv(kSshCommandVariable, "   ");
    QCOMPARE(sshCommandFromEnvironment(), std::vector<std::string>{"ssh"});
    qunsetenv(kSshCommandVariable);
    QCOMPARE(sshCommandFromEnvironment(), std::vector<std::string>{"ssh"});
  }

  void namesWhySshFailed_data() {
    QTest::addColumn<int>("status");
    QTest::addColumn<QString>("stderrText");
    QTest::addColumn<QString>("message");
    QTest::newRow("host key changed")
        << 255
        << "@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n"
           "Host key for [gpu1]:2222 has changed and you have requested strict checking.\nHost key verification failed.\n"
        << "host key verification failed: the host key that gpu1:2222 sent is not the one known for it";
    QTest::newRow("host key unknown")
        << 255
        << "No ED25519 host key is known for [gpu1]:2222 and you have requested strict checking.\n"
           "Host key verification failed.\n"
        << "host key verification failed: no host key is known for gpu1:2222";
    QTest::newRow("key refused") << 255 << "ana@gpu1: Permission denied (publickey).\n"
                                 << "authentication failed: ana@gpu1:2222 refused every key offered";
    QTest::newRow("refused") << 255 << "ssh: connect to host gpu1 port 2222: Connection refused\n"
                             << "the connection was refused: nothing accepts SSH connections on gpu1:2222";
    QTest::newRow("unknown name") << 255 << "ssh: Could not resolve hostname gpu1: Name or service not known\n"
                                  << "unknown host \"gpu1\"";
    QTest::newRow("no route") << 255 << "ssh: connect to host gpu1 port 2222: No route to host\n" << "cannot reach";
    QTest::newRow("no program") << 127 << "bash: /opt/x/precisionlab-cli: No such file or directory\n"
                                << "the worker program /opt/x/precisionlab-cli cannot be run on gpu1:2222 (not found";
  }
  void namesWhySshFailed() {
    QFETCH(int, status);
    QFETCH(QString, stderrText);
    QFETCH(QString, message);
    const SshWorkerAddress a = parseWorkerAddress("ssh://ana@gpu1:2222/opt/x/precisionlab-cli");
    const QString said = QString::fromStdString(describeSshFailure(a, status, stderrText.toStdString()));
    QVERIFY2(said.startsWith("ssh://ana@gpu1:2222/opt/x/precisionlab-cli: "), qPrintable(said));
    QVERIFY2(said.contains(message), qPrintable(said));
    // ssh's own last line is quoted, so that nothing it said is lost.
    QVERIFY2(said.contains("(ssh: " + QString::fromStdString(lastLine(stderrText.toStdString())) + ")"), qPrintable(said));
  }
};

QTEST_GUILESS_MAIN(TestWorkerAddress)
#include "tst_worker_address.moc"
