// The review page's static files (service/http/assets/), embedded in the binary at build time
// by embed_assets.cmake, so the page needs no files on disk and no external resources.
//
// Example:
//   for (const Asset& a : Assets()) server.Get(std::string(a.path), ...serve a.body...);
//
// Thread-safe: immutable data.
#ifndef FEDWALL_SERVICE_HTTP_ASSETS_H_
#define FEDWALL_SERVICE_HTTP_ASSETS_H_

#include <span>
#include <string_view>

namespace fedwall::service::http {

struct Asset {
  std::string_view path;          // URL path: "/" for index.html, "/app.js", ...
  std::string_view content_type;  // with charset
  std::string_view body;
};

// Every embedded file (defined in the generated assets_data.cc).
std::span<const Asset> Assets();

}  // namespace fedwall::service::http

#endif  // FEDWALL_SERVICE_HTTP_ASSETS_H_
