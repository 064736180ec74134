// Tests io/kind_config.hpp: every layer kind netgrow defines saves and loads its settings exactly,
// malformed settings raise IoError naming the kind and field, fixed_settings() drops the widths, and
// with_unshaped_widths() takes LayerNorm's eps from a file's settings.
#include <doctest/doctest.h>

#include "netgrow/io/kind_config.hpp"

#include <string>

#include "netgrow/blocks/stack.hpp"
#include "netgrow/blocks/transformer_block.hpp"
#include "netgrow/blocks/wide_block.hpp"
#include "netgrow/layers/activation.hpp"
#include "netgrow/layers/avg_pool2d.hpp"
#include "netgrow/layers/batch_norm.hpp"
#include "netgrow/layers/conv2d.hpp"
#include "netgrow/layers/dense.hpp"
#include "netgrow/layers/depthwise_conv2d.hpp"
#include "netgrow/layers/dropout.hpp"
#include "netgrow/layers/flatten.hpp"
#include "netgrow/layers/global_avg_pool.hpp"
#include "netgrow/layers/layer_norm.hpp"
#include "netgrow/layers/max_pool2d.hpp"

using namespace netgrow;
using io::Json;
using io::KindConfig;

namespace {

// save -> load -> save gives the same JSON, and load gives back the kind's fields.
template <class K>
K round_trip(const K& k) {
  const Json j = KindConfig<K>::save(k);
  CHECK(j.is_object());
  const K back = KindConfig<K>::load(j);
  CHECK(KindConfig<K>::save(back) == j);
  return back;
}

struct Unrecorded {  // a kind of the user's, with a field and no KindConfig
  int size = 1;
};

}  // namespace

TEST_CASE("every built-in kind has a record") {
  static_assert(io::RecordedKind<Dense> && io::RecordedKind<Conv2d> && io::RecordedKind<DepthwiseConv2d>);
  static_assert(io::RecordedKind<BatchNorm> && io::RecordedKind<LayerNorm> && io::RecordedKind<MaxPool2d> &&
                io::RecordedKind<AvgPool2d>);
  static_assert(io::RecordedKind<Relu1> && io::RecordedKind<Relu> && io::RecordedKind<LeakyRelu> &&
                io::RecordedKind<Tanh> && io::RecordedKind<Gelu>);
  static_assert(io::RecordedKind<Flatten> && io::RecordedKind<GlobalAvgPool>);
  static_assert(io::RecordedKind<WideBlock> && io::RecordedKind<WideBlockBN> && io::RecordedKind<Stack<WideBlock>>);
  static_assert(!io::RecordedKind<Unrecorded>);
  CHECK(true);
}

TEST_CASE("settings round trip exactly") {
  const Dense d = round_trip(Dense{.in = 7, .out = 3, .bias = false, .init = WeightInit::torch_default});
  CHECK(d.in == 7);
  CHECK(d.out == 3);
  CHECK_FALSE(d.bias);
  CHECK(d.init == WeightInit::torch_default);
  const Conv2d c = round_trip(Conv2d{
      .in = 2, .out = 5, .kernel = 5, .stride = 2, .padding = 0, .bias = true, .init = WeightInit::glorot_normal});
  CHECK(c.kernel == 5);
  CHECK(c.stride == 2);
  CHECK(c.padding == 0);
  CHECK(c.init == WeightInit::glorot_normal);
  CHECK(round_trip(DepthwiseConv2d{.channels = 4, .kernel = 3, .stride = 2, .padding = 1, .bias = false}).stride == 2);
  const BatchNorm bn = round_trip(BatchNorm{.channels = 6, .momentum = 0.01, .eps = 1e-3});
  CHECK(bn.momentum == 0.01);
  CHECK(bn.eps == 1e-3);
  const LayerNorm ln = round_trip(LayerNorm{.features = 7, .eps = 0.8 * 1e-5});
  CHECK(ln.features == 7);
  CHECK(ln.eps == 0.8 * 1e-5);  // bit for bit: growth rescales eps
  CHECK(KindConfig<LayerNorm>::save(LayerNorm{.features = 3}) == Json{{"features", 3}, {"eps", 1e-5}});
  CHECK(round_trip(MaxPool2d{.kernel = 3, .stride = 1, .padding = 1}).kernel == 3);
  CHECK(round_trip(AvgPool2d{.kernel = 2, .stride = 2, .padding = 0}).stride == 2);
  LeakyRelu lr;
  lr.slope = 0.2;
  CHECK(round_trip(lr).slope == 0.2);
  round_trip(Relu1{});
  CHECK(KindConfig<Flatten>::save(Flatten{}) == Json::object());
  const WideBlockBN w = round_trip(WideBlockBN{.in = 8, .inner = 2, .out = 16, .stride = 2, .bn_momentum = 0.2});
  CHECK(w.inner == 2);
  CHECK(w.bn_momentum == 0.2);
  const Stack<WideBlock> s = round_trip(Stack<WideBlock>{
      .blocks = {WideBlock{.in = 4, .inner = 1, .out = 8, .stride = 2}, WideBlock{.in = 8, .inner = 2, .out = 8}}});
  REQUIRE(s.blocks.size() == 2);
  CHECK(s.blocks[0].stride == 2);
  CHECK(s.blocks[1].inner == 2);
}

