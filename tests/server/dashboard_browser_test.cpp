// The dashboard in a real browser: Debian's headless Chromium, driven through chromedriver's
// WebDriver protocol over 127.0.0.1. The page shows jobs submitted with the API and their
// changes within a second, and with auth on shows nothing before the token is given. The
// screenshots it takes (wide and narrow) are left in the build folder's screenshots/.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "../support/temp_folder.hpp"
#include "http_client.hpp"
#include "jobd_process.hpp"
#include "test_jobs.hpp"

namespace jobd::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* chromedriver_binary = "/usr/bin/chromedriver";
constexpr const char* chromium_binary = "/usr/bin/chromium";

// chromedriver on a port of its own choosing, killed with its browsers at the end.
class chromedriver {
 public:
  chromedriver() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    std::string bin = chromedriver_binary;
    std::string port_arg = "--port=0";
    char* argv[] = {bin.data(), port_arg.data(), nullptr};
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      setpgid(0, 0);  // its browsers join its group, and go with it
      dup2(fds[1], STDOUT_FILENO);
      execv(bin.c_str(), argv);
      _exit(127);
    }
    close(fds[1]);
    std::string out;
    char buf[512];
    const std::string marker = "started successfully on port ";
    while (out.find(marker) == std::string::npos ||
           out.find('.', out.find(marker)) == std::string::npos) {
      const ssize_t n = read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    close(fds[0]);
    const auto at = out.find(marker);
    if (at == std::string::npos) throw std::runtime_error("chromedriver did not start: " + out);
    port_ = static_cast<std::uint16_t>(std::stoi(out.substr(at + marker.size())));
  }
  ~chromedriver() {
    kill(-pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    kill(-pid_, SIGKILL);  // any browser left in its group
  }
  chromedriver(const chromedriver&) = delete;
  chromedriver& operator=(const chromedriver&) = delete;
  std::uint16_t port() const { return port_; }

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

// One headless browser window.
class browser {
 public:
  explicit browser(chromedriver& driver) : c_(driver.port(), 60) {
    const json caps = {{"capabilities",
                        {{"alwaysMatch",
                          {{"browserName", "chrome"},
                           {"goog:chromeOptions",
                            {{"binary", chromium_binary},
                             {"args",
                              {"--headless=new", "--no-sandbox", "--disable-gpu",
                               "--disable-dev-shm-usage", "--window-size=1280,900"}}}}}}}}};
    const json session = call("POST", "/session", caps);
    id_ = session["value"]["sessionId"];
  }
  ~browser() {
    if (!id_.empty()) (void)call("DELETE", "/session/" + id_, nullptr);
  }
  browser(const browser&) = delete;
  browser& operator=(const browser&) = delete;

  void open(const std::string& url) { (void)call("POST", path("/url"), {{"url", url}}); }
  // The value of `script`, a function body run in the page.
  json run(const std::string& script) {
    return call("POST", path("/execute/sync"),
                {{"script", script}, {"args", json::array()}})["value"];
  }
  // A PNG of the window, at `width` x `height`, saved as `file`.
  void screenshot(int width, int height, const std::filesystem::path& file) {
    (void)call("POST", path("/window/rect"), {{"width", width}, {"height", height}});
    const std::string b64 = call("GET", path("/screenshot"), nullptr)["value"];
    std::string png(b64.size() / 4 * 3, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(png.data()),
                                  reinterpret_cast<const unsigned char*>(b64.data()),
                                  static_cast<int>(b64.size()));
    ASSERT_GT(n, 0);
    png.resize(static_cast<std::size_t>(n) - (b64.ends_with("==")  ? 2
                                              : b64.ends_with('=') ? 1
                                                                   : 0));
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << png;
    EXPECT_TRUE(png.starts_with("\x89PNG"));
  }
  // Runs `script` until it returns true, for at most `within`; whether it did.
  bool until(const std::string& script, std::chrono::milliseconds within) {
    const auto end = std::chrono::steady_clock::now() + within;
    do {
      if (run(script) == true) return true;
    } while (std::chrono::steady_clock::now() < end);
    return false;
  }

 private:
  std::string path(const std::string& rest) const { return "/session/" + id_ + rest; }
  json call(const std::string& method, const std::string& target, const json& body) {
    const http_reply r = method == "GET"
                             ? c_.get(target)
                             : c_.request(method, target, body.is_null() ? "" : body.dump(),
                                          {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 200) << method << " " << target << ": " << r.body;
    return r.body.empty() ? json() : json::parse(r.body);
  }

  http_client c_;
  std::string id_;
};

std::string row_text(const std::string& id) {
  return "const r = document.querySelector('#jobs tr[data-id=\"" + id +
         "\"]'); return r ? r.textContent : '';";
}

// A browser for each test, and its page opened on a jobd.
class DashboardInABrowser : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(std::filesystem::exists(chromedriver_binary))
        << "needs Debian's chromium-driver: scripts/install-deps test";
  }
  void open(const jobd_process& server) {
    page.open("http://127.0.0.1:" + std::to_string(server.port()) + "/");
  }

  chromedriver driver;
  browser page{driver};
};

