// StateDict: metadata numbers written and read back exactly, prefixes, files (state_dict.h).
#include "optim/state_dict.h"

#include <cerrno>
#include <cstdlib>
#include <set>

#include "tensor/io.h"

namespace heed::optim {
namespace {

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> parts;
  if (s.empty()) return parts;
  size_t start = 0;
  while (true) {
    size_t comma = s.find(',', start);
    parts.push_back(s.substr(start, comma - start));
    if (comma == std::string::npos) return parts;
    start = comma + 1;
  }
}

// strtod accepts "inf", "-inf" and "nan", which fmt writes for those values.
double parse_double(const std::string& s, const std::string& key, const std::string& who) {
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  HEED_CHECK(!s.empty() && end == s.c_str() + s.size() && errno != ERANGE, "{}: '{}' is not a number: '{}'", who, key,
             s);
  return v;
}

int64_t parse_int(const std::string& s, const std::string& key, const std::string& who) {
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  HEED_CHECK(!s.empty() && end == s.c_str() + s.size() && errno != ERANGE, "{}: '{}' is not an integer: '{}'", who, key,
             s);
  return static_cast<int64_t>(v);
}

}  // namespace

void StateDict::set_number(const std::string& key, double value) { metadata[key] = fmt::format("{}", value); }
void StateDict::set_int(const std::string& key, int64_t value) { metadata[key] = fmt::format("{}", value); }
void StateDict::set_numbers(const std::string& key, const std::vector<double>& values) {
  metadata[key] = fmt::format("{}", fmt::join(values, ","));
}
void StateDict::set_ints(const std::string& key, const std::vector<int64_t>& values) {
  metadata[key] = fmt::format("{}", fmt::join(values, ","));
}

const std::string& StateDict::text(const std::string& key, const std::string& who) const {
  auto it = metadata.find(key);
  HEED_CHECK(it != metadata.end(), "{}: the state has no '{}'", who, key);
  return it->second;
}
double StateDict::number(const std::string& key, const std::string& who) const {
  return parse_double(text(key, who), key, who);
}
int64_t StateDict::integer(const std::string& key, const std::string& who) const {
  return parse_int(text(key, who), key, who);
}
std::vector<double> StateDict::numbers(const std::string& key, const std::string& who) const {
  std::vector<double> out;
  for (const std::string& part : split_commas(text(key, who))) out.push_back(parse_double(part, key, who));
  return out;
}
std::vector<int64_t> StateDict::ints(const std::string& key, const std::string& who) const {
  std::vector<int64_t> out;
  for (const std::string& part : split_commas(text(key, who))) out.push_back(parse_int(part, key, who));
  return out;
}

StateDict prefixed(const std::string& prefix, const StateDict& state) {
  StateDict out;
  for (const auto& [name, t] : state.tensors) out.tensors.emplace_back(prefix + name, t);
  for (const auto& [key, value] : state.metadata) out.metadata[prefix + key] = value;
  return out;
}

StateDict unprefixed(const std::string& prefix, const StateDict& state) {
  StateDict out;
  auto starts = [&](const std::string& s) { return s.compare(0, prefix.size(), prefix) == 0; };
  for (const auto& [name, t] : state.tensors)
    if (starts(name)) out.tensors.emplace_back(name.substr(prefix.size()), t);
  for (const auto& [key, value] : state.metadata)
    if (starts(key)) out.metadata[key.substr(prefix.size())] = value;
  return out;
}

StateDict merged(const std::vector<StateDict>& parts) {
  StateDict out;
  std::set<std::string> names;
  for (const StateDict& part : parts) {
    for (const auto& [name, t] : part.tensors) {
      HEED_CHECK(names.insert(name).second, "optim::merged: tensor '{}' appears in two parts", name);
      out.tensors.emplace_back(name, t);
    }
    for (const auto& [key, value] : part.metadata) {
      HEED_CHECK(out.metadata.emplace(key, value).second, "optim::merged: metadata key '{}' appears in two parts", key);
    }
  }
  return out;
}

void save_state(const std::string& path, const StateDict& state) {
  save_safetensors(path, state.tensors, state.metadata);
}

StateDict load_state(const std::string& path) {
  SafetensorsFile file = load_safetensors(path);
  return StateDict{std::move(file.tensors), std::move(file.metadata)};
}

}  // namespace heed::optim
