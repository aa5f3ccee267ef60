// The im2col path's column matrices (layout in conv2d.cpp): how a layer is cut into blocks
// of output rows, and the copies between an image and its columns.
#pragma once

#include <cstdint>

#include "kernels/conv2d.h"

namespace cunn::kernels::conv2d_detail {

struct Plan {
  int64_t k;           // C * kh * kw
  int64_t p;           // OH * OW
  bool direct;         // 1x1, stride 1, no padding: cols[n] is x[n]
  int64_t block_rows;  // output rows per column block
};

// The blocks keep one column buffer near the tuning's conv_column_budget floats.
Plan make_plan(const Conv2dShape& s);
// 2 N O K P: the pass's multiply-adds, for the threading cut-off.
double flops(const Conv2dShape& s, const Plan& plan);

// cols (K, (row_end - row_begin) * OW) for output rows [row_begin, row_end) of image x_n.
void im2col(const Conv2dShape& s, const float* x_n, int64_t row_begin, int64_t row_end,
            float* cols);
// dx_n += the column gradient of output rows [row_begin, row_end), kernel offsets in
// order (p, q) as the reference adds them. May overwrite entries of `cols` that fall in
// the padding (it is scratch).
void col2im_add(const Conv2dShape& s, float* cols, int64_t row_begin, int64_t row_end,
                float* dx_n);

}  // namespace cunn::kernels::conv2d_detail