TEST_F(DashboardInABrowser, ShowsJobsAndTheirChangesWithinASecond) {
  jobd_process server({});
  http_client c(server.port());
  const std::string before = submit_async(c, R"({"type":"echo","payload":1})");
  open(server);
  // A job from before the page opened is listed; the pool is shown. (The first start of a
  // browser can take seconds on a cold machine: that is not the page's time.)
  EXPECT_TRUE(page.until("return document.getElementById('state').textContent === 'live';", 20s));
  EXPECT_TRUE(page.until(
      "return document.querySelector('#jobs tr[data-id=\"" + before + "\"]') !== null;", 1s));
  EXPECT_TRUE(
      page.until("return document.getElementById('workers').textContent.includes('idle');", 1s));
  // No auth here: the token's form is not shown.
  EXPECT_EQ(page.run("return getComputedStyle(document.getElementById('login')).display;"), "none");
  page.screenshot(1280, 900,
                  std::filesystem::path(JOBD_SCREENSHOT_DIR) / "dashboard-idle-wide.png");
  page.screenshot(390, 844,
                  std::filesystem::path(JOBD_SCREENSHOT_DIR) / "dashboard-idle-narrow.png");
  // One submitted now: shown running, then succeeded, each within a second.
  const std::string id = submit_async(c, sleep_job(1500));
  EXPECT_TRUE(page.until("return (function(){" + row_text(id) + "})().includes('running');", 1s));
  EXPECT_TRUE(
      page.until("return (function(){" + row_text(id) + "})().includes('succeeded');", 2500ms));
}

// A job's detail shows what it carries as text: markup in a result stays text and runs
// nothing. Its Cancel button cancels it, as the API then says.
TEST_F(DashboardInABrowser, AJobsDetailIsTextAndItsCancelButtonCancelsIt) {
  jobd_process server({});
  http_client c(server.port());
  const std::string markup = "<img src=x onerror=alert(1)>";
  const std::string shown =
      c.post("/v1/jobs?wait=true", R"({"type":"echo","payload":")" + markup + R"("})").json()["id"];
  const std::string slow = submit_async(c, sleep_job(60000));
  open(server);
  EXPECT_TRUE(page.until("return document.getElementById('state').textContent === 'live';", 20s));
  const auto click_row = [this](const std::string& id) {
    EXPECT_TRUE(page.until("const r = document.querySelector('#jobs tr[data-id=\"" + id +
                               "\"]'); if (r) r.click(); return r !== null;",
                           1s));
    EXPECT_TRUE(page.until(
        "return document.getElementById('detail-id').textContent === '" + id + "';", 1s));
  };
  click_row(shown);
  // Its payload too, which the job object carries only when asked.
  EXPECT_TRUE(
      page.until("return document.getElementById('detail-body').textContent.includes('"
                 "\"payload\": \"" +
                     markup + "\"');",
                 1s));
  EXPECT_EQ(page.run("return document.querySelectorAll('#detail img, #jobs img').length;"), 0);
  click_row(slow);
  page.run("document.getElementById('cancel').click(); return null;");
  EXPECT_TRUE(page.until(
      "return document.getElementById('detail-body').textContent.includes('cancelled');", 2s));
  EXPECT_EQ(c.get("/v1/jobs/" + slow + "?wait=5").json()["status"], "cancelled");
}

