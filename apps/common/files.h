// Small file helpers for the apps: whole-file reads and atomic writes (temporary file in the
// same folder, then rename, so a crash never leaves a half-written file under the final name).
#pragma once
#include <filesystem>
#include <string>
#include <string_view>

namespace heed::apps {

// Throws heed::Error naming the file when it cannot be read.
std::string read_file(const std::filesystem::path& path);
void write_file_atomic(const std::filesystem::path& path, std::string_view content);

}  // namespace heed::apps
