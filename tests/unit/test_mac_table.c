/* Tests for common/mac-table.c: learning, moves and generations, VLAN
 * separation, aging, eviction of the oldest, flush (a writer's, and
 * privd's hole punch through its read-only mapping), dump, read-only
 * mappings, header validation; and the trust boundary: concurrent writer
 * processes never give a reader a torn entry, slots scribbled by a hostile
 * writer (0xff, random bytes, "held" claims, a wiped header) are rejected
 * within a bounded number of reads, and a writer killed mid-update blocks
 * nobody. */
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
#include <stdbool.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/counters.h"
#include "common/mac-table.h"

#define T0 1000000LL            /* An arbitrary "now". */
#define AGING 300000LL

struct fixture {
    int fd;                     /* The region. */
    struct mac_table *owner;    /* privd's read-only mapping. */
    struct mac_table *t;        /* A handler's writable mapping. */
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

    assert_int_equal(mac_table_create(capacity, AGING, &f->fd, &f->owner,
                                      &eb), 0);
    assert_int_equal(mac_table_attach(f->fd, true, &f->t, &eb), 0);
    *state = f;
    return 0;
}

static int
setup(void **state)
{
    return setup_sized(state, 256);
}

/* The size privd uses. */
static int
setup_default(void **state)
{
    return setup_sized(state, 0);
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
    mac_table_close(f->owner);
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
    assert_int_equal(mac_table_dump(f->owner, T0, e, 2), 2);
    assert_int_equal(mac_table_flush(f->t, 1), 3);
    assert_int_equal(mac_table_lookup(f->t, mac_n(1), 0, T0, &port), ENOENT);
    assert_int_equal(mac_table_lookup(f->t, mac_n(2), 0, T0, &port), 0);
    /* privd: only everything, through its read-only mapping. */
    assert_int_equal(mac_table_flush(f->owner, 0), 0);
    uint64_t changes = mac_table_changes(f->t);
    assert_int_equal(mac_table_flush(f->owner, UINT32_MAX), 3);
    assert_true(mac_table_changes(f->t) > changes);
    assert_true(mac_table_changes(f->owner) > changes);
    assert_int_equal(mac_table_dump(f->t, T0, e, 8), 0);
    assert_int_equal(mac_table_lookup(f->t, mac_n(2), 0, T0, &port), ENOENT);
    /* The writer's mapping works on after the hole. */
    assert_int_equal(mac_table_learn(f->t, mac_n(2), 0, 5, T0, NULL), 0);
    assert_int_equal(mac_table_lookup(f->owner, mac_n(2), 0, T0, &port), 0);
    assert_int_equal(port, 5);
    assert_int_equal(mac_table_flush(f->t, UINT32_MAX), 1);
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
    assert_int_equal(mac_table_learn(f->owner, mac_n(1), 0, 1, T0, NULL),
                     EROFS);
    assert_int_equal(mac_table_age(ro, T0 + 10 * AGING), 0);
    assert_int_equal(mac_table_flush(ro, UINT32_MAX), 0);
    assert_int_equal(mac_table_learn(f->t, mac_n(1), 0, 4, T0, NULL), 0);
    assert_int_equal(mac_table_lookup(ro, mac_n(1), 0, T0, &port), 0);
    assert_int_equal(port, 4);
    assert_int_equal(mac_table_moves(ro), mac_table_moves(f->t));
    assert_int_equal(mac_table_changes(ro), mac_table_changes(f->t));
    mac_table_close(ro);
}

/* privd's mapping is not writable: the only mapping of the memfd after
 * mac_table_create() is read-only ("r--s" in /proc/self/maps). */
