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
#include <optional>
#include <tuple>
#include <utility>
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

// How a pass tracks the winners: not at all (forward), as flat indices into its own
// input (the first pass), or by carrying over the previous pass's indices.
enum class Track { kNone, kFlat, kCarry };

// The winner of each window of 2r + 1 positions along one axis, for `count` positions
// from `begin` whose windows are whole; `stride` elements between positions. Chunked so
// that the running best stays in L1 while the window's offsets are scanned in order.
template <typename T, Track kTrack>
SMALLBIG_INLINE void scan_whole(const T* x, T* y, const int32_t* kx, int32_t* ky, int64_t begin,
                                int64_t end, int64_t stride, int64_t r) {
  constexpr int64_t kChunk = 256;
  const int64_t first = -r * stride;
  for (int64_t c = begin; c < end; c += kChunk) {
    const int64_t stop = std::min(c + kChunk, end);
    for (int64_t i = c; i < stop; ++i) {
      y[i] = x[i + first];
      if (kTrack == Track::kFlat) ky[i] = static_cast<int32_t>(i + first);
      if (kTrack == Track::kCarry) ky[i] = kx[i + first];
    }
    for (int64_t d = first + stride; d <= r * stride; d += stride) {
      for (int64_t i = c; i < stop; ++i) {
        const T value = x[i + d];
        const bool take = takes(value, y[i]);
        y[i] = take ? value : y[i];
        if (kTrack == Track::kFlat) ky[i] = take ? static_cast<int32_t>(i + d) : ky[i];
        if (kTrack == Track::kCarry) ky[i] = take ? kx[i + d] : ky[i];
      }
    }
  }
}

// The winner of the pair (a, b), scanned in that order, for `count` positions `stride`
// apart (a line of a block), into y at `at`: the window of 3 that an edge cuts.
template <typename T, Track kTrack>
SMALLBIG_INLINE void pair(const T* x, T* y, const int32_t* kx, int32_t* ky, int64_t a, int64_t b,
                          int64_t at, int64_t count) {
  for (int64_t q = 0; q < count; ++q) {
    const bool take = takes(x[b + q], x[a + q]);
    y[at + q] = take ? x[b + q] : x[a + q];
    if (kTrack == Track::kFlat) ky[at + q] = static_cast<int32_t>(take ? b + q : a + q);
    if (kTrack == Track::kCarry) ky[at + q] = take ? kx[b + q] : kx[a + q];
  }
}

// The pass below for windows of 3 (every big view's), with the scan of a whole window
// fused into one loop and the edges as pairs.
template <typename T, Track kTrack>
SMALLBIG_INLINE void pass_of_3(const T* x, T* y, const int32_t* kx, int32_t* ky, int64_t outer,
                               int64_t size, int64_t stride) {
  const int64_t block = size * stride, n = outer * block;
  if (kTrack != Track::kNone) {  // the chunked scan vectorises the index arithmetic
    if (n > 2 * stride) scan_whole<T, kTrack>(x, y, kx, ky, stride, n - stride, stride, 1);
  } else {
    for (int64_t i = stride; i < n - stride; ++i) {
      const T left = x[i - stride], centre = x[i], right = x[i + stride];
      const T best = takes(centre, left) ? centre : left;
      y[i] = takes(right, best) ? right : best;
    }
  }
  for (int64_t o = 0; o < outer; ++o) {
    const int64_t first = o * block, last = first + block - stride;
    if (size == 1) {  // a window of one: the element itself
      pair<T, kTrack>(x, y, kx, ky, first, first, first, stride);
      continue;
    }
    pair<T, kTrack>(x, y, kx, ky, first, first + stride, first, stride);
    pair<T, kTrack>(x, y, kx, ky, last - stride, last, last, stride);
  }
}

