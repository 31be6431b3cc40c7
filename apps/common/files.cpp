#include "apps/common/files.h"

#include <fstream>
#include <sstream>
#include <system_error>

#include "tensor/error.h"

namespace heed::apps {

std::string read_file(const std::filesystem::path& path) {
  std::error_code ec;
  HEED_CHECK(std::filesystem::is_regular_file(path, ec), "cannot read {}: no such file", path.string());
  std::ifstream in(path, std::ios::binary);
  HEED_CHECK(in.good(), "cannot read {}: permission denied or unreadable", path.string());
  std::ostringstream content;
  content << in.rdbuf();
  HEED_CHECK(!in.bad(), "cannot read {}: read error", path.string());
  return content.str();
}

void write_file_atomic(const std::filesystem::path& path, std::string_view content) {
  std::filesystem::path temporary = path;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    HEED_CHECK(out.good(), "cannot write {}", temporary.string());
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    HEED_CHECK(out.good(), "cannot write {}: write error (disk full?)", temporary.string());
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) {
    std::filesystem::remove(temporary, ec);
    HEED_FAIL("cannot write {}: rename failed", path.string());
  }
}

}  // namespace heed::apps
