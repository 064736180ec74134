// Tests data/batches.hpp: BatchSampler epochs, shuffling, determinism, drop_last and errors; gather_rows.
#include <doctest/doctest.h>

#include "netgrow/data/batches.hpp"

#include <algorithm>
#include <numeric>
#include <vector>

using netgrow::BatchSampler;
using netgrow::Index;
using netgrow::Rng;
using netgrow::Shape;
using netgrow::Tensor;

namespace {

// Concatenated indices of the next `batches` batches, and their sizes.
struct Drawn {
  std::vector<Index> indices;
  std::vector<Index> sizes;
};

Drawn take(BatchSampler& s, Index batches) {
  Drawn d;
  for (Index b = 0; b < batches; ++b) {
    const auto batch = s.next();
    d.indices.insert(d.indices.end(), batch.begin(), batch.end());
    d.sizes.push_back(static_cast<Index>(batch.size()));
  }
  return d;
}

std::vector<Index> iota(Index n) {
  std::vector<Index> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), Index{0});
  return v;
}

}  // namespace

TEST_CASE("each epoch visits every index exactly once") {
  BatchSampler s(103, 10, Rng(1));
  REQUIRE(s.batches_per_epoch() == 11);
  for (int epoch = 0; epoch < 4; ++epoch) {
    CAPTURE(epoch);
    Drawn d = take(s, 11);
    CHECK(d.indices.size() == 103);
    std::sort(d.indices.begin(), d.indices.end());
    CHECK(d.indices == iota(103));
  }
}

TEST_CASE("a shuffled epoch is not in the natural order and epochs differ") {
  BatchSampler s(50, 50, Rng(2));
  const auto first = take(s, 1).indices;
  const auto second = take(s, 1).indices;
  CHECK(first != iota(50));
  CHECK(second != iota(50));
  CHECK(first != second);  // reshuffled at the epoch boundary
}

TEST_CASE("the same seed gives the same order of batches") {
  BatchSampler a(64, 7, Rng(42)), b(64, 7, Rng(42));
  CHECK(take(a, 40).indices == take(b, 40).indices);  // several epochs
}

TEST_CASE("different seeds give different orders") {
  BatchSampler a(64, 8, Rng(1)), b(64, 8, Rng(2));
  CHECK(take(a, 8).indices != take(b, 8).indices);
}

TEST_CASE("the order is a Fisher-Yates shuffle driven by the given Rng") {
  // Documented: same seed -> same order on every platform, so the algorithm is part of the contract.
  constexpr Index n = 20;
  Rng rng(9);
  std::vector<Index> expected = iota(n);
  for (std::size_t i = expected.size() - 1; i > 0; --i)
    std::swap(expected[i], expected[static_cast<std::size_t>(rng.uniform_int(i + 1))]);
  BatchSampler s(n, n, Rng(9));
  CHECK(take(s, 1).indices == expected);
}

TEST_CASE("shuffle = false keeps the natural order in every epoch") {
  BatchSampler s(10, 4, Rng(3), /*shuffle=*/false);
  const Drawn d = take(s, 6);
  CHECK(d.sizes == std::vector<Index>{4, 4, 2, 4, 4, 2});
  CHECK(d.indices == std::vector<Index>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
}

TEST_CASE("without drop_last each epoch ends with a short batch") {
  BatchSampler s(10, 4, Rng(4));
  CHECK(s.batches_per_epoch() == 3);
  const Drawn d = take(s, 9);
  CHECK(d.sizes == std::vector<Index>{4, 4, 2, 4, 4, 2, 4, 4, 2});
}

TEST_CASE("with drop_last the short batch is skipped and every batch is full") {
  BatchSampler s(10, 4, Rng(5), /*shuffle=*/true, /*drop_last=*/true);
  CHECK(s.batches_per_epoch() == 2);
  for (int epoch = 0; epoch < 3; ++epoch) {
    CAPTURE(epoch);
    Drawn d = take(s, 2);
    CHECK(d.sizes == std::vector<Index>{4, 4});
    std::sort(d.indices.begin(), d.indices.end());
    CHECK(std::adjacent_find(d.indices.begin(), d.indices.end()) == d.indices.end());  // no repeats
    CHECK(d.indices.front() >= 0);
    CHECK(d.indices.back() < 10);
    CHECK(s.epoch() == epoch);
  }

  BatchSampler ordered(10, 4, Rng(5), /*shuffle=*/false, /*drop_last=*/true);
  CHECK(take(ordered, 4).indices == std::vector<Index>{0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7});
}

TEST_CASE("batches_per_epoch rounds up without drop_last and down with it") {
  CHECK(BatchSampler(100, 10, Rng(0)).batches_per_epoch() == 10);
  CHECK(BatchSampler(100, 10, Rng(0), true, true).batches_per_epoch() == 10);
  CHECK(BatchSampler(101, 10, Rng(0)).batches_per_epoch() == 11);
  CHECK(BatchSampler(101, 10, Rng(0), true, true).batches_per_epoch() == 10);
  CHECK(BatchSampler(5, 8, Rng(0)).batches_per_epoch() == 1);
  CHECK(BatchSampler(1, 1, Rng(0)).batches_per_epoch() == 1);
}

TEST_CASE("a batch larger than the data set gives the whole set when not dropping") {
  BatchSampler s(5, 8, Rng(6));
  for (int i = 0; i < 3; ++i) {
    auto batch = s.next();
    CHECK(batch.size() == 5);
    std::vector<Index> sorted(batch.begin(), batch.end());
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == iota(5));
  }
}