// The list filters by status and by type; a failed job's Retry runs it again.
TEST_F(DashboardInABrowser, TheListFiltersByStatusAndTypeAndRetries) {
  jobd_process server({});
  http_client c(server.port());
  const std::string failed =
      c.post("/v1/jobs?wait=true", R"({"type":"fail","payload":{"message":"no"}})").json()["id"];
  const std::string echoed = c.post("/v1/jobs?wait=true", R"({"type":"echo"})").json()["id"];
  open(server);
  EXPECT_TRUE(page.until("return document.querySelectorAll('#jobs tr').length === 2;", 20s));
  const std::string ids =
      "return [...document.querySelectorAll('#jobs tr')].map(r => "
      "r.dataset.id).join(',');";
  page.run(
      "const s = document.getElementById('filter-status'); s.value = 'failed'; "
      "s.dispatchEvent(new Event('change')); return null;");
  EXPECT_TRUE(page.until("return (function(){" + ids + "})() === '" + failed + "';", 1s));
  // Its Retry button runs it again as its next attempt.
  page.run("document.querySelector('#jobs tr').click(); return null;");
  EXPECT_TRUE(page.until(
      "return document.getElementById('detail-id').textContent === '" + failed + "';", 1s));
  page.run("document.getElementById('retry').click(); return null;");
  EXPECT_TRUE(page.until(
      "return document.getElementById('action-result').textContent.startsWith('202');", 2s));
  EXPECT_TRUE(page.until(
      "return document.getElementById('detail-body').textContent.includes('\"attempt\": 2');", 2s));
  EXPECT_EQ(wait_terminal(c, failed)["attempt"], 2);
  page.run(
      "const s = document.getElementById('filter-status'); s.value = ''; "
      "s.dispatchEvent(new Event('change')); const t = "
      "document.getElementById('filter-type'); t.value = 'ech'; "
      "t.dispatchEvent(new Event('input')); return null;");
  EXPECT_TRUE(page.until("return (function(){" + ids + "})() === '" + echoed + "';", 1s));
}

TEST_F(DashboardInABrowser, WithAuthOnNothingShowsBeforeTheToken) {
  temp_folder dir;
  const std::string token = "tok-" + std::string(32, 'b');
  std::ofstream(dir.path() / "tokens") << token << "\n";
  jobd_process server({"--auth-token-file", (dir.path() / "tokens").string()});
  open(server);
  EXPECT_TRUE(page.until("return !document.getElementById('login').hidden;", 20s));
  EXPECT_EQ(page.run("return getComputedStyle(document.getElementById('board')).display;"), "none");
  EXPECT_EQ(page.run("return document.getElementById('workers').textContent;"), "");
  page.run("document.getElementById('token').value = '" + token +
           "'; document.getElementById('login').requestSubmit(); return null;");
  EXPECT_TRUE(page.until("return document.getElementById('state').textContent === 'live';", 5s));
  EXPECT_TRUE(
      page.until("return document.getElementById('workers').textContent.includes('idle');", 1s));
  // Kept for the tab's life, never put in a URL.
  EXPECT_EQ(page.run("return sessionStorage.getItem('jobd-token');"), token);
  EXPECT_EQ(page.run("return location.href.includes('tok-');"), false);
}

// A point of the series `name` above zero: its rate was shown. (The legend shows the newest
// rate only, which may be back to 0 when it is read.)
std::string rose(const std::string& name) {
  return "const l = document.querySelector('#rates polyline.series-" + name +
         "'); return l !== null && (l.getAttribute('points') || '').split(' ').some(p => "
         "p.includes(',') && Number(p.split(',')[1]) < 99.9);";
}

