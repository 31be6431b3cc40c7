#include "datasets/text_clean.h"

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

namespace heed::data {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

void append_utf8(std::string& out, uint32_t cp) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    out += kReplacement;
  } else if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_alnum(char c) { return is_alpha(c) || (c >= '0' && c <= '9'); }
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool starts_with_ci(std::string_view s, size_t at, std::string_view prefix) {
  if (at > s.size() || s.size() - at < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (lower(s[at + i]) != prefix[i]) return false;
  return true;
}

// Position of `needle` (lowercase) in s at or after `from`, ignoring case; npos when absent.
size_t find_ci(std::string_view s, std::string_view needle, size_t from) {
  for (size_t i = from; i + needle.size() <= s.size(); ++i)
    if (starts_with_ci(s, i, needle)) return i;
  return std::string_view::npos;
}

// ---------------------------------------------------------------- HTML

struct NamedEntity {
  std::string_view name;
  uint32_t code_point;
};
constexpr std::array<NamedEntity, 26> kEntities = {{
    {"amp", '&'},       {"lt", '<'},        {"gt", '>'},        {"quot", '"'},      {"apos", '\''},
    {"nbsp", ' '},      {"copy", 0xA9},     {"reg", 0xAE},      {"trade", 0x2122},  {"mdash", 0x2014},
    {"ndash", 0x2013},  {"hellip", 0x2026}, {"lsquo", 0x2018},  {"rsquo", 0x2019},  {"ldquo", 0x201C},
    {"rdquo", 0x201D},  {"bull", 0x2022},   {"middot", 0xB7},   {"euro", 0x20AC},   {"pound", 0xA3},
    {"yen", 0xA5},      {"cent", 0xA2},     {"deg", 0xB0},      {"laquo", 0xAB},    {"raquo", 0xBB},
    {"times", 0xD7},
}};

// Decodes the entity at html[i] == '&' into out; returns the bytes consumed (0: not an entity).
size_t decode_entity(std::string_view html, size_t i, std::string& out) {
  const size_t semicolon = html.substr(i, 12).find(';');
  if (semicolon == std::string_view::npos || semicolon < 2) return 0;
  std::string_view body = html.substr(i + 1, semicolon - 1);
  if (body[0] == '#') {
    const bool hex = body.size() > 1 && (body[1] == 'x' || body[1] == 'X');
    std::string_view digits = body.substr(hex ? 2 : 1);
    if (digits.empty() || digits.size() > 8) return 0;
    uint32_t cp = 0;
    for (char c : digits) {
      int v = hex ? hex_value(c) : (c >= '0' && c <= '9' ? c - '0' : -1);
      if (v < 0) return 0;
      cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(v);
    }
    append_utf8(out, cp == 0 ? 0xFFFD : cp);
    return semicolon + 1;
  }
  const std::string name = to_lower(body);
  for (const auto& entity : kEntities)
    if (entity.name == name) {
      append_utf8(out, entity.code_point);
      return semicolon + 1;
    }
  return 0;
}

bool is_block_tag(std::string_view name) {
  static constexpr std::array<std::string_view, 16> kBlock = {"br", "p",  "div", "tr", "li", "ul", "ol", "table",
                                                              "h1", "h2", "h3",  "h4", "h5", "h6", "hr", "blockquote"};
  for (auto tag : kBlock)
    if (tag == name) return true;
  return false;
}

// Runs of whitespace become one space, or one line break when the run holds one.
std::string collapse_whitespace(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (!is_space(text[i])) {
      out += text[i++];
      continue;
    }
    bool newline = false;
    while (i < text.size() && is_space(text[i])) newline |= text[i++] == '\n';
    out += newline ? '\n' : ' ';
  }
  return std::string(trim(out));
}

// ---------------------------------------------------------------- MIME

struct Header {
  std::string name;  // lowercase
  std::string value;
};

struct Entity {
  std::vector<Header> headers;
  std::string_view body;

  std::string_view header(std::string_view name) const {
    for (const auto& h : headers)
      if (h.name == name) return h.value;
    return {};
  }
};

bool is_header_line(std::string_view line) {
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  for (size_t i = 0; i < colon; ++i)
    if (static_cast<unsigned char>(line[i]) <= ' ' || static_cast<unsigned char>(line[i]) >= 127) return false;
  return true;
}

