#!/usr/bin/env bash
# test_check_tree — scripts/check-tree against a small git tree in which each
# problem it must find is planted in turn: conflict markers, a test source
# that no CMakeLists.txt builds (one only named in a comment, one outside a
# glob's directory), and a "Counters:" list that disagrees with its .c.
# Usage: test_check_tree.sh PATH-TO-check-tree
set -euo pipefail
check_tree=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
t=$tmp/tree

fail() { echo "FAIL: $*" >&2; exit 1; }

# run EXPECTED-RC: runs check-tree on the tree, output in $tmp/out.
run() {
  local rc=0
  "$check_tree" "$t" >"$tmp/out" 2>&1 || rc=$?
  cat "$tmp/out"
  [ "$rc" -eq "$1" ] || fail "check-tree exited $rc, expected $1"
}
expect() { grep -qF -- "$1" "$tmp/out" || fail "output lacks: $1"; }

mkdir -p "$t/tests/unit" "$t/lib" "$t/docs"
git -C "$t" init -q
cat >"$t/tests/unit/CMakeLists.txt" <<'EOF'
file(GLOB UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/test_*.c)
add_test(NAME a COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_a.sh)  # not test_ghost.sh
EOF
echo 'int main(void) { return 0; }' >"$t/tests/unit/test_x.c"
echo 'exit 0' >"$t/tests/unit/test_a.sh"
cat >"$t/lib/mod.h" <<'EOF'
/*
 * mod.h — a module with counters.
 *
 * Counters: mod_a, mod_b (a comment naming mod_zzz, (nested)), and
 * other.h's other_*.
 *
 * More text: not_a_counter_list.
 */
EOF
cat >"$t/lib/mod.c" <<'EOF'
#include "mod.h"
COUNTER_DEFINE(mod_a);
/* COUNTER_DEFINE(mod_commented); */
COUNTER_DEFINE(mod_b);
EOF
printf '%s\n' 'Title' ' =======' '========' >"$t/docs/a.md"
git -C "$t" add -A

echo "--- a clean tree passes"
run 0
expect "check-tree: ok: 6 tracked files"

echo "--- conflict markers"
cp "$t/docs/a.md" "$tmp/a.md"
printf '%s\n' '<<<<<<< HEAD' 'ours' '=======' 'theirs' '>>>>>>> main' >>"$t/docs/a.md"
run 1
expect "docs/a.md:4: merge-conflict marker '<<<<<<<'"
expect "docs/a.md:6: merge-conflict marker '======='"
expect "docs/a.md:8: merge-conflict marker '>>>>>>>'"
[ "$(wc -l <"$tmp/out")" -eq 4 ] || fail "expected 3 problems and a summary"
cp "$tmp/a.md" "$t/docs/a.md"
run 0

echo "--- test sources nothing builds"
mkdir -p "$t/tests/unit/sub" "$t/tests/integration"
cp "$t/tests/unit/test_x.c" "$t/tests/unit/sub/test_y.c"
echo 'exit 0' >"$t/tests/unit/test_ghost.sh"
echo 'exit 0' >"$t/tests/integration/test_untracked.py"
git -C "$t" add tests/unit
run 1
expect "tests/unit/sub/test_y.c:1: test source that no CMakeLists.txt builds or runs"
expect "tests/unit/test_ghost.sh:1: test source that no CMakeLists.txt builds or runs"
if grep -q test_untracked "$tmp/out"; then fail "an untracked file was checked"; fi
git -C "$t" rm -q --cached tests/unit/sub/test_y.c tests/unit/test_ghost.sh
run 0

echo "--- a Counters: list that disagrees with its .c"
echo 'COUNTER_DEFINE(mod_c);' >>"$t/lib/mod.c"
run 1
expect 'lib/mod.c:5: COUNTER_DEFINE(mod_c) is missing from the "Counters:" list of lib/mod.h:4'
sed -i 's/mod_a, mod_b/mod_a, mod_b, mod_c, mod_d/' "$t/lib/mod.h"
run 1
expect 'lib/mod.h:4: "Counters:" lists mod_d, which lib/mod.c does not COUNTER_DEFINE'
if grep -q mod_c "$tmp/out"; then fail "mod_c is listed and defined"; fi
rm "$t/lib/mod.c"   # deleted in the work tree, still in the index
run 1
expect 'lib/mod.h:4: "Counters:" list, but no lib/mod.c to define them'

echo "--- not a git tree"
mkdir "$tmp/plain"
run_plain_rc=0
"$check_tree" "$tmp/plain" >/dev/null 2>&1 || run_plain_rc=$?
[ "$run_plain_rc" -eq 2 ] || fail "a directory without git exited $run_plain_rc, expected 2"

echo "PASS"
