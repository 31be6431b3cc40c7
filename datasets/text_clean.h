// Turning raw bytes into clean UTF-8 text: UTF-8 repair, the MIME transfer encodings, HTML to
// text, and whole RFC 822 / MIME emails to "Subject\n\nbody". None of these ever throws on
// any input (only std::bad_alloc could escape).
#pragma once
#include <string>
#include <string_view>

namespace heed::data {

// Invalid sequences (each maximal invalid subpart, as the WHATWG decoder) -> U+FFFD.
std::string sanitize_utf8(std::string_view bytes);
// ISO-8859-1 bytes -> UTF-8; with `windows_1252`, 0x80-0x9F are Windows-1252's characters.
std::string latin1_to_utf8(std::string_view bytes, bool windows_1252 = false);
// "=XX" escapes and "=" soft line breaks; a malformed "=" is kept as it is.
std::string decode_quoted_printable(std::string_view text);
// Skips whitespace; stops cleanly at padding or at the first byte outside the alphabet.
std::string decode_base64(std::string_view text);
// Drops tags, comments, and script/style content; decodes common named and all numeric
// entities; block tags (p, br, div, tr, li, h1-h6) become line breaks; runs of spaces collapse.
std::string strip_html(std::string_view html);
// An RFC 822 / MIME email: "Subject line\n\nbody", where body is the text/plain and text/html
// parts (multipart walked recursively, in multipart/alternative the plain part preferred,
// quoted-printable and base64 decoded, HTML stripped, ISO-8859-1 and Windows-1252 converted),
// result sanitized to UTF-8. Other headers and attachments dropped. Never throws on any bytes.
std::string clean_email(std::string_view raw);

}  // namespace heed::data
