/// \file
/// netgrow/data.hpp: the data module in one include: data sets and batching: the teacher-student task, IDX
/// files and Fashion-MNIST, character-level text (Tiny Shakespeare), mini-batches, augmentation.
/// Self-contained; it includes only its own module and the modules below it (scripts/check_includes.py).
#pragma once

#include "netgrow/data/augment.hpp"
#include "netgrow/data/batches.hpp"
#include "netgrow/data/char_corpus.hpp"
#include "netgrow/data/fashion_mnist.hpp"
#include "netgrow/data/idx.hpp"
#include "netgrow/data/teacher_student.hpp"
