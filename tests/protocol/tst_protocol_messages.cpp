// Every worker message and command survives encode -> decode -> encode, and a
// malformed line is rejected with an error that names the field.
#include <QtTest>

#include <cmath>
#include <limits>

#include "protocol/messages.h"

using namespace plab;
using namespace plab::protocol;
using nlohmann::json;

Q_DECLARE_METATYPE(plab::protocol::Event)
Q_DECLARE_METATYPE(plab::protocol::Command)

namespace {

StepMetrics step(std::int64_t n) {
  StepMetrics m;
  m.step = n;
  m.epoch = 1;
  m.loss = 0.5;
  m.lossScale = 32768;
  m.overflow = n % 2 == 0;
  m.skipped = m.overflow;
  m.culprit = m.overflow ? "layers[1] linear" : "";
  m.gradNorm = m.overflow ? std::numeric_limits<double>::infinity() : 3.25;
  m.learningRate = 0.001;
  m.stepMs = 2.5;
  m.samplesPerSecond = 25600;
  return m;
}

LayerStatsRecord stats() {
  LayerStatsRecord r;
  r.step = 50;
  r.layerIndex = 2;
  r.layerName = "layers[2] linear";
  r.kind = StatsKind::gradient;
  r.precision = "fp16";
  r.stats.count = 4096;
  r.stats.zeros = 100;
  r.stats.underflows = 40;
  r.stats.overflows = 1;
  r.stats.nonFinite = 0;
  r.stats.maxAbs = 70000.0f;
  r.stats.log2Hist[3] = 7;
  r.stats.log2Hist[64] = 4000;
  return r;
}

// The same record from a run with shadow_stats on (docs/protocol.md, "layer_stats").
LayerStatsRecord shadowStats() {
  LayerStatsRecord r = stats();
  r.hasShadow = true;
  r.shadow.count = 4096;
  r.shadow.zeros = 60;
  r.shadow.underflows = 3000;
  r.shadow.overflows = 2;
  r.shadow.precisionLoss = 500;
  r.shadow.relError = std::numeric_limits<double>::infinity();
  r.shadow.log2Hist[30] = 3000;
  return r;
}

}  // namespace

class TestProtocolMessages : public QObject {
  Q_OBJECT

 private slots:
  void eventRoundTrips_data() {
    QTest::addColumn<Event>("event");
    QTest::newRow("hello") << Event(Hello{kProtocolVersion, "cpu", "Xeon (2 threads)"});
    QTest::newRow("run_started") << Event(RunStarted{7, "/tmp/runs.sqlite", {{"seed", 1}}, 1000, {"layers[0] linear", "layers[1] relu"}, "cpu", "Xeon (2 threads)"});
    QTest::newRow("steps") << Event(StepsBatch{{step(1), step(2), step(3)}});
    QTest::newRow("steps nan loss") << Event(StepsBatch{{[] { auto m = step(5); m.loss = std::nan(""); return m; }()}});
    QTest::newRow("overflow") << Event(OverflowBatch{{{12, 65536, 32768, {"layers[2] linear", "layers[0] linear"}}}});
    QTest::newRow("scale_growth") << Event(ScaleGrowthBatch{{{2000, 32768, 65536}, {4000, 65536, 131072}}});
    QTest::newRow("promotion") << Event(PromotionBatch{{{50, 0, "layers[0] linear", "fp16", "bf16",
                                                          "gradients: 41.0% would underflow in fp16 at statistics steps 25, 50 (limit 5.0%)"}}});
    QTest::newRow("epoch") << Event(EpochBatch{{{0, 469, 0.52, 0.81, 0.48, 0.83}}});
    QTest::newRow("layer_stats") << Event(LayerStatsBatch{{stats()}});
    QTest::newRow("layer_stats with shadow") << Event(LayerStatsBatch{{stats(), shadowStats()}});
    QTest::newRow("layer_stats with sample") << Event(LayerStatsBatch{{[] {
      auto r = stats();
      r.sample = {1.5f, -2.0e-8f, std::numeric_limits<float>::infinity(), 0.0f};
      return r;
    }()}});
    QTest::newRow("speed") << Event(SpeedBatch{{{"bf16-mixed", 128, 4.5, 28444, 50, {{"layers[0] linear", 1.5, 2.75}}}}});
    QTest::newRow("progress") << Event(Progress{120, 1407, 0, 310.5, 4.15, false});
    QTest::newRow("progress eta unknown") << Event(Progress{0, 0, 0, 0, std::numeric_limits<double>::infinity(), true});
    QTest::newRow("log") << Event(LogBatch{{{"info", "backend cpu"}, {"warning", "no CUDA device"}}});
    QTest::newRow("error") << Event(ErrorMessage{"dataset.noise: must be >= 0", "dataset"});
    QTest::newRow("run_finished") << Event(RunFinished{RunStatus::failed, "NaN loss at step 812 (layers[3])", {{"steps", 812}}});
  }
  void eventRoundTrips() {
    QFETCH(Event, event);
    const std::string line = encodeLine(event);
    QVERIFY2(line.find('\n') == std::string::npos, line.c_str());
    const std::string head = std::string("{\"v\":1,\"type\":\"") + typeName(event) + "\"";
    QVERIFY2(line.rfind(head, 0) == 0, line.c_str());
    const Event decoded = decodeEvent(line);
    QCOMPARE(decoded.index(), event.index());
    QCOMPARE(encodeLine(decoded), line);
    QCOMPARE(json::parse(line), toJson(event));
  }

