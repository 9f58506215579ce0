/*
 * sort.h — an in-place sort that makes no system call, for sandboxed code.
 *
 * Why not qsort(3): glibc's qsort() sorts through a temporary copy (a
 * mergesort, or an indirect sort of pointers) when that copy is small, and
 * to decide what "small" is it asks the kernel how much memory the machine
 * has: sysinfo(2) on the first call with an array of 1 KiB or more, plus
 * malloc() of the copy.  Neither is in the workers' seccomp allow-list
 * (common/sandbox.c), so a handler or revalidator that sorted 43 policy
 * rules or 256 ports was killed with SIGSYS — every time it restarted.
 *
 * sort_array() is a heapsort: O(n log n) comparisons in the worst case, no
 * allocation, no recursion, elements swapped in place through a small
 * stack buffer.  It is not stable: callers whose equal elements must keep
 * their order give the comparison a tie-breaker (the policy's rules compare
 * their input position last, ports are distinct numbers).
 *
 * Safety: reentrant; touches only 'base'.  'compare' must be a consistent
 * total preorder (as for qsort()); with an inconsistent one the array ends
 * in some permutation of its elements, never out of bounds.
 */
#ifndef DPIF_SORT_H
#define DPIF_SORT_H 1

#include <stddef.h>

/* Sorts the 'n' elements of 'size' bytes at 'base' in ascending order of
 * 'compare' (negative, zero or positive, as for qsort()).  'size' 0 or
 * 'n' below 2 do nothing. */
void sort_array(void *base, size_t n, size_t size,
                int (*compare)(const void *, const void *));

#endif /* sort.h */
