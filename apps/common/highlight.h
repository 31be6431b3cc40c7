// Showing which tokens a model weighed most: as an HTML page (each token's background shaded
// by its weight) or in a terminal (ANSI colours, plain text when the stream is not a terminal
// or NO_COLOR is set, https://no-color.org).
#pragma once
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace heed::apps {

struct WeightedToken {
  std::string text;
  double weight = 0;  // any scale >= 0; shading is relative to the largest weight in the text
};

struct HighlightedText {
  std::string heading;  // e.g. "spam (p = 0.998)"
  std::vector<WeightedToken> tokens;
};

// &, <, >, " and ' as entities.
std::string html_escape(std::string_view text);
// A self-contained HTML page: title, then each text with its heading and shaded tokens (the
// weight is also in each token's tooltip).
std::string highlight_html(const std::string& title, const std::vector<HighlightedText>& texts);

// True when `stream` is a terminal and the NO_COLOR environment variable is unset or empty.
bool use_colour(std::FILE* stream);
// The tokens separated by spaces; with colour, the heavier ones on a yellow-to-red background
// (the top quarter of weights bold red), light ones plain.
std::string highlight_terminal(const std::vector<WeightedToken>& tokens, bool colour);

}  // namespace heed::apps
