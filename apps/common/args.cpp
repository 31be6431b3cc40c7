#include "apps/common/args.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "tensor/error.h"

namespace heed::apps {

Args::Args(std::string program, std::string summary) : program_(std::move(program)), summary_(std::move(summary)) {}

void Args::option(const std::string& name, const std::string& value_name, const std::string& default_value,
                  const std::string& help, bool required) {
  option_order_.push_back(name);
  options_[name] = Spec{value_name, default_value, help, false, required};
  values_[name] = default_value;
}

void Args::flag(const std::string& name, const std::string& help) {
  option_order_.push_back(name);
  options_[name] = Spec{"", "", help, true, false};
}

void Args::positional(const std::string& name, const std::string& help, bool required) {
  positionals_.push_back({name, Spec{"", "", help, false, required}});
}

bool Args::parse(int argc, const char* const* argv, int start) {
  size_t next_positional = 0;
  for (int i = start; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      fmt::print("{}", help());
      return false;
    }
    if (arg.size() > 2 && arg.rfind("--", 0) == 0) {
      std::string name = arg.substr(2), value;
      bool inline_value = false;
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1), name = name.substr(0, eq), inline_value = true;
      }
      auto it = options_.find(name);
      HEED_CHECK(it != options_.end(), "{}: unknown option --{} (see --help)", program_, name);
      if (it->second.is_flag) {
        HEED_CHECK(!inline_value, "{}: --{} takes no value", program_, name);
        values_[name] = "1";
      } else if (inline_value) {
        values_[name] = value;
      } else {
        HEED_CHECK(i + 1 < argc, "{}: --{} needs a value ({})", program_, name, it->second.value_name);
        values_[name] = argv[++i];
      }
      given_[name] = true;
      continue;
    }
    HEED_CHECK(next_positional < positionals_.size(), "{}: unexpected argument '{}' (see --help)", program_, arg);
    const std::string& name = positionals_[next_positional++].first;
    values_[name] = arg;
    given_[name] = true;
  }
  for (const auto& [name, spec] : positionals_)
    HEED_CHECK(!spec.required || given(name), "{}: missing {} (see --help)", program_, name);
  for (const auto& [name, spec] : options_)
    HEED_CHECK(!spec.required || given(name), "{}: missing --{} {} (see --help)", program_, name, spec.value_name);
  return true;
}

std::string Args::help() const {
  std::string usage = "usage: " + program_;
  for (const auto& [name, spec] : positionals_) usage += spec.required ? " " + name : " [" + name + "]";
  if (!options_.empty()) usage += " [options]";
  std::string out = usage + "\n\n" + summary_ + "\n";
  if (!positionals_.empty()) out += "\narguments:\n";
  for (const auto& [name, spec] : positionals_) out += fmt::format("  {:<24} {}\n", name, spec.help);
  if (!options_.empty()) out += "\noptions:\n";
  for (const auto& name : option_order_) {
    const Spec& spec = options_.at(name);
    std::string left = spec.is_flag ? "--" + name : "--" + name + " " + spec.value_name;
    std::string right = spec.help;
    if (!spec.default_value.empty()) right += fmt::format(" (default {})", spec.default_value);
    if (spec.required) right += " (required)";
    out += fmt::format("  {:<24} {}\n", left, right);
  }
  out += fmt::format("  {:<24} {}\n", "--help", "show this help");
  return out;
}

const std::string& Args::get(const std::string& name) const {
  static const std::string empty;
  auto it = values_.find(name);
  return it == values_.end() ? empty : it->second;
}

bool Args::given(const std::string& name) const { return given_.count(name) > 0; }

bool Args::is_set(const std::string& name) const { return get(name) == "1"; }

int64_t Args::get_int(const std::string& name) const {
  const std::string& text = get(name);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  HEED_CHECK(ec == std::errc() && end == text.data() + text.size() && !text.empty(),
             "{}: --{} needs an integer, got '{}'", program_, name, text);
  return value;
}

double Args::get_double(const std::string& name) const {
  const std::string& text = get(name);
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  HEED_CHECK(!text.empty() && end == text.c_str() + text.size(), "{}: --{} needs a number, got '{}'", program_, name,
             text);
  return value;
}

const std::string& Args::get_choice(const std::string& name, const std::vector<std::string>& choices) const {
  const std::string& value = get(name);
  HEED_CHECK(std::find(choices.begin(), choices.end(), value) != choices.end(), "{}: --{} must be one of {}, got '{}'",
             program_, name, fmt::join(choices, ", "), value);
  return value;
}

}  // namespace heed::apps
