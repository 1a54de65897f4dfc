#pragma once
// The experiment being edited: the experiment file's JSON (docs/experiment-format.md)
// plus the file it came from. Every widget edits it through edit(), which records an
// undoable snapshot on the undo stack, and redraws on changed().
#include <QObject>
#include <QString>
#include <functional>
#include <nlohmann/json.hpp>

class QUndoStack;

namespace plab::ui {

class ExperimentDocument : public QObject {
  Q_OBJECT
 public:
  explicit ExperimentDocument(QObject* parent = nullptr);

  const nlohmann::json& json() const { return json_; }
  // The experiment as last opened or saved, before the edits since (what a run's
  // default name is told apart from: docs/user-guide.md, "Runs").
  const nlohmann::json& loadedJson() const { return loaded_; }
  const nlohmann::json& layers() const;
  QString filePath() const { return filePath_; }
  QString title() const;
  QString description() const;
  bool isModified() const;

  // Replaces the whole document (open, new, re-run a stored config); clears undo.
  void load(nlohmann::json json, const QString& filePath);
  // Reads an experiment file; throws std::runtime_error naming the file and problem.
  void loadFile(const QString& path);
  // Writes the document to path (pretty JSON) and makes it the document's file.
  void saveFile(const QString& path);

  // Applies change to a copy of the JSON and pushes it as one undo step named text.
  // Edits with the same non-empty mergeKey in a row merge (typing in a spin box).
  void edit(const QString& text, const std::function<void(nlohmann::json&)>& change,
            const QString& mergeKey = {});
  QUndoStack* undoStack() const { return undo_; }

  // Used by the undo commands: sets the JSON without recording anything.
  void restore(const nlohmann::json& json);

 signals:
  void changed();
  void loaded();

 private:
  nlohmann::json json_;
  nlohmann::json loaded_;
  QString filePath_;
  QUndoStack* undo_;
};

// The built-in starting point when no experiment file can be found.
nlohmann::json defaultExperimentJson();

}  // namespace plab::ui
