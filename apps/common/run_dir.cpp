#include "apps/common/run_dir.h"

#include "apps/common/files.h"
#include "tensor/error.h"

namespace heed::apps {

namespace fs = std::filesystem;

nlohmann::json read_run_config(const fs::path& run_dir, const std::string& app, int format_version) {
  std::error_code ec;
  HEED_CHECK(fs::is_directory(run_dir, ec), "run directory {}: no such folder", run_dir.string());
  const fs::path file = run_dir / "config.json";
  HEED_CHECK(fs::exists(file, ec), "run directory {}: no config.json (not a {} run)", run_dir.string(), app);
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(read_file(file));
  } catch (const nlohmann::json::exception& e) {
    HEED_FAIL("{}: not valid JSON ({})", file.string(), e.what());
  }
  HEED_CHECK(config.is_object() && config.value("app", "") == app, "run directory {}: made by '{}', not by {}",
             run_dir.string(), config.is_object() ? config.value("app", "an unknown program") : "an unknown program",
             app);
  HEED_CHECK(config.value("format_version", 0) == format_version, "{}: format_version {} (this {} reads {})",
             file.string(), config.value("format_version", 0), app, format_version);
  return config;
}

void require_new_run_dir(const fs::path& out, const std::string& command) {
  std::error_code ec;
  const bool empty_dir = fs::is_directory(out, ec) && fs::directory_iterator(out, ec) == fs::directory_iterator();
  HEED_CHECK(!fs::exists(out, ec) || empty_dir,
             "{}: {} exists and is not empty; choose a new --out or add --resume to continue that run", command,
             out.string());
}

}  // namespace heed::apps
