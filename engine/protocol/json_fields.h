#pragma once
// Reading fields out of JSON objects with errors that name the field
// ("steps[3].loss_scale: must be a number (got \"x\")"). Numbers that may be NaN or
// infinite are written and read with core/json_number.h ("nan", "inf", "-inf").
#include <cstdint>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "core/json_number.h"

namespace plab::protocol {

// A message or record that cannot be decoded. what() starts with the field path.
struct ProtocolError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws ProtocolError("<field>: <what>").
[[noreturn]] void failField(const std::string& field, const std::string& what);

// Runs decode(); a ProtocolError from it gets `prefix` put in front of its field path,
// so nested decoders compose: "steps[3]." + "loss: missing".
template <class F>
void withPrefix(const std::string& prefix, F&& decode) {
  try {
    decode();
  } catch (const ProtocolError& e) {
    throw ProtocolError(prefix + e.what());
  }
}


const nlohmann::json& requireField(const nlohmann::json& obj, const char* key);
void requireObject(const nlohmann::json& value, const std::string& what);
double readNumber(const nlohmann::json& obj, const char* key);       // also "nan", "inf", "-inf"
std::int64_t readInt(const nlohmann::json& obj, const char* key);
bool readBool(const nlohmann::json& obj, const char* key);
std::string readString(const nlohmann::json& obj, const char* key);
const nlohmann::json& readArray(const nlohmann::json& obj, const char* key);
const nlohmann::json& readObject(const nlohmann::json& obj, const char* key);

// Optional variants: the fallback when the key is absent, the same checks when present.
double readNumberOr(const nlohmann::json& obj, const char* key, double fallback);
std::int64_t readIntOr(const nlohmann::json& obj, const char* key, std::int64_t fallback);
std::string readStringOr(const nlohmann::json& obj, const char* key, const std::string& fallback);

}  // namespace plab::protocol
