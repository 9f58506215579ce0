/* Tests for common/mac-table.c: learning, moves and generations, VLAN
 * separation, aging, eviction of the oldest, flush, dump, read-only
 * mappings, header validation, and a writer killed with SIGKILL inside the
 * critical section while other writers and readers carry on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/counters.h"
#include "common/mac-table.h"

#define T0 1000000LL            /* An arbitrary "now". */
#define AGING 300000LL

struct fixture {
    int fd;                     /* The region. */
    struct mac_table *t;        /* privd's writable mapping. */
};

static struct eth_addr
mac_n(unsigned int n)
{
    struct eth_addr m = { { 0x02, 0, 0, (uint8_t) (n >> 16),
                            (uint8_t) (n >> 8), (uint8_t) n } };
    return m;
}

static int
setup_sized(void **state, size_t capacity)
{
    struct fixture *f = xzalloc(sizeof *f);
    struct errbuf eb;

    assert_int_equal(mac_table_create(capacity, AGING, &f->fd, &f->t, &eb),
                     0);
    *state = f;
    return 0;
}

static int
setup(void **state)
{
    return setup_sized(state, 256);
}

/* One bucket: every MAC collides. */
static int
setup_one_bucket(void **state)
{
    return setup_sized(state, MAC_TABLE_WAYS);
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    mac_table_close(f->t);
    close(f->fd);
    free(f);
    return 0;
}

static void
test_learn_then_lookup(void **state)
{
    struct fixture *f = *state;
    enum mac_learn_result r;
    uint32_t port = 0;

    assert_int_equal(mac_table_lookup(f->t, mac_n(1), 0, T0, &port), ENOENT);
    assert_int_equal(mac_table_learn(f->t, mac_n(1), 0, 7, T0, &r), 0);
    assert_int_equal(r, MAC_LEARN_NEW);
    assert_int_equal(mac_table_lookup(f->t, mac_n(1), 0, T0, &port), 0);
    assert_int_equal(port, 7);
    assert_int_equal(mac_table_learn(f->t, mac_n(1), 0, 7, T0 + 5, &r), 0);
    assert_int_equal(r, MAC_LEARN_REFRESHED);
    assert_true(mac_table_capacity(f->t) >= 256);
}

static void
test_move_bumps_moves_generation(void **state)
{
    struct fixture *f = *state;
    enum mac_learn_result r;
    uint64_t moves = mac_table_moves(f->t);
    uint64_t changes = mac_table_changes(f->t);
    uint32_t port;

    assert_int_equal(mac_table_learn(f->t, mac_n(2), 5, 1, T0, &r), 0);
    assert_int_equal(mac_table_moves(f->t), moves);
    assert_int_equal(mac_table_changes(f->t), changes + 1);
    assert_int_equal(mac_table_learn(f->t, mac_n(2), 5, 1, T0, &r), 0);
    assert_int_equal(mac_table_changes(f->t), changes + 1);
    assert_int_equal(mac_table_learn(f->t, mac_n(2), 5, 3, T0, &r), 0);
    assert_int_equal(r, MAC_LEARN_MOVED);
    assert_int_equal(mac_table_moves(f->t), moves + 1);
    assert_int_equal(mac_table_changes(f->t), changes + 2);
    assert_int_equal(mac_table_lookup(f->t, mac_n(2), 5, T0, &port), 0);
    assert_int_equal(port, 3);
}

static void
test_vlans_are_separate(void **state)
{
    struct fixture *f = *state;
    uint32_t port;

    assert_int_equal(mac_table_learn(f->t, mac_n(3), 10, 1, T0, NULL), 0);
    assert_int_equal(mac_table_learn(f->t, mac_n(3), 20, 2, T0, NULL), 0);
    assert_int_equal(mac_table_lookup(f->t, mac_n(3), 10, T0, &port), 0);
    assert_int_equal(port, 1);
    assert_int_equal(mac_table_lookup(f->t, mac_n(3), 20, T0, &port), 0);
    assert_int_equal(port, 2);
    assert_int_equal(mac_table_lookup(f->t, mac_n(3), 0, T0, &port), ENOENT);
    assert_int_equal(mac_table_lookup(f->t, mac_n(3), 4096, T0, &port),
                     ENOENT);
}

static void
test_multicast_source_not_learned(void **state)
{
    struct fixture *f = *state;
    struct eth_addr bcast = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };

    assert_int_equal(mac_table_learn(f->t, bcast, 0, 1, T0, NULL), EINVAL);
    assert_int_equal(mac_table_learn(f->t, mac_n(1), 4096, 1, T0, NULL),
                     EINVAL);
}

