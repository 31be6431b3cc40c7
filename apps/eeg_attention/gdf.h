// GDF recordings (BioSig's format) through libbiosig. libbiosig is GPL, so it is an optional part
// of heed-eeg, never of the heed libraries: heed-eeg reads GDF when it was built with Debian's
// libbiosig-dev installed (CMake option HEED_EEG_BIOSIG, on by default when found); otherwise
// read_gdf says how to convert the file to EDF instead.
#pragma once
#include <filesystem>

#include "datasets/eeg_io.h"

namespace heed::eeg {

bool gdf_supported();
// Every channel (physical units) at the file's rate; events as annotations labelled with their
// description, else their GDF type number (769, 770, ...). heed::Error on a file libbiosig refuses.
Recording read_gdf(const std::filesystem::path& path);

}  // namespace heed::eeg