TEST_CASE("missing or mistyped fields raise IoError naming the kind and the field") {
  Json j = KindConfig<Conv2d>::save(Conv2d{.in = 1, .out = 2});
  j.erase("stride");
  CHECK_THROWS_WITH_AS(KindConfig<Conv2d>::load(j), doctest::Contains("Conv2d: field 'stride' is missing"), IoError);
  j["stride"] = "two";
  CHECK_THROWS_WITH_AS(KindConfig<Conv2d>::load(j), doctest::Contains("field 'stride' is not an integer"), IoError);
  j["stride"] = 1.5;
  CHECK_THROWS_AS(KindConfig<Conv2d>::load(j), IoError);
  j["stride"] = 18446744073709551615ULL;
  CHECK_THROWS_AS(KindConfig<Conv2d>::load(j), IoError);
  j["stride"] = 1;
  j["init"] = "uniform-ish";
  CHECK_THROWS_WITH_AS(KindConfig<Conv2d>::load(j), doctest::Contains("not a weight initialiser"), IoError);
  j["init"] = "he_normal";
  j["bias"] = 1;
  CHECK_THROWS_WITH_AS(KindConfig<Conv2d>::load(j), doctest::Contains("'bias' is not true or false"), IoError);
  CHECK_THROWS_AS(KindConfig<BatchNorm>::load(Json{{"channels", 2}, {"momentum", "x"}, {"eps", 1e-5}}), IoError);
  CHECK_THROWS_WITH_AS(KindConfig<LayerNorm>::load(Json{{"features", 4}}),
                       doctest::Contains("LayerNorm: field 'eps' is missing"), IoError);
  CHECK_THROWS_AS(KindConfig<Relu1>::load(Json::array()), IoError);
  CHECK_THROWS_AS(KindConfig<Dense>::load(Json(3)), IoError);
  CHECK_THROWS_WITH_AS(KindConfig<Stack<WideBlock>>::load(Json{{"blocks", Json::array()}}),
                       doctest::Contains("non-empty list"), IoError);
  CHECK_THROWS_AS(KindConfig<Stack<WideBlock>>::load(Json{{"blocks", Json::array({Json::object()})}}), IoError);
}

