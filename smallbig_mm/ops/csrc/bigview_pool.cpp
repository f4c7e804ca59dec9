// The big views' max pooling, forward and backward, on the CPU.
//
// Defines the operators smallbig_mm::bigview_pool and smallbig_mm::bigview_pool_backward
// and their CPU kernels (the CUDA kernels are Triton's, registered from Python:
// smallbig_mm/ops/triton_kernels.py).
//
// Exactness: the forward output is the value of the element that PyTorch's max_pool3d
// picks, and the backward pass routes each gradient to that same element, adding the
// contributions of one input element in the order max_pool3d's CPU backward does (output
// positions in raster order, starting from zero). max_pool3d scans a window in (t, h, w)
// order and takes an element when `value > best || isnan(value)`: the first maximum, or
// the last NaN. Applying that rule along W, then H, then T picks the same element
// (separable), in O(t + h + w) steps per output instead of O(t * h * w).
// With global_temporal, the T axis is first reduced to its maximum (one frame) and the
// gradient of that maximum is split evenly between tied frames, as amax's backward does.
#include <Python.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/util/BFloat16.h>
#include <torch/library.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

// The passes are inlined into per-ISA clones (AVX-512, AVX2, baseline), chosen when the
// library loads, so that one build vectorises as wide as each CPU allows.
#if defined(__x86_64__) && defined(__GNUC__)
#define SMALLBIG_INLINE inline __attribute__((always_inline))
#define SMALLBIG_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SMALLBIG_INLINE inline
#define SMALLBIG_CLONES
#endif

