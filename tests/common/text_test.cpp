#include "common/text.hpp"

#include <gtest/gtest.h>

#include <string>

namespace jobd {
namespace {

TEST(Text, Utf8SequencesAreMeasuredWithTheirMaximalIllFormedSubpart) {
  auto at = [](const std::string& s) {
    const utf8_sequence seq = utf8_at(s.data(), s.data() + s.size());
    return std::to_string(seq.length) + (seq.valid ? " valid" : " invalid");
  };
  EXPECT_EQ(at("a"), "1 valid");
  EXPECT_EQ(at("\xc3\xa9"), "2 valid");
  EXPECT_EQ(at("\xe2\x82\xac"), "3 valid");
  EXPECT_EQ(at("\xf0\x9f\x98\x80"), "4 valid");
  EXPECT_EQ(at("\xe2\x82"), "2 invalid");  // cut short by the end
  EXPECT_EQ(at("\xe2\x82"
               "A"),
            "2 invalid");                          // cut short by an ASCII byte
  EXPECT_EQ(at("\xe0\x80\x80"), "1 invalid");      // overlong: E0 needs A0..BF next
  EXPECT_EQ(at("\xed\xa0\x80"), "1 invalid");      // a surrogate
  EXPECT_EQ(at("\xf4\x90\x80\x80"), "1 invalid");  // past U+10FFFF
  EXPECT_EQ(at("\xc0\xaf"), "1 invalid");          // C0 begins no sequence
  EXPECT_EQ(at("\x80"), "1 invalid");
  EXPECT_EQ(at("\xff"), "1 invalid");
}

TEST(Text, ValidUtf8ReplacesEachIllFormedSubpartOnce) {
  EXPECT_EQ(valid_utf8("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(valid_utf8("a\xff"
                       "b"),
            "a\xef\xbf\xbd"
            "b");
  EXPECT_EQ(valid_utf8("\xe2\x82"
                       "A"),
            "\xef\xbf\xbd"
            "A");
  EXPECT_EQ(valid_utf8("\xe0\x80\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(valid_utf8("ok\xf0\x9f\x98"), "ok\xef\xbf\xbd");
  EXPECT_EQ(valid_utf8(""), "");
}

TEST(Text, PrintableWritesControlCharactersAsEscapes) {
  EXPECT_EQ(printable("two\nlines\x1b[2J\x7f"), "two\\x0alines\\x1b[2J\\x7f");
  EXPECT_EQ(printable("caf\xc3\xa9 \"ok\""), "caf\xc3\xa9 \"ok\"");  // UTF-8 and quotes stay
}

TEST(Text, PercentEncodingLeavesPrintableAsciiAlone) {
  EXPECT_EQ(percent_encode_unprintable("/v1/jobs?wait=true"), "/v1/jobs?wait=true");
  EXPECT_EQ(percent_encode_unprintable("/a\xff b\x1b"), "/a%FF%20b%1B");
}

TEST(Text, Base64IsPaddedAsRfc4648Says) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64(std::string("\0\xff", 2)), "AP8=");
}

}  // namespace
}  // namespace jobd
