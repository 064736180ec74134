// Tests layers/parameter_growth.hpp: append_to_parameter on values, gradients, optimizer state and lr_scale (ports of the reference's test_pad_zeros_to and test_copy_adam_slots), and Adam continuing across growth.
#include <doctest/doctest.h>

#include "netgrow/layers/parameter_growth.hpp"

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "netgrow/core/init.hpp"
#include "netgrow/optim/adam.hpp"

using namespace netgrow;

namespace {

using Param = Parameter<double, Cpu>;

Tensor<double> uniform_tensor(Shape shape, Rng& rng) {
  Tensor<double> t(shape);
  fill_uniform(t.view(), -1.0, 1.0, rng);
  return t;
}

// p of `shape` with random value and gradient, and `states` random state tensors owned by `owner`.
Param random_parameter(Shape shape, std::size_t states, Rng& rng, std::string owner = "adam") {
  Param p(shape);
  p.value = uniform_tensor(shape, rng);
  p.grad = uniform_tensor(shape, rng);
  for (std::size_t i = 0; i < states; ++i) p.state.push_back(uniform_tensor(shape, rng));
  p.state_owner = std::move(owner);
  return p;
}

int positive_axis(int axis, int rank) { return axis < 0 ? axis + rank : axis; }

// t[..., begin:begin+count, ...] along axis, as a tensor.
Tensor<double> part(const Tensor<double>& t, int axis, Index begin, Index count) {
  Shape s = t.shape();
  s[positive_axis(axis, s.rank())] = count;
  Tensor<double> out(s);
  ops::slice<double>(t, axis, begin, count, out);
  return out;
}

bool equal(const Tensor<double>& a, const Tensor<double>& b) {
  return a.shape() == b.shape() && a.to_vector() == b.to_vector();
}

bool all_zero(const Tensor<double>& t) {
  for (Index i = 0; i < t.numel(); ++i)
    if (t[i] != 0.0) return false;
  return true;
}

bool all_equal_to(const Tensor<double>& t, double x) {
  for (Index i = 0; i < t.numel(); ++i)
    if (t[i] != x) return false;
  return true;
}

// Grows a random parameter of shape `old_shape` by `extra` along `axis` and checks everything attached:
// the value keeps its old entries and gets `values` appended, grad and each state tensor keep theirs and
// get zeros, lr_scale (present or empty as requested) gets `factor` or stays empty.
void check_growth(Shape old_shape, int axis, Index extra, bool with_lr_scale, std::uint64_t seed) {
  INFO("shape ", old_shape, " axis ", axis, " extra ", extra, " lr_scale ", with_lr_scale);
  Rng rng(seed);
  Param p = random_parameter(old_shape, 2, rng);
  if (with_lr_scale) p.lr_scale = uniform_tensor(old_shape, rng);
  p.lr_multiplier = 0.5;
  p.weight_decay = false;
  const Param before = [&] {
    Param c;
    c.value = p.value.clone();
    c.grad = p.grad.clone();
    for (const auto& s : p.state) c.state.push_back(s.clone());
    c.lr_scale = p.lr_scale.clone();
    return c;
  }();
  const int ax = positive_axis(axis, old_shape.rank());
  const Shape new_shape = ops::grown_shape(old_shape, axis, extra);
  Shape extra_shape = old_shape;
  extra_shape[ax] = extra;
  const Tensor<double> values = uniform_tensor(extra_shape, rng);

  grow::append_to_parameter(p, axis, values.cview(), 0.25);

  const Index old_d = old_shape[ax];
  REQUIRE(p.value.shape() == new_shape);
  CHECK(equal(part(p.value, axis, 0, old_d), before.value));
  CHECK(equal(part(p.value, axis, old_d, extra), values));
  REQUIRE(p.grad.shape() == new_shape);
  CHECK(equal(part(p.grad, axis, 0, old_d), before.grad));
  CHECK(all_zero(part(p.grad, axis, old_d, extra)));
  REQUIRE(p.state.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    INFO("state ", i);
    REQUIRE(p.state[i].shape() == new_shape);
    CHECK(equal(part(p.state[i], axis, 0, old_d), before.state[i]));
    CHECK(all_zero(part(p.state[i], axis, old_d, extra)));
  }
  if (with_lr_scale) {
    REQUIRE(p.lr_scale.shape() == new_shape);
    CHECK(equal(part(p.lr_scale, axis, 0, old_d), before.lr_scale));
    CHECK(all_equal_to(part(p.lr_scale, axis, old_d, extra), 0.25));
  } else {
    CHECK(p.lr_scale.empty());
  }
  // Nothing else changes.
  CHECK(p.state_owner == "adam");
  CHECK(p.lr_multiplier == 0.5);
  CHECK_FALSE(p.weight_decay);
  CHECK(p.trainable);
}

// A one-parameter "network" an optimizer can step().
struct OneParameter {
  Param p;
  template <class F>
  void visit_parameters(F&& f) {
    f(std::string_view("p"), p);
  }
};

}  // namespace

