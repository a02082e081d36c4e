# cmake/install.cmake - install rules, exported CMake package, pkg-config file.
#
# Included at the end of the top-level CMakeLists.txt.  After
#   cmake --install <build> [--prefix <dir>]
# a consumer can use either
#   find_package(lle-memory CONFIG REQUIRED)   -> lle::memory, lle::memory-static
# or
#   pkg-config --cflags --libs lle-memory      [--static]
#
# Layout (relative to the prefix):
#   ${CMAKE_INSTALL_LIBDIR}/liblle-memory.so*, liblle-memory.a
#   ${CMAKE_INSTALL_INCLUDEDIR}/lle/*.h
#   ${CMAKE_INSTALL_BINDIR}/lle-memory                 (when the tool is built)
#   ${CMAKE_INSTALL_LIBDIR}/cmake/lle-memory/*.cmake
#   ${CMAKE_INSTALL_LIBDIR}/pkgconfig/lle-memory.pc

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(LLE_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/lle-memory"
    CACHE STRING "Where lle-memoryConfig.cmake is installed (relative to the prefix)")
set(LLE_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig"
    CACHE STRING "Where lle-memory.pc is installed (relative to the prefix)")

# Dependencies the library links privately go into the .pc file through
# LLE_PC_REQUIRES_PRIVATE (pkg-config module names, e.g. "libsodium libzstd")
# and LLE_PC_LIBS_PRIVATE_EXTRA (linker flags, e.g. "-lutf8proc"): set them
# before this file is included.  Both are empty by default.

# ---------------------------------------------------------------- libraries
# Inside the package the targets are lle::memory and lle::memory-static,
# the same names as the aliases defined for in-tree users.
set_target_properties(lle-memory PROPERTIES EXPORT_NAME memory)
set_target_properties(lle-memory-static PROPERTIES EXPORT_NAME memory-static)

install(TARGETS lle-memory lle-memory-static
  EXPORT lle-memory-targets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime
          NAMELINK_COMPONENT development
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/lle/
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/lle
  COMPONENT development
  FILES_MATCHING PATTERN "*.h")

# ---------------------------------------------------------------- the tool
# The executable is called lle-memory, like the shared library target, so
# its target has another name: find it among the targets of tools/ by the
# name of the file it produces.
set(_lle_tool_targets "")
if(LLE_BUILD_TOOLS AND EXISTS ${PROJECT_SOURCE_DIR}/tools/CMakeLists.txt)
  get_property(_lle_tools_dir_targets DIRECTORY ${PROJECT_SOURCE_DIR}/tools
               PROPERTY BUILDSYSTEM_TARGETS)
  foreach(_t IN LISTS _lle_tools_dir_targets)
    get_target_property(_type ${_t} TYPE)
    if(NOT _type STREQUAL "EXECUTABLE")
      continue()
    endif()
    get_target_property(_out ${_t} RUNTIME_OUTPUT_NAME)
    if(NOT _out)
      get_target_property(_out ${_t} OUTPUT_NAME)
    endif()
    if(NOT _out)
      set(_out ${_t})
    endif()
    if(_out STREQUAL "lle-memory")
      list(APPEND _lle_tool_targets ${_t})
    endif()
  endforeach()
endif()
foreach(_t IN LISTS _lle_tool_targets)
  # When it links the shared library, let the installed binary find it.
  get_target_property(_rpath ${_t} INSTALL_RPATH)
  if(NOT _rpath AND NOT IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
    file(RELATIVE_PATH _rel "/prefix/${CMAKE_INSTALL_BINDIR}" "/prefix/${CMAKE_INSTALL_LIBDIR}")
    set_target_properties(${_t} PROPERTIES INSTALL_RPATH "$ORIGIN/${_rel}")
  endif()
  install(TARGETS ${_t} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
endforeach()

# ---------------------------------------------------------------- CMake package
install(EXPORT lle-memory-targets
  FILE lle-memoryTargets.cmake
  NAMESPACE lle::
  DESTINATION ${LLE_INSTALL_CMAKEDIR}
  COMPONENT development)

configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/lle-memoryConfig.cmake.in
  ${PROJECT_BINARY_DIR}/lle-memoryConfig.cmake
  INSTALL_DESTINATION ${LLE_INSTALL_CMAKEDIR})

# Before 1.0 a minor release may break the API: only the same minor matches.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/lle-memoryConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)

install(FILES
  ${PROJECT_BINARY_DIR}/lle-memoryConfig.cmake
  ${PROJECT_BINARY_DIR}/lle-memoryConfigVersion.cmake
  DESTINATION ${LLE_INSTALL_CMAKEDIR}
  COMPONENT development)

# ---------------------------------------------------------------- pkg-config
# The prefix written into the .pc file is the one in force at install time,
# so `cmake --install --prefix DIR` gives a file that points into DIR (and
# DESTDIR staging keeps the real prefix).  lle-memory.pc.in is configured
# now with the prefix left as a placeholder, and finished by an install step.
set(LLE_PC_PREFIX "@LLE_PC_INSTALL_PREFIX@")
foreach(_d LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_d}}")
    set(LLE_PC_${_d} "${CMAKE_INSTALL_${_d}}")
  else()
    set(LLE_PC_${_d} "\${prefix}/${CMAKE_INSTALL_${_d}}")
  endif()
endforeach()
configure_file(${PROJECT_SOURCE_DIR}/lle-memory.pc.in
               ${PROJECT_BINARY_DIR}/pkgconfig/lle-memory.pc.stage @ONLY)
install(CODE "
  get_filename_component(LLE_PC_INSTALL_PREFIX \"\${CMAKE_INSTALL_PREFIX}\" ABSOLUTE)
  configure_file(\"${PROJECT_BINARY_DIR}/pkgconfig/lle-memory.pc.stage\"
                 \"${PROJECT_BINARY_DIR}/pkgconfig/lle-memory.pc\" @ONLY)
  " COMPONENT development)
install(FILES ${PROJECT_BINARY_DIR}/pkgconfig/lle-memory.pc
  DESTINATION ${LLE_INSTALL_PKGCONFIGDIR}
  COMPONENT development)

unset(_lle_tool_targets)
unset(_lle_tools_dir_targets)
unset(_t)
unset(_type)
unset(_out)
unset(_rpath)
unset(_rel)
unset(_d)
