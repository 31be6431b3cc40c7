#!/usr/bin/python3
# How well can feature search on Fashion-MNIST items be done at all, given a good item classifier?
# Trains a small CNN on Fashion-MNIST's training images (full 28x28 resolution, 90-93 % test
# accuracy), then scores feature-search displays built from its posteriors on the test images:
# a cue exemplar of category c, N items of which (when present) one other exemplar of c and the
# rest of the other nine categories. Two observers, thresholds tuned on separate displays:
#   max rule:          max over items of P(item and cue share a category) = Σ_c q(c)·p_i(c)
#   likelihood ratio:  P(items | present) / P(items | absent), summed over the cue's posterior q,
#                      with p_i taken as likelihoods (uniform prior over categories)
# The result bounds what heed-search's model, whose stem is a smaller classifier, can expect. It also
# prints the classifier's accuracy per category and, at set size 16, the observer's per target category.
# Usage: /usr/bin/python3 scripts/search_ideal_observer.py [WIDTH] [EPOCHS]
#   32 4: 90.4 % classifier, 8 minutes on 2 cores; 32 15: 93.1 %, 27 minutes
import gzip, sys
import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(0)
torch.set_num_threads(2)
root = '/usr/share/datasets/fashion-mnist/'


def load(name, offset):
    with gzip.open(root + name) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


x_train = load('train-images-idx3-ubyte.gz', 16).reshape(-1, 1, 28, 28).astype(np.float32) / 255
y_train = load('train-labels-idx1-ubyte.gz', 8).astype(np.int64)
x_test = load('t10k-images-idx3-ubyte.gz', 16).reshape(-1, 1, 28, 28).astype(np.float32) / 255
y_test = load('t10k-labels-idx1-ubyte.gz', 8).astype(np.int64)
width = int(sys.argv[1]) if len(sys.argv) > 1 else 32
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 4

w = width
net = nn.Sequential(nn.Conv2d(1, w, 3, padding=1), nn.GELU(), nn.Conv2d(w, w, 3, padding=1), nn.GELU(), nn.MaxPool2d(2),
                    nn.Conv2d(w, 2 * w, 3, padding=1), nn.GELU(), nn.Conv2d(2 * w, 2 * w, 3, padding=1), nn.GELU(),
                    nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2 * w * 49, 128), nn.GELU(), nn.Dropout(0.3),
                    nn.Linear(128, 10))
optimizer = torch.optim.AdamW(net.parameters(), 1e-3, weight_decay=0.05)
X, Y = torch.tensor(x_train), torch.tensor(y_train)
batch = 128
schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, 3e-3, total_steps=epochs * (len(X) // batch))
shifts = np.random.default_rng(0)
for epoch in range(epochs):
    order = torch.randperm(len(X))
    net.train()
    for i in range(0, len(X) - batch + 1, batch):
        idx = order[i:i + batch]
        dx, dy = shifts.integers(-2, 3, 2)  # the scenes jitter items within their cells
        xb = torch.roll(X[idx], (int(dx), int(dy)), (2, 3))
        loss = nn.functional.cross_entropy(net(xb), Y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    net.eval()
    with torch.no_grad():
        P = torch.cat([torch.softmax(net(torch.tensor(x_test[i:i + 1000])).double(), 1)
                       for i in range(0, 10000, 1000)]).numpy()
    print(f'epoch {epoch + 1}: classifier test accuracy {(P.argmax(1) == y_test).mean():.4f}', flush=True)

rng = np.random.default_rng(1)
by_category = [np.where(y_test == c)[0] for c in range(10)]


def displays(n, size):
    rows = []
    for k in range(n):
        c, present = rng.integers(10), k % 2 == 0
        cue, target = rng.choice(by_category[c], 2, replace=False)
        others = [d for d in range(10) if d != c]
        items = [rng.choice(by_category[rng.choice(others)]) for _ in range(size - present)]
        if present:
            items.append(target)
        q, p = P[cue], np.clip(P[items], 1e-9, 1 - 1e-9)  # (10), (N, 10)
        max_rule = (p * q).sum(1).max()
        log_absent = np.log(q + 1e-12) + np.log1p(-p).sum(0)  # per cue category c: q(c)·Π(1 − p_i(c))
        odds = (p / (1 - p)).mean(0)                           # present adds one item of c: mean odds
        ratio = np.logaddexp.reduce(log_absent + np.log(odds)) - np.logaddexp.reduce(log_absent)
        rows.append((max_rule, ratio, present, c))
    return np.array(rows)


def correct(tune, test, column):  # per test display: is the answer right, at the threshold best on tune
    thresholds = np.quantile(tune[:, column], np.linspace(0, 1, 401))
    best = max(thresholds, key=lambda t: ((tune[:, column] >= t) == tune[:, 2]).mean())
    return (test[:, column] >= best) == test[:, 2]


print('classifier test accuracy by category:',
      ' '.join(f'{c}:{(P[y_test == c].argmax(1) == c).mean():.3f}' for c in range(10)))
for size in (1, 4, 8, 12, 16):
    tune, test = displays(4000, size), displays(4000, size)
    ratio = correct(tune, test, 1)
    print(f'set size {size:2d}: presence accuracy, max rule {correct(tune, test, 0).mean():.3f}, '
          f'likelihood ratio {ratio.mean():.3f}', flush=True)
    if size == 16:
        print('  likelihood ratio by target category:',
              ' '.join(f'{c}:{ratio[test[:, 3] == c].mean():.3f}' for c in range(10)), flush=True)
