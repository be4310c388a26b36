// Type-independent kernels (copies, indexing, comparisons) compiled for the baseline ISA.
#include "common.h"
