#pragma once
// Block-scaled formats, exactly, on the CPU: the reference for OCP Microscaling (MX v1.0:
// mxfp8_e4m3, mxfp8_e5m2, mxfp6_e3m2, mxfp6_e2m3, mxfp4, mxint8) and NVFP4. A span of
// fp32 values is cut into consecutive blocks (the last one may be short); each block gets
// one scale and each value one element. docs/architecture.md ("Block-scaled formats")
// states the rules; in short:
//
// MX (blocks of 32, an e8m0 scale X = 2^k, k in [-127, 127], 0xFF is NaN):
// - k = floor(log2(amax of the block)) - emax, where emax is the exponent of the element
//   format's largest value (e4m3 8, e5m2 15, e3m2 4, e2m3 2, e2m1 2, int8 0), clamped
//   below at -127; each element is value / X rounded to nearest, ties to even, with the
//   element's subnormals, saturating at the element's largest magnitude.
// - A block holding a NaN or an infinity has a NaN scale (its amax has no e8m0 exponent),
//   so every value of the block decodes as NaN; its elements are stored as zeros.
// - An all-zero block has the smallest scale, 2^-127 (floor(log2 0) is -inf), and zero
//   elements that keep the inputs' signs.
//
// NVFP4 (e2m1 elements, blocks of 16 with an e4m3 scale, one fp32 scale per tensor):
// - The tensor scale t is amax / (6 * 448), amax over the blocks that hold no NaN or inf
//   (those decode as NaN), rounded down to 19 significant bits (so that 2688 * t is exact
//   and the largest value comes back exactly) and at least 2^-126.
// - A block's scale s is amax_block / (6 t) rounded to e4m3 (nearest, ties to even,
//   saturating at 448). Where that leaves the block's largest element below 6 (only when
//   s falls below e4m3's normal range), s steps down one e4m3 value, to 0 at the bottom
//   (then the block is zeros). Elements are value / (s t) in e2m1; a value decodes as
//   element * s * t rounded once to fp32.
// - A block holding a NaN or an infinity has the e4m3 NaN scale (0x7F): all NaN.
//
// Both are idempotent: quantising the decoded values again gives the same bits (tested).
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "numerics/convert.h"
#include "numerics/precision.h"

namespace plab {

// ---- one element, before its block's scale --------------------------------------------
// p must be block-scaled (std::invalid_argument otherwise). Patterns are totalBits wide
// (mxfp4: 0x0..0xF, sign in the top bit; mxint8: two's complement).

// x rounded to the nearest element, ties to the even pattern, subnormals kept; finite
// magnitudes beyond the largest element saturate to it (mxint8: +-127/64, so its pattern
// 0x80, -2, is decoded but never produced). Inf and NaN are not clamped: +-inf stays
// +-inf in e5m2 and becomes NaN in e4m3; NaN is 0x7F in both; the other elements have
// neither (std::invalid_argument: in a block they make the block's scale NaN instead).
std::uint32_t encodeElement(Precision p, double x);
// The exact value of an element pattern (inf and NaN where the element has them).
double decodeElement(Precision p, std::uint32_t bits);
ValueClass classifyElement(Precision p, std::uint32_t bits);
// The number of patterns of an element: 2^totalBits.
std::uint32_t elementPatternCount(Precision p);
// The exponent of the element format's largest binade: floor(log2(maxFinite)).
int elementMaxExponent(Precision p);

// ---- scales --------------------------------------------------------------------------
inline constexpr std::uint32_t kE8m0Nan = 0xFFu;
inline constexpr int kE8m0MinExponent = -127;
inline constexpr int kE8m0MaxExponent = 127;
// The value of a scale pattern: e8m0 2^(bits - 127) (0xFF: NaN); fp8_e4m3 its e4m3 value
// (sign ignored, 0x7F NaN); fp32 the float with these bits. std::invalid_argument for none.
double decodeScale(ScaleFormat s, std::uint32_t bits);

// ---- quantising a span of values ------------------------------------------------------
struct BlockScaleRecord {
  std::size_t first = 0;       // index of the block's first value
  std::size_t count = 0;       // its values: blockSize, or fewer for the last block
  std::uint32_t scaleBits = 0; // e8m0 (MX) or e4m3 (NVFP4) pattern
  double scale = 0;            // its value (NaN for a NaN scale); NVFP4: before the tensor scale
  double amax = 0;             // the block's largest input magnitude (NaN/inf when it holds one)
  bool steppedDown = false;    // NVFP4: the scale stepped down one e4m3 value (see above)
};

struct BlockQuantisation {
  Precision precision = Precision::mxfp4;
  float tensorScale = 1.0f;               // NVFP4: t, the fp32 tensor scale; 1 for MX
  double tensorAmax = 0;                  // NVFP4: amax of the blocks without NaN/inf; 0 for MX
  std::vector<BlockScaleRecord> blocks;
  std::vector<std::uint32_t> elementBits; // one per input value
  std::vector<float> values;              // the decoded values, one per input
};

// Quantises `in` as consecutive blocks of p (block-scaled; std::invalid_argument
// otherwise). Every input is allowed, NaN and inf included (rules above).
BlockQuantisation quantiseBlocks(Precision p, std::span<const float> in);
// The values that scales and element bits stand for, recomputed from the bits alone:
// MX element * 2^k; NVFP4 element * s * t rounded once to fp32; NaN where the scale is
// NaN. Equal to q.values for any q from quantiseBlocks (tested).
std::vector<float> dequantiseBlocks(const BlockQuantisation& q);

// The fast path for the training loop: out[i] = quantiseBlocks(p, in).values[i] without
// the records. in and out may be the same buffer.
void quantiseDequantise(Precision p, const float* in, float* out, std::size_t n);

// The same for each of `rows` rows of `cols` values, `stride` floats apart: blocks run
// along a row and restart at each row (a row is a product's reduction dimension). NVFP4
// takes one tensor scale over all rows. in and out may be the same buffer.
void quantiseDequantiseRows(Precision p, const float* in, float* out, std::size_t rows, std::size_t cols,
                            std::size_t stride);

// ---- a product's operand (block-scaled training, docs/architecture.md) -------------------
// How a row-major [rows, cols] matrix is cut into blocks before a product reads it:
// - rows: blocks of the format's size along each row (the reduction dimension of an
//   operand that is read as it is stored, x in x W^T);
// - columns: the same along each column (an operand read transposed, dy in dy^T x);
// - tiles: one scale per 16 x 16 tile (edge tiles smaller), so that a matrix and its
//   transpose quantise alike (a weight read by the forward and the backward product);
// - tensor: one scale for the whole matrix (per-tensor scaling, for comparison).
// NVFP4 keeps one tensor scale over the whole matrix in every layout.
enum class BlockLayout : std::uint8_t { rows, columns, tiles, tensor };
inline constexpr std::size_t kBlockTileSide = 16;
const char* toString(BlockLayout layout);  // "rows", "columns", "tiles", "tensor"

// out = the values `in` stands for after quantising it in `layout` (in and out may be
// the same buffer). Rows and columns give exactly quantiseDequantiseRows of the matrix
// or of its transpose; tiles and tensor quantise each tile (the whole matrix) as one
// block with the format's scale rule.
void quantiseDequantiseMatrix(Precision p, BlockLayout layout, const float* in, float* out, std::size_t rows,
                              std::size_t cols);

}  // namespace plab