TEST_CASE("epoch() counts the epochs before the one the last batch came from") {
  BatchSampler s(10, 4, Rng(7));
  CHECK(s.epoch() == 0);
  take(s, 3);  // all of epoch 0
  CHECK(s.epoch() == 0);
  take(s, 1);  // first batch of epoch 1
  CHECK(s.epoch() == 1);
  take(s, 2);
  CHECK(s.epoch() == 1);
  take(s, 3 * 5);
  CHECK(s.epoch() == 6);
}

TEST_CASE("batches_per_epoch batches make up exactly one epoch") {
  for (Index n : {1, 7, 16, 33}) {
    for (Index batch : {1, 3, 16}) {
      for (bool drop_last : {false, true}) {
        if (drop_last && batch > n) continue;
        CAPTURE(n);
        CAPTURE(batch);
        CAPTURE(drop_last);
        BatchSampler s(n, batch, Rng(8), true, drop_last);
        const Index per_epoch = s.batches_per_epoch();
        const Drawn d = take(s, per_epoch);
        CHECK(s.epoch() == 0);
        CHECK(static_cast<Index>(d.indices.size()) == (drop_last ? per_epoch * batch : n));
        take(s, 1);
        CHECK(s.epoch() == 1);
      }
    }
  }
}

TEST_CASE("invalid sampler arguments throw ArgumentError") {
  CHECK_THROWS_WITH_AS(BatchSampler(0, 4, Rng(0)), doctest::Contains("at least one sample"), netgrow::ArgumentError);
  CHECK_THROWS_WITH_AS(BatchSampler(-1, 4, Rng(0)), doctest::Contains("n = -1"), netgrow::ArgumentError);
  CHECK_THROWS_WITH_AS(BatchSampler(10, 0, Rng(0)), doctest::Contains("batch size"), netgrow::ArgumentError);
  CHECK_THROWS_AS(BatchSampler(10, -3, Rng(0)), netgrow::ArgumentError);
  CHECK_THROWS_WITH_AS(BatchSampler(5, 8, Rng(0), true, true), doctest::Contains("drop_last"),
                       netgrow::ArgumentError);
  CHECK_NOTHROW(BatchSampler(8, 8, Rng(0), true, true));
}

TEST_CASE("a sampler restored from state() draws the same batches as the original, across epochs") {
  BatchSampler original(23, 5, Rng(12));
  take(original, 7);  // into the second epoch, mid-epoch
  const BatchSampler::State saved = original.state();
  CHECK(saved.position == 10);
  CHECK(saved.epoch == 1);
  BatchSampler resumed(23, 5, Rng(999));  // another seed: everything comes from the state
  resumed.set_state(saved);
  CHECK(resumed.epoch() == 1);
  CHECK(take(resumed, 20).indices == take(original, 20).indices);
  CHECK(resumed.state().order == original.state().order);
  CHECK(resumed.state().rng == original.state().rng);
}

