// Tests dist/mpi.hpp and the tensor collectives of dist/communicator.hpp on the MPI world.
#include <doctest/doctest.h>

#include <cstddef>
#include <numeric>

#include "dist_support.hpp"

using namespace netgrow;
using netgrow::test::world;

TEST_CASE("MPI collectives: sums, means, broadcasts and gathers over the ranks") {
  auto& comm = world();
  const int r = comm.rank(), n = comm.size();
  Tensor<float> f({5});
  Tensor<double> d({3, 2});
  for (Index i = 0; i < 5; ++i) f[i] = static_cast<float>(r + i);
  for (Index i = 0; i < 6; ++i) d[i] = 0.5 * r + static_cast<double>(i);
  dist::all_reduce_sum(comm, f.view());
  dist::all_reduce_mean(comm, d.view());
  const double rank_sum = n * (n - 1) / 2.0;
  for (Index i = 0; i < 5; ++i) CHECK(f[i] == doctest::Approx(rank_sum + n * i));
  for (Index i = 0; i < 6; ++i) CHECK(d[i] == doctest::Approx(0.5 * rank_sum / n + static_cast<double>(i)));

  Tensor<std::int32_t> b({4});
  for (Index i = 0; i < 4; ++i) b[i] = static_cast<std::int32_t>(100 * r + i);
  const int root = n - 1;
  dist::broadcast(comm, b.view(), root);
  for (Index i = 0; i < 4; ++i) CHECK(b[i] == 100 * root + i);
  CHECK(dist::broadcast_value(comm, 7.5 * r, 0) == 0.0);

  const auto ranks = comm.all_gather(static_cast<std::uint64_t>(r * r));
  REQUIRE(ranks.size() == static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) CHECK(ranks[static_cast<std::size_t>(i)] == static_cast<std::uint64_t>(i * i));
  comm.barrier();
  // Empty buffers are legal collectives too.
  dist::all_reduce_sum(comm, Tensor<float>().view());
}

TEST_CASE("MPI communicator: a bad root is refused on every rank before any message") {
  auto& comm = world();
  std::byte x{};
  CHECK_THROWS_AS(comm.broadcast(std::span<std::byte>(&x, 1), comm.size()), ArgumentError);
  CHECK_THROWS_AS(comm.set_timeout(std::chrono::milliseconds(0)), ArgumentError);
  comm.barrier();  // still usable
}

TEST_CASE("SelfCommunicator is the one-process case of the same calls") {
  dist::SelfCommunicator self;
  Tensor<float> x({3});
  x[0] = 1;
  dist::all_reduce_mean(self, x.view());
  CHECK(x[0] == 1);
  CHECK(self.all_gather(9) == std::vector<std::uint64_t>{9});
  std::byte b{};
  CHECK_THROWS_AS(self.broadcast(std::span<std::byte>(&b, 1), 1), ArgumentError);
}
