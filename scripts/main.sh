#!/usr/bin/env bash
# The main job: builds netgrow's examples (Release) and runs the GradMax paper's teacher-student
# growth experiment in both of its settings: growing students (Random, GradMax, GradMaxOpt,
# FireflyOpt, GradMax-Auto, GradMax+Depth, variance transfer with and without per-stage learning
# rates, LEMON) against the fixed-width baselines, 5 seeds each; prints the tables and writes the
# curves and growth logs (CSV), a JSON summary and PNG plots (gnuplot) of each setting to out/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh gnuplot-nox
cmake --preset release >/dev/null
cmake --build --preset release --target teacher_student
mkdir -p out
build/release/examples/teacher_student --setting small --out out/teacher_student_small
echo
build/release/examples/teacher_student --setting large --out out/teacher_student_large