TEST_CASE("append_to_parameter grows matrices along axis 0 and 1, biases, and rank-3 and rank-4 tensors") {
  std::uint64_t seed = 1;
  for (bool lr_scale : {false, true}) {
    check_growth(Shape{3, 4}, 0, 2, lr_scale, seed++);   // Dense (out, in): new output neurons
    check_growth(Shape{3, 4}, 1, 3, lr_scale, seed++);   // Dense (out, in): new inputs
    check_growth(Shape{3, 4}, -1, 1, lr_scale, seed++);
    check_growth(Shape{5}, 0, 3, lr_scale, seed++);      // bias
    check_growth(Shape{5}, -1, 1, lr_scale, seed++);
    check_growth(Shape{2, 3, 5}, 0, 2, lr_scale, seed++);
    check_growth(Shape{2, 3, 5}, 1, 1, lr_scale, seed++);
    check_growth(Shape{2, 3, 5}, 2, 4, lr_scale, seed++);
    check_growth(Shape{4, 3, 3, 5}, 0, 2, lr_scale, seed++);  // conv (out, in, kh, kw): new filters
    check_growth(Shape{4, 3, 3, 5}, 1, 3, lr_scale, seed++);  // conv: new input channels
    check_growth(Shape{4, 3, 3, 5}, -2, 1, lr_scale, seed++);
    check_growth(Shape{4, 3, 3, 5}, 3, 2, lr_scale, seed++);
    check_growth(Shape{3, 4}, 1, 0, lr_scale, seed++);  // growing by nothing
  }
}

TEST_CASE("append_to_parameter uses 1 as the default lr_scale factor of new entries") {
  Rng rng(50);
  Param p = random_parameter(Shape{3, 4}, 0, rng, "");
  p.lr_scale = Tensor<double>(Shape{3, 4});
  p.lr_scale.fill(0.1);
  const Tensor<double> values = uniform_tensor(Shape{3, 2}, rng);
  grow::append_to_parameter(p, 1, values.cview());
  REQUIRE(p.lr_scale.shape() == Shape{3, 6});
  CHECK(all_equal_to(part(p.lr_scale, 1, 0, 4), 0.1));
  CHECK(all_equal_to(part(p.lr_scale, 1, 4, 2), 1.0));
  CHECK(p.state.empty());  // no optimizer state: none is created
}

TEST_CASE("append_to_parameter works on float parameters") {
  Parameter<float, Cpu> p(Shape{2, 3});
  for (Index i = 0; i < 6; ++i) {
    p.value[i] = static_cast<float>(i + 1);
    p.grad[i] = -static_cast<float>(i + 1);
  }
  p.state.emplace_back(Shape{2, 3});
  p.state[0].fill(7.0f);
  p.lr_scale = Tensor<float>(Shape{2, 3});
  p.lr_scale.fill(2.0f);
  const Tensor<float> values = Tensor<float>::from(Shape{1, 3}, {10.0f, 20.0f, 30.0f});
  grow::append_to_parameter(p, 0, values.cview(), 0.5f);
  REQUIRE(p.value.shape() == Shape{3, 3});
  CHECK(p.value.to_vector() == std::vector<float>{1, 2, 3, 4, 5, 6, 10, 20, 30});
  CHECK(p.grad.to_vector() == std::vector<float>{-1, -2, -3, -4, -5, -6, 0, 0, 0});
  CHECK(p.state[0].to_vector() == std::vector<float>{7, 7, 7, 7, 7, 7, 0, 0, 0});
  CHECK(p.lr_scale.to_vector() == std::vector<float>{2, 2, 2, 2, 2, 2, 0.5f, 0.5f, 0.5f});
}

