/* mutant of lifecycle.pml: see tests/model/README.md; `make check-model` expects spin to reject it. */
#define MUTANT_FIFO_OPEN_FIRST
#include "../lifecycle.pml"
