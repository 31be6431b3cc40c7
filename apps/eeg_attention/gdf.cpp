#include "apps/eeg_attention/gdf.h"

#include <string>

#include "tensor/error.h"

#ifdef HEED_HAVE_BIOSIG
#include <biosig.h>
#endif

namespace heed::eeg {

#ifdef HEED_HAVE_BIOSIG

bool gdf_supported() { return true; }

Recording read_gdf(const std::filesystem::path& path) {
  std::error_code ec;
  HEED_CHECK(std::filesystem::is_regular_file(path, ec), "{}: no such file", path.string());
  HDRTYPE* hdr = sopen(path.c_str(), "r", nullptr);
  HEED_CHECK(hdr != nullptr, "{}: libbiosig could not open it", path.string());
  struct Closer {
    HDRTYPE* h;
    ~Closer() {
      sclose(h);
      destructHDR(h);
    }
  } closer{hdr};
  if (serror2(hdr)) {
    const char* message = biosig_get_errormsg(hdr);
    const std::string text = message ? message : "unknown error";
    std::free(const_cast<char*>(message));
    HEED_FAIL("{}: libbiosig: {}", path.string(), text);
  }
  const long channels = biosig_get_number_of_channels(hdr);
  const double rate = biosig_get_samplerate(hdr);
  HEED_CHECK(channels > 0 && rate > 0, "{}: no channels or no sampling rate", path.string());
  sread(nullptr, 0, biosig_get_number_of_records(hdr), hdr);
  HEED_CHECK(!serror2(hdr), "{}: libbiosig could not read its samples", path.string());
  biosig_data_type* block = nullptr;
  size_t rows = 0, columns = 0;
  HEED_CHECK(biosig_get_datablock(hdr, &block, &rows, &columns) == 0 && block != nullptr && long(columns) == channels,
             "{}: libbiosig gave {} columns for {} channels", path.string(), columns, channels);
  Recording r;
  r.sample_rate = rate;
  for (long c = 0; c < channels; ++c) {
    CHANNEL_TYPE* channel = biosig_get_channel(hdr, int(c));
    const char* label = channel ? biosig_channel_get_label(channel) : nullptr;
    const char* unit = channel ? biosig_channel_get_physdim(channel) : nullptr;
    std::string name = label ? label : "";
    name.erase(name.find_last_not_of(" \t") + 1);  // GDF pads labels with spaces
    name.erase(0, name.find_first_not_of(" \t"));
    r.channels.push_back(name.empty() ? "Channel " + std::to_string(c + 1) : name);
    r.units.push_back(unit ? unit : "");
    r.data.emplace_back(block + size_t(c) * rows, block + size_t(c + 1) * rows);  // one column per channel
  }
  const double event_rate = biosig_get_eventtable_samplerate(hdr) > 0 ? biosig_get_eventtable_samplerate(hdr) : rate;
  for (size_t e = 0; e < biosig_get_number_of_events(hdr); ++e) {
    uint16_t type = 0, channel = 0;
    uint32_t position = 0, duration = 0;
    const char* description = nullptr;
    biosig_get_nth_event(hdr, e, &type, &position, &channel, &duration, nullptr, &description);
    r.annotations.push_back({double(position) / event_rate, double(duration) / event_rate,
                             description && *description ? description : std::to_string(type)});
  }
  return r;
}

#else

bool gdf_supported() { return false; }

Recording read_gdf(const std::filesystem::path& path) {
  HEED_FAIL("{}: this heed-eeg was built without libbiosig, so it cannot read GDF; convert the file with "
            "`save2gdf -f=EDF {} OUT.edf` (biosig-tools), or install libbiosig-dev (GPL) and rebuild",
            path.string(), path.string());
}

#endif

}  // namespace heed::eeg