TEST_CASE("append_to_parameter along axis 1 of a matrix interleaves the new columns row by row") {
  Param p(Shape{2, 2});
  p.value = Tensor<double>::from(Shape{2, 2}, {1, 2, 3, 4});
  p.grad = Tensor<double>::from(Shape{2, 2}, {5, 6, 7, 8});
  const Tensor<double> values = Tensor<double>::from(Shape{2, 1}, {9, 10});
  grow::append_to_parameter(p, 1, values.cview());
  CHECK(p.value.to_vector() == std::vector<double>{1, 2, 9, 3, 4, 10});
  CHECK(p.grad.to_vector() == std::vector<double>{5, 6, 0, 7, 8, 0});
}

TEST_CASE("append_to_parameter rejects values of the wrong shape with a ShapeError and changes nothing") {
  Rng rng(51);
  Param p = random_parameter(Shape{3, 4}, 2, rng);
  const std::vector<double> value_before = p.value.to_vector();
  const Tensor<double> wrong_rows = uniform_tensor(Shape{2, 2}, rng);  // must be (3, *) along axis 1
  CHECK_THROWS_WITH_AS(grow::append_to_parameter(p, 1, wrong_rows.cview()), doctest::Contains("(3, 4)"), ShapeError);
  const Tensor<double> wrong_rank = uniform_tensor(Shape{3}, rng);
  CHECK_THROWS_AS(grow::append_to_parameter(p, 0, wrong_rank.cview()), ShapeError);
  const Tensor<double> fine = uniform_tensor(Shape{3, 1}, rng);
  CHECK_THROWS_AS(grow::append_to_parameter(p, 2, fine.cview()), ShapeError);
  CHECK(p.value.shape() == Shape{3, 4});
  CHECK(p.value.to_vector() == value_before);
  CHECK(p.grad.shape() == Shape{3, 4});
  for (const auto& s : p.state) CHECK(s.shape() == Shape{3, 4});
}

// The reference's test_pad_zeros_to: one optimizer slot (e.g. momentum) padded from `old` to `new`,
// on the axis pad_zeros_to picks (the last for rank 1; otherwise -1 when dim -2 is unchanged, else -2).
TEST_CASE("optimizer state grows like the reference's test_pad_zeros_to cases") {
  struct Case {
    const char* name;
    Shape old_shape, new_shape;
    int axis;
  };
  const std::vector<Case> cases{
      {"1d", Shape{2}, Shape{3}, 0},
      {"2d_out", Shape{2, 4}, Shape{2, 5}, -1},
      {"2d_in", Shape{2, 4}, Shape{4, 4}, -2},
      {"3d_in", Shape{4, 4, 5}, Shape{4, 4, 8}, -1},
      {"4d_in", Shape{4, 4, 2, 3}, Shape{4, 4, 4, 3}, -2},
      {"4d_out", Shape{4, 4, 2, 3}, Shape{4, 4, 2, 5}, -1},
  };
  Rng rng(52);
  for (const Case& c : cases) {
    INFO("case ", c.name);
    const int ax = positive_axis(c.axis, c.old_shape.rank());
    const Index old_d = c.old_shape[ax], extra = c.new_shape[ax] - c.old_shape[ax];
    Param p = random_parameter(c.old_shape, 1, rng, "sgd");
    const Tensor<double> old_slot = p.state[0].clone();
    Shape extra_shape = c.old_shape;
    extra_shape[ax] = extra;
    const Tensor<double> values = uniform_tensor(extra_shape, rng);
    grow::append_to_parameter(p, c.axis, values.cview());
    REQUIRE(p.state[0].shape() == c.new_shape);
    REQUIRE(p.value.shape() == c.new_shape);
    CHECK(equal(part(p.state[0], c.axis, 0, old_d), old_slot));  // new[old_slice] == old
    CHECK(all_zero(part(p.state[0], c.axis, old_d, extra)));    // padded with zeros
  }
}

