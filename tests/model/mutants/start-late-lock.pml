/* mutant of lifecycle.pml: see tests/model/README.md; `make check-model` expects spin to reject it. */
#define MUTANT_START_LATE_LOCK
#define NO_CR /* the bug needs no checkpoint or restore: a smaller search */
#include "../lifecycle.pml"
