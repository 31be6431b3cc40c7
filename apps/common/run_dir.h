// The run directories the apps write: config.json names the app and its format version, and a
// new run never lands on top of an old one.
#pragma once
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace heed::apps {

// RUN_DIR/config.json, checked to be a JSON object written by `app` with `format_version`;
// heed::Error naming the folder otherwise (no folder, no config.json, invalid JSON, another app).
nlohmann::json read_run_config(const std::filesystem::path& run_dir, const std::string& app, int format_version);
// Throws heed::Error unless `out` is missing or an empty folder (a new run may go there); the
// message points at --resume.
void require_new_run_dir(const std::filesystem::path& out, const std::string& command);

}  // namespace heed::apps
