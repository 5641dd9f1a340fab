# Run by CPack on the staged files before it builds the package: the static libraries lose
# their debug sections (the package is a tenth of the size; the symbols stay).
file(GLOB_RECURSE archives "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/*.a")
foreach(a IN LISTS archives)
  execute_process(COMMAND strip --strip-debug ${a} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "strip --strip-debug ${a} failed")
  endif()
endforeach()