  void nanAndInfinityTravelAsStrings() {
    StepMetrics m = step(2);
    m.loss = std::numeric_limits<double>::quiet_NaN();
    const std::string line = encodeLine(Event(StepsBatch{{m}}));
    QVERIFY2(line.find("\"loss\":\"nan\"") != std::string::npos, line.c_str());
    QVERIFY2(line.find("\"grad_norm\":\"inf\"") != std::string::npos, line.c_str());
    const Event decoded = decodeEvent(line);
    const StepMetrics& back = std::get<StepsBatch>(decoded).steps.at(0);
    QVERIFY(std::isnan(back.loss));
    QVERIFY(std::isinf(back.gradNorm) && back.gradNorm > 0);
  }

  // The run's label comes from run_started, not hello: the experiment may ask for
  // another backend than the worker's default.
  void runStartedCarriesTheBackendTheRunUses() {
    const RunStarted m{3, "runs.sqlite", {{"backend", "cpu"}}, 10, {"layers[0] linear"}, "cpu", "Xeon (2 threads)"};
    const json j = toJson(Event(m));
    QCOMPARE(j["backend"].get<std::string>(), std::string("cpu"));
    QCOMPARE(j["device"].get<std::string>(), std::string("Xeon (2 threads)"));
    const auto back = std::get<RunStarted>(decodeEvent(encodeLine(Event(m))));
    QCOMPARE(back.backend, std::string("cpu"));
    QCOMPARE(back.device, std::string("Xeon (2 threads)"));
  }

  // docs/protocol.md, "Numbers": one spelling of NaN and the infinities in every field
  // that holds a double, also in nested records (statistics, speed) and progress.
  void everyDoubleFieldSpellsNonFiniteTheSameWay() {
    const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
    LayerStatsRecord r = stats();
    r.stats.maxAbs = float(inf);
    const std::string statsLine = encodeLine(Event(LayerStatsBatch{{r}}));
    QVERIFY2(statsLine.find("\"max_abs\":\"inf\"") != std::string::npos, statsLine.c_str());
    const std::string speedLine = encodeLine(Event(SpeedBatch{{{"fp16-mixed", 8, nan, -inf, 3, {{"l", inf, nan}}}}}));
    for (const char* text : {"\"median_step_ms\":\"nan\"", "\"samples_per_second\":\"-inf\"", "\"forward_ms\":\"inf\"",
                             "\"backward_ms\":\"nan\""})
      QVERIFY2(speedLine.find(text) != std::string::npos, (std::string(text) + " not in " + speedLine).c_str());
    const std::string epochLine = encodeLine(Event(EpochBatch{{{0, 9, nan, 0.5, inf, 0.25}}}));
    QVERIFY2(epochLine.find("\"train_loss\":\"nan\"") != std::string::npos, epochLine.c_str());
    QVERIFY2(epochLine.find("\"test_loss\":\"inf\"") != std::string::npos, epochLine.c_str());
    QVERIFY2(statsLine.find("null") == std::string::npos && speedLine.find("null") == std::string::npos &&
                 epochLine.find("null") == std::string::npos,
             "null is not a number spelling");
  }