TEST_CASE("fixed_settings keeps what growth never changes") {
  const Json a = io::fixed_settings(Conv2d{.in = 1, .out = 2, .kernel = 3});
  const Json b = io::fixed_settings(Conv2d{.in = 9, .out = 20, .kernel = 3});
  CHECK(a == b);
  CHECK_FALSE(a.contains("in"));
  CHECK(a.contains("kernel"));
  CHECK(io::fixed_settings(Conv2d{.in = 1, .out = 2, .kernel = 5}) != a);
  CHECK(io::fixed_settings(WideBlock{.in = 4, .inner = 1, .out = 4}) ==
        io::fixed_settings(WideBlock{.in = 8, .inner = 3, .out = 8}));
  CHECK(io::fixed_settings(WideBlock{.in = 4, .inner = 1, .out = 4, .stride = 2}) !=
        io::fixed_settings(WideBlock{.in = 4, .inner = 1, .out = 4}));
  // eps changes when variance transfer rescales a BatchNorm's input: a width, taken from the file on load.
  CHECK(io::fixed_settings(BatchNorm{.channels = 3}) == Json{{"momentum", 0.1}});
  // LayerNorm's growth changes both its fields, eps included (grow_channels_from rescales it).
  CHECK(io::fixed_settings(LayerNorm{.features = 3}) == Json::object());
  CHECK(io::fixed_settings(LayerNorm{.features = 3}) == io::fixed_settings(LayerNorm{.features = 7, .eps = 0.1}));
}

TEST_CASE("with_unshaped_widths takes the widths no shape shows from a file's settings, the others as given") {
  const LayerNorm from_shapes{.features = 7, .eps = 1e-5};  // features from the parameter shapes
  const LayerNorm loaded = io::with_unshaped_widths(from_shapes, Json{{"features", 99}, {"eps", 4e-6}});
  CHECK(loaded.features == 7);
  CHECK(loaded.eps == 4e-6);
  CHECK_THROWS_WITH_AS(io::with_unshaped_widths(from_shapes, Json{{"features", 7}}),
                       doctest::Contains("LayerNorm: field 'eps' is missing"), IoError);
  CHECK_THROWS_AS(io::with_unshaped_widths(from_shapes, Json{{"features", 7}, {"eps", "small"}}), IoError);
  const BatchNorm bn = io::with_unshaped_widths(BatchNorm{.channels = 5, .eps = 1e-3}, Json{{"channels", 9}, {"eps", 1.0}});
  CHECK(bn.channels == 5);
  CHECK(bn.eps == 1.0);
  // Kinds without unshaped widths come back unchanged.
  const Conv2d conv = io::with_unshaped_widths(Conv2d{.in = 1, .out = 2}, Json::object());
  CHECK(conv.out == 2);
}

TEST_CASE("state fields: Dropout's stream, count and keys round-trip and may differ between a file and a network; "
          "a TransformerBlock record written before its dropout fields loads without dropout") {
  const Dropout d{.p = 0.2, .seed = 123456789012345, .draws = 42, .keys = {0, 1, 0, 1}};
  const Json j = KindConfig<Dropout>::save(d);
  CHECK(j["keys"] == Json::array({0, 1, 0, 1}));
  const Dropout back = KindConfig<Dropout>::load(j);
  CHECK(back.seed == d.seed);
  CHECK(back.draws == 42);
  CHECK(back.keys == d.keys);
  CHECK(io::fixed_settings(d) == Json{{"p", 0.2}});  // the state is not compared, p is
  Json bad = j;
  bad["keys"] = Json::array({0, "one"});
  CHECK_THROWS_WITH_AS(KindConfig<Dropout>::load(bad), doctest::Contains("'keys' holds \"one\", not a 64-bit integer"), IoError);
  bad["keys"] = 3;
  CHECK_THROWS_AS(KindConfig<Dropout>::load(bad), IoError);

  const TransformerBlock block{.dim = 8, .heads = 2, .head_dim = 4, .mlp = 16, .causal = true};
  Json old = KindConfig<TransformerBlock>::save(block);
  for (const char* added : {"dropout", "dropout_seed", "dropout_draws", "dropout_keys"}) old.erase(added);
  const TransformerBlock loaded = KindConfig<TransformerBlock>::load(old);
  CHECK(loaded.dropout == 0);
  CHECK(loaded.dropout_keys.empty());
  CHECK(KindConfig<TransformerBlock>::save(loaded) == KindConfig<TransformerBlock>::save(block));
  old.erase("mlp");  // a field that was always there is still required
  CHECK_THROWS_WITH_AS(KindConfig<TransformerBlock>::load(old), doctest::Contains("field 'mlp' is missing"), IoError);
}
