// heed's nn in one include: Module, initialisers, layers, containers and losses.
//   #include "nn/nn.h"
// Layers other developers add join this list as they land: conv, pooling, batchnorm
// (nn/conv*.h, nn/pooling*.h, nn/batchnorm*.h), recurrent, attention, positional encodings and
// transformer (nn/recurrent*.h, nn/attention*.h, nn/positional*.h, nn/transformer*.h).
#pragma once
#include "autograd/node.h"  // NoGradGuard, autograd::grad
#include "nn/activation.h"
#include "nn/container.h"
#include "nn/dropout.h"
#include "nn/embedding.h"
#include "nn/init.h"
#include "nn/linear.h"
#include "nn/loss.h"
#include "nn/module.h"
#include "nn/normalization.h"