static void
test_entries_age_out(void **state)
{
    struct fixture *f = *state;
    struct mac_table_entry e[4];
    uint32_t port;

    assert_int_equal(mac_table_learn(f->t, mac_n(4), 0, 1, T0, NULL), 0);
    assert_int_equal(mac_table_learn(f->t, mac_n(5), 0, 2, T0 + 1000, NULL),
                     0);
    assert_int_equal(mac_table_lookup(f->t, mac_n(4), 0, T0 + AGING - 1,
                                      &port), 0);
    assert_int_equal(mac_table_lookup(f->t, mac_n(4), 0, T0 + AGING, &port),
                     ENOENT);
    assert_int_equal(mac_table_dump(f->t, T0 + AGING, e, 4), 1);
    assert_true(eth_addr_equals(e[0].mac, mac_n(5)));
    assert_int_equal(e[0].age_msec, AGING - 1000);

    uint64_t changes = mac_table_changes(f->t);
    assert_int_equal(mac_table_age(f->t, T0 + AGING), 1);
    assert_true(mac_table_changes(f->t) > changes);
    assert_int_equal(mac_table_age(f->t, T0 + AGING), 0);
    /* Relearning an aged MAC on its old port is new, not a move. */
    enum mac_learn_result r;
    assert_int_equal(mac_table_learn(f->t, mac_n(5), 0, 2, T0 + 2 * AGING,
                                     &r), 0);
    assert_int_equal(r, MAC_LEARN_NEW);
}

static void
test_full_bucket_evicts_oldest(void **state)
{
    struct fixture *f = *state;
    uint64_t evicted = counter_get("mac_table_evicted");
    uint32_t port;

    assert_int_equal(mac_table_capacity(f->t), MAC_TABLE_WAYS);
    for (unsigned int i = 0; i < MAC_TABLE_WAYS; i++) {
        /* MAC 0 is the oldest after MAC 1 is refreshed... */
        assert_int_equal(mac_table_learn(f->t, mac_n(i), 0, i, T0 + i, NULL),
                         0);
    }
    assert_int_equal(mac_table_learn(f->t, mac_n(0), 0, 0, T0 + 10, NULL), 0);
    /* ...so MAC 1 (seen at T0 + 1) is now the oldest and goes. */
    assert_int_equal(mac_table_learn(f->t, mac_n(99), 0, 9, T0 + 11, NULL),
                     0);
    assert_int_equal(counter_get("mac_table_evicted"), evicted + 1);
    assert_int_equal(mac_table_lookup(f->t, mac_n(1), 0, T0 + 11, &port),
                     ENOENT);
    assert_int_equal(mac_table_lookup(f->t, mac_n(0), 0, T0 + 11, &port), 0);
    assert_int_equal(mac_table_lookup(f->t, mac_n(99), 0, T0 + 11, &port), 0);
    assert_int_equal(port, 9);
}

static void
test_flush_port_and_all(void **state)
{
    struct fixture *f = *state;
    struct mac_table_entry e[8];
    uint32_t port;

    for (unsigned int i = 0; i < 6; i++) {
        assert_int_equal(mac_table_learn(f->t, mac_n(i), 0, i % 2, T0, NULL),
                         0);
    }
    assert_int_equal(mac_table_dump(f->t, T0, e, 8), 6);
    assert_int_equal(mac_table_dump(f->t, T0, e, 2), 2);
    assert_int_equal(mac_table_flush(f->t, 1), 3);
    assert_int_equal(mac_table_lookup(f->t, mac_n(1), 0, T0, &port), ENOENT);
    assert_int_equal(mac_table_lookup(f->t, mac_n(2), 0, T0, &port), 0);
    assert_int_equal(mac_table_flush(f->t, UINT32_MAX), 3);
    assert_int_equal(mac_table_dump(f->t, T0, e, 8), 0);
}

static void
test_read_only_mapping(void **state)
{
    struct fixture *f = *state;
    struct mac_table *ro;
    struct errbuf eb;
    uint32_t port;

    assert_int_equal(mac_table_attach(f->fd, false, &ro, &eb), 0);
    assert_int_equal(mac_table_learn(ro, mac_n(1), 0, 1, T0, NULL), EROFS);
    assert_int_equal(mac_table_age(ro, T0 + 10 * AGING), 0);
    assert_int_equal(mac_table_learn(f->t, mac_n(1), 0, 4, T0, NULL), 0);
    assert_int_equal(mac_table_lookup(ro, mac_n(1), 0, T0, &port), 0);
    assert_int_equal(port, 4);
    assert_int_equal(mac_table_moves(ro), mac_table_moves(f->t));
    assert_int_equal(mac_table_changes(ro), mac_table_changes(f->t));
    mac_table_close(ro);
}

