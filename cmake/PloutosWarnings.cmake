# Warning flags shared by every Ploutos target: ploutos_set_warnings(<target>)
function(ploutos_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wold-style-cast -Wcast-align -Woverloaded-virtual
                                           -Wformat=2)
  if(PLOUTOS_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
