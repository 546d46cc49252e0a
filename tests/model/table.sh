#!/bin/sh
# tests/model/table.sh TRANSITIONS.TXT: the table as Promela macros for lifecycle.pml:
# ALLOWED(f, t, c), ISROW(r, f, t, c) (row r of the file, from 1) and NROWS.
set -eu
awk '
  function st(x) { return "S_" toupper(x) }
  /^#/ || NF == 0 { next }
  NF != 3 { printf "%s:%d: want FROM TO COMMAND\n", FILENAME, FNR > "/dev/stderr"; exit 1 }
  { n++; e = "(f == " st($1) " && t == " st($2) " && c == CMD_" $3 ")"
    a = a (n > 1 ? " || \\\n  " : "") e
    r = r (n > 1 ? " || \\\n  " : "") "(r == " n " && " e ")" }
  END { print "/* generated from " FILENAME " by tests/model/table.sh */"
        print "#define NROWS " n
        print "#define ALLOWED(f, t, c) (" a ")"
        print "#define ISROW(r, f, t, c) (" r ")" }
' "$1"
