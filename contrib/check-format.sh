#!/bin/sh
# check-format.sh: fail when a C file of capsa is not formatted per the checked-in .clang-format.
set -eu
cd "$(dirname "$0")/.."

files=$(git ls-files -- 'src/*.c' 'src/*.h' 'libocispec/*.c' 'libocispec/*.h' 'tests/unit/*.c' \
          'tests/unit/*.h' 2>/dev/null || true)
if [ -z "$files" ]; then
  files=$(find src libocispec tests/unit -name '*.[ch]' 2>/dev/null | sort)
fi
[ -n "$files" ] || { echo "check-format: no C files found" >&2; exit 1; }

# shellcheck disable=SC2086
if clang-format --style=file --dry-run -Werror $files; then
  echo "check-format: $(echo "$files" | wc -w) files formatted"
else
  echo "check-format: files above are not formatted; run: clang-format -i FILE" >&2
  exit 1
fi
