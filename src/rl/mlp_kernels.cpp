#include "mlp_kernels.hpp"

#include <algorithm>

#include "ploutos/core/error.hpp"

namespace ploutos::rl::kernels {

#define PLOUTOS_DECLARE_VARIANT(ns)                                                                                \
  namespace ns {                                                                                                   \
  void bias_activation(float* h, const float* bias, std::int64_t rows, std::int64_t cols, Activation act);         \
  void activation_backward(float* g, const float* h, std::int64_t rows, std::int64_t cols, Activation act,         \
                           float* bias_grad);                                                                      \
  void matvec_rows_batch(const float* w, const float* bias, const float* x, std::int64_t inputs, float* y,         \
                         std::int64_t y_stride, std::int64_t first, std::int64_t last, std::int64_t cols);         \
  float quantize_int16(const float* x, std::int64_t n, std::int64_t padded, std::int16_t* q, std::int32_t limit);  \
  void matvec_rows_int8(const std::int8_t* w, const float* row_scale, const float* bias, const std::int16_t* q,    \
                        float q_scale, float* y, std::int64_t first, std::int64_t last, std::int64_t padded_cols); \
  double sum_squares(const float* g, std::int64_t first, std::int64_t last);                                       \
  void add_into(float* d, const float* s, std::int64_t first, std::int64_t last);                                  \
  void adam_update(float* p, const float* g, float* m, float* v, std::int64_t first, std::int64_t last,            \
                   const AdamStep& step);                                                                          \
  }
PLOUTOS_DECLARE_VARIANT(avx512)
PLOUTOS_DECLARE_VARIANT(avx2)
PLOUTOS_DECLARE_VARIANT(generic)
#undef PLOUTOS_DECLARE_VARIANT

namespace {

struct Table {
  const char* name;
  decltype(&generic::bias_activation) bias_activation;
  decltype(&generic::activation_backward) activation_backward;
  decltype(&generic::matvec_rows_batch) matvec_rows_batch;
  decltype(&generic::quantize_int16) quantize_int16;
  decltype(&generic::matvec_rows_int8) matvec_rows_int8;
  decltype(&generic::sum_squares) sum_squares;
  decltype(&generic::add_into) add_into;
  decltype(&generic::adam_update) adam_update;
};

const Table kAvx2{"avx2",
                  avx2::bias_activation,
                  avx2::activation_backward,
                  avx2::matvec_rows_batch,
                  avx2::quantize_int16,
                  avx2::matvec_rows_int8,
                  avx2::sum_squares,
                  avx2::add_into,
                  avx2::adam_update};
const Table kAvx512{"avx512",
                    avx512::bias_activation,
                    avx512::activation_backward,
                    avx512::matvec_rows_batch,
                    avx512::quantize_int16,
                    avx512::matvec_rows_int8,
                    avx512::sum_squares,
                    avx512::add_into,
                    avx512::adam_update};
const Table kGeneric{"generic",
                     generic::bias_activation,
                     generic::activation_backward,
                     generic::matvec_rows_batch,
                     generic::quantize_int16,
                     generic::matvec_rows_int8,
                     generic::sum_squares,
                     generic::add_into,
                     generic::adam_update};

bool cpu_has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

bool cpu_has_avx512() {
  __builtin_cpu_init();
  return cpu_has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
}

const Table*& active() {
  static const Table* chosen = cpu_has_avx512() ? &kAvx512 : cpu_has_avx2() ? &kAvx2 : &kGeneric;
  return chosen;
}

const Table& table() {
  return *active();
}

}  // namespace

Activation parse_activation(const std::string& name) {
  if (name == "tanh") return Activation::kTanh;
  if (name == "relu") return Activation::kRelu;
  if (name == "elu") return Activation::kElu;
  if (name == "leaky_relu") return Activation::kLeakyRelu;
  throw ConfigError("ppo.activation: '" + name + "' is not one of tanh, relu, elu, leaky_relu");
}

void bias_activation(float* h, const float* bias, std::int64_t rows, std::int64_t cols, Activation act) {
  table().bias_activation(h, bias, rows, cols, act);
}

void activation_backward(float* g, const float* h, std::int64_t rows, std::int64_t cols, Activation act,
                         float* bias_grad) {
  table().activation_backward(g, h, rows, cols, act, bias_grad);
}

void matvec_rows_batch(const float* w, const float* bias, const float* x, std::int64_t inputs, float* y,
                       std::int64_t y_stride, std::int64_t first, std::int64_t last, std::int64_t cols) {
  table().matvec_rows_batch(w, bias, x, inputs, y, y_stride, first, last, cols);
}

std::int32_t int16_activation_limit(std::int64_t padded_cols) {
  constexpr std::int64_t kInt32Max = 2147483647, kInt8Max = 127, kInt16Max = 32767;
  return static_cast<std::int32_t>(
      std::clamp<std::int64_t>(kInt32Max / (kInt8Max * std::max<std::int64_t>(padded_cols, 1)), 1, kInt16Max));
}

float quantize_int16(const float* x, std::int64_t n, std::int64_t padded, std::int16_t* q, std::int32_t limit) {
  return table().quantize_int16(x, n, padded, q, limit);
}

void matvec_rows_int8(const std::int8_t* w, const float* row_scale, const float* bias, const std::int16_t* q,
                      float q_scale, float* y, std::int64_t first, std::int64_t last, std::int64_t padded_cols) {
  table().matvec_rows_int8(w, row_scale, bias, q, q_scale, y, first, last, padded_cols);
}

double sum_squares(const float* g, std::int64_t first, std::int64_t last) {
  return table().sum_squares(g, first, last);
}

void add_into(float* d, const float* s, std::int64_t first, std::int64_t last) {
  table().add_into(d, s, first, last);
}

void adam_update(float* p, const float* g, float* m, float* v, std::int64_t first, std::int64_t last,
                 const AdamStep& step) {
  table().adam_update(p, g, m, v, first, last, step);
}

const char* variant() {
  return table().name;
}

bool use_variant(const std::string& name) {
  if (name == "generic") {
    active() = &kGeneric;
    return true;
  }
  if (name == "avx2" && cpu_has_avx2()) {
    active() = &kAvx2;
    return true;
  }
  if (name == "avx512" && cpu_has_avx512()) {
    active() = &kAvx512;
    return true;
  }
  return false;
}

}  // namespace ploutos::rl::kernels
