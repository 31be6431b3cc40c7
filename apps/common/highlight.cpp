#include "apps/common/highlight.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace heed::apps {

namespace {

double max_weight(const std::vector<WeightedToken>& tokens) {
  double m = 0;
  for (const auto& t : tokens) m = std::max(m, t.weight);
  return m;
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string highlight_html(const std::string& title, const std::vector<HighlightedText>& texts) {
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{0}</title>\n<style>\n"
      "body {{ font-family: sans-serif; max-width: 60em; margin: 2em auto; line-height: 1.9; }}\n"
      "span.t {{ padding: 1px 2px; border-radius: 3px; }}\n"
      "div.text {{ border-top: 1px solid #ccc; padding-top: 0.5em; margin-bottom: 1.5em; }}\n"
      "</style></head><body>\n<h1>{0}</h1>\n",
      html_escape(title));
  for (const auto& text : texts) {
    out += fmt::format("<div class=\"text\"><h2>{}</h2>\n<p>", html_escape(text.heading));
    double top = max_weight(text.tokens);
    for (const auto& token : text.tokens) {
      double alpha = top > 0 ? std::clamp(token.weight / top, 0.0, 1.0) : 0.0;
      out += fmt::format("<span class=\"t\" style=\"background: rgba(255, 80, 0, {:.3f})\" title=\"{:.4f}\">{}</span> ",
                         alpha, token.weight, html_escape(token.text));
    }
    out += "</p></div>\n";
  }
  out += "</body></html>\n";
  return out;
}

bool use_colour(std::FILE* stream) {
  const char* no_colour = std::getenv("NO_COLOR");
  if (no_colour != nullptr && no_colour[0] != '\0') return false;
  return isatty(fileno(stream)) != 0;
}

std::string highlight_terminal(const std::vector<WeightedToken>& tokens, bool colour) {
  double top = max_weight(tokens);
  std::string out;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i > 0) out += ' ';
    double level = top > 0 ? tokens[i].weight / top : 0;
    if (!colour || level < 0.25) {
      out += tokens[i].text;
    } else if (level < 0.5) {
      out += "\033[30;103m" + tokens[i].text + "\033[0m";  // black on bright yellow
    } else if (level < 0.75) {
      out += "\033[30;43m" + tokens[i].text + "\033[0m";  // black on yellow
    } else {
      out += "\033[1;97;41m" + tokens[i].text + "\033[0m";  // bold white on red
    }
  }
  return out;
}

}  // namespace heed::apps