  void commandRoundTrips_data() {
    QTest::addColumn<Command>("command");
    QTest::newRow("start") << Command(StartCommand{{{"title", "spirals"}, {"epochs", 3}}});
    QTest::newRow("pause") << Command(PauseCommand{});
    QTest::newRow("resume") << Command(ResumeCommand{});
    QTest::newRow("stop") << Command(StopCommand{});
  }
  void commandRoundTrips() {
    QFETCH(Command, command);
    const std::string line = encodeLine(command);
    const Command decoded = decodeCommand(line);
    QCOMPARE(decoded.index(), command.index());
    QCOMPARE(encodeLine(decoded), line);
  }

  void malformedLineNamesTheField_data() {
    QTest::addColumn<bool>("isCommand");
    QTest::addColumn<QString>("line");
    QTest::addColumn<QString>("expected");
    auto stepsWith = [&](const char* key, const json& value) {
      json s = step(1);
      if (value.is_null()) s.erase(key);
      else s[key] = value;
      return QString::fromStdString(json{{"v", 1}, {"type", "steps"}, {"steps", {json(step(0)), s}}}.dump());
    };
    QTest::newRow("not json") << false << "{\"v\":1,\"type\":" << "line: not valid JSON";
    QTest::newRow("array") << false << "[1,2]" << "message: must be a JSON object";
    QTest::newRow("no version") << false << R"({"type":"steps","steps":[]})" << "v: missing";
    QTest::newRow("newer version") << false << R"({"v":2,"type":"steps","steps":[]})" << "v: protocol version 2, this program speaks 1";
    QTest::newRow("version string") << false << R"({"v":"1","type":"steps","steps":[]})" << "v: must be an integer";
    QTest::newRow("no type") << false << R"({"v":1})" << "type: missing";
    QTest::newRow("unknown type") << false << R"({"v":1,"type":"stepz"})" << "type: \"stepz\" is not one of hello, run_started, steps";
    QTest::newRow("no steps") << false << R"({"v":1,"type":"steps"})" << "steps: missing";
    QTest::newRow("steps not array") << false << R"({"v":1,"type":"steps","steps":{}})" << "steps: must be an array";
    QTest::newRow("step without loss") << false << stepsWith("loss", nullptr) << "steps[1].loss: missing";
    QTest::newRow("bad loss scale") << false << stepsWith("loss_scale", "x") << "steps[1].loss_scale: must be a number or \"nan\"";
    QTest::newRow("fractional step") << false << stepsWith("step", 1.5) << "steps[1].step: must be an integer (got 1.5)";
    QTest::newRow("overflow flag") << false << stepsWith("overflow", 1) << "steps[1].overflow: must be true or false";
    QTest::newRow("overflow layer") << false << R"({"v":1,"type":"overflow","events":[{"step":3,"scale_before":2,"scale_after":1,"layers":["a",5]}]})"
                                    << "events[0].layers[1]: must be a string";
    QTest::newRow("histogram bin") << false
                                   << QString::fromStdString([] {
                                        json r = stats();
                                        r["stats"]["hist"] = {{300, 1}};
                                        return json{{"v", 1}, {"type", "layer_stats"}, {"records", {r}}}.dump();
                                      }())
                                   << "records[0].stats.hist[0]: bin 300 is outside 0..127";
    QTest::newRow("shadow count") << false
                                  << QString::fromStdString([] {
                                       json r = shadowStats();
                                       r["shadow"].erase("precision_loss");
                                       return json{{"v", 1}, {"type", "layer_stats"}, {"records", {r}}}.dump();
                                     }())
                                  << "records[0].shadow.precision_loss: missing";
    QTest::newRow("stats kind") << false
                                << QString::fromStdString([] {
                                     json r = stats();
                                     r["kind"] = "weights";
                                     return json{{"v", 1}, {"type", "layer_stats"}, {"records", {r}}}.dump();
                                   }())
                                << "records[0].kind: \"weights\" is not one of activation, gradient";
    QTest::newRow("speed timing") << false
                                  << R"({"v":1,"type":"speed","results":[{"config":"fp32","batch_size":1,"median_step_ms":1,"samples_per_second":1,"measured_steps":1,"layers":[{"layer":"a","backward_ms":1}]}]})"
                                  << "results[0].layers[0].forward_ms: missing";
    QTest::newRow("run_started without backend") << false
                                                 << R"({"v":1,"type":"run_started","run_id":1,"db":"x","config":{},"total_steps":1,"layers":[],"device":"d"})"
                                                 << "backend: missing";
    QTest::newRow("finished running") << false << R"({"v":1,"type":"run_finished","status":"running","error":"","summary":{}})"
                                      << "status: \"running\" is not one of completed, failed";
    QTest::newRow("log entry") << false << R"({"v":1,"type":"log","entries":[{"level":"info"}]})" << "entries[0].text: missing";
    QTest::newRow("start without experiment") << true << R"({"v":1,"type":"start"})" << "experiment: missing";
    QTest::newRow("experiment not object") << true << R"({"v":1,"type":"start","experiment":"x.json"})" << "experiment: must be an object";
    QTest::newRow("unknown command") << true << R"({"v":1,"type":"launch"})" << "type: \"launch\" is not one of start, pause, resume, stop";
  }
  void malformedLineNamesTheField() {
    QFETCH(bool, isCommand);
    QFETCH(QString, line);
    QFETCH(QString, expected);
    try {
      if (isCommand) decodeCommand(line.toStdString());
      else decodeEvent(line.toStdString());
      QFAIL(qPrintable("accepted: " + line));
    } catch (const ProtocolError& e) {
      QVERIFY2(QString(e.what()).startsWith(expected), qPrintable(QStringLiteral("got \"%1\", expected \"%2...\"").arg(e.what(), expected)));
    }
  }

