# Warnings apply to the project's own targets only, through this interface target.
add_library(jobd_warnings INTERFACE)
target_compile_options(jobd_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                               -Wno-sign-conversion
  # g++ 12 warns on designated initializers that leave members to their defaults, which is
  # exactly how the config aggregates are meant to be used.
  -Wno-missing-field-initializers)
if(JOBD_WERROR)
  target_compile_options(jobd_warnings INTERFACE -Werror)
endif()
add_library(jobd::warnings ALIAS jobd_warnings)
