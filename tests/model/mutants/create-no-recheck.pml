/* mutant of lifecycle.pml: see tests/model/README.md; `make check-model` expects spin to reject it. */
#define MUTANT_CREATE_NO_RECHECK
#include "../lifecycle.pml"
