/* mutant of lifecycle.pml: see tests/model/README.md; `make check-model` expects spin to reject it. */
#define MUTANT_START_LATE_LOCK
#include "../lifecycle.pml"
