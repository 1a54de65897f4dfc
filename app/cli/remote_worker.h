#pragma once
// `precisionlab-cli worker --remote ssh://...`: the local relay of a worker on another
// machine (docs/remote.md, docs/architecture.md "Process model"). To whoever started it
// (the GUI, `run --worker`, `sweep --worker`) it is a worker like any other: commands on
// stdin, events on stdout. Behind it, `ssh HOST precisionlab-cli worker --no-store`
// trains; the relay forwards commands there, records every event it receives into the
// local store (store/event_recorder.h) and passes the events on with the local run id.
#include <string>

namespace plab::cli {

// Returns the exit status: the remote worker's own (0, or its error's code), kExitRemote
// when ssh could not connect or the connection broke (the run is then stored
// `interrupted`), kExitStore when the local store failed.
int relayRemoteWorker(const std::string& url, const std::string& db, const std::string& backend);

}  // namespace plab::cli
