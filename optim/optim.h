// heed's optim module in one include: optimizers (SGD, Adam, AdamW), learning-rate schedulers,
// gradient clipping, early stopping, and the StateDict they save into checkpoints.
//
//   #include "optim/optim.h"
//   optim::AdamW opt(model.parameters(), {.lr = 3e-4, .weight_decay = 0.01});
//   optim::WarmupDecayLR sched(opt, {.warmup_steps = 100, .total_steps = steps});
//   optim::EarlyStopping stopper({.mode = optim::Mode::Max, .patience = 3});
//   for (int64_t step = 0; step < steps; ++step) {
//     opt.zero_grad();
//     loss(batch).backward();
//     optim::clip_grad_norm_(model.parameters(), 1.0);
//     opt.step();
//     sched.step();
//   }
#pragma once

#include "optim/adam.h"
#include "optim/checkpoint.h"
#include "optim/clip.h"
#include "optim/early_stopping.h"
#include "optim/lr_scheduler.h"
#include "optim/mode.h"
#include "optim/optimizer.h"
#include "optim/sgd.h"
#include "optim/state_dict.h"
