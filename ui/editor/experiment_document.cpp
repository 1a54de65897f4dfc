#include "editor/experiment_document.h"

#include <QFile>
#include <QFileInfo>
#include <QSaveFile>
#include <QUndoCommand>
#include <QUndoStack>
#include <stdexcept>

#include "core/json_text.h"

namespace plab::ui {
namespace {

// One edit as a pair of snapshots: experiments are a few KB, so copying the JSON is
// cheaper and far simpler than an inverse operation per kind of edit.
class SnapshotCommand : public QUndoCommand {
 public:
  SnapshotCommand(ExperimentDocument* doc, nlohmann::json before, nlohmann::json after,
                  const QString& text, int mergeId)
      : QUndoCommand(text), doc_(doc), before_(std::move(before)), after_(std::move(after)),
        mergeId_(mergeId) {}
  void undo() override { doc_->restore(before_); }
  void redo() override { doc_->restore(after_); }
  int id() const override { return mergeId_; }
  bool mergeWith(const QUndoCommand* other) override {
    after_ = static_cast<const SnapshotCommand*>(other)->after_;
    return true;
  }

 private:
  ExperimentDocument* doc_;
  nlohmann::json before_, after_;
  int mergeId_;
};

}  // namespace

ExperimentDocument::ExperimentDocument(QObject* parent)
    : QObject(parent), json_(defaultExperimentJson()), undo_(new QUndoStack(this)) {}

const nlohmann::json& ExperimentDocument::layers() const {
  static const nlohmann::json empty = nlohmann::json::array();
  const auto network = json_.find("network");
  if (network == json_.end() || !network->is_object()) return empty;
  const auto layers = network->find("layers");
  return layers != network->end() && layers->is_array() ? *layers : empty;
}

QString ExperimentDocument::title() const {
  return QString::fromStdString(json_.value("title", std::string()));
}

QString ExperimentDocument::description() const {
  return QString::fromStdString(json_.value("description", std::string()));
}

bool ExperimentDocument::isModified() const { return !undo_->isClean(); }

void ExperimentDocument::load(nlohmann::json json, const QString& filePath) {
  json_ = std::move(json);
  loaded_ = json_;
  filePath_ = filePath;
  undo_->clear();
  emit loaded();
  emit changed();
}

void ExperimentDocument::loadFile(const QString& path) {
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly)) {
    throw std::runtime_error(path.toStdString() + ": cannot open: " + file.errorString().toStdString());
  }
  nlohmann::json parsed;
  try {
    // The engine's reader of untrusted text: bounded nesting, nothing after the value
    // (docs/experiment-format.md, "Hostile input").
    parsed = parseJsonText(file.readAll().toStdString());
  } catch (const JsonTextError& e) {
    throw std::runtime_error(e.inFile(path.toStdString()));
  }
  if (!parsed.is_object()) throw std::runtime_error(path.toStdString() + ": expected a JSON object");
  load(std::move(parsed), path);
}

void ExperimentDocument::saveFile(const QString& path) {
  QSaveFile file(path);
  const std::string text = json_.dump(2) + "\n";
  if (!file.open(QIODevice::WriteOnly) || file.write(text.data(), qint64(text.size())) < 0 ||
      !file.commit()) {
    throw std::runtime_error(path.toStdString() + ": cannot write: " + file.errorString().toStdString());
  }
  filePath_ = path;
  loaded_ = json_;
  undo_->setClean();
  emit changed();
}

void ExperimentDocument::edit(const QString& text, const std::function<void(nlohmann::json&)>& change,
                              const QString& mergeKey) {
  nlohmann::json after = json_;
  change(after);
  if (after == json_) return;
  const int mergeId = mergeKey.isEmpty() ? -1 : int(qHash(mergeKey) & 0x3fffffff);
  undo_->push(new SnapshotCommand(this, json_, std::move(after), text, mergeId));
}

void ExperimentDocument::restore(const nlohmann::json& json) {
  json_ = json;
  emit changed();
}

nlohmann::json defaultExperimentJson() {
  return nlohmann::json::parse(R"({
    "format_version": 1,
    "title": "Two spirals",
    "description": "A small network on two interleaved spirals; trains in seconds.",
    "seed": 42,
    "dataset": {"name": "spirals", "train_size": 2000, "test_size": 500, "noise": 0.1},
    "network": {"layers": [
      {"type": "linear", "out": 64, "precision": "fp32"},
      {"type": "relu", "precision": "fp32"},
      {"type": "linear", "out": 64, "precision": "fp32"},
      {"type": "relu", "precision": "fp32"},
      {"type": "linear", "out": 2, "precision": "fp32"}],
      "loss": "cross_entropy"},
    "optimizer": {"type": "adam", "lr": 0.01},
    "loss_scaling": {"mode": "none"},
    "master_weights": true,
    "batch_size": 64,
    "epochs": 10,
    "stats_interval": 25
  })");
}

}  // namespace plab::ui
