# check_ldoc.cmake - the docs.ldoc test: builds the API reference with LDoc
# (config.ld at the source root) and fails if LDoc exits non-zero or prints
# anything but its two progress lines: a warning (`file:line: ...`), a
# reference it cannot resolve, or a missing Markdown processor.
#
#   cmake -DLDOC=/usr/bin/ldoc -DSOURCE_DIR=<source> -DOUTPUT_DIR=<dir> -P check_ldoc.cmake
foreach(var LDOC SOURCE_DIR OUTPUT_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_ldoc.cmake: -D${var}= is required")
  endif()
endforeach()

# --testing: no date or version in the output, so two runs give the same files.
execute_process(
  COMMAND ${LDOC} --fatalwarnings --testing -d ${OUTPUT_DIR} .
  WORKING_DIRECTORY ${SOURCE_DIR}
  RESULT_VARIABLE status
  OUTPUT_VARIABLE output
  ERROR_VARIABLE output)
message("${output}")

# What is left once the progress lines are gone is a problem.
string(REGEX REPLACE "(^|\n)reading configuration from [^\n]*" "\\1" rest "${output}")
string(REGEX REPLACE "(^|\n)output written to [^\n]*" "\\1" rest "${rest}")
string(STRIP "${rest}" rest)

if(NOT status EQUAL 0 OR NOT rest STREQUAL "")
  set(hint "")
  if(rest MATCHES "format: [^\n]* not found")
    set(hint "\nLDoc renders Markdown with lua-discount: apt-get install lua-discount")
  endif()
  message(FATAL_ERROR "ldoc exited with ${status}; fix these doc comments or guides:\n"
                      "${rest}${hint}")
endif()
message(STATUS "API reference written to ${OUTPUT_DIR}/index.html")
