/* Tests for common/sort.c: sorted output and a permutation of the input for
 * every size around the heap's edge cases and for elements larger than the
 * swap buffer; and the reason the module exists — it sorts 100,000
 * elements under seccomp's strict mode (read, write, exit), where glibc's
 * qsort() dies on sysinfo(2) or malloc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/sort.h"

/* An element bigger than sort.c's 64-byte swap buffer. */
struct big {
    uint32_t key;               /* Sort key. */
    uint32_t tag;               /* Original position: checks permutation. */
    unsigned char fill[92];     /* Copy of 'tag''s low byte, everywhere. */
};

static int
cmp_u32(const void *a_, const void *b_)
{
    uint32_t a = *(const uint32_t *) a_, b = *(const uint32_t *) b_;
    return a < b ? -1 : a > b;
}

static int
cmp_big(const void *a_, const void *b_)
{
    const struct big *a = a_, *b = b_;
    return a->key < b->key ? -1 : a->key > b->key;
}

/* Deterministic pseudo-random numbers (fixed seed). */
static uint32_t
next_rand(uint32_t *state)
{
    *state = *state * 1103515245u + 12345u;
    return *state >> 8;
}

static void
test_sort_u32_all_small_sizes(void **state)
{
    (void) state;
    uint32_t seed = 1;

    for (size_t n = 0; n <= 300; n++) {
        uint32_t *a = malloc((n ? n : 1) * sizeof *a);
        uint32_t *b = malloc((n ? n : 1) * sizeof *b);
        for (size_t i = 0; i < n; i++) {
            /* Few distinct values: many duplicates. */
            a[i] = b[i] = next_rand(&seed) % (n / 4 + 1);
        }
        sort_array(a, n, sizeof *a, cmp_u32);
        qsort(b, n, sizeof *b, cmp_u32);   /* Reference, outside sandbox. */
        if (n) {
            assert_memory_equal(a, b, n * sizeof *a);
        }
        free(a);
        free(b);
    }
}

static void
test_sort_orders_already_sorted_and_reversed(void **state)
{
    (void) state;
    enum { N = 1000 };
    uint32_t a[N];

    for (uint32_t i = 0; i < N; i++) {
        a[i] = i;
    }
    sort_array(a, N, sizeof *a, cmp_u32);
    for (uint32_t i = 0; i < N; i++) {
        assert_int_equal(a[i], i);
    }
    for (uint32_t i = 0; i < N; i++) {
        a[i] = N - 1 - i;
    }
    sort_array(a, N, sizeof *a, cmp_u32);
    for (uint32_t i = 0; i < N; i++) {
        assert_int_equal(a[i], i);
    }
}

static void
test_sort_big_elements_are_moved_whole(void **state)
{
    (void) state;
    enum { N = 2000 };
    struct big *a = calloc(N, sizeof *a);
    bool seen[N] = { false };
    uint32_t seed = 7;

    for (uint32_t i = 0; i < N; i++) {
        a[i].key = next_rand(&seed) % 500;
        a[i].tag = i;
        memset(a[i].fill, (int) (i & 0xff), sizeof a[i].fill);
    }
    sort_array(a, N, sizeof *a, cmp_big);
    for (uint32_t i = 0; i < N; i++) {
        if (i) {
            assert_true(a[i - 1].key <= a[i].key);
        }
        assert_true(a[i].tag < N);
        assert_false(seen[a[i].tag]);
        seen[a[i].tag] = true;
        for (size_t j = 0; j < sizeof a[i].fill; j++) {
            assert_int_equal(a[i].fill[j], a[i].tag & 0xff);
        }
    }
    free(a);
}

static void
test_sort_degenerate_arguments_do_nothing(void **state)
{
    (void) state;
    uint32_t a[2] = { 2, 1 };

    sort_array(a, 0, sizeof *a, cmp_u32);
    sort_array(a, 1, sizeof *a, cmp_u32);
    sort_array(a, 2, 0, cmp_u32);
    assert_int_equal(a[0], 2);
    assert_int_equal(a[1], 1);
    sort_array(NULL, 0, sizeof *a, cmp_u32);
}

/* In a child under SECCOMP_MODE_STRICT (only read, write, _exit and
 * sigreturn: any other syscall is SIGKILL), sorts 'n' elements of 'size'
 * bytes with 'sort' and exits 0 if the result is ordered.  Returns the
 * child's wait status. */
static int
sort_under_strict_seccomp(void (*sort)(void *, size_t, size_t,
                                       int (*)(const void *, const void *)),
                          size_t n)
{
    struct big *a = calloc(n, sizeof *a);
    uint32_t seed = 3;

    for (size_t i = 0; i < n; i++) {
        a[i].key = next_rand(&seed);
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (!pid) {
        if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0)) {
            syscall(SYS_exit, 2);
        }
        sort(a, n, sizeof *a, cmp_big);
        for (size_t i = 1; i < n; i++) {
            if (a[i - 1].key > a[i].key) {
                syscall(SYS_exit, 1);
            }
        }
        syscall(SYS_exit, 0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    free(a);
    return status;
}

static void
test_sort_makes_no_syscall(void **state)
{
    (void) state;
    int status = sort_under_strict_seccomp(sort_array, 100000);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* The failure the module fixes, as a control: glibc's qsort() of the same
 * array dies in strict mode (sysinfo(2) or malloc's mmap). */
static void
test_sort_glibc_qsort_would_die(void **state)
{
    (void) state;
    int status = sort_under_strict_seccomp(qsort, 100000);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sort_u32_all_small_sizes),
        cmocka_unit_test(test_sort_orders_already_sorted_and_reversed),
        cmocka_unit_test(test_sort_big_elements_are_moved_whole),
        cmocka_unit_test(test_sort_degenerate_arguments_do_nothing),
        cmocka_unit_test(test_sort_makes_no_syscall),
        cmocka_unit_test(test_sort_glibc_qsort_would_die),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
