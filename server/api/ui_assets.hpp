#pragma once

// The dashboard's files (server/ui/), built into the binary: server/ui/embed.cmake writes them
// into a source file at build time, so that the page needs nothing but jobd, online or not.

#include <span>
#include <string_view>

namespace jobd::server {

struct ui_asset {
  std::string_view name;  // "index.html", "app.js", ...
  std::string_view content_type;
  std::string_view body;
};

[[nodiscard]] std::span<const ui_asset> ui_assets();

}  // namespace jobd::server