// One pass: windows of 2r + 1 along an axis of `size` positions, `stride` elements apart,
// in `outer` blocks of size * stride elements. Every position is first scanned as if its
// window were whole, in one flat loop over the plane (reads past a block's edge land in
// the plane, and are redone); the positions whose window an edge cuts are then redone.
template <typename T, Track kTrack>
SMALLBIG_INLINE void pass(const T* x, T* y, const int32_t* kx, int32_t* ky, int64_t outer,
                          int64_t size, int64_t stride, int64_t r) {
  if (r == 1) return pass_of_3<T, kTrack>(x, y, kx, ky, outer, size, stride);
  const int64_t block = size * stride, n = outer * block, reach = r * stride;
  if (n > 2 * reach) scan_whole<T, kTrack>(x, y, kx, ky, reach, n - reach, stride, r);
  const int64_t cut_low = std::min(r, size), cut_high = std::max(cut_low, size - r);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t s = 0; s < size; ++s) {
      if (s == cut_low) s = cut_high;  // the positions in between have whole windows
      if (s >= size) break;
      const int64_t lo = std::max<int64_t>(s - r, 0), hi = std::min(s + r, size - 1);
      const int64_t at = o * block + s * stride, base = o * block;
      T* yl = y + at;
      int32_t* kl = kTrack == Track::kNone ? nullptr : ky + at;
      for (int64_t q = 0; q < stride; ++q) {
        const int64_t from = base + lo * stride + q;
        yl[q] = x[from];
        if (kTrack == Track::kFlat) kl[q] = static_cast<int32_t>(from);
        if (kTrack == Track::kCarry) kl[q] = kx[from];
      }
      for (int64_t j = lo + 1; j <= hi; ++j) {
        for (int64_t q = 0; q < stride; ++q) {
          const int64_t from = base + j * stride + q;
          const bool take = takes(x[from], yl[q]);
          yl[q] = take ? x[from] : yl[q];
          if (kTrack == Track::kFlat) kl[q] = take ? static_cast<int32_t>(from) : kl[q];
          if (kTrack == Track::kCarry) kl[q] = take ? kx[from] : kl[q];
        }
      }
    }
  }
}

// The passes of a plane of `g`, as (outer, size, stride, radius): W, then H, then T.
struct Pass {
  int64_t outer, size, stride, r;
};
SMALLBIG_INLINE int passes_of(const Geometry& g, Pass* out) {
  int count = 0;
  if (g.rw > 0) out[count++] = Pass{g.t * g.h, g.w, 1, g.rw};
  if (g.rh > 0) out[count++] = Pass{g.t, g.h, g.w, g.rh};
  if (g.rt > 0) out[count++] = Pass{1, g.t, g.h * g.w, g.rt};
  return count;
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
  Pass passes[3];
  const int count = passes_of(g, passes);
  if (count == 0) {
    std::copy(in, in + n, out);
    return;
  }
  const T* src = in;
  for (int i = 0; i < count; ++i) {
    T* dst = i + 1 == count ? out : work + (i % 2) * n;
    const Pass& p = passes[i];
    pass<T, Track::kNone>(src, dst, nullptr, nullptr, p.outer, p.size, p.stride, p.r);
    src = dst;
  }
}

// The flat index (within the plane) of the element max_pool3d picks for each output, for
// a plane with at least one pass; `*maxima` is set to the pooled plane (in `values` or
// `work`). `values` and `work` hold a plane of T each, `index` and `index_work` of int32.
template <typename T>
SMALLBIG_INLINE const int32_t* argmax_plane(const T* in, T* values, T* work, int32_t* index,
                                            int32_t* index_work, const Geometry& g,
                                            const T** maxima) {
  Pass passes[3];
  const int count = passes_of(g, passes);
  const T* src = in;
  const int32_t* ksrc = nullptr;
  for (int i = 0; i < count; ++i) {
    T* dst = i % 2 ? work : values;
    int32_t* kdst = i % 2 ? index_work : index;
    const Pass& p = passes[i];
    if (i == 0) {
      pass<T, Track::kFlat>(src, dst, nullptr, kdst, p.outer, p.size, p.stride, p.r);
    } else {
      pass<T, Track::kCarry>(src, dst, ksrc, kdst, p.outer, p.size, p.stride, p.r);
    }
    src = dst;
    ksrc = kdst;
  }
  *maxima = src;
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
                                              const Geometry& g, const float** maxima) {
  return argmax_plane<float>(in, values, work, index, index_work, g, maxima);
}
SMALLBIG_CLONES const int32_t* argmax_plane_d(const double* in, double* values, double* work,
                                              int32_t* index, int32_t* index_work,
                                              const Geometry& g, const double** maxima) {
  return argmax_plane<double>(in, values, work, index, index_work, g, maxima);
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
                                int32_t* index_work, const Geometry& g, const float** maxima) {
  return argmax_plane_f(in, values, work, index, index_work, g, maxima);
}
const int32_t* argmax_plane_any(const double* in, double* values, double* work,
                                int32_t* index, int32_t* index_work, const Geometry& g,
                                const double** maxima) {
  return argmax_plane_d(in, values, work, index, index_work, g, maxima);
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
  TORCH_CHECK(!global_temporal || x.size(2) > 0,
              "bigview_pool: a global temporal max of no frames");
  TORCH_CHECK(!global_temporal || window[0] == 1,
              "bigview_pool: a global temporal max takes window [1, h, w], got ", window);
  TORCH_CHECK(x.size(2) * x.size(3) * x.size(4) < (int64_t(1) << 31),
              "bigview_pool: a plane of more than 2**31 elements");
  return Geometry{global_temporal ? 1 : x.size(2), x.size(3), x.size(4),
                  window[0] / 2, window[1] / 2, window[2] / 2};
}

