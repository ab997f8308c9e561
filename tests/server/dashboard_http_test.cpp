// The dashboard's files over HTTP: a browser's GET / gets the page, with a Content-Security-
// Policy that allows no inline script and no other origin, and its files, all of it built into
// the binary and small; curl's GET / still gets the routes as JSON; the page needs no token.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "../support/temp_folder.hpp"
#include "http_client.hpp"
#include "jobd_process.hpp"

namespace jobd::testing {
namespace {

http_reply browser_get(http_client& c, const std::string& target) {
  return c.request("GET", target, "",
                   {{"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}});
}

TEST(Dashboard, ABrowserGetsThePageAndItsFilesUnderAStrictPolicy) {
  jobd_process server({});
  http_client c(server.port());
  const http_reply page = browser_get(c, "/");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.header("content-type"), "text/html; charset=utf-8");
  const std::string policy = page.header("content-security-policy");
  EXPECT_NE(policy.find("default-src 'self'"), std::string::npos) << policy;
  EXPECT_NE(policy.find("script-src 'self'"), std::string::npos) << policy;
  EXPECT_EQ(policy.find("unsafe-inline"), std::string::npos) << policy;
  EXPECT_EQ(page.header("x-content-type-options"), "nosniff");
  std::size_t transferred = page.body.size();
  for (const auto& [file, type] : {std::pair{"/ui/app.js", "text/javascript; charset=utf-8"},
                                   std::pair{"/ui/rates.js", "text/javascript; charset=utf-8"},
                                   std::pair{"/ui/app.css", "text/css; charset=utf-8"}}) {
    EXPECT_NE(page.body.find(file), std::string::npos) << file;
    const http_reply r = c.get(file);
    EXPECT_EQ(r.status, 200) << file;
    EXPECT_EQ(r.header("content-type"), type);
    EXPECT_FALSE(r.header("content-security-policy").empty());
    transferred += r.body.size();
  }
  EXPECT_LT(transferred, 300u * 1024);
  // No script in the page itself: the policy would refuse it.
  EXPECT_EQ(page.body.find("<script>"), std::string::npos);
  EXPECT_EQ(c.get("/ui/missing.js").status, 404);
}

TEST(Dashboard, CurlStillGetsTheRoutesAsJson) {
  jobd_process server({});
  http_client c(server.port());
  const http_reply r = c.get("/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.json()["service"], "jobd");
}

TEST(Dashboard, ThePageNeedsNoTokenButItsDataDoes) {
  temp_folder dir;
  std::ofstream(dir.path() / "tokens") << "tok-" << std::string(32, 'd') << "\n";
  jobd_process server({"--auth-token-file", (dir.path() / "tokens").string()});
  http_client c(server.port());
  EXPECT_EQ(browser_get(c, "/").status, 200);
  EXPECT_EQ(c.get("/ui/app.js").status, 200);
  EXPECT_EQ(c.get("/v1/pool").status, 401);
}

// What a job carries reaches the page as text: the scripts never parse anything as HTML.
TEST(Dashboard, TheScriptsWriteTextNeverHtml) {
  for (const char* file : {"app.js", "rates.js"}) {
    std::ifstream in(std::string(JOBD_SOURCE_DIR) + "/server/ui/" + file);
    std::stringstream text;
    text << in.rdbuf();
    const std::string script = text.str();
    ASSERT_FALSE(script.empty()) << file;
    for (const char* sink :
         {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("}) {
      EXPECT_EQ(script.find(sink), std::string::npos) << file << ": " << sink;
    }
    EXPECT_NE(script.find("textContent"), std::string::npos) << file;
  }
}

}  // namespace
}  // namespace jobd::testing
