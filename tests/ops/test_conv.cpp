// Tests backend/cpu/conv.hpp (the Cpu back end's patch matrices): im2col against its definition and col2im as its adjoint, at odd sizes,
// strides 1-3 and paddings 0-2.
#include <doctest/doctest.h>

#include "netgrow/backend/cpu/conv.hpp"
#include "netgrow/core/init.hpp"

using namespace netgrow;

TEST_CASE("im2col matches its definition and col2im is its adjoint") {
  Rng rng(1);
  for (Index k : {1, 2, 3, 5})
    for (Index s : {1, 2, 3})
      for (Index p : {0, 1, 2}) {
        const ops::ConvGeometry g{3, 7, 6, k, s, p};
        if (g.height + 2 * p < k || g.width + 2 * p < k) continue;
        INFO("k ", k, " s ", s, " p ", p);
        Tensor<double> image({3, 7, 6});
        fill_normal(image.view(), 0.0, 1.0, rng);
        Tensor<double> cols({g.patch_size(), g.positions()});
        cols.fill(99.0);  // assigned, not accumulated
        ops::im2col(image.data(), g, cols.data());
        for (Index c = 0; c < 3; ++c)
          for (Index i = 0; i < k; ++i)
            for (Index j = 0; j < k; ++j)
              for (Index oy = 0; oy < g.out_height(); ++oy)
                for (Index ox = 0; ox < g.out_width(); ++ox) {
                  const Index iy = oy * s - p + i, ix = ox * s - p + j;
                  const double expected = (iy >= 0 && iy < 7 && ix >= 0 && ix < 6) ? image.at(c, iy, ix) : 0.0;
                  CHECK(cols.at((c * k + i) * k + j, oy * g.out_width() + ox) == expected);
                }
        // <im2col(x), y> == <x, col2im(y)>
        Tensor<double> y({g.patch_size(), g.positions()});
        fill_normal(y.view(), 0.0, 1.0, rng);
        Tensor<double> back({3, 7, 6});
        ops::col2im(y.data(), g, back.data());
        double lhs = 0, rhs = 0;
        for (Index i = 0; i < y.numel(); ++i) lhs += cols[i] * y[i];
        for (Index i = 0; i < image.numel(); ++i) rhs += image[i] * back[i];
        CHECK(lhs == doctest::Approx(rhs).epsilon(1e-12));
      }
}

TEST_CASE("convolution geometry: output sizes and invalid geometries") {
  const ops::ConvGeometry g{2, 28, 28, 3, 2, 1};
  CHECK(g.out_height() == 14);
  CHECK(g.patch_size() == 18);
  CHECK(g.positions() == 196);
  CHECK_THROWS_AS((ops::ConvGeometry{1, 2, 2, 5, 1, 0}.check("test")), ShapeError);
  CHECK_THROWS_AS((ops::ConvGeometry{1, 8, 8, 3, 0, 0}.check("test")), ArgumentError);
}