// Splits an entity (line endings already "\n") into its headers and body. Input that does not
// start with a header (or an mbox "From " line) is all body.
Entity parse_entity(std::string_view raw) {
  Entity entity;
  size_t pos = 0;
  auto next_line = [&](std::string_view& line) {
    if (pos >= raw.size()) return false;
    size_t end = raw.find('\n', pos);
    if (end == std::string_view::npos) end = raw.size();
    line = raw.substr(pos, end - pos);
    pos = std::min(end + 1, raw.size());
    return true;
  };
  if (raw.substr(0, 5) == "From ") {
    std::string_view skipped;
    next_line(skipped);
  }
  const size_t headers_start = pos;
  std::string_view line;
  while (next_line(line)) {
    if (trim(line).empty()) {
      entity.body = raw.substr(pos);
      return entity;
    }
    if ((line[0] == ' ' || line[0] == '\t') && !entity.headers.empty()) {
      entity.headers.back().value += ' ';
      entity.headers.back().value += trim(line);
    } else if (is_header_line(line)) {
      const size_t colon = line.find(':');
      entity.headers.push_back({to_lower(line.substr(0, colon)), std::string(trim(line.substr(colon + 1)))});
    } else if (entity.headers.empty()) {  // no headers at all: the whole input is the body
      entity.body = raw.substr(headers_start);
      return entity;
    }
  }
  return entity;  // headers only
}

struct ContentType {
  std::string type = "text/plain";  // lowercase "type/subtype"
  std::string charset, boundary;
};

ContentType parse_content_type(std::string_view value) {
  ContentType result;
  if (trim(value).empty()) return result;
  // Split on ';' outside quotes.
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (char c : value) {
    if (c == '"') quoted = !quoted;
    else if (c == ';' && !quoted) fields.emplace_back();
    else fields.back() += c;
  }
  result.type = to_lower(trim(fields[0]));
  for (size_t i = 1; i < fields.size(); ++i) {
    std::string_view field = trim(fields[i]);
    const size_t eq = field.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string key = to_lower(trim(field.substr(0, eq)));
    const std::string_view param = trim(field.substr(eq + 1));
    if (key == "charset") result.charset = to_lower(param);
    else if (key == "boundary") result.boundary = std::string(param);
  }
  return result;
}

std::string convert_charset(std::string_view bytes, std::string_view charset) {
  if (charset == "iso-8859-1" || charset == "iso8859-1" || charset == "latin1" || charset == "iso-8859-15" ||
      charset == "iso_8859-1")
    return latin1_to_utf8(bytes);
  if (charset == "windows-1252" || charset == "cp1252") return latin1_to_utf8(bytes, true);
  return std::string(bytes);  // UTF-8, ASCII or unknown: repaired by the final sanitize
}

std::string decode_transfer(std::string_view body, std::string_view encoding) {
  const std::string name = to_lower(trim(encoding));
  if (name == "quoted-printable") return decode_quoted_printable(body);
  if (name == "base64") return decode_base64(body);
  return std::string(body);
}

// RFC 2047 encoded words ("=?charset?Q?text?=") in a header value; whitespace between two
// encoded words is dropped.
constexpr size_t kMaxEncodedWord = 1024;  // RFC 2047 allows 75 bytes; mailers exceed it
std::string decode_header_words(std::string_view value) {
  std::string out;
  size_t i = 0;
  bool after_word = false;
  std::string pending_space;
  while (i < value.size()) {
    if (value.substr(i, 2) == "=?") {
      const std::string_view word = value.substr(0, i + kMaxEncodedWord);  // bounds the searches
      const size_t charset_end = word.find('?', i + 2);
      if (charset_end != std::string_view::npos && charset_end + 2 < word.size() && word[charset_end + 2] == '?') {
        const char encoding = lower(word[charset_end + 1]);
        const size_t text_end = word.find("?=", charset_end + 3);
        if (text_end != std::string_view::npos && (encoding == 'q' || encoding == 'b')) {
          std::string_view text = value.substr(charset_end + 3, text_end - charset_end - 3);
          std::string bytes;
          if (encoding == 'b') {
            bytes = decode_base64(text);
          } else {
            std::string underscores(text);
            for (char& c : underscores)
              if (c == '_') c = ' ';
            bytes = decode_quoted_printable(underscores);
          }
          if (!after_word) out += pending_space;
          pending_space.clear();
          out += convert_charset(bytes, to_lower(value.substr(i + 2, charset_end - i - 2)));
          i = text_end + 2;
          after_word = true;
          continue;
        }
      }
    }
    if (is_space(value[i])) {
      pending_space += value[i++];
      continue;
    }
    out += pending_space;
    pending_space.clear();
    out += value[i++];
    after_word = false;
  }
  return out;
}

