#include "core/json_text.h"

namespace plab {
namespace {

using nlohmann::json;

// Thrown by the parser callback to stop at the first value nested too deep.
struct TooDeep {};

struct Position {
  std::size_t line = 1, column = 1;
};

// The 1-based line and column of byte `offset` (columns count bytes).
Position positionOf(std::string_view text, std::size_t offset) {
  Position p;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++p.line;
      p.column = 1;
    } else {
      ++p.column;
    }
  }
  return p;
}

[[noreturn]] void failAt(std::string_view text, std::size_t offset, const std::string& reason) {
  const Position p = positionOf(text, offset);
  throw JsonTextError(p.line, p.column, reason);
}

// The offset of the bracket that opens level kMaxJsonDepth + 1. Brackets inside
// strings do not count. Only called once the parser stopped there, so the text
// before it is valid JSON.
std::size_t tooDeepOffset(std::string_view text) {
  int depth = 0;
  bool inString = false, escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') inString = false;
    } else if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return i;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return text.size();
}

// nlohmann's message without its "[json.exception.parse_error.101] parse error at
// line 3, column 7: " prefix (the position is ours, in the same terms).
// Its "last read: '...'" quotes the whole token it was reading, which may be a
// string of megabytes or a run of brackets: kept to kPreviewChars characters.
std::string parseErrorReason(const std::string& what) {
  const std::size_t colon = what.find(": ");
  std::string reason = colon == std::string::npos ? what : what.substr(colon + 2);
  const std::string marker = "last read: '";
  const std::size_t quoted = reason.find(marker);
  if (quoted != std::string::npos) {
    const std::size_t start = quoted + marker.size();
    const std::size_t end = reason.rfind('\'');
    if (end != std::string::npos && end > start && end - start > kPreviewChars) {
      reason = reason.substr(0, start + kPreviewChars) + "...' (" + std::to_string(end - start) + " characters)" +
               reason.substr(end + 1);
    }
  }
  return reason;
}

// Appends the start of v's JSON text to out until out holds `limit` characters.
// Recurses once per level, but each level adds a character first, so never deeper
// than `limit`.
void appendPreview(const json& v, std::string& out, std::size_t limit) {
  if (out.size() >= limit) return;
  if (v.is_array() || v.is_object()) {
    out += v.is_array() ? '[' : '{';
    bool first = true;
    for (auto it = v.begin(); it != v.end() && out.size() < limit; ++it) {
      if (!first) out += ',';
      first = false;
      if (v.is_object()) out += dumpJsonLenient(json(it.key())) + ':';
      appendPreview(*it, out, limit);
    }
    if (out.size() < limit) out += v.is_array() ? ']' : '}';
    return;
  }
  if (v.is_string() && v.get_ref<const std::string&>().size() > limit) {
    // Only the start of a long string is shown; cutting it may split a UTF-8
    // sequence, which the lenient dump shows as U+FFFD.
    out += dumpJsonLenient(json(v.get_ref<const std::string&>().substr(0, limit)));
    return;
  }
  out += dumpJsonLenient(v);
}

}  // namespace

JsonTextError::JsonTextError(std::size_t line, std::size_t column, const std::string& reason)
    : std::runtime_error("line " + std::to_string(line) + ", column " + std::to_string(column) + ": " + reason),
      line_(line), column_(column), reason_(reason) {}

std::string JsonTextError::inFile(const std::string& name) const {
  return name + ":" + std::to_string(line_) + ":" + std::to_string(column_) + ": " + reason_;
}

json parseJsonText(std::string_view text) {
  const json::parser_callback_t boundDepth = [](int depth, json::parse_event_t event, json&) {
    // depth counts the containers already open: the top-level value opens at 0.
    const bool opens = event == json::parse_event_t::object_start || event == json::parse_event_t::array_start;
    if (opens && depth >= kMaxJsonDepth) throw TooDeep{};
    return true;
  };
  json value;
  try {
    value = json::parse(text.begin(), text.end(), boundDepth);
  } catch (const TooDeep&) {
    failAt(text, tooDeepOffset(text), "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  } catch (const json::parse_error& e) {
    // e.byte is 1-based: the offset just past the character that failed.
    const std::size_t at = e.byte > 0 ? e.byte - 1 : 0;
    if (at < text.size() && text[at] == '\0') failAt(text, at, "malformed JSON: a NUL byte, which JSON text cannot contain");
    failAt(text, at, "malformed JSON: " + parseErrorReason(e.what()));
  } catch (const json::out_of_range& e) {
    // A number beyond a double (e.g. 1e400): nlohmann names the token but not
    // where it stands, so the first place the token is written is given.
    const std::string what = e.what();
    const std::size_t open = what.find('\'');
    const std::size_t close = what.rfind('\'');
    const std::string token = open != std::string::npos && close > open ? what.substr(open + 1, close - open - 1) : "";
    const std::size_t at = token.empty() ? std::string_view::npos : text.find(token);
    failAt(text, at == std::string_view::npos ? 0 : at,
           "a number too large for a double" + (token.empty() ? std::string() : ": " + token.substr(0, kPreviewChars)));
  }
  // nlohmann stops at a NUL byte as at the end of the input: whatever follows the
  // value there would be ignored without a word.
  if (const std::size_t nul = text.find('\0'); nul != std::string_view::npos)
    failAt(text, nul, "a NUL byte after the JSON value; nothing may follow the value");
  return value;
}

std::string describeJsonType(const json& value) {
  switch (value.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::string: return "a string";
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    case json::value_t::number_float: return "a number";
    case json::value_t::binary: return "binary data";
    case json::value_t::discarded: return "a discarded value";
  }
  return "something else";
}

std::string previewJson(const json& value) {
  std::string text;
  appendPreview(value, text, kPreviewChars + 1);
  if (text.size() <= kPreviewChars) return text;
  text.resize(kPreviewChars);
  std::string type = describeJsonType(value);
  if (value.is_array() || value.is_object())
    type += " of " + std::to_string(value.size()) + (value.size() == 1 ? " item" : " items");
  if (value.is_string()) type += " of " + std::to_string(value.get_ref<const std::string&>().size()) + " bytes";
  return text + "... (" + type + ")";
}

std::string dumpJsonLenient(const json& value, int indent) {
  return value.dump(indent, ' ', false, json::error_handler_t::replace);
}

}  // namespace plab
