// Tests ops/embedding.hpp on the CPU: the lookup, the gradient summed by id in position order (assigned
// or accumulated), and the checks (bad ids named with their position before anything is written; shapes).
#include <doctest/doctest.h>

#include "netgrow/ops/embedding.hpp"

using namespace netgrow;

TEST_CASE("embedding_forward picks table rows by id; embedding_backward adds repeated ids' rows") {
  Tensor<double> table(Shape{4, 3}), ids(Shape{2, 3}), y(Shape{6, 3}), dy(Shape{6, 3}), dtable(Shape{4, 3});
  for (Index i = 0; i < table.numel(); ++i) table[i] = static_cast<double>(i);
  const double id_values[] = {2, 0, 2, 3, 3, 2};
  for (Index i = 0; i < 6; ++i) ids[i] = id_values[i];
  ops::embedding_forward<double>(ids.cview(), table.cview(), y.view());
  for (Index i = 0; i < 6; ++i)
    for (Index c = 0; c < 3; ++c) CHECK(y.at(i, c) == table.at(static_cast<Index>(id_values[i]), c));
  for (Index i = 0; i < dy.numel(); ++i) dy[i] = 1.0 + static_cast<double>(i);
  ops::fill<double>(dtable.view(), 100.0);
  ops::embedding_backward<double>(ids.cview(), dy.cview(), dtable.view(), false);
  for (Index c = 0; c < 3; ++c) {
    CHECK(dtable.at(0, c) == dy.at(1, c));
    CHECK(dtable.at(1, c) == 0.0);  // no position holds id 1
    CHECK(dtable.at(2, c) == dy.at(0, c) + dy.at(2, c) + dy.at(5, c));
    CHECK(dtable.at(3, c) == dy.at(3, c) + dy.at(4, c));
  }
  ops::embedding_backward<double>(ids.cview(), dy.cview(), dtable.view(), true);  // adds again
  CHECK(dtable.at(3, 1) == 2 * (dy.at(3, 1) + dy.at(4, 1)));
}

TEST_CASE("embedding ops name the first bad id and its position, and refuse bad shapes, writing nothing") {
  Tensor<float> table(Shape{5, 2}), ids(Shape{4}), y(Shape{4, 2});
  ops::fill<float>(y.view(), 7.0f);
  for (const float bad : {5.0f, -1.0f, 1.5f}) {
    CAPTURE(bad);
    ids[0] = 1, ids[1] = 4, ids[2] = bad, ids[3] = 9;  // the first bad one is at position 2
    CHECK_THROWS_WITH_AS(ops::embedding_forward<float>(ids.cview(), table.cview(), y.view()),
                         doctest::Contains("at position 2"), ArgumentError);
    CHECK(y[0] == 7.0f);
  }
  ids[2] = 0, ids[3] = 0;
  Tensor<float> wrong(Shape{4, 3});
  CHECK_THROWS_AS(ops::embedding_forward<float>(ids.cview(), table.cview(), wrong.view()), ShapeError);
  CHECK_THROWS_AS(ops::embedding_backward<float>(ids.cview(), wrong.cview(), table.view(), false), ShapeError);
}