// The parts of a multipart body between "--boundary" lines (preamble and epilogue dropped).
std::vector<std::string_view> split_multipart(std::string_view body, std::string_view boundary) {
  std::vector<std::string_view> parts;
  const std::string delimiter = "--" + std::string(boundary);
  size_t part_start = std::string_view::npos;
  size_t search = 0;
  while (true) {
    size_t at = body.find(delimiter, search);
    if (at == std::string_view::npos) break;
    search = at + delimiter.size();
    if (at != 0 && body[at - 1] != '\n') continue;
    if (part_start != std::string_view::npos) {
      const size_t part_end = at > part_start ? at - 1 : part_start;  // drop the line break before
      parts.push_back(body.substr(part_start, part_end - part_start));
    }
    if (body.substr(search, 2) == "--") return parts;  // closing delimiter
    const size_t line_end = body.find('\n', search);
    if (line_end == std::string_view::npos) return parts;
    part_start = line_end + 1;
  }
  if (part_start != std::string_view::npos) parts.push_back(body.substr(part_start));  // no closing line
  return parts;
}

constexpr int kMaxDepth = 16;

void render(const Entity& entity, int depth, std::vector<std::string>& out);

// Renders one entity's text, for multipart/alternative's choice.
std::string render_alone(const Entity& entity, int depth) {
  std::vector<std::string> texts;
  render(entity, depth, texts);
  std::string joined;
  for (const auto& t : texts) joined += joined.empty() ? t : "\n" + t;
  return joined;
}

void render(const Entity& entity, int depth, std::vector<std::string>& out) {
  if (depth > kMaxDepth) return;
  if (to_lower(entity.header("content-disposition")).starts_with("attachment")) return;
  const ContentType type = parse_content_type(entity.header("content-type"));
  if (type.type.starts_with("multipart/") && !type.boundary.empty()) {
    std::vector<Entity> parts;
    for (std::string_view part : split_multipart(entity.body, type.boundary)) parts.push_back(parse_entity(part));
    if (type.type == "multipart/alternative") {
      std::string plain, other;
      for (const auto& part : parts) {
        std::string text = render_alone(part, depth + 1);
        if (text.empty()) continue;
        std::string& slot = parse_content_type(part.header("content-type")).type == "text/plain" ? plain : other;
        if (slot.empty()) slot = std::move(text);
      }
      if (!plain.empty() || !other.empty()) out.push_back(plain.empty() ? std::move(other) : std::move(plain));
      return;
    }
    for (const auto& part : parts) render(part, depth + 1, out);
    return;
  }
  if (type.type == "message/rfc822") {
    render(parse_entity(entity.body), depth + 1, out);
    return;
  }
  const bool html = type.type == "text/html";
  if (!html && type.type != "text/plain" && !type.type.starts_with("multipart/")) return;
  std::string text = convert_charset(decode_transfer(entity.body, entity.header("content-transfer-encoding")),
                                     type.charset);
  if (html) text = strip_html(text);
  std::string_view trimmed = trim(text);
  if (!trimmed.empty()) out.emplace_back(trimmed);
}

// "\r\n" -> "\n".
std::string normalize_newlines(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i)
    if (!(raw[i] == '\r' && i + 1 < raw.size() && raw[i + 1] == '\n')) out += raw[i];
  return out;
}

}  // namespace

std::string sanitize_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  const size_t n = bytes.size();
  while (i < n) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    if (b < 0x80) {
      out += static_cast<char>(b);
      ++i;
      continue;
    }
    int need;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) need = 1;
    else if (b == 0xE0) need = 2, lo = 0xA0;
    else if (b == 0xED) need = 2, hi = 0x9F;
    else if (b >= 0xE1 && b <= 0xEF) need = 2;
    else if (b == 0xF0) need = 3, lo = 0x90;
    else if (b >= 0xF1 && b <= 0xF3) need = 3;
    else if (b == 0xF4) need = 3, hi = 0x8F;
    else {
      out += kReplacement;
      ++i;
      continue;
    }
    size_t j = i + 1;
    bool valid = true;
    for (int k = 0; k < need; ++k, ++j) {
      const auto c = j < n ? static_cast<unsigned char>(bytes[j]) : 0;
      if (j >= n || c < (k == 0 ? lo : 0x80) || c > (k == 0 ? hi : 0xBF)) {
        valid = false;
        break;
      }
    }
    if (valid) out.append(bytes.substr(i, j - i));
    else out += kReplacement;
    i = j;
  }
  return out;
}

