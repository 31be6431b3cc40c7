// heed's nn in one include: Module, initialisers, layers, containers and losses.
//   #include "nn/nn.h"
#pragma once
#include "autograd/node.h"  // NoGradGuard, autograd::grad
#include "nn/activation.h"
#include "nn/batchnorm.h"
#include "nn/container.h"
#include "nn/conv.h"
#include "nn/dropout.h"
#include "nn/embedding.h"
#include "nn/init.h"
#include "nn/linear.h"
#include "nn/loss.h"
#include "nn/module.h"
#include "nn/normalization.h"
#include "nn/pooling.h"
