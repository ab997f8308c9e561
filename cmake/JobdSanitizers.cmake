# Sanitizers are global so that every object in the link, tests included, is instrumented alike.
if(JOBD_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
elseif(JOBD_SANITIZE STREQUAL "thread")
  # -Wno-tsan: g++ 12 warns that TSan does not model atomic_thread_fence, which Asio uses inside
  # its scheduler; the warning is about the tool, not about this code, and -Werror would stop here.
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer -Wno-tsan)
  add_link_options(-fsanitize=thread)
elseif(JOBD_SANITIZE STREQUAL "fuzzer")
  # Coverage for libFuzzer everywhere; only the fuzz executables link libFuzzer's main.
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "JOBD_SANITIZE=fuzzer needs clang (the fuzz preset uses clang++-14)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
elseif(NOT JOBD_SANITIZE STREQUAL "none")
  message(FATAL_ERROR
          "JOBD_SANITIZE must be none, address, thread or fuzzer (got '${JOBD_SANITIZE}')")
endif()
