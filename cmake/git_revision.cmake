# Run as a script at every build (cmake -DSOURCE_DIR=... -DOUTPUT=... -P git_revision.cmake):
# writes OUTPUT defining RWKV_GIT_REVISION as the checkout's short revision, "-dirty" appended when
# tracked files differ from it, "unknown" outside a checkout. The file is rewritten only when the
# text changes, so an unchanged revision rebuilds nothing.
execute_process(COMMAND git rev-parse --short HEAD WORKING_DIRECTORY ${SOURCE_DIR}
                OUTPUT_VARIABLE revision OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE result)
if(NOT result EQUAL 0 OR revision STREQUAL "")
  set(revision "unknown")
else()
  execute_process(COMMAND git diff --quiet HEAD -- WORKING_DIRECTORY ${SOURCE_DIR} RESULT_VARIABLE changed
                  OUTPUT_QUIET ERROR_QUIET)
  if(NOT changed EQUAL 0)
    string(APPEND revision "-dirty")
  endif()
endif()
set(text "#define RWKV_GIT_REVISION \"${revision}\"\n")
set(previous "")
if(EXISTS ${OUTPUT})
  file(READ ${OUTPUT} previous)
endif()
if(NOT previous STREQUAL text)
  file(WRITE ${OUTPUT} "${text}")
endif()
