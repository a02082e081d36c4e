# scripts/memcheck.cmake - run tests of a build under valgrind memcheck.
#
#   ctest -V -S scripts/memcheck.cmake -DLLE_BUILD_DIR=build-ci [-DLLE_LABEL=unit]
#
# Runs the tests whose label is exactly LLE_LABEL (default: unit) under
# valgrind.  A test fails when valgrind finds an error or a leak (valgrind
# exits with 1) and the script fails when any test failed or any defect was
# counted; the valgrind logs of failing tests are printed.  The build must
# not be instrumented with sanitizers.  An optional suppression file is
# taken from tests/valgrind.supp.
cmake_minimum_required(VERSION 3.16)

if(NOT DEFINED LLE_BUILD_DIR)
  message(FATAL_ERROR "usage: ctest -V -S memcheck.cmake -DLLE_BUILD_DIR=<build dir> [-DLLE_LABEL=<label>]")
endif()
if(NOT DEFINED LLE_LABEL)
  set(LLE_LABEL unit)
endif()
if(NOT DEFINED LLE_JOBS)
  set(LLE_JOBS 2)
endif()
get_filename_component(CTEST_BINARY_DIRECTORY "${LLE_BUILD_DIR}" ABSOLUTE)
get_filename_component(CTEST_SOURCE_DIRECTORY "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
if(NOT EXISTS "${CTEST_BINARY_DIRECTORY}/CTestTestfile.cmake")
  message(FATAL_ERROR "${CTEST_BINARY_DIRECTORY} has no tests (not a configured build?)")
endif()

set(CTEST_SITE "local")
set(CTEST_BUILD_NAME "memcheck-${LLE_LABEL}")
set(CTEST_MEMORYCHECK_TYPE Valgrind)
find_program(CTEST_MEMORYCHECK_COMMAND valgrind)
if(NOT CTEST_MEMORYCHECK_COMMAND)
  message(FATAL_ERROR "valgrind not found (scripts/install-deps.sh installs it)")
endif()
set(CTEST_MEMORYCHECK_COMMAND_OPTIONS
    "--error-exitcode=1 --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible --track-origins=yes --num-callers=40")
if(EXISTS "${CTEST_SOURCE_DIRECTORY}/tests/valgrind.supp")
  set(CTEST_MEMORYCHECK_SUPPRESSIONS_FILE "${CTEST_SOURCE_DIRECTORY}/tests/valgrind.supp")
endif()

file(GLOB _old_logs "${CTEST_BINARY_DIRECTORY}/Testing/Temporary/MemoryChecker.*")
if(_old_logs)
  file(REMOVE ${_old_logs})
endif()

ctest_start(Experimental QUIET)
ctest_memcheck(
  INCLUDE_LABEL "^${LLE_LABEL}$"
  PARALLEL_LEVEL ${LLE_JOBS}
  RETURN_VALUE _rv
  DEFECT_COUNT _defects)

# Show what valgrind said about every test that had something to say.
file(GLOB _logs "${CTEST_BINARY_DIRECTORY}/Testing/Temporary/MemoryChecker.*.log")
foreach(_log IN LISTS _logs)
  file(READ "${_log}" _text)
  if(_text MATCHES "ERROR SUMMARY: [1-9]" OR _text MATCHES "(definitely|indirectly|possibly) lost: [1-9]")
    message("---- ${_log}")
    message("${_text}")
  endif()
endforeach()

if(NOT _rv EQUAL 0 OR _defects GREATER 0)
  message(FATAL_ERROR "memcheck (${LLE_LABEL}): failed (ctest status ${_rv}, ${_defects} defect(s))")
endif()
message("memcheck (${LLE_LABEL}): no errors, no leaks")
