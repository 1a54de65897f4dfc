#pragma once
// The one JSON encoding of a double that may be NaN or infinite, used by the worker
// protocol, the store's JSON columns and every export (docs/protocol.md, "Numbers"):
// finite values are JSON numbers; NaN, +Inf and -Inf are the strings "nan", "inf"
// and "-inf". JSON itself has no spelling for them, and null would lose which one.
#include <optional>

#include <nlohmann/json.hpp>

namespace plab {

nlohmann::json numberToJson(double v);
// The value of a number or of "nan"/"inf"/"-inf"; std::nullopt for anything else.
std::optional<double> numberFromJson(const nlohmann::json& v);

}  // namespace plab
