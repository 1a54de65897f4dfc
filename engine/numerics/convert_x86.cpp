// x86 fast paths for the array conversions (filled in below; none yet).
#include "numerics/convert_kernels.h"

namespace plab::detail {

const ArrayKernels* x86Kernels() { return nullptr; }

}  // namespace plab::detail