static void
test_attach_rejects_bad_regions(void **state)
{
    struct mac_table *t;
    struct errbuf eb;
    int fd;

    (void) state;
    /* Not sealed. */
    fd = memfd_create("junk", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 4096), 0);
    assert_int_equal(mac_table_attach(fd, true, &t, &eb), EINVAL);
    assert_non_null(strstr(eb.msg, "sealed"));
    /* Sealed but garbage. */
    assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
    assert_int_equal(mac_table_attach(fd, true, &t, &eb), EINVAL);
    assert_string_equal(eb.msg, "mac table: bad header");
    close(fd);

    assert_int_equal(mac_table_create(MAC_TABLE_MAX_CAPACITY + 1, 0, &fd, &t,
                                      &eb), EINVAL);
}

/* A second writable mapping (another handler) sees the first's entries. */
static void
test_two_writers_share(void **state)
{
    struct fixture *f = *state;
    struct mac_table *h2;
    struct errbuf eb;
    enum mac_learn_result r;
    uint32_t port;

    assert_int_equal(mac_table_attach(f->fd, true, &h2, &eb), 0);
    assert_int_equal(mac_table_learn(f->t, mac_n(8), 0, 1, T0, NULL), 0);
    assert_int_equal(mac_table_learn(h2, mac_n(8), 0, 2, T0, &r), 0);
    assert_int_equal(r, MAC_LEARN_MOVED);
    assert_int_equal(mac_table_lookup(f->t, mac_n(8), 0, T0, &port), 0);
    assert_int_equal(port, 2);
    mac_table_close(h2);
}

static int hook_fd = -1;

/* Runs inside the critical section of the doomed child: tell the parent,
 * then wait to be killed. */
static void
stall_in_critical_section(void)
{
    char c = 'x';

    if (write(hook_fd, &c, 1) != 1) {
        _exit(3);
    }
    for (;;) {
        pause();
    }
}

static void
test_writer_killed_mid_update(void **state)
{
    struct fixture *f = *state;
    uint64_t recovered = counter_get("mac_table_lock_recovered");
    int pipefd[2];
    pid_t pid;
    char c;
    int status;
    uint32_t port;

    /* Something to lose: the bucket's old contents. */
    assert_int_equal(mac_table_learn(f->t, mac_n(1), 0, 1, T0, NULL), 0);

    assert_int_equal(pipe(pipefd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (!pid) {
        struct mac_table *h;
        struct errbuf eb;

        close(pipefd[0]);
        hook_fd = pipefd[1];
        if (mac_table_attach(f->fd, true, &h, &eb)) {
            _exit(2);
        }
        mac_table_set_test_hook(stall_in_critical_section);
        mac_table_learn(h, mac_n(2), 0, 2, T0, NULL);
        _exit(1);
    }
    close(pipefd[1]);
    assert_int_equal(read(pipefd[0], &c, 1), 1);
    close(pipefd[0]);

    /* The writer is inside: readers give up instead of hanging. */
    assert_int_equal(mac_table_lookup(f->t, mac_n(1), 0, T0, &port), EAGAIN);

    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    /* Still busy for readers until a writer repairs the bucket. */
    assert_int_equal(mac_table_lookup(f->t, mac_n(1), 0, T0, &port), EAGAIN);

    /* A second writer, another process, proceeds. */
    pid = fork();
    assert_true(pid >= 0);
    if (!pid) {
        struct mac_table *h;
        struct errbuf eb;
        enum mac_learn_result r;

        if (mac_table_attach(f->fd, true, &h, &eb)
            || mac_table_learn(h, mac_n(3), 0, 3, T0, &r)
            || r != MAC_LEARN_NEW
            || counter_get("mac_table_lock_recovered") != recovered + 1) {
            _exit(1);
        }
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    /* The repaired bucket was wiped (its contents were suspect) and works
     * again for readers and writers. */
    assert_int_equal(mac_table_lookup(f->t, mac_n(3), 0, T0, &port), 0);
    assert_int_equal(port, 3);
    assert_int_equal(mac_table_lookup(f->t, mac_n(1), 0, T0, &port), ENOENT);
    assert_int_equal(mac_table_lookup(f->t, mac_n(2), 0, T0, &port), ENOENT);
    assert_int_equal(mac_table_learn(f->t, mac_n(1), 0, 1, T0, NULL), 0);
    assert_int_equal(mac_table_lookup(f->t, mac_n(1), 0, T0, &port), 0);
    assert_int_equal(counter_get("mac_table_lock_recovered"), recovered);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_learn_then_lookup, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_move_bumps_moves_generation,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_vlans_are_separate, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_multicast_source_not_learned,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_entries_age_out, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_full_bucket_evicts_oldest,
                                        setup_one_bucket, teardown),
        cmocka_unit_test_setup_teardown(test_flush_port_and_all, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_read_only_mapping, setup,
                                        teardown),
        cmocka_unit_test(test_attach_rejects_bad_regions),
        cmocka_unit_test_setup_teardown(test_two_writers_share, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_writer_killed_mid_update,
                                        setup_one_bucket, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