// Pools x (type T) into out (type O: T, or bfloat16, the autocast type of CPUs, so that
// the conv after the pooling reads it without a cast of its own). Each output is
// rounded once, as a cast of the pooled map would round it.
template <typename T, typename O>
void forward_kernel(const at::Tensor& x, at::Tensor& out, const Geometry& g,
                    bool global_temporal) {
  using C = typename Compute<T>::type;
  const int64_t frames = x.size(2), plane = g.t * g.h * g.w, hw = g.h * g.w;
  const int64_t in_plane = global_temporal ? frames * hw : plane;
  const T* in = x.const_data_ptr<T>();
  O* result = out.mutable_data_ptr<O>();
  const int64_t planes = x.size(0) * x.size(1);
  at::parallel_for(0, planes, std::max<int64_t>(1, 16384 / std::max<int64_t>(in_plane, 1)),
                   [&](int64_t begin, int64_t end) {
    constexpr bool kSame = std::is_same<C, T>::value;  // bfloat16 is pooled as float
    constexpr bool kDirect = kSame && std::is_same<T, O>::value;  // pooled into out
    std::vector<C> source(kSame ? 0 : in_plane), reduced(global_temporal ? plane : 0);
    std::vector<C> pooled(kDirect ? 0 : plane), work(2 * plane);
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
      C* plane_out = kDirect ? reinterpret_cast<C*>(result + p * plane) : pooled.data();
      pool_plane_any(plane_in, plane_out, work.data(), g);
      if (!kDirect) {
        O* o = result + p * plane;
        for (int64_t e = 0; e < plane; ++e) o[e] = static_cast<O>(pooled[e]);
      }
    }
  });
}

