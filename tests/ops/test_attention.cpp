// Tests ops/attention.hpp on the Cpu back end: the forward pass against a naive reference (causal and
// not, several heads, odd sizes), probabilities that are a causal softmax, the backward pass against
// central differences in double, and shape errors.
#include <doctest/doctest.h>

#include "netgrow/ops/attention.hpp"

#include <cmath>
#include <vector>

#include "netgrow/core/init.hpp"
#include "support/gradcheck.hpp"

using namespace netgrow;

namespace {

// out (N, T, h dh) by loops: softmax(q k^T / sqrt(dh)) v per sample and head.
Tensor<double> naive_attention(const Tensor<double>& q, const Tensor<double>& k, const Tensor<double>& v, Index heads,
                               bool causal) {
  const Index n = q.dim(0), t = q.dim(1), width = q.dim(2), dh = width / heads;
  Tensor<double> out(q.shape());
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < heads; ++j)
      for (Index r = 0; r < t; ++r) {
        std::vector<double> s(static_cast<std::size_t>(t), -INFINITY);
        double top = -INFINITY;
        for (Index c = 0; c < t; ++c) {
          if (causal && c > r) continue;
          double dot = 0;
          for (Index e = 0; e < dh; ++e) dot += q.at(i, r, j * dh + e) * k.at(i, c, j * dh + e);
          s[static_cast<std::size_t>(c)] = dot / std::sqrt(static_cast<double>(dh));
          top = std::max(top, s[static_cast<std::size_t>(c)]);
        }
        double sum = 0;
        for (double& x : s) sum += (x = std::exp(x - top));
        for (Index e = 0; e < dh; ++e) {
          double acc = 0;
          for (Index c = 0; c < t; ++c) acc += s[static_cast<std::size_t>(c)] / sum * v.at(i, c, j * dh + e);
          out.at(i, r, j * dh + e) = acc;
        }
      }
  return out;
}

}  // namespace

TEST_CASE("attention_forward matches the naive reference, causal or not, with several heads at odd sizes") {
  Rng rng(1);
  for (const bool causal : {false, true})
    for (const Index heads : {1, 3}) {
      CAPTURE(causal);
      CAPTURE(heads);
      const Shape s{2, 5, heads * 3};
      const auto q = test::random_tensor(s, rng), k = test::random_tensor(s, rng), v = test::random_tensor(s, rng);
      Tensor<double> out(s), probs(Shape{2, heads, 5, 5});
      ops::attention_forward<double>(q, k, v, heads, causal, probs.view(), out.view());
      const Tensor<double> expected = naive_attention(q, k, v, heads, causal);
      for (Index i = 0; i < out.numel(); ++i) CHECK(out[i] == doctest::Approx(expected[i]).epsilon(1e-12));
      for (Index b = 0; b < 2 * heads; ++b)
        for (Index r = 0; r < 5; ++r) {
          double sum = 0;
          for (Index c = 0; c < 5; ++c) {
            const double p = probs[(b * 5 + r) * 5 + c];
            if (causal && c > r) CHECK(p == 0.0);
            sum += p;
          }
          CHECK(sum == doctest::Approx(1.0).epsilon(1e-14));
        }
    }
}

TEST_CASE("attention_forward is stable for large scores (no overflow to NaN)") {
  Tensor<float> q({1, 3, 2}), k({1, 3, 2}), v({1, 3, 2}), out({1, 3, 2}), probs({1, 1, 3, 3});
  q.fill(300.0f);
  k.fill(300.0f);
  v.fill(1.0f);
  ops::attention_forward<float>(q, k, v, 1, true, probs.view(), out.view());
  CHECK(ops::all_finite<float>(out));
  CHECK(out[0] == doctest::Approx(1.0f));
}

TEST_CASE("attention_backward matches central differences in double, causal or not") {
  Rng rng(2);
  for (const bool causal : {false, true}) {
    CAPTURE(causal);
    const Index heads = 2;
    const Shape s{2, 4, heads * 3};
    auto q = test::random_tensor(s, rng), k = test::random_tensor(s, rng), v = test::random_tensor(s, rng);
    const auto r = test::random_tensor(s, rng);
    Tensor<double> out(s), probs(Shape{2, heads, 4, 4});
    auto probe = [&] {
      ops::attention_forward<double>(q, k, v, heads, causal, probs.view(), out.view());
      return test::dot(out.cview(), r.cview());
    };
    probe();
    Tensor<double> dq(s), dk(s), dv(s);
    ops::attention_backward<double>(q, k, v, probs, r, heads, dq.view(), dk.view(), dv.view());
    CHECK(test::max_gradient_error(probe, q.view(), dq.cview()) < test::gradcheck_tolerance);
    CHECK(test::max_gradient_error(probe, k.view(), dk.cview()) < test::gradcheck_tolerance);
    CHECK(test::max_gradient_error(probe, v.view(), dv.cview()) < test::gradcheck_tolerance);
  }
}

TEST_CASE("attention ops refuse shapes that do not fit") {
  Tensor<double> q({2, 4, 6}), k({2, 4, 6}), v({2, 4, 5}), out({2, 4, 6}), probs({2, 2, 4, 4});
  CHECK_THROWS_AS(ops::attention_forward<double>(q, k, v, 2, false, probs.view(), out.view()), ShapeError);
  CHECK_THROWS_WITH_AS(ops::attention_forward<double>(q, k, q, 4, false, probs.view(), out.view()),
                       doctest::Contains("4 heads do not divide the 6 features"), ShapeError);
  CHECK_THROWS_AS(ops::attention_forward<double>(q, k, q, 3, false, probs.view(), out.view()), ShapeError);
}
