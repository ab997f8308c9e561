// The wrk scripts in bench/wrk/ as the README tells people to run them, against a real jobd:
// a malformed variable stops wrk before it sends anything, and a run the server refused
// entirely fails instead of printing a summary of refusals.
#include <gtest/gtest.h>

#include <string>

#include "../support/command.hpp"
#include "http_client.hpp"
#include "jobd_process.hpp"

namespace jobd::testing {
namespace {

const std::string wrk_dir = std::string(JOBD_SOURCE_DIR) + "/bench/wrk";

// wrk with `variables` (shell assignments) for a second on two connections to `port`.
command_result run_wrk(std::uint16_t port, const std::string& script,
                       const std::string& variables) {
  return run_command(variables + " wrk -t1 -c2 -d1s -s " + wrk_dir + "/" + script +
                     " http://127.0.0.1:" + std::to_string(port));
}

int exit_status(const command_result& r) {
  return WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1;
}

// The requests jobd answered on every route, from its own counter.
long answered(std::uint16_t port) {
  http_client c(port);
  const std::string metrics = c.get("/metrics").body;
  long total = 0;
  const std::string family = "jobd_http_requests_total{";
  for (auto at = metrics.find(family); at != std::string::npos; at = metrics.find(family, at)) {
    const auto space = metrics.find(' ', at);
    total += std::stol(metrics.substr(space + 1));
    at = space;
  }
  return total;
}

TEST(WrkScripts, APayloadThatIsNotJsonStopsWrkBeforeItSendsAnything) {
  jobd_process server({});
  for (const std::string script : {"submit.lua", "mixed.lua", "deadline.lua"}) {
    const auto r = run_wrk(server.port(), script, "JOB_TYPE=sleep JOB_PAYLOAD='{ms:10}'");
    EXPECT_EQ(exit_status(r), 2) << script << ": " << r.output;
    EXPECT_NE(r.output.find("JOB_PAYLOAD=\"{ms:10}\": not one JSON value: expected a member name "
                            "in double quotes at character 2"),
              std::string::npos)
        << script << ": " << r.output;
    EXPECT_EQ(r.output.find("WRK_"), std::string::npos) << script << ": " << r.output;
  }
  // Only the counting request itself: none of wrk's reached the server.
  EXPECT_EQ(answered(server.port()), 0);
}

TEST(WrkScripts, EachKindOfMalformedJsonIsNamedWithWhereItStops) {
  jobd_process server({});
  const std::pair<std::string, std::string> cases[] = {
      {R"('[1,2,]')", "expected a JSON value: null, true, false, a number"},
      {R"('{"ms":10} x')", "expected the end after one value at character 11"},
      {R"('"open')", "expected a closing \" at character 6"},
      {R"('{"ms" 10}')", "expected ':' after the member name at character 7"},
      {R"('01')", "expected the end after one value at character 2"},
      {R"('"\q"')", "expected an escape"},
  };
  for (const auto& [payload, says] : cases) {
    const auto r = run_wrk(server.port(), "submit.lua", "JOB_PAYLOAD=" + payload);
    EXPECT_EQ(exit_status(r), 2) << payload << ": " << r.output;
    EXPECT_NE(r.output.find(says), std::string::npos) << payload << ": " << r.output;
  }
}

TEST(WrkScripts, ValidPayloadsOfEveryShapeAreSent) {
  jobd_process server({});
  for (const std::string payload :
       {"null", "-0.5e3", R"('"text"')", R"('[1,[],{}]')",
        R"(' {"ms":1,"nested":{"list":[true,false,null,"\u00e9\n"]}} ')"}) {
    const auto r = run_wrk(server.port(), "submit.lua", "JOB_TYPE=echo JOB_PAYLOAD=" + payload);
    EXPECT_EQ(exit_status(r), 0) << payload << ": " << r.output;
    EXPECT_NE(r.output.find(R"("status":{"200":)"), std::string::npos)
        << payload << ": " << r.output;
  }
  EXPECT_GT(answered(server.port()), 5);
}

TEST(WrkScripts, ARunWhoseEveryAnswerWasA4xxFails) {
  jobd_process server({});
  const auto r = run_wrk(server.port(), "submit.lua", "JOB_TYPE=no-such-type");
  EXPECT_EQ(exit_status(r), 3) << r.output;
  // The summary still comes first, then the reason, then the server's own words.
  EXPECT_NE(r.output.find(R"(WRK_SUMMARY {)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("answers was a 4xx: nothing was measured"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("first 400 answer: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("no-such-type"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace jobd::testing
