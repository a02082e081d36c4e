# tests/wrong/check.cmake - one test of tests/wrong (cmake -P): run
# `lle-wrong BUG` with LLE_MEMORY_OPTIONS=OPTIONS and check what it printed.
#
#   -DPROGRAM=  lle-wrong          -DBUG=      the bug's name
#   -DOPTIONS=  the mode           -DSOURCE=   wrong.c, where the markers are
#   -DCODE=     the code every error report must have (without LLE_ERROR_);
#               `none`: the program must exit 0 having reported nothing;
#               `asan`: AddressSanitizer must stop it with a use-after-poison
#   -DCOUNT=    how many reports of CODE (empty: at least one)
#   -DFATAL=ON  the bug faults (guard pages): the CODE report comes right
#               after "[wrong] fault", the program never prints "[wrong]
#               after" and dies of SIGSEGV (the library's handler passes the
#               fault on to the default action, or to AddressSanitizer's)
#   -DCHECKS=   KIND=MARK entries separated by |, MARK a marker "@MARK " of
#               wrong.c whose line number is looked up:
#                 alloc=MARK  every CODE report names that line as the allocation site
#                 free=MARK   every CODE report names it as the free site
#                 text=MARK   a CODE report mentions it (in its message)
#                 leak=MARK   the leak report mentions it
#                 fault=MARK  the sanitizer's summary names it
cmake_minimum_required(VERSION 3.16)

foreach(v PROGRAM BUG SOURCE CODE)
  if("${${v}}" STREQUAL "")
    message(FATAL_ERROR "check.cmake: -D${v}= is required")
  endif()
endforeach()

set(ENV{LLE_MEMORY_OPTIONS} "${OPTIONS}")
execute_process(COMMAND "${PROGRAM}" "${BUG}"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out TIMEOUT 50)

function(fail why)
  message(FATAL_ERROR "wrong ${BUG} (LLE_MEMORY_OPTIONS='${OPTIONS}'): ${why}\n"
                      "--- exit status ${rc}; output:\n${out}")
endfunction()

# The output as a list of lines (semicolons in messages become commas).
string(REPLACE ";" "," text "${out}")
string(REPLACE "\n" ";" lines "${text}")

# line_of(MARK VAR): the line number of the one "@MARK " in SOURCE.
file(READ "${SOURCE}" source)
function(line_of mark var)
  string(FIND "${source}" "@${mark} " pos)
  if(pos EQUAL -1)
    fail("marker @${mark} not found in ${SOURCE}")
  endif()
  math(EXPR next "${pos} + 1")
  string(SUBSTRING "${source}" ${next} -1 rest)
  string(FIND "${rest}" "@${mark} " again)
  if(NOT again EQUAL -1)
    fail("marker @${mark} appears twice in ${SOURCE}")
  endif()
  string(SUBSTRING "${source}" 0 ${pos} before)
  string(REGEX REPLACE "[^\n]" "" newlines "${before}")
  string(LENGTH "${newlines}" n)
  math(EXPR n "${n} + 1")
  set(${var} ${n} PARENT_SCOPE)
endfunction()

string(REPLACE "|" ";" checks "${CHECKS}")

if(CODE STREQUAL "none")
  if(NOT rc EQUAL 0)
    fail("expected exit status 0 (nothing reported)")
  endif()
  foreach(l IN LISTS lines)
    if(l MATCHES "^lle: ")
      fail("expected no report, got: ${l}")
    endif()
  endforeach()
  return()
endif()

if(CODE STREQUAL "asan")
  if(rc EQUAL 0 OR NOT out MATCHES "ERROR: AddressSanitizer: use-after-poison")
    fail("expected AddressSanitizer to stop the program with a use-after-poison report")
  endif()
  foreach(c IN LISTS checks)
    if(c MATCHES "^fault=(.*)$")
      line_of("${CMAKE_MATCH_1}" n)
      if(NOT out MATCHES "SUMMARY: AddressSanitizer: use-after-poison [^\n]*wrong\\.c:${n}[^0-9]")
        fail("the sanitizer's summary does not name wrong.c:${n} (@${CMAKE_MATCH_1})")
      endif()
    else()
      fail("check '${c}' does not apply to CODE asan")
    endif()
  endforeach()
  return()
endif()

if(FATAL)
  # Under AddressSanitizer its own SIGSEGV handler takes the fault after
  # the library's report, and exits.
  if(NOT rc MATCHES "Segmentation" AND
     NOT (rc MATCHES "^[0-9]+$" AND NOT rc EQUAL 0 AND NOT rc EQUAL 3 AND
          out MATCHES "AddressSanitizer:DEADLYSIGNAL"))
    fail("expected the program to die of SIGSEGV")
  endif()
  set(seen_fault FALSE)
  foreach(l IN LISTS lines)
    if(l MATCHES "^\\[wrong\\] fault")
      set(seen_fault TRUE)
    elseif(l MATCHES "^\\[wrong\\] after")
      fail("the faulty statement returned")
    elseif(l MATCHES "^lle: LLE_ERROR_${CODE} " AND NOT seen_fault)
      fail("the report came before the faulty statement: ${l}")
    endif()
  endforeach()
elseif(NOT rc EQUAL 3)
  fail("expected exit status 3 (the library reported errors)")
endif()
set(mine "")
foreach(l IN LISTS lines)
  if(l MATCHES "^lle: LLE_ERROR_${CODE} ")
    list(APPEND mine "${l}")
  elseif(l MATCHES "^lle: LLE_ERROR_")
    fail("a report with another code than LLE_ERROR_${CODE}: ${l}")
  endif()
endforeach()
list(LENGTH mine got)
if(got EQUAL 0)
  fail("no report of LLE_ERROR_${CODE}")
endif()
if(NOT "${COUNT}" STREQUAL "" AND NOT got EQUAL COUNT)
  fail("${got} reports of LLE_ERROR_${CODE}, expected ${COUNT}")
endif()

foreach(c IN LISTS checks)
  if(NOT c MATCHES "^(alloc|free|text|leak)=(.+)$")
    fail("bad check '${c}'")
  endif()
  set(kind ${CMAKE_MATCH_1})
  set(mark ${CMAKE_MATCH_2})
  line_of("${mark}" n)
  set(where "wrong.c:${n} (@${mark})")
  if(kind STREQUAL "alloc" OR kind STREQUAL "free")
    # alloc=SITE is followed by a space, free=SITE by a colon.
    if(kind STREQUAL "alloc")
      set(re " alloc=[^ ]*wrong\\.c:${n} ")
    else()
      set(re " free=[^ ]*wrong\\.c:${n}: ")
    endif()
    foreach(l IN LISTS mine)
      if(NOT l MATCHES "${re}")
        fail("the ${kind} site of this report is not ${where}: ${l}")
      endif()
    endforeach()
  else()
    if(kind STREQUAL "text")
      set(pool "${mine}")
      set(re "wrong\\.c:${n}[^0-9]")
    else()
      set(pool "${lines}")
      set(re "^lle: leak: .*wrong\\.c:${n}[^0-9]")
    endif()
    set(found FALSE)
    foreach(l IN LISTS pool)
      if(l MATCHES "${re}")
        set(found TRUE)
      endif()
    endforeach()
    if(NOT found)
      fail("no ${kind} line mentions ${where}")
    endif()
  endif()
endforeach()