  // Lines as a hostile or broken peer may send them (issue 17): each is refused with
  // the column where it goes wrong, and nothing walks the value whole.
  void hostileLineIsRefusedWithItsColumn_data() {
    QTest::addColumn<QByteArray>("line");
    QTest::addColumn<QString>("expected");
    const QByteArray start = R"({"v":1,"type":"start","experiment":)";
    QTest::newRow("nested 300000 deep") << start + QByteArray(300000, '[') + QByteArray(300000, ']') + "}"
                                        << "line: not valid JSON at column 99: nested deeper than 64 levels";
    QTest::newRow("NUL, then a command") << QByteArray(R"({"v":1,"type":"stop"})") + '\0' + R"({"v":1,"type":"start"})"
                                         << "line: not valid JSON at column 22: a NUL byte after the JSON value";
    QTest::newRow("byte that is not UTF-8") << QByteArray("{\"v\":1,\"type\":\"st\xff\"}")
                                            << "line: not valid JSON at column 18: malformed JSON: ";
  }
  void hostileLineIsRefusedWithItsColumn() {
    QFETCH(QByteArray, line);
    QFETCH(QString, expected);
    try {
      decodeCommand(line.toStdString());
      QFAIL("accepted");
    } catch (const ProtocolError& e) {
      const QString what = QString::fromUtf8(e.what());
      QVERIFY2(what.startsWith(expected), qPrintable("got \"" + what.left(300) + "\""));
      QVERIFY2(what.size() < 300, qPrintable(what.left(300)));
    }
  }

  // A value built in memory (not read by the bounded parser) is still shown by its start.
  void deepValueInAnErrorIsShownByItsStart() {
    json deep = json::array();
    for (int i = 0; i < 300000; ++i) deep = json::array({std::move(deep)});
    try {
      commandFromJson(json{{"v", 1}, {"type", "start"}, {"experiment", std::move(deep)}});
      QFAIL("accepted");
    } catch (const ProtocolError& e) {
      QCOMPARE(QString::fromUtf8(e.what()),
               QStringLiteral("experiment: must be an object (got [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[... (an array of 1 item))"));
    }
  }

  // An error that echoes a bad byte back must still go out as a line (nlohmann's
  // dump throws type_error 316 on bytes that are not UTF-8, which ended the worker).
  void errorEchoingABadByteStillEncodes() {
    const std::string line = encodeLine(ErrorMessage{"bad command: line: ... 'st\xff'", "command"});
    const auto decoded = std::get<ErrorMessage>(decodeEvent(line));
    QCOMPARE(QString::fromStdString(decoded.message), QString::fromUtf8("bad command: line: ... 'st\xEF\xBF\xBD'"));
  }

  void typeNamesFollowTheVariant() {
    QCOMPARE(eventTypeNames().size(), std::variant_size_v<Event>);
    QCOMPARE(commandTypeNames().size(), std::variant_size_v<Command>);
    QCOMPARE(std::string(typeName(Event(RunFinished{}))), std::string("run_finished"));
    QCOMPARE(std::string(typeName(Command(StopCommand{}))), std::string("stop"));
  }
};

QTEST_GUILESS_MAIN(TestProtocolMessages)
#include "tst_protocol_messages.moc"