namespace smallbig_mm {
namespace {

struct Geometry {
  int64_t t, h, w;     // sizes of one plane (after the global temporal max: t = 1)
  int64_t rt, rh, rw;  // window radii
};

template <typename T>
SMALLBIG_INLINE bool takes(T value, T best) {
  return value > best || value != value;  // max_pool3d's rule: first maximum, last NaN
}

// W pass: best value (and its w) over each window along the contiguous axis.
template <typename T, bool kIndex>
SMALLBIG_INLINE void pass_w(const T* in, T* out, int32_t* index, int64_t rows, int64_t w, int64_t r) {
  for (int64_t row = 0; row < rows; ++row) {
    const T* x = in + row * w;
    T* y = out + row * w;
    int32_t* k = kIndex ? index + row * w : nullptr;
    // the borders (windows cut by the edges), one element at a time
    for (int64_t i = 0; i < w; ++i) {
      if (i >= r && i < w - r) continue;  // interior: below
      const int64_t lo = std::max<int64_t>(i - r, 0), hi = std::min<int64_t>(i + r, w - 1);
      T best = x[lo];
      int32_t at = static_cast<int32_t>(lo);
      for (int64_t j = lo + 1; j <= hi; ++j) {
        if (takes(x[j], best)) {
          best = x[j];
          at = static_cast<int32_t>(j);
        }
      }
      y[i] = best;
      if (kIndex) k[i] = at;
    }
    // the interior r <= i < w - r: whole windows, vectorised over i
    const int64_t begin = r, end = w - r;
    if (begin >= end) continue;
    for (int64_t i = begin; i < end; ++i) {
      y[i] = x[i - r];
      if (kIndex) k[i] = static_cast<int32_t>(i - r);
    }
    for (int64_t d = -r + 1; d <= r; ++d) {
      for (int64_t i = begin; i < end; ++i) {
        const T value = x[i + d];
        const bool take = takes(value, y[i]);
        y[i] = take ? value : y[i];
        if (kIndex) k[i] = take ? static_cast<int32_t>(i + d) : k[i];
      }
    }
  }
}

// H or T pass: best over windows of `r` lines along an outer axis, vectorised along the
// lines (`line` contiguous elements each). `lines` lines per block, `blocks` blocks.
// With kIndex, `index_in` holds each input element's flat index, and `index_out` gets
// the winner's; `line_offset` * line number is added when index_in is null (first pass).
template <typename T, bool kIndex>
SMALLBIG_INLINE void pass_outer(const T* in, T* out, const int32_t* index_in, int32_t* index_out,
                int64_t blocks, int64_t lines, int64_t line, int64_t r) {
  for (int64_t b = 0; b < blocks; ++b) {
    const T* x = in + b * lines * line;
    T* y = out + b * lines * line;
    const int32_t* ki = kIndex ? index_in + b * lines * line : nullptr;
    int32_t* ko = kIndex ? index_out + b * lines * line : nullptr;
    for (int64_t i = 0; i < lines; ++i) {
      const int64_t lo = std::max<int64_t>(i - r, 0), hi = std::min<int64_t>(i + r, lines - 1);
      T* yi = y + i * line;
      int32_t* koi = kIndex ? ko + i * line : nullptr;
      std::copy(x + lo * line, x + (lo + 1) * line, yi);
      if (kIndex) std::copy(ki + lo * line, ki + (lo + 1) * line, koi);
      for (int64_t j = lo + 1; j <= hi; ++j) {
        const T* xj = x + j * line;
        const int32_t* kj = kIndex ? ki + j * line : nullptr;
        for (int64_t e = 0; e < line; ++e) {
          const bool take = takes(xj[e], yi[e]);
          yi[e] = take ? xj[e] : yi[e];
          if (kIndex) koi[e] = take ? kj[e] : koi[e];
        }
      }
    }
  }
}

// The temporal maximum of a plane (t frames of hw elements) into `out` (hw elements).
template <typename T>
SMALLBIG_INLINE void temporal_max(const T* in, T* out, int64_t t, int64_t hw) {
  std::copy(in, in + hw, out);
  for (int64_t f = 1; f < t; ++f) {
    const T* x = in + f * hw;
    for (int64_t e = 0; e < hw; ++e) out[e] = takes(x[e], out[e]) ? x[e] : out[e];
  }
}

// Pools one plane of `g` (already reduced to one frame if global) into `out`; `work`
// holds 2 planes. The last pass writes straight into `out`.
template <typename T>
SMALLBIG_INLINE void pool_plane(const T* in, T* out, T* work, const Geometry& g) {
  const int64_t n = g.t * g.h * g.w;
  const int passes = (g.rw > 0) + (g.rh > 0) + (g.rt > 0);
  if (passes == 0) {
    std::copy(in, in + n, out);
    return;
  }
  const T* src = in;
  int done = 0;
  auto target = [&]() { return ++done == passes ? out : work + (done % 2) * n; };
  if (g.rw > 0) {
    T* dst = target();
    pass_w<T, false>(src, dst, nullptr, g.t * g.h, g.w, g.rw);
    src = dst;
  }
  if (g.rh > 0) {
    T* dst = target();
    pass_outer<T, false>(src, dst, nullptr, nullptr, g.t, g.h, g.w, g.rh);
    src = dst;
  }
  if (g.rt > 0) {
    pass_outer<T, false>(src, target(), nullptr, nullptr, 1, g.t, g.h * g.w, g.rt);
  }
}

// The flat index (within the plane) of the element max_pool3d picks for each output.
// `values` and `work` hold a plane of T each, `index` and `index_work` of int32 each.
template <typename T>
SMALLBIG_INLINE const int32_t* argmax_plane(const T* in, T* values, T* work, int32_t* index,
                            int32_t* index_work, const Geometry& g) {
  const int64_t n = g.t * g.h * g.w, hw = g.h * g.w;
  // every element starts as its own winner
  if (g.rw > 0) {
    pass_w<T, true>(in, values, index, g.t * g.h, g.w, g.rw);
  } else {
    std::copy(in, in + n, values);
    for (int64_t e = 0; e < n; ++e) index[e] = static_cast<int32_t>(e % g.w);
  }
  // index holds w; make it flat: + (t * h + h) * w
  for (int64_t line = 0; line < g.t * g.h; ++line) {
    int32_t* k = index + line * g.w;
    const int32_t offset = static_cast<int32_t>(line * g.w);
    for (int64_t e = 0; e < g.w; ++e) k[e] += offset;
  }
  const T* src = values;
  T* dst = work;
  const int32_t* ksrc = index;
  int32_t* kdst = index_work;
  if (g.rh > 0) {
    pass_outer<T, true>(src, dst, ksrc, kdst, g.t, g.h, g.w, g.rh);
    std::swap(values, work);
    src = values;
    dst = work;
    std::swap(index, index_work);
    ksrc = index;
    kdst = index_work;
  }
  if (g.rt > 0) {
    pass_outer<T, true>(src, dst, ksrc, kdst, 1, g.t, hw, g.rt);
    ksrc = kdst;
  }
  return ksrc;
}

// The per-ISA entry points of the passes, for float and double.
SMALLBIG_CLONES void temporal_max_f(const float* in, float* out, int64_t t, int64_t hw) {
  temporal_max<float>(in, out, t, hw);
}
SMALLBIG_CLONES void temporal_max_d(const double* in, double* out, int64_t t, int64_t hw) {
  temporal_max<double>(in, out, t, hw);
}
SMALLBIG_CLONES void pool_plane_f(const float* in, float* out, float* work, const Geometry& g) {
  pool_plane<float>(in, out, work, g);
}
SMALLBIG_CLONES void pool_plane_d(const double* in, double* out, double* work,
                                  const Geometry& g) {
  pool_plane<double>(in, out, work, g);
}
SMALLBIG_CLONES const int32_t* argmax_plane_f(const float* in, float* values, float* work,
                                              int32_t* index, int32_t* index_work,
                                              const Geometry& g) {
  return argmax_plane<float>(in, values, work, index, index_work, g);
}
SMALLBIG_CLONES const int32_t* argmax_plane_d(const double* in, double* values, double* work,
                                              int32_t* index, int32_t* index_work,
                                              const Geometry& g) {
  return argmax_plane<double>(in, values, work, index, index_work, g);
}

void temporal_max_any(const float* in, float* out, int64_t t, int64_t hw) {
  temporal_max_f(in, out, t, hw);
}
void temporal_max_any(const double* in, double* out, int64_t t, int64_t hw) {
  temporal_max_d(in, out, t, hw);
}
void pool_plane_any(const float* in, float* out, float* work, const Geometry& g) {
  pool_plane_f(in, out, work, g);
}
void pool_plane_any(const double* in, double* out, double* work, const Geometry& g) {
  pool_plane_d(in, out, work, g);
}
const int32_t* argmax_plane_any(const float* in, float* values, float* work, int32_t* index,
                                int32_t* index_work, const Geometry& g) {
  return argmax_plane_f(in, values, work, index, index_work, g);
}
const int32_t* argmax_plane_any(const double* in, double* values, double* work,
                                int32_t* index, int32_t* index_work, const Geometry& g) {
  return argmax_plane_d(in, values, work, index, index_work, g);
}

// Plain values for the kernels: float for bfloat16 (exact), the type itself otherwise.
template <typename T> struct Compute { using type = T; };
template <> struct Compute<c10::BFloat16> { using type = float; };

Geometry geometry_of(const at::Tensor& x, at::IntArrayRef window, bool global_temporal) {
  TORCH_CHECK(x.dim() == 5, "bigview_pool: expected (N, C, T, H, W), got ", x.sizes());
  TORCH_CHECK(window.size() == 3, "bigview_pool: window must be [t, h, w]");
  for (int64_t size : window) {
    TORCH_CHECK(size >= 1 && size % 2 == 1, "bigview_pool: window sizes must be odd, got ",
                window);
  }
  TORCH_CHECK(!global_temporal || window[0] == 1,
              "bigview_pool: a global temporal max takes window [1, h, w], got ", window);
  TORCH_CHECK(x.size(2) * x.size(3) * x.size(4) < (int64_t(1) << 31),
              "bigview_pool: a plane of more than 2**31 elements");
  return Geometry{global_temporal ? 1 : x.size(2), x.size(3), x.size(4),
                  window[0] / 2, window[1] / 2, window[2] / 2};
}

template <typename T>
void forward_kernel(const at::Tensor& x, at::Tensor& out, const Geometry& g,
                    bool global_temporal) {
  using C = typename Compute<T>::type;
  const int64_t frames = x.size(2), plane = g.t * g.h * g.w, hw = g.h * g.w;
  const int64_t in_plane = global_temporal ? frames * hw : plane;
  const T* in = x.const_data_ptr<T>();
  T* result = out.mutable_data_ptr<T>();
  const int64_t planes = x.size(0) * x.size(1);
  at::parallel_for(0, planes, std::max<int64_t>(1, 16384 / std::max<int64_t>(in_plane, 1)),
                   [&](int64_t begin, int64_t end) {
    constexpr bool kSame = std::is_same<C, T>::value;  // bfloat16 is pooled as float
    std::vector<C> source(kSame ? 0 : in_plane), reduced(global_temporal ? plane : 0);
    std::vector<C> pooled(kSame ? 0 : plane), work(2 * plane);
    for (int64_t p = begin; p < end; ++p) {
      const C* plane_in = reinterpret_cast<const C*>(in + p * in_plane);
      if (!kSame) {
        std::copy(in + p * in_plane, in + (p + 1) * in_plane, source.begin());
        plane_in = source.data();
      }
      if (global_temporal) {
        temporal_max_any(plane_in, reduced.data(), frames, hw);
        plane_in = reduced.data();
      }
      C* plane_out = kSame ? reinterpret_cast<C*>(result + p * plane) : pooled.data();
      pool_plane_any(plane_in, plane_out, work.data(), g);
      if (!kSame) std::copy(pooled.begin(), pooled.end(), result + p * plane);
    }
  });
}

template <typename T>
void backward_kernel(const at::Tensor& grad, const at::Tensor& x, at::Tensor& grad_x,
                     const Geometry& g, bool global_temporal) {
  using C = typename Compute<T>::type;
  const int64_t frames = x.size(2), plane = g.t * g.h * g.w, hw = g.h * g.w;
  const int64_t in_plane = global_temporal ? frames * hw : plane;
  const bool pools = g.rt > 0 || g.rh > 0 || g.rw > 0;
  const T* in = x.const_data_ptr<T>();
  const T* grad_out = grad.const_data_ptr<T>();
  T* result = grad_x.mutable_data_ptr<T>();
  const int64_t planes = x.size(0) * x.size(1);
  at::parallel_for(0, planes, std::max<int64_t>(1, 8192 / std::max<int64_t>(in_plane, 1)),
                   [&](int64_t begin, int64_t end) {
    constexpr bool kSame = std::is_same<C, T>::value;  // bfloat16 is compared as float
    std::vector<C> source(kSame ? 0 : in_plane), reduced(global_temporal ? plane : 0);
    std::vector<C> values(plane), work(plane);
    std::vector<int32_t> index(plane), index_work(plane);
    std::vector<T> pooled_grad(global_temporal ? plane : 0);
    for (int64_t p = begin; p < end; ++p) {
      const C* x_plane = reinterpret_cast<const C*>(in + p * in_plane);
      if (!kSame) {
        std::copy(in + p * in_plane, in + (p + 1) * in_plane, source.begin());
        x_plane = source.data();
      }
      const C* plane_in = x_plane;
      if (global_temporal) {
        temporal_max_any(x_plane, reduced.data(), frames, hw);
        plane_in = reduced.data();
      }
      const T* g_out = grad_out + p * plane;
      // the gradient w.r.t. the (reduced) plane: max_pool3d's backward, or the identity
      T* g_in = global_temporal ? pooled_grad.data() : result + p * plane;
      if (pools) {
        const int32_t* winner = argmax_plane_any(plane_in, values.data(), work.data(),
                                                index.data(), index_work.data(), g);
        std::fill(g_in, g_in + plane, T(0));
        for (int64_t o = 0; o < plane; ++o) g_in[winner[o]] += g_out[o];
      } else {
        std::copy(g_out, g_out + plane, g_in);
      }
      if (!global_temporal) continue;
      // amax's backward: grad / (number of tied frames) * (frame is a maximum)
      T* g_x = result + p * in_plane;
      const C* m = reduced.data();
      for (int64_t e = 0; e < hw; ++e) {
        int64_t ties = 0;
        for (int64_t f = 0; f < frames; ++f) ties += x_plane[f * hw + e] == m[e];
        const T share = static_cast<T>(static_cast<C>(pooled_grad[e]) /
                                       static_cast<C>(static_cast<T>(ties)));
        const T none = static_cast<T>(static_cast<C>(share) * C(0));
        for (int64_t f = 0; f < frames; ++f) {
          g_x[f * hw + e] = x_plane[f * hw + e] == m[e] ? share : none;
        }
      }
    }
  });
}

at::Tensor bigview_pool_cpu(const at::Tensor& x_, at::IntArrayRef window,
                            bool global_temporal) {
  const Geometry g = geometry_of(x_, window, global_temporal);
  const at::Tensor x = x_.contiguous();
  at::Tensor out = at::empty({x.size(0), x.size(1), g.t, g.h, g.w}, x.options());
  if (out.numel() == 0) return out;
  AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, x.scalar_type(), "bigview_pool", [&] {
    forward_kernel<scalar_t>(x, out, g, global_temporal);
  });
  return out;
}

at::Tensor bigview_pool_backward_cpu(const at::Tensor& grad_, const at::Tensor& x_,
                                     at::IntArrayRef window, bool global_temporal) {
  const Geometry g = geometry_of(x_, window, global_temporal);
  TORCH_CHECK(grad_.scalar_type() == x_.scalar_type(),
              "bigview_pool_backward: grad and x must have one dtype");
  TORCH_CHECK(grad_.sizes() == at::IntArrayRef({x_.size(0), x_.size(1), g.t, g.h, g.w}),
              "bigview_pool_backward: grad has the wrong shape ", grad_.sizes());
  const at::Tensor x = x_.contiguous(), grad = grad_.contiguous();
  at::Tensor grad_x = at::empty(x.sizes(), x.options());
  if (grad_x.numel() == 0) return grad_x;
  AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, x.scalar_type(), "bigview_pool_backward", [&] {
    backward_kernel<scalar_t>(grad, x, grad_x, g, global_temporal);
  });
  return grad_x;
}

}  // namespace

TORCH_LIBRARY(smallbig_mm, m) {
  m.def("bigview_pool(Tensor x, int[3] window, bool global_temporal) -> Tensor");
  m.def("bigview_pool_backward(Tensor grad, Tensor x, int[3] window, bool global_temporal)"
        " -> Tensor");
}

TORCH_LIBRARY_IMPL(smallbig_mm, CPU, m) {
  m.impl("bigview_pool", &bigview_pool_cpu);
  m.impl("bigview_pool_backward", &bigview_pool_backward_cpu);
}

}  // namespace smallbig_mm

// A Python module with nothing in it: importing it runs the registrations above.
extern "C" PyObject* PyInit__native(void) {
  static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_native", nullptr, -1, nullptr};
  return PyModule_Create(&module);
}
