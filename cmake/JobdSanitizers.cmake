# Sanitizers are global so that every object in the link, tests included, is instrumented alike.
if(JOBD_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
elseif(JOBD_SANITIZE STREQUAL "thread")
  # -Wno-tsan: g++ 12 warns that TSan does not model atomic_thread_fence, which Asio uses inside
  # its scheduler; the warning is about the tool, not about this code, and -Werror would stop here.
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer -Wno-tsan)
  add_link_options(-fsanitize=thread)
elseif(NOT JOBD_SANITIZE STREQUAL "none")
  message(FATAL_ERROR "JOBD_SANITIZE must be none, address or thread (got '${JOBD_SANITIZE}')")
endif()
