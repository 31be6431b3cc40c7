#include "optim/checkpoint.h"

#include <cstring>
#include <functional>
#include <vector>

#include "tensor/random.h"

namespace heed::optim {
namespace {

constexpr const char* kFormat = "heed-training-checkpoint-1";

StateDict model_state(const nn::Module& model) {
  StateDict s;
  s.tensors = model.state_dict();
  return s;
}

// A part of the checkpoint: its prefix, how to read its state, and how to apply one.
struct Part {
  std::string prefix;
  std::function<StateDict()> save;
  std::function<void(const StateDict&)> load;
};

std::vector<Part> parts_of(const CheckpointParts& p) {
  std::vector<Part> out;
  if (p.model)
    out.push_back({"model.", [m = p.model] { return model_state(*m); },
                   [m = p.model](const StateDict& s) { m->load_state_dict(s.tensors, true); }});
  if (p.optimizer)
    out.push_back({"optimizer.", [o = p.optimizer] { return o->state_dict(); },
                   [o = p.optimizer](const StateDict& s) { o->load_state_dict(s); }});
  if (p.scheduler)
    out.push_back({"scheduler.", [o = p.scheduler] { return o->state_dict(); },
                   [o = p.scheduler](const StateDict& s) { o->load_state_dict(s); }});
  if (p.plateau)
    out.push_back({"plateau.", [o = p.plateau] { return o->state_dict(); },
                   [o = p.plateau](const StateDict& s) { o->load_state_dict(s); }});
  if (p.early_stopping)
    out.push_back({"early_stopping.", [o = p.early_stopping] { return o->state_dict(); },
                   [o = p.early_stopping](const StateDict& s) { o->load_state_dict(s); }});
  return out;
}

bool has_prefix(const StateDict& s, const std::string& prefix) {
  for (const auto& [name, _] : s.tensors)
    if (name.rfind(prefix, 0) == 0) return true;
  for (const auto& [key, _] : s.metadata)
    if (key.rfind(prefix, 0) == 0) return true;
  return false;
}

}  // namespace

void save_checkpoint(const std::string& path, const CheckpointParts& parts, const Progress& progress) {
  std::vector<StateDict> all;
  StateDict head;
  head.set_text("format", kFormat);
  head.set_int("epoch", progress.epoch);
  head.set_int("step", progress.step);
  head.set_text("rng.seed", std::to_string(default_generator().seed()));
  head.set_text("rng.offset", std::to_string(default_generator().offset()));
  for (const auto& [k, v] : progress.extra) head.set_text("extra." + k, v);
  all.push_back(head);
  for (const Part& part : parts_of(parts)) all.push_back(prefixed(part.prefix, part.save()));
  save_state(path, merged(all));
}

Progress load_checkpoint(const std::string& path, const CheckpointParts& parts) {
  const StateDict s = load_state(path);
  const std::string who = "load_checkpoint(" + path + ")";
  HEED_CHECK(s.has("format") && s.text("format", who) == kFormat,
             "{}: not a heed training checkpoint (format \"{}\", expected \"{}\")", who,
             s.has("format") ? s.text("format", who) : "", kFormat);
  Progress progress;
  progress.epoch = s.integer("epoch", who);
  progress.step = s.integer("step", who);
  uint64_t seed = 0, offset = 0;
  try {
    seed = std::stoull(s.text("rng.seed", who));
    offset = std::stoull(s.text("rng.offset", who));
  } catch (const std::logic_error&) {
    HEED_FAIL("{}: the random generator state is not a pair of unsigned integers", who);
  }
  for (const auto& [key, value] : s.metadata)
    if (key.rfind("extra.", 0) == 0) progress.extra[key.substr(6)] = value;

  // Every part the caller names must be in the file, and nothing the caller did not name.
  std::vector<Part> list = parts_of(parts);
  for (const Part& part : list)
    HEED_CHECK(has_prefix(s, part.prefix), "{}: the checkpoint holds no \"{}\" state", who,
               part.prefix.substr(0, part.prefix.size() - 1));
  for (const char* prefix : {"model.", "optimizer.", "scheduler.", "plateau.", "early_stopping."}) {
    bool named = false;
    for (const Part& part : list) named |= part.prefix == prefix;
    HEED_CHECK(named || !has_prefix(s, prefix), "{}: the checkpoint has \"{}\" state but no such part was given", who,
               std::string(prefix, std::strlen(prefix) - 1));
  }

  // Apply part by part; on failure put back what was already changed.
  std::vector<std::pair<const Part*, StateDict>> undo;
  try {
    for (const Part& part : list) {
      StateDict before = part.save();
      part.load(unprefixed(part.prefix, s));
      undo.emplace_back(&part, std::move(before));
    }
  } catch (...) {
    for (auto it = undo.rbegin(); it != undo.rend(); ++it) it->first->load(it->second);
    throw;
  }
  default_generator().set_state(seed, offset);
  return progress;
}

}  // namespace heed::optim
