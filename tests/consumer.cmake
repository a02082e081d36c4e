# tests/consumer.cmake - the install test: include()d from tests/CMakeLists.txt.
#
# consumer_install installs this build into a temporary prefix and builds
# tests/consumer/ against it, through find_package(lle-memory CONFIG) and
# through pkg-config, then runs the programs (tests/consumer/run.sh).
# It needs the whole build done first, as any ctest run has.

find_program(LLE_BASH_PROGRAM bash)
if(NOT LLE_BASH_PROGRAM)
  message(STATUS "bash not found: test consumer_install not added")
  return()
endif()

# Programs linked against a sanitized library must be sanitized too.
set(_lle_consumer_flags "")
if(LLE_SANITIZE)
  set(_lle_consumer_flags "-fsanitize=${LLE_SANITIZE}")
endif()

add_test(NAME consumer_install
  COMMAND ${CMAKE_COMMAND} -E env
          "CMAKE=${CMAKE_COMMAND}"
          "CC=${CMAKE_C_COMPILER}"
          "LLE_CONFIG=$<CONFIG>"
          "CFLAGS=${_lle_consumer_flags}"
          "LDFLAGS=${_lle_consumer_flags}"
          ${LLE_BASH_PROGRAM} ${PROJECT_SOURCE_DIR}/tests/consumer/run.sh
          ${PROJECT_BINARY_DIR})
set_tests_properties(consumer_install PROPERTIES
  LABELS "consumer"
  TIMEOUT 300)
unset(_lle_consumer_flags)
