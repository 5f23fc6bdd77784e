#include "kernels/cpu/rnn_pointwise_avx512.h"

#include <immintrin.h>

// GCC 12 reports its own _mm512_undefined_ps in the masked intrinsics' bodies as maybe
// uninitialised (GCC bug 105593, fixed in 13).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace engine::cpu::avx512 {

namespace {

__m512 splat(float value) {
  return _mm512_set1_ps(value);
}

// math::exp_of: the same saturation, reduction and polynomial; 2^n applied by scalef.
__m512 exp_of(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, splat(-87.3f)), splat(88.7f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, splat(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, splat(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, splat(-2.12194440e-4f), r);
  __m512 p = splat(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, splat(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, splat(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, splat(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, splat(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, splat(5.0000001201e-1f));
  p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, splat(1.0f)));
  return _mm512_scalef_ps(p, n);
}

// 1 / d: the 14-bit estimate refined by one Newton step (~1 ulp).
__m512 reciprocal(__m512 d) {
  const __m512 x = _mm512_rcp14_ps(d);
  return _mm512_fmadd_ps(x, _mm512_fnmadd_ps(d, x, splat(1.0f)), x);
}

__m512 sigmoid(__m512 x) {
  return reciprocal(_mm512_add_ps(splat(1.0f), exp_of(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}

// math::tanh_of: the series near 0, 1 - 2 / (e^(2x) + 1) elsewhere.
__m512 tanh_of(__m512 x) {
  const __m512 x2 = _mm512_mul_ps(x, x);
  const __m512 series = _mm512_mul_ps(
      x, _mm512_fnmadd_ps(x2, _mm512_fnmadd_ps(x2, splat(0.133333333f), splat(0.333333333f)),
                          splat(1.0f)));
  const __m512 general = _mm512_fnmadd_ps(
      splat(2.0f), reciprocal(_mm512_add_ps(exp_of(_mm512_add_ps(x, x)), splat(1.0f))),
      splat(1.0f));
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x2, splat(0.0025f), _CMP_LT_OQ), general, series);
}

__mmask16 lanes(int H, int j) {
  return H - j >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (H - j)) - 1);
}

// Masked only at a row's tail: full blocks use plain loads and stores.
__m512 load(__mmask16 m, const float* at) {
  return m == 0xFFFF ? _mm512_loadu_ps(at) : _mm512_maskz_loadu_ps(m, at);
}
void store(__mmask16 m, float* at, __m512 value) {
  if (m == 0xFFFF) {
    _mm512_storeu_ps(at, value);
  } else {
    _mm512_mask_storeu_ps(at, m, value);
  }
}

}  // namespace

void lstm_forward_row_in_place(int H, float* gates, const float* u, const float* c_prev, float* c,
                               float* h) {
  for (int j = 0; j < H; j += 16) {
    const __mmask16 m = lanes(H, j);
    const __m512 i = sigmoid(_mm512_add_ps(load(m, gates + j), load(m, u + j)));
    const __m512 f = sigmoid(_mm512_add_ps(load(m, gates + H + j), load(m, u + H + j)));
    const __m512 g = tanh_of(_mm512_add_ps(load(m, gates + 2 * H + j), load(m, u + 2 * H + j)));
    const __m512 o = sigmoid(_mm512_add_ps(load(m, gates + 3 * H + j), load(m, u + 3 * H + j)));
    const __m512 cell = _mm512_fmadd_ps(f, load(m, c_prev + j), _mm512_mul_ps(i, g));
    store(m, gates + j, i);
    store(m, gates + H + j, f);
    store(m, gates + 2 * H + j, g);
    store(m, gates + 3 * H + j, o);
    store(m, c + j, cell);
    store(m, h + j, _mm512_mul_ps(o, tanh_of(cell)));
  }
}

void lstm_backward_row_in_place(int H, float* gates, const float* c, const float* c_prev,
                                const float* dh_above, const float* dh_carry, float* dc,
                                bool has_previous, float* bias_grad) {
  const __m512 one = splat(1.0f);
  for (int j = 0; j < H; j += 16) {
    const __mmask16 m = lanes(H, j);
    const __m512 i = load(m, gates + j);
    const __m512 f = load(m, gates + H + j);
    const __m512 g = load(m, gates + 2 * H + j);
    const __m512 o = load(m, gates + 3 * H + j);
    const __m512 dh = _mm512_add_ps(load(m, dh_above + j), load(m, dh_carry + j));
    const __m512 tc = tanh_of(load(m, c + j));
    // dc_total = dc + dh * o * (1 - tc^2)
    const __m512 dc_total =
        _mm512_fmadd_ps(_mm512_mul_ps(dh, o), _mm512_fnmadd_ps(tc, tc, one), load(m, dc + j));
    const __m512 da_o =
        _mm512_mul_ps(_mm512_mul_ps(dh, tc), _mm512_mul_ps(o, _mm512_sub_ps(one, o)));
    const __m512 da_i =
        _mm512_mul_ps(_mm512_mul_ps(dc_total, g), _mm512_mul_ps(i, _mm512_sub_ps(one, i)));
    const __m512 da_f = _mm512_mul_ps(_mm512_mul_ps(dc_total, load(m, c_prev + j)),
                                      _mm512_mul_ps(f, _mm512_sub_ps(one, f)));
    const __m512 da_g = _mm512_mul_ps(_mm512_mul_ps(dc_total, i), _mm512_fnmadd_ps(g, g, one));
    const __m512 gradients[4] = {da_i, da_f, da_g, da_o};
    for (int gate = 0; gate < 4; ++gate) {
      store(m, gates + gate * H + j, gradients[gate]);
      float* bias = bias_grad + gate * H + j;
      store(m, bias, _mm512_add_ps(load(m, bias), gradients[gate]));
    }
    store(m, dc + j, has_previous ? _mm512_mul_ps(dc_total, f) : _mm512_setzero_ps());
  }
}

}  // namespace engine::cpu::avx512
