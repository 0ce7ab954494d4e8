# groupcache_warnings(target): the project's warning set, PRIVATE so that it
# never leaks into consumers.
function(groupcache_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
    -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual
    -Wimplicit-fallthrough)
endfunction()
