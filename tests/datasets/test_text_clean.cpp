// UTF-8 repair, transfer encodings, HTML to text, and whole emails (tests/fixtures/text).
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "datasets/text_clean.h"

using namespace heed::data;

namespace {
std::string fixture(const std::string& name) {
  std::ifstream in(std::string(HEED_FIXTURES_DIR) + "/text/" + name, std::ios::binary);
  REQUIRE(in);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}
const std::string kFFFD = "\xEF\xBF\xBD";
}  // namespace

TEST_CASE("sanitize_utf8 keeps valid UTF-8 and replaces each invalid subpart") {
  const std::string valid = "ascii caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80";
  CHECK(sanitize_utf8(valid) == valid);
  CHECK(sanitize_utf8("a\xFF" "b") == "a" + kFFFD + "b");
  CHECK(sanitize_utf8("\xC0\xAF") == kFFFD + kFFFD);                  // overlong: two bad bytes
  CHECK(sanitize_utf8("\xED\xA0\x80") == kFFFD + kFFFD + kFFFD);      // a UTF-16 surrogate
  CHECK(sanitize_utf8("\xF4\x90\x80\x80") == kFFFD + kFFFD + kFFFD + kFFFD);  // above U+10FFFF
  CHECK(sanitize_utf8("\xE2\x82") == kFFFD);                          // truncated: one maximal subpart
  CHECK(sanitize_utf8("\xE2\x82x") == kFFFD + "x");
  CHECK(sanitize_utf8(std::string("a\0b", 3)) == std::string("a\0b", 3));
}

TEST_CASE("latin1_to_utf8 and windows-1252") {
  CHECK(latin1_to_utf8("caf\xE9") == "caf\xC3\xA9");
  CHECK(latin1_to_utf8("\x80") == "\xC2\x80");
  CHECK(latin1_to_utf8("\x80", true) == "\xE2\x82\xAC");  // the euro sign
  CHECK(latin1_to_utf8("\x96", true) == "\xE2\x80\x93");  // en dash
}

TEST_CASE("decode_quoted_printable") {
  CHECK(decode_quoted_printable("caf=E9 =3D equal") == "caf\xE9 = equal");
  CHECK(decode_quoted_printable("soft=\nbreak and=  \r\nmore") == "softbreak andmore");
  CHECK(decode_quoted_printable("lower =c3=a9") == "lower \xC3\xA9");
  CHECK(decode_quoted_printable("bad =ZZ and end=") == "bad =ZZ and end");
  CHECK(decode_quoted_printable("=4") == "=4");
}

TEST_CASE("decode_base64 skips whitespace and stops at garbage") {
  CHECK(decode_base64("aGVsbG8gd29y\r\nbGQ=") == "hello world");
  CHECK(decode_base64("aGk=trailing") == "hi");
  CHECK(decode_base64("aGVsbG8*junk") == "hello");
  CHECK(decode_base64("aGVsbA") == "hell");  // no padding
  CHECK(decode_base64("") == "");
  CHECK(decode_base64("Q") == "");  // six bits make no byte
}

TEST_CASE("strip_html drops tags, scripts, styles and comments and decodes entities") {
  CHECK(strip_html("<p>Hello <b>world</b></p>") == "Hello world");
  CHECK(strip_html("a<script type='x'>var s = '</p>';</script>b<STYLE>p{}</STYLE>c") == "abc");
  CHECK(strip_html("x<!-- <p>hidden</p> -->y") == "xy");
  CHECK(strip_html("Tom &amp; Jerry &lt;3 &#233; &#xE9; &nbsp;&bogus; &") ==
        "Tom & Jerry <3 \xC3\xA9 \xC3\xA9 &bogus; &");
  CHECK(strip_html("line one<br>line two<div>three</div>") == "line one\nline two\nthree");
  CHECK(strip_html("1 < 2 and 3 > 2") == "1 < 2 and 3 > 2");
  CHECK(strip_html("<a href=\"x>y\">link</a>") == "link");
  CHECK(strip_html("  lots \n\n of\t space ") == "lots of space");
  CHECK(strip_html("<td>a</td><td>b</td>") == "a b");
  CHECK(strip_html("unclosed <b") == "unclosed");
}

TEST_CASE("clean_email decodes a quoted-printable HTML email with an encoded Latin-1 subject") {
  const std::string text = clean_email(fixture("folder/spam/0003.txt"));
  CHECK(text == "You won \xC2\xA3" "100\n\nClick now & claim your prize!\nCaf\xC3\xA9 bonus");
}

TEST_CASE("clean_email walks multipart, prefers plain in alternative and drops attachments") {
  const std::string text = clean_email(fixture("multipart.eml"));
  CHECK(text == "Quarterly report\n\nPlain version of the report.\nSee you soon \xE2\x80\x93 Bob");
}

TEST_CASE("clean_email handles CRLF, missing headers, and plain bodies") {
  CHECK(clean_email("Subject: hi\r\nFrom: x\r\n\r\nbody\r\nline\r\n") == "hi\n\nbody\nline");
  CHECK(clean_email("just some text\nno headers") == "\n\njust some text\nno headers");
  CHECK(clean_email("") == "\n\n");
  CHECK(clean_email("Subject: only headers") == "only headers\n\n");
  CHECK(clean_email("Subject: x\n\n\xFF") == "x\n\n" + kFFFD);
  const std::string alternative_html_only =
      "Subject: s\nContent-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/html\n\n<i>only html</i>\n--b--\n";
  CHECK(clean_email(alternative_html_only) == "s\n\nonly html");
}

TEST_CASE("clean_email survives deep nesting and broken MIME without throwing") {
  std::string deep = "Subject: deep\nContent-Type: multipart/mixed; boundary=b\n\n";
  for (int i = 0; i < 200; ++i) deep += "--b\nContent-Type: multipart/mixed; boundary=b\n\n";
  deep += "--b\n\ninnermost\n";
  std::string text;
  CHECK_NOTHROW(text = clean_email(deep));
  CHECK(text.starts_with("deep\n\n"));
  CHECK_NOTHROW(text = clean_email("Content-Type: multipart/mixed; boundary=\"\nContent-Transfer-Encoding: base64\n\n@@@"));
  CHECK(sanitize_utf8(text) == text);
}
