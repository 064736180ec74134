#!/usr/bin/env bash
# The main job: builds netgrow's examples (Release) and runs the teacher-student experiment of the
# GradMax paper in both of its settings, printing the loss summary and writing the curves to out/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target teacher_student
mkdir -p out
build/release/examples/teacher_student --setting small --csv out/teacher_student_small.csv
echo
build/release/examples/teacher_student --setting large --csv out/teacher_student_large.csv
