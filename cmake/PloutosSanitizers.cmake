# PLOUTOS_SANITIZE=address,undefined (any list -fsanitize= takes) instruments every Ploutos target
# for a checking build, e.g. `cmake -B build-asan -DPLOUTOS_SANITIZE=address,undefined
# -DCMAKE_BUILD_TYPE=RelWithDebInfo` (docs/development.md). Empty (the default): no instrumentation.
set(PLOUTOS_SANITIZE "" CACHE STRING "Sanitizers for a checking build (e.g. address,undefined); empty: none")
if(PLOUTOS_SANITIZE)
  # Undefined behaviour stops the program instead of printing and going on, so ctest sees it.
  add_compile_options(-fsanitize=${PLOUTOS_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${PLOUTOS_SANITIZE})
  message(STATUS "Ploutos: sanitizers ${PLOUTOS_SANITIZE}")
endif()
