#include "core/activations.h"

namespace plab {

std::string_view toString(Activation a) {
#define PLAB_ACT_NAME(name, S) \
  case Activation::name: return #name;
  switch (a) { PLAB_ACTIVATIONS(PLAB_ACT_NAME) }
#undef PLAB_ACT_NAME
  throw std::invalid_argument("unknown activation value " + std::to_string(static_cast<int>(a)));
}

std::optional<Activation> parseActivation(std::string_view name) {
  for (Activation a : kAllActivations) {
    if (toString(a) == name) return a;
  }
  return std::nullopt;
}

}  // namespace plab