// The reference's test_copy_adam_slots: Adam's m and v of an old variable (random) copied into the grown
// variable's slots. The layouts are the reference's TF kernel layouts; growth is axis-generic.
TEST_CASE("Adam's two moments grow like the reference's test_copy_adam_slots cases") {
  struct Case {
    const char* name;
    Shape old_shape, new_shape;
    int axis;
  };
  const std::vector<Case> cases{
      {"dense_outgrown", Shape{3, 4}, Shape{3, 5}, 1},           // a[:, i]
      {"dense_ingrown", Shape{3, 4}, Shape{4, 4}, 0},            // a[i, :]
      {"conv2d_ingrown", Shape{2, 2, 3, 4}, Shape{2, 2, 4, 4}, 2},  // a[:, :, i, :]
      {"conv2d_outgrown", Shape{2, 2, 3, 4}, Shape{2, 2, 3, 5}, 3},  // a[..., i]
      {"conv_dw", Shape{2, 2, 3}, Shape{2, 2, 4}, 2},            // a[:, :, i]
  };
  Rng rng(53);
  for (const Case& c : cases) {
    INFO("case ", c.name);
    Param p(c.old_shape);
    p.value.fill(1.0);  // the reference's old variable: ones
    p.state.push_back(uniform_tensor(c.old_shape, rng));  // m
    p.state.push_back(uniform_tensor(c.old_shape, rng));  // v
    p.state_owner = "adam";
    const Tensor<double> m = p.state[0].clone(), v = p.state[1].clone();
    Shape extra_shape = c.old_shape;
    extra_shape[c.axis] = 1;
    Tensor<double> ones(extra_shape);
    ones.fill(1.0);
    grow::append_to_parameter(p, c.axis, ones.cview());

    REQUIRE(p.value.shape() == c.new_shape);
    CHECK(all_equal_to(p.value, 1.0));
    REQUIRE(p.state.size() == 2);
    const Index last = c.new_shape[c.axis] - 1;
    for (std::size_t i = 0; i < 2; ++i) {
      INFO("slot ", i == 0 ? "m" : "v");
      const Tensor<double>& old_slot = i == 0 ? m : v;
      REQUIRE(p.state[i].shape() == c.new_shape);
      CHECK(all_zero(part(p.state[i], c.axis, last, 1)));                             // new slot's last slice
      CHECK(equal(part(p.state[i], c.axis, 0, 1), part(old_slot, c.axis, 0, 1)));      // first slice
      CHECK(equal(part(p.state[i], c.axis, 0, c.old_shape[c.axis]), old_slot));        // every old slice
    }
  }
}

