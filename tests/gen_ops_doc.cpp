// Writes docs/ops.md (the table of differentiable ops) from the op registry.
#include <cstdio>

#include "autograd/registry.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: heed-ops-doc OUTPUT.md\n");
    return 2;
  }
  const std::string doc = heed::ops_markdown();
  std::FILE* f = std::fopen(argv[1], "wb");
  if (!f || std::fwrite(doc.data(), 1, doc.size(), f) != doc.size() || std::fclose(f) != 0) {
    std::perror(argv[1]);
    return 1;
  }
  return 0;
}
