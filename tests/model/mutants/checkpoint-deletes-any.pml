/* mutant of lifecycle.pml: see tests/model/README.md; `make check-model` expects spin to reject it. */
#define MUTANT_CHECKPOINT_DELETES_ANY
#include "../lifecycle.pml"
