# Run by CPack (CPACK_PRE_BUILD_SCRIPTS) on the staging tree before it makes
# the package: gzips the man pages as Debian wants them, with no name or
# time stamp inside (gzip -n) so that the package is the same every build.
file(GLOB_RECURSE pages LIST_DIRECTORIES false
  ${CPACK_TEMPORARY_DIRECTORY}/*/share/man/man[1-9]/*.[1-9])
foreach(page IN LISTS pages)
  execute_process(COMMAND gzip -9nf ${page} RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "gzip ${page}: ${status}")
  endif()
endforeach()
