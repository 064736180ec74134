# Runs one compile-fail case: the compile command CMake wrote for the case's object library into the
# build tree's compilation database, run here without the build tool, so the cases run side by side
# (two `cmake --build` calls in one build tree must not: they share its bookkeeping files).
# Usage: cmake -DDATABASE=<build>/compile_commands.json -DTARGET=<object library> [-DEXPECT=<message>]
#        -P compile_case.cmake
# The compiler's output passes through. Without EXPECT a failed compile fails the script; with it the
# compile must fail and its first error must contain EXPECT (the error a user reads first names the
# problem; later ones may follow from it).
if(NOT EXISTS "${DATABASE}")
  message(FATAL_ERROR "compile_case: no compilation database at '${DATABASE}' (configure with compile checks on)")
endif()
file(READ "${DATABASE}" database)
string(JSON count LENGTH "${database}")
if(count EQUAL 0)
  message(FATAL_ERROR "compile_case: '${DATABASE}' is empty")
endif()
math(EXPR last "${count} - 1")
foreach(i RANGE ${last})
  string(JSON command GET "${database}" ${i} command)
  if(command MATCHES "/${TARGET}\\.dir/")
    string(JSON directory GET "${database}" ${i} directory)
    separate_arguments(argv UNIX_COMMAND "${command}")
    execute_process(COMMAND ${argv} WORKING_DIRECTORY "${directory}" RESULT_VARIABLE status
                    OUTPUT_VARIABLE output ERROR_VARIABLE output)
    message("${output}")
    if(NOT DEFINED EXPECT)
      if(NOT status EQUAL 0)
        message(FATAL_ERROR "compile_case: ${TARGET} did not compile (${status})")
      endif()
      return()
    endif()
    if(status EQUAL 0)
      message(FATAL_ERROR "compile_case: ${TARGET} compiled, but must fail with \"${EXPECT}\"")
    endif()
    string(REGEX MATCH "[^\n]*error: [^\n]*" first_error "${output}")
    string(FIND "${first_error}" "${EXPECT}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "compile_case: the first error of ${TARGET} is not \"${EXPECT}\" but:\n${first_error}")
    endif()
    message("compile_case: ${TARGET} failed as it must, first with \"${EXPECT}\"")
    return()
  endif()
endforeach()
message(FATAL_ERROR "compile_case: no compile command for '${TARGET}' in '${DATABASE}'")