// The gradient w.r.t. x (type T) from the output's (type G: T, or bfloat16 from an
// autocast conv, widened exactly as a cast would widen it). With `pooled` (type O, as in
// forward_kernel), also the pooled map, which finding the winners computes anyway.
template <typename T, typename G, typename O>
void backward_kernel(const at::Tensor& grad, const at::Tensor& x, at::Tensor& grad_x,
                     at::Tensor* pooled, const Geometry& g, bool global_temporal) {
  using C = typename Compute<T>::type;
  const int64_t frames = x.size(2), plane = g.t * g.h * g.w, hw = g.h * g.w;
  const int64_t in_plane = global_temporal ? frames * hw : plane;
  const bool pools = g.rt > 0 || g.rh > 0 || g.rw > 0;
  const T* in = x.const_data_ptr<T>();
  const G* grad_out = grad.const_data_ptr<G>();
  T* result = grad_x.mutable_data_ptr<T>();
  O* pooled_out = pooled == nullptr ? nullptr : pooled->mutable_data_ptr<O>();
  const int64_t planes = x.size(0) * x.size(1);
  at::parallel_for(0, planes, std::max<int64_t>(1, 8192 / std::max<int64_t>(in_plane, 1)),
                   [&](int64_t begin, int64_t end) {
    constexpr bool kSame = std::is_same<C, T>::value;  // bfloat16 is compared as float
    std::vector<C> source(kSame ? 0 : in_plane), reduced(global_temporal ? plane : 0);
    std::vector<C> values(plane), work(plane);
    std::vector<int32_t> index(plane), index_work(plane);
    std::vector<T> pooled_grad(global_temporal ? plane : 0), share(pooled_grad.size()),
        none(pooled_grad.size());
    std::vector<int32_t> ties(pooled_grad.size());
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
      const G* g_out = grad_out + p * plane;
      // the gradient w.r.t. the (reduced) plane: max_pool3d's backward, or the identity
      T* g_in = global_temporal ? pooled_grad.data() : result + p * plane;
      const C* maxima = plane_in;
      if (pools) {
        const int32_t* winner = argmax_plane_any(plane_in, values.data(), work.data(),
                                                index.data(), index_work.data(), g, &maxima);
        std::fill(g_in, g_in + plane, T(0));
        for (int64_t o = 0; o < plane; ++o) g_in[winner[o]] += static_cast<T>(g_out[o]);
      } else {
        for (int64_t o = 0; o < plane; ++o) g_in[o] = static_cast<T>(g_out[o]);
      }
      if (pooled_out != nullptr) {
        O* o_plane = pooled_out + p * plane;
        for (int64_t o = 0; o < plane; ++o) o_plane[o] = static_cast<O>(maxima[o]);
      }
      if (!global_temporal) continue;
      // amax's backward: grad / (number of tied frames) * (frame is a maximum)
      T* g_x = result + p * in_plane;
      const C* m = reduced.data();
      std::fill(ties.begin(), ties.end(), 0);
      for (int64_t f = 0; f < frames; ++f) {
        const C* x_frame = x_plane + f * hw;
        for (int64_t e = 0; e < hw; ++e) ties[e] += x_frame[e] == m[e];
      }
      for (int64_t e = 0; e < hw; ++e) {
        share[e] = static_cast<T>(static_cast<C>(pooled_grad[e]) /
                                  static_cast<C>(static_cast<T>(ties[e])));
        none[e] = static_cast<T>(static_cast<C>(share[e]) * C(0));
      }
      for (int64_t f = 0; f < frames; ++f) {
        const C* x_frame = x_plane + f * hw;
        T* g_frame = g_x + f * hw;
        for (int64_t e = 0; e < hw; ++e) g_frame[e] = x_frame[e] == m[e] ? share[e] : none[e];
      }
    }
  });
}

// The output's dtype for `dtype`, and whether the kernels write it (x's, or bfloat16);
// another is cast after them.
std::pair<at::ScalarType, bool> output_type(const at::Tensor& x,
                                            std::optional<at::ScalarType> dtype) {
  const at::ScalarType type = dtype.value_or(x.scalar_type());
  return {type, type == x.scalar_type() || type == at::kBFloat16};
}

at::Tensor bigview_pool_cpu(const at::Tensor& x_, at::IntArrayRef window, bool global_temporal,
                            std::optional<at::ScalarType> dtype) {
  const Geometry g = geometry_of(x_, window, global_temporal);
  const at::Tensor x = x_.contiguous();
  const auto [out_type, fused] = output_type(x, dtype);
  at::Tensor out = at::empty({x.size(0), x.size(1), g.t, g.h, g.w},
                             x.options().dtype(fused ? out_type : x.scalar_type()));
  if (out.numel() > 0) {
    AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, x.scalar_type(), "bigview_pool", [&] {
      if (out.scalar_type() == x.scalar_type()) {
        forward_kernel<scalar_t, scalar_t>(x, out, g, global_temporal);
      } else {
        forward_kernel<scalar_t, c10::BFloat16>(x, out, g, global_temporal);
      }
    });
  }
  return fused ? out : out.to(out_type);
}