std::string latin1_to_utf8(std::string_view bytes, bool windows_1252) {
  static constexpr std::array<uint16_t, 32> kWindows1252 = {
      0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
      0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD, 0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
      0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178};
  std::string out;
  out.reserve(bytes.size());
  for (char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    if (windows_1252 && b >= 0x80 && b < 0xA0) append_utf8(out, kWindows1252[b - 0x80]);
    else append_utf8(out, b);
  }
  return out;
}

std::string decode_quoted_printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '=') {
      out += text[i++];
      continue;
    }
    if (i + 2 < text.size() && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 3;
      continue;
    }
    size_t j = i + 1;  // a soft line break: "=", optional blanks, end of line
    while (j < text.size() && (text[j] == ' ' || text[j] == '\t')) ++j;
    if (j == text.size()) {
      i = j;
    } else if (text[j] == '\n') {
      i = j + 1;
    } else if (text[j] == '\r' && j + 1 < text.size() && text[j + 1] == '\n') {
      i = j + 2;
    } else {
      out += text[i++];
    }
  }
  return out;
}

std::string decode_base64(std::string_view text) {
  std::string out;
  out.reserve(text.size() / 4 * 3 + 3);
  uint32_t accumulated = 0;
  int bits = 0;
  for (char c : text) {
    if (is_space(c)) continue;
    int value;
    if (c >= 'A' && c <= 'Z') value = c - 'A';
    else if (c >= 'a' && c <= 'z') value = c - 'a' + 26;
    else if (c >= '0' && c <= '9') value = c - '0' + 52;
    else if (c == '+') value = 62;
    else if (c == '/') value = 63;
    else break;  // padding or garbage: the end
    accumulated = (accumulated << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((accumulated >> bits) & 0xFF);
      accumulated &= (1u << bits) - 1;
    }
  }
  return out;
}

std::string strip_html(std::string_view html) {
  std::string text;
  text.reserve(html.size());
  size_t i = 0;
  const size_t n = html.size();
  while (i < n) {
    const char c = html[i];
    if (c == '&') {
      const size_t used = decode_entity(html, i, text);
      if (used == 0) text += c;
      i += used == 0 ? 1 : used;
      continue;
    }
    if (c != '<') {
      text += is_space(c) ? ' ' : c;
      ++i;
      continue;
    }
    if (html.substr(i, 4) == "<!--") {
      const size_t end = html.find("-->", i + 4);
      i = end == std::string_view::npos ? n : end + 3;
      continue;
    }
    size_t j = i + 1;
    const bool closing = j < n && html[j] == '/';
    if (closing) ++j;
    const size_t name_start = j;
    while (j < n && is_alnum(html[j])) ++j;
    const std::string name = to_lower(html.substr(name_start, j - name_start));
    const bool declaration = i + 1 < n && (html[i + 1] == '!' || html[i + 1] == '?');
    if ((name.empty() || !is_alpha(name[0])) && !declaration) {  // "a < b": not a tag
      text += c;
      ++i;
      continue;
    }
    char quote = 0;  // find the tag's '>' outside quoted attribute values
    while (j < n && (quote != 0 || html[j] != '>')) {
      if (quote == 0 && (html[j] == '"' || html[j] == '\'')) quote = html[j];
      else if (html[j] == quote) quote = 0;
      ++j;
    }
    i = j < n ? j + 1 : n;
    if (!closing && (name == "script" || name == "style")) {
      const size_t end = find_ci(html, name == "script" ? "</script" : "</style", i);
      const size_t close = end == std::string_view::npos ? std::string_view::npos : html.find('>', end);
      i = close == std::string_view::npos ? n : close + 1;
      continue;
    }
    if (is_block_tag(name)) text += '\n';
    else if (name == "td" || name == "th") text += ' ';
  }
  return collapse_whitespace(text);
}

std::string clean_email(std::string_view raw) {
  const std::string normalized = normalize_newlines(raw);
  const Entity email = parse_entity(normalized);
  std::vector<std::string> texts;
  render(email, 0, texts);
  std::string result = collapse_whitespace(decode_header_words(email.header("subject")));
  result += "\n\n";
  for (size_t i = 0; i < texts.size(); ++i) {
    if (i > 0) result += '\n';
    result += texts[i];
  }
  return sanitize_utf8(result);
}

}  // namespace heed::data
