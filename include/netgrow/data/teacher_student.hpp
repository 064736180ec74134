/// \file
/// netgrow/data/teacher_student.hpp: the GradMax paper's teacher-student regression task (section 4.1).
///
/// A teacher MLP in:hidden:out with Relu1 and no biases has every weight drawn from
/// U[-weight_range, weight_range]; N inputs are drawn from N(0, 1) and passed through it to give the
/// targets. Students learn the teacher's function with the mean squared error.
/// Draw order from the generator: teacher layer 1 weights, teacher layer 2 weights, then the inputs
/// (row-major), so a seed fixes the whole task.
#pragma once

#include <cmath>

#include "netgrow/core/init.hpp"
#include "netgrow/layers/activation.hpp"
#include "netgrow/layers/dense.hpp"
#include "netgrow/network/sequential.hpp"

namespace netgrow {

/// Sizes of the task, named as in the paper (m_i:m_h:m_o, N).
struct TeacherStudentConfig {
  Index in = 20;              ///< m_i
  Index hidden = 10;          ///< m_h
  Index out = 10;             ///< m_o
  Index samples = 1000;       ///< N
  double weight_range = 1.0;  ///< teacher weights from U[-weight_range, weight_range]
};

/// A teacher and the data it labels.
template <class S>
struct TeacherStudentTask {
  /// The teacher network: in:hidden:out with Relu1 and no biases.
  using Teacher = Sequential<S, Cpu, Dense, Relu1, Dense>;
  Teacher teacher;   ///< the network that computed y
  Tensor<S, Cpu> x;  ///< (N, in)
  Tensor<S, Cpu> y;  ///< (N, out) = teacher(x)
};

/// Draws a task from `rng` (see the file comment for the order); ArgumentError for a size that is not
/// positive or a weight_range that is not positive and finite.
template <class S>
TeacherStudentTask<S> make_teacher_student(const TeacherStudentConfig& c, Rng& rng) {
  require(c.in > 0 && c.hidden > 0 && c.out > 0 && c.samples > 0,
          "make_teacher_student: sizes must be positive, got ", c.in, ":", c.hidden, ":", c.out, " with N = ",
          c.samples);
  require(c.weight_range > 0 && std::isfinite(c.weight_range),
          "make_teacher_student: weight_range must be positive and finite, got ", c.weight_range);
  Rng unused(0);
  typename TeacherStudentTask<S>::Teacher teacher(unused, Dense{c.in, c.hidden, false, WeightInit::zeros}, Relu1{},
                                                  Dense{c.hidden, c.out, false, WeightInit::zeros});
  fill_uniform(teacher.template layer<0>().weight().value.view(), -c.weight_range, c.weight_range, rng);
  fill_uniform(teacher.template layer<2>().weight().value.view(), -c.weight_range, c.weight_range, rng);
  Tensor<S, Cpu> x(Shape{c.samples, c.in});
  fill_normal(x.view(), 0.0, 1.0, rng);
  Tensor<S, Cpu> y;
  y.copy_from(teacher.forward(x.cview(), Mode::eval));
  return TeacherStudentTask<S>{std::move(teacher), std::move(x), std::move(y)};
}

}  // namespace netgrow
