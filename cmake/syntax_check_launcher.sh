#!/bin/sh
# Compiler launcher for syntax-only checks (NETGROW_SYNTAX_CHECK_PROGRAMS): runs the compile command, whose
# flags include -fsyntax-only so that it writes no object, then writes the empty object file named after
# -o, which the build tool expects. Usage (by CMake): syntax_check_launcher.sh <compiler> <arguments...>
out=
prev=
for arg in "$@"; do
  [ "$prev" = "-o" ] && out=$arg
  prev=$arg
done
"$@" || exit $?
if [ -n "$out" ]; then
  : > "$out"
fi