TEST_CASE("Adam continues the old entries' moments exactly across growth and starts the new ones at zero") {
  const AdamOptions options{0.9, 0.999, 1e-8, 0.0, false};
  for (int axis : {0, 1}) {
    INFO("axis ", axis);
    Rng rng(60 + static_cast<std::uint64_t>(axis));
    const Shape old_shape{3, 4};
    OneParameter grown{Param(old_shape)}, plain{Param(old_shape)};
    grown.p.value = uniform_tensor(old_shape, rng);
    plain.p.value = grown.p.value.clone();
    Adam adam_grown(0.01, options), adam_plain(0.01, options);

    // Step 1 on both.
    grown.p.grad = uniform_tensor(old_shape, rng);
    plain.p.grad = grown.p.grad.clone();
    adam_grown.step(grown);
    adam_plain.step(plain);
    REQUIRE(grown.p.state_owner == "adam");

    // Grow one copy by two neurons.
    Shape extra_shape = old_shape;
    extra_shape[axis] = 2;
    const Tensor<double> new_values = uniform_tensor(extra_shape, rng);
    grow::append_to_parameter(grown.p, axis, new_values.cview());
    const Shape new_shape = grown.p.value.shape();
    REQUIRE(new_shape == ops::grown_shape(old_shape, axis, 2));

    // Steps 2 and 3: the grown copy gets the plain copy's gradient on its old entries plus a gradient for
    // the new ones.
    for (int step = 2; step <= 3; ++step) {
      INFO("step ", step);
      Tensor<double> g_old = uniform_tensor(old_shape, rng), g_new = uniform_tensor(extra_shape, rng);
      grown.p.grad = Tensor<double>(new_shape);
      ops::concat<double>(g_old, g_new, axis, grown.p.grad);
      plain.p.grad = std::move(g_old);
      const Tensor<double> new_value_before = part(grown.p.value, axis, old_shape[axis], 2);
      if (step == 2) CHECK(equal(new_value_before, new_values));  // the appended values, untouched so far
      const Tensor<double> new_m_before = part(grown.p.state[0], axis, old_shape[axis], 2);
      const Tensor<double> new_v_before = part(grown.p.state[1], axis, old_shape[axis], 2);
      adam_grown.step(grown);
      adam_plain.step(plain);

      REQUIRE(grown.p.state.size() == 2);
      CHECK(equal(part(grown.p.value, axis, 0, old_shape[axis]), plain.p.value));
      CHECK(equal(part(grown.p.state[0], axis, 0, old_shape[axis]), plain.p.state[0]));
      CHECK(equal(part(grown.p.state[1], axis, 0, old_shape[axis]), plain.p.state[1]));

      // New entries: moments that started at zero at step 2, while the bias correction uses t = step.
      const Tensor<double> m_new = part(grown.p.state[0], axis, old_shape[axis], 2);
      const Tensor<double> v_new = part(grown.p.state[1], axis, old_shape[axis], 2);
      const Tensor<double> w_new = part(grown.p.value, axis, old_shape[axis], 2);
      for (Index i = 0; i < g_new.numel(); ++i) {
        const double m = 0.9 * new_m_before[i] + 0.1 * g_new[i];
        const double v = 0.999 * new_v_before[i] + 0.001 * g_new[i] * g_new[i];
        CHECK(m_new[i] == doctest::Approx(m).epsilon(1e-12));
        CHECK(v_new[i] == doctest::Approx(v).epsilon(1e-12));
        if (step == 2) {
          CHECK(new_m_before[i] == 0.0);
          CHECK(new_v_before[i] == 0.0);
        }
        const double t = step;
        const double w = new_value_before[i] -
                         0.01 * (m / (1 - std::pow(0.9, t))) / (std::sqrt(v / (1 - std::pow(0.999, t))) + 1e-8);
        CHECK(w_new[i] == doctest::Approx(w).epsilon(1e-12));
      }
    }
    CHECK(adam_grown.steps() == 3);
  }
}

TEST_CASE("repeated growth reuses the reserved capacity instead of reallocating") {
  Parameter<float, Cpu> p(Shape{8, 6});
  p.state.emplace_back(Shape{8, 6});
  const Tensor<float> rows(Shape{2, 6});
  grow::append_to_parameter(p, 0, rows.cview());  // first growth reserves room
  const float* value = p.value.data();
  const float* state = p.state[0].data();
  const Tensor<float> more(Shape{2, 6});
  grow::append_to_parameter(p, 0, more.cview());
  CHECK(p.value.shape() == Shape{12, 6});
  CHECK(p.value.data() == value);
  CHECK(p.state[0].data() == state);
  const Tensor<float> cols(Shape{12, 1});
  grow::append_to_parameter(p, 1, cols.cview());  // 12 x 7 = 84 <= 1.5 x 60
  CHECK(p.value.data() == value);
  CHECK(p.grad.shape() == Shape{12, 7});
}
