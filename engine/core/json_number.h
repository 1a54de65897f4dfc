#pragma once
// The one JSON encoding of a double that may be NaN or infinite, used by the worker
// protocol, the store's JSON columns and every export (docs/protocol.md, "Numbers"):
// finite values are JSON numbers; NaN, +Inf and -Inf are the strings "nan", "inf"
// and "-inf". JSON itself has no spelling for them, and null would lose which one.
#include <optional>

#include <nlohmann/json.hpp>

namespace plab {

nlohmann::json numberToJson(double v);
// The shortest decimal that reads back as the same float: 0.001f is written 0.001, not
// 0.0010000000474974513 (what the float's exact double value would print as). NaN and
// infinities pass through (numberToJson spells them).
double shortestDecimal(float f);
// The value of a number or of "nan"/"inf"/"-inf"; std::nullopt for anything else.
std::optional<double> numberFromJson(const nlohmann::json& v);

}  // namespace plab