// The rates chart draws what the pool's counters say: submissions, ends and refusals. A busy
// jobd, screenshot wide and narrow.
TEST_F(DashboardInABrowser, TheRatesShowSubmissionsEndsAndRefusals) {
  jobd_process server({"--events-interval-ms", "100", "--events-job-rate", "10", "--workers", "1",
                       "--reserved-high-workers", "0", "--queue-capacity", "2"});
  open(server);
  EXPECT_TRUE(page.until("return document.getElementById('state').textContent === 'live';", 20s));
  http_client c(server.port());
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(c.post("/v1/jobs?wait=true", R"({"type":"noop","priority":"high"})").status, 200);
  }
  EXPECT_EQ(c.post("/v1/jobs?wait=true", R"({"type":"fail"})").status, 500);
  // The worker busy, the lane full: the next is refused.
  const std::string hold = submit_async(c, sleep_job(60000));
  wait_running(c, hold);
  for (int i = 0; i < 2; ++i) (void)submit_async(c, sleep_job(60000));
  EXPECT_EQ(c.post("/v1/jobs", sleep_job(60000)).status, 503);
  for (const char* name : {"submitted", "succeeded", "failed", "rejected"}) {
    EXPECT_TRUE(page.until(rose(name), 2s)) << name;
  }
  EXPECT_EQ(page.run(rose("timed_out")), false);
  EXPECT_TRUE(
      page.until("return /^top \\d+\\/s, the last \\d+ "
                 "s$/.test(document.getElementById('rates-top').textContent);",
                 1s));
  EXPECT_TRUE(page.until(
      "return document.querySelector('#lanes').textContent.includes('normal: 2 of 2 queued');",
      1s));
  // 20 jobs in a moment are far more job events than this jobd streams (one in 100 ms): the
  // page was told it missed some, and lists the jobs again by itself.
  EXPECT_TRUE(page.until("return (function(){" + row_text(hold) + "})().includes('running');", 2s));
  EXPECT_TRUE(page.until("return document.getElementById('state').textContent === 'live';", 2s));
  page.screenshot(1280, 900,
                  std::filesystem::path(JOBD_SCREENSHOT_DIR) / "dashboard-busy-wide.png");
  page.screenshot(390, 844,
                  std::filesystem::path(JOBD_SCREENSHOT_DIR) / "dashboard-busy-narrow.png");
}

// jobd stops and starts again on its port: the page says it is away, comes back by itself and
// shows the new jobd's jobs.
TEST_F(DashboardInABrowser, ComesBackByItselfAfterARestart) {
  std::uint16_t port = 0;
  {
    jobd_process first({});
    port = first.port();
    open(first);
    EXPECT_TRUE(page.until("return document.getElementById('state').textContent === 'live';", 20s));
    first.signal(SIGKILL);
    (void)first.wait_exit();
  }
  EXPECT_TRUE(
      page.until("return document.getElementById('state').textContent === 'reconnecting';", 2s));
  jobd_process second({"--listen", "127.0.0.1:" + std::to_string(port)});
  http_client c(second.port());
  const std::string id = c.post("/v1/jobs?wait=true", R"({"type":"echo"})").json()["id"];
  EXPECT_TRUE(page.until("return document.getElementById('state').textContent === 'live';", 3s));
  EXPECT_TRUE(page.until("return (function(){" + row_text(id) + "})().includes('succeeded');", 1s));
}

// A pipeline's stage pools are shown beside the lanes, and a job's detail shows its stages.
TEST_F(DashboardInABrowser, ShowsStagePoolsAndAJobsStages) {
  temp_folder dir;
  const auto config = dir.path() / "jobd.json";
  std::ofstream(config)
      << json{{"job_types",
               {{"slow-pipe",
                 {{"kind", "pipeline"},
                  {"stages",
                   {{{"type", "echo"}},
                    {{"type", "sleep"}, {"workers", 1}, {"queue_capacity", 1}}}}}}}}}
             .dump();
  jobd_process server({"--config", config.string(), "--workers", "4"});
  http_client c(server.port());
  // One runs in the stage, one waits in its queue.
  const std::string first = submit_async(c, R"({"type":"slow-pipe","payload":{"ms":60000}})");
  (void)submit_async(c, R"({"type":"slow-pipe","payload":{"ms":60000}})");
  open(server);
  EXPECT_TRUE(page.until("return document.getElementById('state').textContent === 'live';", 20s));
  EXPECT_TRUE(
      page.until("return document.getElementById('lanes').textContent.includes("
                 "'slow-pipe stage 1 (sleep): 1 of 1 busy, 1 of 1 queued');",
                 3s))
      << page.run("return document.getElementById('lanes').textContent;");
  EXPECT_TRUE(page.until("const r = document.querySelector('#jobs tr[data-id=\"" + first +
                             "\"]'); if (r) r.click(); return r !== null;",
                         1s));
  EXPECT_TRUE(
      page.until("const t = document.getElementById('detail-body').textContent; "
                 "return t.includes('\"stages\"') && t.includes('\"skipped\"') === false "
                 "&& t.includes('\"running\"');",
                 2s));
}

}  // namespace
}  // namespace jobd::testing
