# Runs failure_probe under mpirun with 2 ranks in MODE and checks that the job fails within LIMIT seconds
# with output matching EXPECT (a rank that dies, throws or stalls never leaves the others hanging).
# cmake -DLAUNCH=<mpirun and its flags, ;-separated> -DPROBE=<path> -DMODE=<mode> -DEXPECT=<regex> -DLIMIT=<s> -P run_failure.cmake
string(TIMESTAMP start "%s")
execute_process(COMMAND ${LAUNCH} ${PROBE} ${MODE}
                RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
string(TIMESTAMP end "%s")
math(EXPR seconds "${end} - ${start}")
message("failure_probe ${MODE}: exit '${result}' after ${seconds} s\n${out}${err}")
if(result EQUAL 0)
  message(FATAL_ERROR "failure_probe ${MODE}: the job succeeded although rank 1 failed")
endif()
if(result MATCHES "timeout|Process terminated due to timeout")
  message(FATAL_ERROR "failure_probe ${MODE}: the job hung (killed after 120 s)")
endif()
if(seconds GREATER LIMIT)
  message(FATAL_ERROR "failure_probe ${MODE}: the job took ${seconds} s to fail, more than ${LIMIT} s")
endif()
if(NOT "${out}${err}" MATCHES "${EXPECT}")
  message(FATAL_ERROR "failure_probe ${MODE}: the output does not say what failed (expected /${EXPECT}/)")
endif()
