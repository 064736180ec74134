# cmake -DMODE=find_package|add_subdirectory -DSOURCE=... -DBINARY=... -DPREFIX=... -DNETGROW_SOURCE=...
#       [-DCONSUMER_CUDA=ON|OFF] [-DCUDA_ARCHITECTURES=<CMAKE_CUDA_ARCHITECTURES>] [-DUNOPTIMISED=ON|OFF]
#       -P run_consumer.cmake
# Configures, builds and runs the consumer project (and its CUDA program when CONSUMER_CUDA is on and
# it was built); fails on the first step that fails. UNOPTIMISED: Release without -O (nvcc's device
# optimiser off too), for builds that check the package rather than time it.
if(NOT DEFINED CONSUMER_CUDA)
  set(CONSUMER_CUDA OFF)
endif()
file(REMOVE_RECURSE ${BINARY})
set(args -S ${SOURCE} -B ${BINARY} -DCMAKE_BUILD_TYPE=Release -DNETGROW_CONSUMER_MODE=${MODE}
         -DNETGROW_CONSUMER_CUDA=${CONSUMER_CUDA})
if(CUDA_ARCHITECTURES)
  list(APPEND args "-DCMAKE_CUDA_ARCHITECTURES=${CUDA_ARCHITECTURES}")
endif()
if(UNOPTIMISED)
  list(APPEND args "-DCMAKE_CXX_FLAGS_RELEASE=-DNDEBUG" "-DCMAKE_CUDA_FLAGS_RELEASE=-DNDEBUG -Xcicc=-O0")
endif()
if(MODE STREQUAL "find_package")
  list(APPEND args -DCMAKE_PREFIX_PATH=${PREFIX})
else()
  list(APPEND args -DNETGROW_SOURCE_DIR=${NETGROW_SOURCE} -DNETGROW_CUDA=${NETGROW_CUDA})
endif()
foreach(step configure build run)
  if(step STREQUAL "configure")
    execute_process(COMMAND ${CMAKE_COMMAND} ${args} RESULT_VARIABLE rc)
  elseif(step STREQUAL "build")
    execute_process(COMMAND ${CMAKE_COMMAND} --build ${BINARY} -j 2 RESULT_VARIABLE rc)
  else()
    execute_process(COMMAND ${BINARY}/consumer RESULT_VARIABLE rc)
    if(rc EQUAL 0 AND EXISTS ${BINARY}/consumer_cuda)
      execute_process(COMMAND ${BINARY}/consumer_cuda RESULT_VARIABLE rc)
    endif()
  endif()
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer (${MODE}): ${step} failed with ${rc}")
  endif()
endforeach()
