// Mode: whether a monitored metric should fall (a loss) or rise (an accuracy). Used by
// ReduceLROnPlateau (lr_scheduler.h) and EarlyStopping (early_stopping.h).
#pragma once
#include <string>

namespace heed::optim {

enum class Mode { Min, Max };

inline std::string mode_name(Mode m) { return m == Mode::Min ? "min" : "max"; }

}  // namespace heed::optim
