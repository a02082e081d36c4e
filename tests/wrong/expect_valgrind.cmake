# tests/wrong/expect_valgrind.cmake - run one case of a deliberately wrong
# program under valgrind memcheck and check what valgrind says.
#
#   cmake -DVALGRIND=<valgrind> -DPROGRAM=<program> -DCASE=<case>
#         [-DEXPECT=<text>] -P expect_valgrind.cmake
#
# With EXPECT: passes only when valgrind exits with 99 (its error exit
# code here) and reports exactly one error, whose text contains EXPECT.
# Without: passes only when valgrind reports no error at all.
foreach(v VALGRIND PROGRAM CASE)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "expect_valgrind.cmake: ${v} not set")
  endif()
endforeach()

execute_process(
  COMMAND ${VALGRIND} --error-exitcode=99 --leak-check=full
          --errors-for-leak-kinds=definite,indirect,possible --num-callers=30
          ${PROGRAM} ${CASE}
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err)
message("${err}")

if(DEFINED EXPECT)
  if(NOT rc EQUAL 99)
    message(FATAL_ERROR "case ${CASE}: valgrind exited with ${rc}, not 99: the bug was not reported")
  endif()
  string(FIND "${err}" "${EXPECT}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "case ${CASE}: valgrind's report does not say \"${EXPECT}\"")
  endif()
  if(NOT err MATCHES "ERROR SUMMARY: 1 errors from 1 contexts")
    message(FATAL_ERROR "case ${CASE}: valgrind reported more than the one bug")
  endif()
else()
  if(NOT rc EQUAL 0 OR NOT err MATCHES "ERROR SUMMARY: 0 errors")
    message(FATAL_ERROR "case ${CASE}: valgrind reported errors (exit ${rc}) where there is no bug")
  endif()
endif()
message("case ${CASE}: as expected")
