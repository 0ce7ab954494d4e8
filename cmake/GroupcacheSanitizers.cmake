# Sanitizer builds are whole-tree: every target, including tests, is
# instrumented. They run at -O1: fast enough, and the coroutine-heavy
# transport stays within the machine's memory.
if(GROUPCACHE_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined -O1)
  add_link_options(-fsanitize=address,undefined)
elseif(GROUPCACHE_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer -O1)
  add_link_options(-fsanitize=thread)
elseif(NOT GROUPCACHE_SANITIZE STREQUAL "")
  message(FATAL_ERROR "GROUPCACHE_SANITIZE must be '', 'address' or 'thread'")
endif()