// bigview_pool_backward, and with `dtype` bigview_pool_and_backward: (grad_x, pooled).
std::tuple<at::Tensor, at::Tensor> backward_cpu(const at::Tensor& grad_, const at::Tensor& x_,
                                                at::IntArrayRef window, bool global_temporal,
                                                bool with_pooled,
                                                std::optional<at::ScalarType> dtype) {
  const Geometry g = geometry_of(x_, window, global_temporal);
  TORCH_CHECK(at::isFloatingType(grad_.scalar_type()),
              "bigview_pool_backward: grad must be floating point, got ", grad_.scalar_type());
  TORCH_CHECK(grad_.sizes() == at::IntArrayRef({x_.size(0), x_.size(1), g.t, g.h, g.w}),
              "bigview_pool_backward: grad has the wrong shape ", grad_.sizes());
  const at::Tensor x = x_.contiguous();
  const bool widened = grad_.scalar_type() == at::kBFloat16;  // read as it is
  const at::Tensor grad = (widened ? grad_ : grad_.to(x.scalar_type())).contiguous();
  at::Tensor grad_x = at::empty(x.sizes(), x.options());
  const auto [out_type, fused] = output_type(x, dtype);
  at::Tensor pooled;
  if (with_pooled) {
    pooled = at::empty(grad.sizes(), x.options().dtype(fused ? out_type : x.scalar_type()));
  }
  if (grad_x.numel() > 0) {
    AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, x.scalar_type(), "bigview_pool_backward", [&] {
      using B = c10::BFloat16;
      const bool grad_same = grad.scalar_type() == x.scalar_type();
      at::Tensor* out = with_pooled ? &pooled : nullptr;
      if (with_pooled && pooled.scalar_type() != x.scalar_type()) {
        if (grad_same) backward_kernel<scalar_t, scalar_t, B>(grad, x, grad_x, out, g, global_temporal);
        else backward_kernel<scalar_t, B, B>(grad, x, grad_x, out, g, global_temporal);
      } else {
        if (grad_same) backward_kernel<scalar_t, scalar_t, scalar_t>(grad, x, grad_x, out, g, global_temporal);
        else backward_kernel<scalar_t, B, scalar_t>(grad, x, grad_x, out, g, global_temporal);
      }
    });
  }
  if (with_pooled && !fused) pooled = pooled.to(out_type);
  return {grad_x, pooled};
}

at::Tensor bigview_pool_backward_cpu(const at::Tensor& grad, const at::Tensor& x,
                                     at::IntArrayRef window, bool global_temporal) {
  return std::get<0>(backward_cpu(grad, x, window, global_temporal, false, std::nullopt));
}

std::tuple<at::Tensor, at::Tensor> bigview_pool_and_backward_cpu(
    const at::Tensor& grad, const at::Tensor& x, at::IntArrayRef window, bool global_temporal,
    std::optional<at::ScalarType> dtype) {
  const auto [grad_x, pooled] = backward_cpu(grad, x, window, global_temporal, true, dtype);
  return {pooled, grad_x};
}

}  // namespace

TORCH_LIBRARY(smallbig_mm, m) {
  m.def("bigview_pool(Tensor x, int[3] window, bool global_temporal, ScalarType? dtype=None)"
        " -> Tensor");
  m.def("bigview_pool_backward(Tensor grad, Tensor x, int[3] window, bool global_temporal)"
        " -> Tensor");
  m.def("bigview_pool_and_backward(Tensor grad, Tensor x, int[3] window, bool global_temporal,"
        " ScalarType? dtype=None) -> (Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(smallbig_mm, CPU, m) {
  m.impl("bigview_pool", &bigview_pool_cpu);
  m.impl("bigview_pool_backward", &bigview_pool_backward_cpu);
  m.impl("bigview_pool_and_backward", &bigview_pool_and_backward_cpu);
}

}  // namespace smallbig_mm

// A Python module whose import runs the registrations above. Its one attribute, OPENMP,
// says whether at::parallel_for spreads the planes over torch's threads: it is OpenMP in
// the headers, so a build without -fopenmp runs every kernel on one thread.
extern "C" PyObject* PyInit__native(void) {
  static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_native", nullptr, -1, nullptr};
  PyObject* created = PyModule_Create(&module);
#ifdef _OPENMP
  const long openmp = 1;
#else
  const long openmp = 0;
#endif
  if (created != nullptr && PyModule_AddIntConstant(created, "OPENMP", openmp) != 0) {
    Py_DECREF(created);
    return nullptr;
  }
  return created;
}
