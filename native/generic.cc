// Type-independent kernels (strided copies with dtype conversion, comparisons, where, clamp,
// index/gather/scatter), compiled for the baseline ISA: they are bound by memory, not arithmetic.
#include "common.h"

namespace qkv {

bool nd_coalesce(int nd, const i64* shape, int nops, const i64* const* strides, NdIter& it) {
  int k = 0;
  i64 sh[64];
  i64 st[4][64];
  if (nd > 64) return false;
  for (int d = 0; d < nd; d++) {
    if (shape[d] == 0) {
      it.nd = 1;
      it.shape[0] = 0;
      for (int o = 0; o < 4; o++) it.st[o][0] = 0;
      return true;
    }
    if (shape[d] == 1) continue;
    if (k > 0) {
      bool merge = true;
      for (int o = 0; o < nops; o++)
        if (st[o][k - 1] != strides[o][d] * shape[d]) merge = false;
      if (merge) {
        sh[k - 1] *= shape[d];
        for (int o = 0; o < nops; o++) st[o][k - 1] = strides[o][d];
        continue;
      }
    }
    sh[k] = shape[d];
    for (int o = 0; o < nops; o++) st[o][k] = strides[o][d];
    k++;
  }
  if (k == 0) {
    sh[0] = 1;
    for (int o = 0; o < nops; o++) st[o][0] = 0;
    k = 1;
  }
  if (k > kMaxDims) return false;
  it.nd = k;
  for (int d = 0; d < k; d++) {
    it.shape[d] = sh[d];
    for (int o = 0; o < 4; o++) it.st[o][d] = o < nops ? st[o][d] : 0;
  }
  return true;
}

namespace {

// Walks the rows (all but the innermost dim) of an NdIter in tasks of >= 16K elements.
// row(pos, r, n): pos[o] is operand o's element position at the start of row r.
template <class Row>
void nd_rows(const NdIter& it, int nops, Row&& row) {
  const int nd = it.nd;
  const i64 n = it.shape[nd - 1];
  i64 rows = 1;
  for (int d = 0; d < nd - 1; d++) rows *= it.shape[d];
  if (rows == 0 || n == 0) return;
  const i64 per = std::max<i64>(1, 16384 / n);
  const i64 ntasks = (rows + per - 1) / per;
  const int nt = threads_for(static_cast<double>(rows * n), 1.0e6);
  parallel_for(static_cast<int>(ntasks), nt, [&](int t, int) {
    const i64 r0 = t * per, r1 = std::min(rows, r0 + per);
    i64 idx[kMaxDims];
    i64 pos[4] = {0, 0, 0, 0};
    i64 rem = r0;
    for (int d = nd - 2; d >= 0; d--) {
      idx[d] = rem % it.shape[d];
      rem /= it.shape[d];
      for (int o = 0; o < nops; o++) pos[o] += idx[d] * it.st[o][d];
    }
    for (i64 r = r0; r < r1; r++) {
      row(pos, r, n);
      for (int d = nd - 2; d >= 0; d--) {
        for (int o = 0; o < nops; o++) pos[o] += it.st[o][d];
        if (++idx[d] < it.shape[d]) break;
        for (int o = 0; o < nops; o++) pos[o] -= idx[d] * it.st[o][d];
        idx[d] = 0;
      }
    }
  });
}

// JavaScript's ToInt32 (what storing a number into an Int32Array does).
inline int32_t js_to_int32(double d) {
  if (!(d == d) || std::isinf(d)) return 0;
  if (d > -2147483649.0 && d < 2147483648.0) return static_cast<int32_t>(d);
  double t = std::trunc(d);
  double m = std::fmod(t, 4294967296.0);
  if (m < 0) m += 4294967296.0;
  return static_cast<int32_t>(static_cast<uint32_t>(m));
}

template <class D, class S>
inline D conv(S v) {
  if constexpr (std::is_same<D, S>::value) {
    return v;
  } else if constexpr (std::is_same<D, uint8_t>::value) {
    return v != 0 ? 1 : 0;  // bool destination
  } else if constexpr (std::is_same<D, int32_t>::value) {
    if constexpr (std::is_integral<S>::value)
      return static_cast<int32_t>(v);
    else
      return js_to_int32(static_cast<double>(v));
  } else {
    return static_cast<D>(v);
  }
}

// Transposing copy of the two innermost dims (source contiguous along dim nd-2, destination along
// nd-1), in 32×32 tiles so both sides stay in cache.
template <class D, class S>
void copy_transpose(const NdIter& it, const S* src, D* dst) {
  const int nd = it.nd;
  const i64 R = it.shape[nd - 2], C = it.shape[nd - 1];
  const i64 ss0 = it.st[0][nd - 2], ss1 = it.st[0][nd - 1], ds0 = it.st[1][nd - 2], ds1 = it.st[1][nd - 1];
  i64 planes = 1;
  for (int d = 0; d < nd - 2; d++) planes *= it.shape[d];
  constexpr i64 kT = 32;
  const i64 tr = (R + kT - 1) / kT, tc = (C + kT - 1) / kT;
  const i64 ntasks = planes * tr;
  const int nt = threads_for(static_cast<double>(planes * R * C), 1.0e6);
  parallel_for(static_cast<int>(ntasks), nt, [&](int t, int) {
    const i64 pl = t / tr, r0 = (t % tr) * kT, r1 = std::min(R, r0 + kT);
    i64 ps = 0, pd = 0, rem = pl;
    for (int d = nd - 3; d >= 0; d--) {
      const i64 idx = rem % it.shape[d];
      rem /= it.shape[d];
      ps += idx * it.st[0][d];
      pd += idx * it.st[1][d];
    }
    for (i64 c0 = 0; c0 < tc * kT; c0 += kT) {
      const i64 c1 = std::min(C, c0 + kT);
      for (i64 r = r0; r < r1; r++) {
        const S* s = src + ps + r * ss0;
        D* d = dst + pd + r * ds0;
        for (i64 c = c0; c < c1; c++) d[c * ds1] = conv<D, S>(s[c * ss1]);
      }
    }
  });
}

template <class D, class S>
void copy_t(const NdIter& it, const S* src, D* dst) {
  const int nd = it.nd;
  if (nd >= 2 && it.st[0][nd - 1] != 1 && it.st[1][nd - 1] == 1 && it.st[0][nd - 2] == 1 &&
      it.shape[nd - 1] >= 8 && it.shape[nd - 2] >= 8) {
    // view it as rows of the source: dims swapped so the tile loop reads the source contiguously
    NdIter sw = it;
    std::swap(sw.shape[nd - 1], sw.shape[nd - 2]);
    std::swap(sw.st[0][nd - 1], sw.st[0][nd - 2]);
    std::swap(sw.st[1][nd - 1], sw.st[1][nd - 2]);
    return copy_transpose(sw, src, dst);
  }
  nd_rows(it, 2, [&](const i64* pos, i64, i64 n) {
    const S* s = src + pos[0];
    D* d = dst + pos[1];
    const i64 ss = it.st[0][it.nd - 1], ds = it.st[1][it.nd - 1];
    if (ss == 1 && ds == 1) {
      if constexpr (std::is_same<D, S>::value)
        std::memcpy(d, s, sizeof(D) * static_cast<size_t>(n));
      else
        for (i64 j = 0; j < n; j++) d[j] = conv<D, S>(s[j]);
    } else {
      for (i64 j = 0; j < n; j++) d[j * ds] = conv<D, S>(s[j * ss]);
    }
  });
}

template <class S>
void copy_from(const NdIter& it, const S* src, void* dst, int dt) {
  switch (dt) {
    case T_F32: return copy_t(it, src, static_cast<float*>(dst));
    case T_F64: return copy_t(it, src, static_cast<double*>(dst));
    case T_I32: return copy_t(it, src, static_cast<int32_t*>(dst));
    case T_U8: return copy_t(it, src, static_cast<uint8_t*>(dst));
  }
}

template <class T>
void compare_t(CompareOp op, const NdIter& it, const T* a, const T* b, uint8_t* out) {
  nd_rows(it, 2, [&](const i64* pos, i64 r, i64 n) {
    const T* pa = a + pos[0];
    const T* pb = b + pos[1];
    const i64 sa = it.st[0][it.nd - 1], sb = it.st[1][it.nd - 1];
    uint8_t* o = out + r * n;
    switch (op) {
      case CompareOp::eq:
        for (i64 j = 0; j < n; j++) o[j] = pa[j * sa] == pb[j * sb];
        break;
      case CompareOp::ne:
        for (i64 j = 0; j < n; j++) o[j] = pa[j * sa] != pb[j * sb];
        break;
      case CompareOp::lt:
        for (i64 j = 0; j < n; j++) o[j] = pa[j * sa] < pb[j * sb];
        break;
      case CompareOp::le:
        for (i64 j = 0; j < n; j++) o[j] = pa[j * sa] <= pb[j * sb];
        break;
      case CompareOp::gt:
        for (i64 j = 0; j < n; j++) o[j] = pa[j * sa] > pb[j * sb];
        break;
      case CompareOp::ge:
        for (i64 j = 0; j < n; j++) o[j] = pa[j * sa] >= pb[j * sb];
        break;
    }
  });
}

template <class T>
void where_t(const NdIter& it, const uint8_t* cond, const T* a, const T* b, T* out) {
  nd_rows(it, 3, [&](const i64* pos, i64 r, i64 n) {
    const uint8_t* pc = cond + pos[0];
    const T* pa = a + pos[1];
    const T* pb = b + pos[2];
    const i64 sc = it.st[0][it.nd - 1], sa = it.st[1][it.nd - 1], sb = it.st[2][it.nd - 1];
    T* o = out + r * n;
    for (i64 j = 0; j < n; j++) o[j] = pc[j * sc] ? pa[j * sa] : pb[j * sb];
  });
}

template <class T>
void clamp_t(const T* x, T* out, i64 n, double lo, double hi) {
  const i64 chunk = 65536;
  const int nt = threads_for(static_cast<double>(n), 1.0e6);
  parallel_for(static_cast<int>((n + chunk - 1) / chunk), nt, [&](int t, int) {
    const i64 b = t * chunk, e = std::min(n, b + chunk);
    if constexpr (std::is_floating_point<T>::value) {
      const T l = static_cast<T>(lo), h = static_cast<T>(hi);
      const bool exact = static_cast<double>(l) == lo && static_cast<double>(h) == hi;
      if (exact) {
        for (i64 i = b; i < e; i++) {
          const T v = x[i];
          out[i] = v != v ? v : (v < l ? l : (v > h ? h : v));
        }
        return;
      }
    }
    for (i64 i = b; i < e; i++) {
      const double v = static_cast<double>(x[i]);
      out[i] = conv<T, double>(v != v ? v : (v < lo ? lo : (v > hi ? hi : v)));
    }
  });
}

template <class T>
void gather_t(const T* x, i64 outer, i64 n, i64 inner, const int32_t* index, i64 m, T* out) {
  const int nt = threads_for(static_cast<double>(outer * m * inner), 1.0e6);
  parallel_for(static_cast<int>(outer), nt, [&](int o, int) {
    for (i64 j = 0; j < m; j++) {
      const i64 p = (o * m + j) * inner;
      for (i64 i = 0; i < inner; i++) out[p + i] = x[(o * n + index[p + i]) * inner + i];
    }
  });
}

}  // namespace

void copy_nd(const NdIter& it, const void* src, int st, void* dst, int dt) {
  switch (st) {
    case T_F32: return copy_from(it, static_cast<const float*>(src), dst, dt);
    case T_F64: return copy_from(it, static_cast<const double*>(src), dst, dt);
    case T_I32: return copy_from(it, static_cast<const int32_t*>(src), dst, dt);
    case T_U8: return copy_from(it, static_cast<const uint8_t*>(src), dst, dt);
  }
}

void compare_nd(CompareOp op, const NdIter& it, const void* a, const void* b, int t, uint8_t* out) {
  switch (t) {
    case T_F32: return compare_t(op, it, static_cast<const float*>(a), static_cast<const float*>(b), out);
    case T_F64: return compare_t(op, it, static_cast<const double*>(a), static_cast<const double*>(b), out);
    case T_I32: return compare_t(op, it, static_cast<const int32_t*>(a), static_cast<const int32_t*>(b), out);
    case T_U8: return compare_t(op, it, static_cast<const uint8_t*>(a), static_cast<const uint8_t*>(b), out);
  }
}

void where_nd(const NdIter& it, const uint8_t* cond, const void* a, const void* b, int t, void* out) {
  switch (t) {
    case T_F32:
      return where_t(it, cond, static_cast<const float*>(a), static_cast<const float*>(b), static_cast<float*>(out));
    case T_F64:
      return where_t(it, cond, static_cast<const double*>(a), static_cast<const double*>(b), static_cast<double*>(out));
    case T_I32:
      return where_t(it, cond, static_cast<const int32_t*>(a), static_cast<const int32_t*>(b),
                     static_cast<int32_t*>(out));
    case T_U8:
      return where_t(it, cond, static_cast<const uint8_t*>(a), static_cast<const uint8_t*>(b),
                     static_cast<uint8_t*>(out));
  }
}

void clamp_any(const void* x, void* out, int t, i64 n, double lo, double hi) {
  switch (t) {
    case T_F32: return clamp_t(static_cast<const float*>(x), static_cast<float*>(out), n, lo, hi);
    case T_F64: return clamp_t(static_cast<const double*>(x), static_cast<double*>(out), n, lo, hi);
    case T_I32: return clamp_t(static_cast<const int32_t*>(x), static_cast<int32_t*>(out), n, lo, hi);
    case T_U8: return clamp_t(static_cast<const uint8_t*>(x), static_cast<uint8_t*>(out), n, lo, hi);
  }
}

void index_select(const void* x, size_t esize, i64 outer, i64 n, i64 inner, const int32_t* index, i64 m, void* out) {
  const char* src = static_cast<const char*>(x);
  char* dst = static_cast<char*>(out);
  const size_t row = esize * static_cast<size_t>(inner);
  const i64 total = outer * m;
  const i64 per = std::max<i64>(1, 16384 / std::max<i64>(inner, 1));
  const int nt = threads_for(static_cast<double>(total * inner), 1.0e6);
  parallel_for(static_cast<int>((total + per - 1) / per), nt, [&](int t, int) {
    const i64 r0 = t * per, r1 = std::min(total, r0 + per);
    for (i64 r = r0; r < r1; r++) {
      const i64 o = r / m, j = r % m;
      std::memcpy(dst + static_cast<size_t>(r) * row, src + static_cast<size_t>(o * n + index[j]) * row, row);
    }
  });
}

void gather_any(const void* x, size_t esize, i64 outer, i64 n, i64 inner, const int32_t* index, i64 m, void* out) {
  switch (esize) {
    case 1:
      return gather_t(static_cast<const uint8_t*>(x), outer, n, inner, index, m, static_cast<uint8_t*>(out));
    case 4:
      return gather_t(static_cast<const uint32_t*>(x), outer, n, inner, index, m, static_cast<uint32_t*>(out));
    case 8:
      return gather_t(static_cast<const uint64_t*>(x), outer, n, inner, index, m, static_cast<uint64_t*>(out));
  }
}

// Scatter-adds: each task owns a fixed slice (outer row × block of inner positions) of gx and adds
// the contributions in index order, so results are bit-identical to a sequential loop.
template <class E>
void index_add(const E* gy, i64 outer, i64 n, i64 inner, const int32_t* index, i64 m, E* gx) {
  const i64 iblk = std::max<i64>(64, (inner + 7) / 8);
  const i64 nib = (inner + iblk - 1) / iblk;
  const int nt = threads_for(static_cast<double>(outer * m * inner), 1.0e6);
  parallel_for(static_cast<int>(outer * nib), nt, [&](int t, int) {
    const i64 o = t / nib, i0 = (t % nib) * iblk, i1 = std::min(inner, i0 + iblk);
    for (i64 j = 0; j < m; j++) {
      E* d = gx + (o * n + index[j]) * inner;
      const E* s = gy + (o * m + j) * inner;
      for (i64 i = i0; i < i1; i++) d[i] += s[i];
    }
  });
}

template <class E>
void scatter_add(const E* gy, i64 outer, i64 n, i64 inner, const int32_t* index, i64 m, E* gx) {
  const i64 iblk = std::max<i64>(64, (inner + 7) / 8);
  const i64 nib = (inner + iblk - 1) / iblk;
  const int nt = threads_for(static_cast<double>(outer * m * inner), 1.0e6);
  parallel_for(static_cast<int>(outer * nib), nt, [&](int t, int) {
    const i64 o = t / nib, i0 = (t % nib) * iblk, i1 = std::min(inner, i0 + iblk);
    for (i64 j = 0; j < m; j++) {
      const i64 p = (o * m + j) * inner;
      for (i64 i = i0; i < i1; i++) gx[(o * n + index[p + i]) * inner + i] += gy[p + i];
    }
  });
}

template void index_add<float>(const float*, i64, i64, i64, const int32_t*, i64, float*);
template void index_add<double>(const double*, i64, i64, i64, const int32_t*, i64, double*);
template void scatter_add<float>(const float*, i64, i64, i64, const int32_t*, i64, float*);
template void scatter_add<double>(const double*, i64, i64, i64, const int32_t*, i64, double*);

}  // namespace qkv