TEST_CASE("set_state rejects states of other samplers and leaves the sampler unchanged") {
  BatchSampler s(6, 2, Rng(3));
  take(s, 2);
  const BatchSampler::State before = s.state();
  BatchSampler::State bad = before;
  bad.order.pop_back();
  CHECK_THROWS_WITH_AS(s.set_state(bad), doctest::Contains("5 samples"), netgrow::ArgumentError);
  bad = before;
  bad.order[0] = bad.order[1];
  CHECK_THROWS_WITH_AS(s.set_state(bad), doctest::Contains("permutation"), netgrow::ArgumentError);
  bad = before;
  bad.order[0] = 6;
  CHECK_THROWS_AS(s.set_state(bad), netgrow::ArgumentError);
  bad = before;
  bad.position = 7;
  CHECK_THROWS_WITH_AS(s.set_state(bad), doctest::Contains("position 7"), netgrow::ArgumentError);
  bad = before;
  bad.epoch = -1;
  CHECK_THROWS_AS(s.set_state(bad), netgrow::ArgumentError);
  bad = before;
  bad.rng = {0, 0, 0, 0};
  CHECK_THROWS_AS(s.set_state(bad), netgrow::ArgumentError);
  const BatchSampler::State after = s.state();
  CHECK(after.order == before.order);
  CHECK(after.position == before.position);
  CHECK(after.epoch == before.epoch);
  CHECK(after.rng == before.rng);
}

TEST_CASE("gather_rows copies the selected rows in order") {
  const auto src = Tensor<float>::from(Shape{4, 3}, {0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32});
  Tensor<float> dst;
  const std::vector<Index> idx{3, 0, 3, 1};
  netgrow::gather_rows(src, idx, dst);
  CHECK(dst.shape() == Shape{4, 3});
  CHECK(dst.to_vector() == std::vector<float>{30, 31, 32, 0, 1, 2, 30, 31, 32, 10, 11, 12});
}

TEST_CASE("gather_rows keeps the trailing dimensions and resizes the destination") {
  Tensor<double> src(Shape{5, 2, 2});
  for (Index i = 0; i < src.numel(); ++i) src[i] = static_cast<double>(i);
  Tensor<double> dst(Shape{100});
  const std::vector<Index> idx{4, 2};
  netgrow::gather_rows(src.cview(), idx, dst);
  CHECK(dst.shape() == Shape{2, 2, 2});
  CHECK(dst.to_vector() == std::vector<double>{16, 17, 18, 19, 8, 9, 10, 11});

  Tensor<int> vec = Tensor<int>::from(Shape{4}, {7, 8, 9, 10});
  Tensor<int> picked;
  const std::vector<Index> one{2};
  netgrow::gather_rows(vec, one, picked);
  CHECK(picked.shape() == Shape{1});
  CHECK(picked[0] == 9);

  const std::vector<Index> none;
  netgrow::gather_rows(vec, none, picked);
  CHECK(picked.shape() == Shape{0});
}

TEST_CASE("gather_rows of a sampler batch gives the batch's rows") {
  Tensor<float> x(Shape{12, 2});
  for (Index i = 0; i < 12; ++i) {
    x.at(i, 0) = static_cast<float>(i);
    x.at(i, 1) = static_cast<float>(-i);
  }
  BatchSampler s(12, 5, Rng(11));
  Tensor<float> xb;
  for (int step = 0; step < 6; ++step) {
    const auto idx = s.next();
    netgrow::gather_rows(x, idx, xb);
    REQUIRE(xb.dim(0) == static_cast<Index>(idx.size()));
    for (std::size_t k = 0; k < idx.size(); ++k) {
      CHECK(xb.at(k, 0) == static_cast<float>(idx[k]));
      CHECK(xb.at(k, 1) == static_cast<float>(-idx[k]));
    }
  }
}

TEST_CASE("gather_rows with an out-of-range index throws ShapeError naming it") {
  const auto src = Tensor<float>::from(Shape{3, 2}, {1, 2, 3, 4, 5, 6});
  Tensor<float> dst;
  const std::vector<Index> too_big{0, 3};
  CHECK_THROWS_WITH_AS(netgrow::gather_rows(src, too_big, dst), doctest::Contains("row index 3"),
                       netgrow::ShapeError);
  const std::vector<Index> negative{-1};
  CHECK_THROWS_WITH_AS(netgrow::gather_rows(src, negative, dst), doctest::Contains("-1"), netgrow::ShapeError);
}

TEST_CASE("gather_rows from a rank-0 source throws ShapeError") {
  Tensor<float> scalar(Shape{});
  Tensor<float> dst;
  const std::vector<Index> idx{0};
  CHECK_THROWS_AS(netgrow::gather_rows(scalar, idx, dst), netgrow::ShapeError);
}
