# The Debian package, made by CPack from the install rules:
#   cmake --build build --target package    (or: cd build && cpack -G DEB)
# writes build/leaktrace_<version>_<arch>.deb. Its run-time dependencies
# are what dpkg-shlibdeps (from dpkg-dev) finds the binaries link, so they
# follow the build instead of a list kept by hand; node is suggested only,
# as the command and the preload work without it.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME leaktrace)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "memory-leak and timer-leak tracer for Linux processes")
string(CONCAT CPACK_PACKAGE_DESCRIPTION
  "leaktrace finds memory that a process allocates and never gives back, and\n"
  "timers that are never cleared, and tells which line of code made them.\n"
  "A preloaded library records the call stack of every live allocation and\n"
  "timer into a trace file that survives the process; the leaktrace command\n"
  "runs programs under it and writes reports (text, JSON, markdown, folded\n"
  "stacks, SVG flame graphs and timelines, HTML). Made for long-running\n"
  "servers, Node.js above all (JS timers and JS frames), and native programs.")
set(LT_PACKAGE_MAINTAINER "leaktrace maintainers <maintainers@leaktrace.invalid>"
  CACHE STRING "The Maintainer field of the Debian package: Name <address>")
set(CPACK_PACKAGE_CONTACT ${LT_PACKAGE_MAINTAINER})
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${LT_PACKAGE_MAINTAINER})
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS nodejs)
# Debug information stays in the build tree: reports need the traced
# program's symbols, not leaktrace's.
set(CPACK_STRIP_FILES ON)
# Debian's man pages are gzipped (policy 12.1): done in the staging tree,
# so that `cmake --install` leaves them as they were built.
set(CPACK_PRE_BUILD_SCRIPTS ${CMAKE_CURRENT_LIST_DIR}/gzip_man_pages.cmake)

# Debian wants the licence as share/doc/leaktrace/copyright.
foreach(licence LICENSE COPYING)
  if(EXISTS ${PROJECT_SOURCE_DIR}/${licence})
    install(FILES ${PROJECT_SOURCE_DIR}/${licence} DESTINATION ${CMAKE_INSTALL_DOCDIR}
      RENAME copyright)
    break()
  endif()
endforeach()

# `cmake --build build --target package_source`: the sources alone.
set(CPACK_SOURCE_GENERATOR TGZ)
set(CPACK_SOURCE_IGNORE_FILES "/\\.git$" "/\\.git/" "/build[^/]*/" "/node_modules/")

include(CPack)
