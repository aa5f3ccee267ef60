// Integer keys that order float32 values as numbers: the maximum of keys is
// the key of the maximum. Every NaN maps above +inf (so a NaN wins, as in
// PyTorch's max) and -0 maps to the key of +0 (a tie). Loops comparing these
// keys vectorise; loops comparing floats do not, because the compiler will
// not turn a float comparison that may trap on NaN into a vector select.
// Portable code only (ISA files must not include this header).
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>

namespace cunn::kernels {

// Written with masks only (no selects) so that loops over it vectorise.
inline int32_t order_key(float x) {
  int32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  const int32_t magnitude = bits & 0x7fffffff;
  const int32_t sign = bits >> 31;                // 0 or -1
  const int32_t key = (magnitude ^ sign) - sign;  // -magnitude for negatives
  const int32_t nan = -static_cast<int32_t>(magnitude > 0x7f800000);
  return (key & ~nan) | (nan & std::numeric_limits<int32_t>::max());
}

// The float whose key is `key` (+0 for the key of -0, a quiet NaN for NaN's).
inline float from_order_key(int32_t key) {
  const int32_t bits = key == std::numeric_limits<int32_t>::max()
                           ? 0x7fc00000
                           : (key < 0 ? static_cast<int32_t>(0x80000000u | static_cast<uint32_t>(-key)) : key);
  float x;
  std::memcpy(&x, &bits, sizeof x);
  return x;
}

}  // namespace cunn::kernels
