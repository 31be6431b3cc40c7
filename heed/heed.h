// heed's umbrella header: the whole public API in one include.
//
//   #include "heed/heed.h"
//   heed::Tensor x = heed::randn({4, 3});
//   heed::nn::Linear layer(3, 2);
//   heed::optim::AdamW opt(layer.parameters());
//
// Installed, the include root is <prefix>/include/heed (find_package(heed) and
// `pkg-config --cflags heed` both add it), so the per-module headers ("nn/linear.h", ...) can
// be included one by one as well.
#pragma once

#include "heed/version.h"

#include "tensor/io.h"
#include "tensor/memory.h"
#include "tensor/print.h"
#include "tensor/random.h"
#include "tensor/tensor.h"
#include "tensor/threads.h"

#include "autograd/attention.h"
#include "autograd/conv.h"
#include "autograd/gradcheck.h"
#include "autograd/node.h"
#include "autograd/ops.h"

#include "nn/nn.h"

#include "optim/optim.h"

#include "datasets/dataset.h"
#include "datasets/split.h"
#include "datasets/text_clean.h"
#include "datasets/text_corpus.h"
#include "datasets/tokenizer.h"
#include "distributed/ddp.h"
#include "distributed/process_group.h"