static void
test_owner_mapping_is_read_only(void **state)
{
    struct mac_table *owner;
    struct errbuf eb;
    char line[512];
    int fd, n = 0;

    (void) state;
    assert_int_equal(mac_table_create(0, 0, &fd, &owner, &eb), 0);
    FILE *maps = fopen("/proc/self/maps", "r");
    assert_non_null(maps);
    while (fgets(line, sizeof line, maps)) {
        if (strstr(line, "dpifd-mac-table")) {
            char perms[8] = "";
            assert_int_equal(sscanf(line, "%*s %7s", perms), 1);
            assert_string_equal(perms, "r--s");
            n++;
        }
    }
    fclose(maps);
    assert_int_equal(n, 1);
    mac_table_close(owner);
    close(fd);
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
    /* Sealed, but no table has that size. */
    assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
    assert_int_equal(mac_table_attach(fd, true, &t, &eb), EINVAL);
    assert_non_null(strstr(eb.msg, "bad header"));
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

/* A hostile writer's view of the region: all of it, writable. */
static unsigned char *
map_raw(int fd, size_t *sizep)
{
    struct stat st;

    assert_int_equal(fstat(fd, &st), 0);
    void *p = mmap(NULL, (size_t) st.st_size, PROT_READ | PROT_WRITE,
                   MAP_SHARED, fd, 0);
    assert_true(p != MAP_FAILED);
    *sizep = (size_t) st.st_size;
    return p;
}

static long long
mono_usec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* Every way a hostile writer can fill the slots: readers (privd's dump and
 * flush among them) finish within a bound and report nothing false. */
static void
check_scribbled(struct fixture *f, const unsigned char *raw, size_t size)
{
    size_t cap = mac_table_capacity(f->t);
    struct mac_table_entry *e = xcalloc(cap, sizeof *e);
    uint32_t port;

    (void) raw;
    (void) size;
    long long start = mono_usec();
    assert_int_equal(mac_table_dump(f->owner, T0, e, cap), 0);
    for (unsigned int i = 0; i < 64; i++) {
        int error = mac_table_lookup(f->t, mac_n(i), 0, T0, &port);
        assert_true(error == ENOENT || error == EAGAIN);
    }
    /* 8192 slots, each read at most SLOT_READ_TRIES times: well under a
     * second even on a loaded machine. */
    assert_true(mono_usec() - start < 1000000);
    free(e);
}

static void
test_scribbled_slots_are_rejected(void **state)
{
    struct fixture *f = *state;
    size_t size;
    unsigned char *raw = map_raw(f->fd, &size);
    uint64_t invalid = counter_get("mac_table_slot_invalid");
    uint32_t port;

    /* All bytes 0xff: every sequence word odd ("claimed") with an ancient
     * stamp, header included. */
    memset(raw, 0xff, size);
    check_scribbled(f, raw, size);
    /* Writers take the abandoned claims over. */
    assert_int_equal(mac_table_learn(f->t, mac_n(1), 0, 3, T0, NULL), 0);
    assert_int_equal(mac_table_lookup(f->owner, mac_n(1), 0, T0, &port), 0);
    assert_int_equal(port, 3);

    /* Random bytes: fail their check. */
    uint32_t seed = 99;
    for (size_t i = 4096; i < size; i++) {
        seed = seed * 1103515245u + 12345u;
        raw[i] = (unsigned char) (seed >> 16);
    }
    check_scribbled(f, raw, size);
    assert_true(counter_get("mac_table_slot_invalid") > invalid);

    /* Even sequence words, valid-looking keys, wrong checks. */
    uint64_t *w = (uint64_t *) (void *) (raw + 4096);
    for (size_t i = 0; i + 4 <= (size - 4096) / 8; i += 4) {
        w[i] = (uint64_t) i << 33;                      /* even, check ? */
        w[i + 1] = (UINT64_C(1) << 63) | 0x020000000000ull | i; /* key */
        w[i + 2] = 1;
        w[i + 3] = T0;
    }
    check_scribbled(f, raw, size);

    /* "Held locks": every slot claimed just now, and kept so. */
    for (size_t i = 0; i + 4 <= (size - 4096) / 8; i += 4) {
        w[i] = ((uint64_t) (uint32_t) T0 << 32) | 1;
    }
    check_scribbled(f, raw, size);
    assert_int_equal(mac_table_learn(f->t, mac_n(2), 0, 3, T0, NULL), EAGAIN);
    /* privd's flush neither waits nor fails. */
    long long start = mono_usec();
    assert_int_equal(mac_table_flush(f->owner, UINT32_MAX), 0);
    assert_true(mono_usec() - start < 1000000);
    assert_int_equal(mac_table_learn(f->t, mac_n(2), 0, 3, T0, NULL), 0);

    /* Held again: after a second the claims count as abandoned, and
     * aging repairs them. */
    for (size_t i = 0; i + 4 <= (size - 4096) / 8; i += 4) {
        w[i] = ((uint64_t) (uint32_t) T0 << 32) | 1;
    }
    uint64_t stolen = counter_get("mac_table_slot_stolen");
    assert_int_equal(mac_table_learn(f->t, mac_n(3), 0, 4, T0 + 2000, NULL),
                     0);
    mac_table_age(f->t, T0 + 2000);
    assert_true(counter_get("mac_table_slot_stolen") > stolen + 1);
    assert_int_equal(mac_table_learn(f->t, mac_n(4), 0, 4, T0 + 2000, NULL),
                     0);
    munmap(raw, size);
}

/* A wiped header costs a new process nothing but the default aging. */
static void
test_scribbled_header_still_attaches(void **state)
{
    struct fixture *f = *state;
    size_t size;
    unsigned char *raw = map_raw(f->fd, &size);
    uint64_t bad = counter_get("mac_table_header_invalid");
    struct mac_table *h2;
    struct errbuf eb;
    uint32_t port;

    memset(raw, 0xa5, 4096);
    assert_int_equal(mac_table_attach(f->fd, true, &h2, &eb), 0);
    assert_int_equal(counter_get("mac_table_header_invalid"), bad + 1);
    assert_int_equal(mac_table_capacity(h2), mac_table_capacity(f->t));
    assert_int_equal(mac_table_learn(h2, mac_n(1), 0, 2, T0, NULL), 0);
    assert_int_equal(mac_table_lookup(h2, mac_n(1), 0, T0, &port), 0);
    assert_int_equal(port, 2);
    mac_table_close(h2);
    munmap(raw, size);
}

/* Writer processes learn MAC i only on ports 4i..4i+3, moving it all the
 * time, while this process reads: a torn copy would show another port. */
static void
test_concurrent_writers_never_tear(void **state)
{
    struct fixture *f = *state;
    enum { N_WRITERS = 3, N_MACS = 64, RUN_USEC = 300000 };
    pid_t pids[N_WRITERS];
    struct mac_table_entry e[256];

    for (int w = 0; w < N_WRITERS; w++) {
        pids[w] = fork();
        assert_true(pids[w] >= 0);
        if (!pids[w]) {
            struct mac_table *h;
            struct errbuf eb;
            long long end = mono_usec() + RUN_USEC;
            uint32_t n = (uint32_t) w;

            if (mac_table_attach(f->fd, true, &h, &eb)) {
                _exit(2);
            }
            while (mono_usec() < end) {
                for (uint32_t i = 0; i < N_MACS; i++) {
                    int error = mac_table_learn(h, mac_n(i), 0,
                                                4 * i + (n++ & 3), T0, NULL);
                    if (error && error != EAGAIN) {
                        _exit(1);
                    }
                }
            }
            _exit(0);
        }
    }
    long long end = mono_usec() + RUN_USEC;
    size_t found = 0;
    while (mono_usec() < end) {
        for (uint32_t i = 0; i < N_MACS; i++) {
            uint32_t port;
            if (!mac_table_lookup(f->t, mac_n(i), 0, T0, &port)) {
                assert_int_equal(port / 4, i);
                found++;
            }
        }
        size_t n = mac_table_dump(f->owner, T0, e, 256);
        for (size_t j = 0; j < n; j++) {
            assert_int_equal(e[j].port / 4, e[j].mac.ea[5]);
            assert_int_equal(e[j].age_msec, 0);
        }
    }
    for (int w = 0; w < N_WRITERS; w++) {
        int status;
        assert_int_equal(waitpid(pids[w], &status, 0), pids[w]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_true(found > 0);
    /* Every address is there once (the table is big enough for no
     * eviction), whatever the races were. */
    size_t n = mac_table_dump(f->owner, T0, e, 256);
    assert_int_equal(n, N_MACS);
    bool seen[N_MACS] = { false };
    for (size_t j = 0; j < n; j++) {
        assert_false(seen[e[j].mac.ea[5]]);
        seen[e[j].mac.ea[5]] = true;
    }
}

static int hook_fd = -1;

/* Runs inside the update of the doomed child: tell the parent, then wait
 * to be killed. */
static void
stall_in_update(void)
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
    int pipefd[2];
    pid_t pid;
    char c;
    int status;
    uint32_t port;

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
        mac_table_set_test_hook(stall_in_update);
        mac_table_learn(h, mac_n(2), 0, 2, T0, NULL);
        _exit(1);
    }
    close(pipefd[1]);
    assert_int_equal(read(pipefd[0], &c, 1), 1);
    close(pipefd[0]);

    /* The writer is inside one slot: the bucket's other entries are read
     * as usual, and the one being written is busy, not waited for. */
    assert_int_equal(mac_table_lookup(f->t, mac_n(1), 0, T0, &port), 0);
    assert_int_equal(port, 1);
    assert_int_equal(mac_table_lookup(f->t, mac_n(2), 0, T0, &port), EAGAIN);

    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    /* Other writers use the bucket's free slots at once... */
    assert_int_equal(mac_table_learn(f->t, mac_n(3), 0, 3, T0, NULL), 0);
    assert_int_equal(mac_table_lookup(f->t, mac_n(3), 0, T0, &port), 0);
    /* ...and the abandoned slot a second later. */
    uint64_t stolen = counter_get("mac_table_slot_stolen");
    assert_int_equal(mac_table_learn(f->t, mac_n(2), 0, 2, T0 + 1500, NULL),
                     0);
    assert_int_equal(mac_table_learn(f->t, mac_n(4), 0, 4, T0 + 1500, NULL),
                     0);
    assert_int_equal(counter_get("mac_table_slot_stolen"), stolen + 1);
    assert_int_equal(mac_table_lookup(f->t, mac_n(2), 0, T0 + 1500, &port),
                     0);
    assert_int_equal(port, 2);
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
        cmocka_unit_test(test_owner_mapping_is_read_only),
        cmocka_unit_test(test_attach_rejects_bad_regions),
        cmocka_unit_test_setup_teardown(test_two_writers_share, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_scribbled_slots_are_rejected,
                                        setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_scribbled_header_still_attaches,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_writers_never_tear,
                                        setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_writer_killed_mid_update,
                                        setup_one_bucket, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
