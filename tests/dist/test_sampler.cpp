// Tests dist/sampler.hpp: disjoint shards that together are the single-process batch, epochs, and a
// stream that resumes at another number of ranks.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <vector>

#include "dist_support.hpp"

using namespace netgrow;

namespace {

std::vector<Index> concatenated_next(std::vector<dist::DistributedSampler>& ranks) {
  std::vector<Index> all;
  for (auto& s : ranks) {
    const auto idx = s.next();
    all.insert(all.end(), idx.begin(), idx.end());
  }
  return all;
}

std::vector<dist::DistributedSampler> samplers(int ranks, Index n, Index global) {
  std::vector<dist::DistributedSampler> out;
  for (int r = 0; r < ranks; ++r) out.emplace_back(n, global, Rng(11), r, ranks);
  return out;
}

}  // namespace

TEST_CASE("DistributedSampler: every rank's shard is disjoint, and together they are one process's batch") {
  for (int ranks : {1, 2, 3}) {
    auto shards = samplers(ranks, 50, 12);
    BatchSampler single(50, 12, Rng(11), true, true);
    for (int step = 0; step < 13; ++step) {  // 4 batches per epoch: crosses three epoch boundaries
      const auto all = concatenated_next(shards);
      const auto one = single.next();
      CHECK(std::equal(all.begin(), all.end(), one.begin(), one.end()));
      CHECK(std::set<Index>(all.begin(), all.end()).size() == all.size());
    }
    CHECK(shards[0].epoch() == 3);
    CHECK(shards[0].local_batch() == 12 / ranks);
  }
}

TEST_CASE("DistributedSampler: a stream saved on 2 ranks resumes on 3 with the same global batches") {
  auto two = samplers(2, 40, 6);
  for (int i = 0; i < 9; ++i) concatenated_next(two);
  auto three = samplers(3, 40, 6);
  for (auto& s : three) s.global().set_state(two[0].global().state());
  for (int i = 0; i < 10; ++i) CHECK(concatenated_next(two) == concatenated_next(three));
}

TEST_CASE("DistributedSampler refuses batches that do not split over the ranks") {
  CHECK_THROWS_AS(dist::DistributedSampler(100, 10, Rng(1), 0, 3), ArgumentError);
  CHECK_THROWS_AS(dist::DistributedSampler(100, 2, Rng(1), 0, 3), ArgumentError);
  CHECK_THROWS_AS(dist::DistributedSampler(5, 6, Rng(1), 0, 2), ArgumentError);
  CHECK_THROWS_AS(dist::DistributedSampler(100, 6, Rng(1), 3, 3), ArgumentError);
}
