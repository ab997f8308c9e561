# Writes the dashboard's files into a C++ source, as byte arrays: the binary serves them itself.
#   cmake -DOUT=ui_assets.cpp -DDIR=server/ui -DFILES=index.html,app.css,app.js -P embed.cmake
string(REPLACE "," ";" FILES "${FILES}")
set(body "")
set(table "")
set(i 0)
foreach(name IN LISTS FILES)
  file(READ "${DIR}/${name}" hex HEX)
  string(LENGTH "${hex}" hex_length)
  math(EXPR size "${hex_length} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
  if(name MATCHES "\\.html$")
    set(type "text/html; charset=utf-8")
  elseif(name MATCHES "\\.css$")
    set(type "text/css; charset=utf-8")
  elseif(name MATCHES "\\.js$")
    set(type "text/javascript; charset=utf-8")
  else()
    message(FATAL_ERROR "embed.cmake: no content type for ${name}")
  endif()
  string(APPEND body "constexpr char file${i}[] = {${bytes}};\n")
  string(APPEND table "    {\"${name}\", \"${type}\", {file${i}, ${size}}},\n")
  math(EXPR i "${i} + 1")
endforeach()
file(WRITE "${OUT}.tmp" "// Made by server/ui/embed.cmake from server/ui/: edit those files, not this one.
#include \"server/api/ui_assets.hpp\"

namespace jobd::server {
namespace {
${body}
constexpr ui_asset assets[] = {
${table}};
}  // namespace

std::span<const ui_asset> ui_assets() { return assets; }

}  // namespace jobd::server
")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
