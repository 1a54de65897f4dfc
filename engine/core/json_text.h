#pragma once
// Reading JSON text that anyone may have written, and showing JSON values in messages
// (docs/experiment-format.md, "Hostile input"; docs/protocol.md, "Envelope").
//
// parseJsonText is the one parser of untrusted text (experiment and sweep files,
// protocol lines). Beyond nlohmann's own checks it
//  - bounds the nesting depth at kMaxJsonDepth: every later step that walks a value
//    (copying, dumping, comparing) recurses once per level, so a value nested hundreds
//    of thousands deep would overflow the stack there;
//  - rejects anything after the value, a NUL byte included (nlohmann's lexer takes a
//    NUL for the end of the input and would ignore what follows it).
// Errors carry the 1-based line and column of the offending byte.
//
// previewJson shows a value in a message without dumping it whole: at most
// kPreviewChars characters (a deep or huge value is cut, never walked to its end) and
// its type; bytes that are not UTF-8 are shown as U+FFFD instead of throwing.
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace plab {

inline constexpr int kMaxJsonDepth = 64;
inline constexpr std::size_t kPreviewChars = 40;

// Text that is not one JSON value. what() is "line L, column C: reason", with
// "malformed JSON: " before a syntax error's reason (not before the limits above).
class JsonTextError : public std::runtime_error {
 public:
  JsonTextError(std::size_t line, std::size_t column, const std::string& reason);
  std::size_t line() const { return line_; }
  std::size_t column() const { return column_; }
  const std::string& reason() const { return reason_; }
  // "spirals.json:3:7: malformed JSON: ...": the error in a file of that name.
  std::string inFile(const std::string& name) const;

 private:
  std::size_t line_, column_;
  std::string reason_;
};

nlohmann::json parseJsonText(std::string_view text);

// `"fp61"`, `42`, `[[[[[[[[... (an array)`: the start of the value as JSON text; a cut
// value also names its type, as describeJsonType does.
std::string previewJson(const nlohmann::json& value);
// "an integer", "a string", "an array": the JSON type of value.
std::string describeJsonType(const nlohmann::json& value);
// JSON text of a value with bytes that are not UTF-8 replaced by U+FFFD (nlohmann's
// plain dump() throws type_error 316 on them). For values that parseJsonText bounded
// or that the program built itself.
std::string dumpJsonLenient(const nlohmann::json& value, int indent = -1);

}  // namespace plab
