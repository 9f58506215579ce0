/*
 * status-page.h — the shared, read-mostly status page: layout and reader.
 *
 * privd publishes a few datapath-wide values that every worker needs on its
 * hot path (handlers: "may I install another flow?", "megaflows or exact
 * matches?"; revalidators: "how long did the last dump take?", "which
 * policy generation is current?") in one page of shared memory, instead of
 * sending a message each time one changes.  privd writes it
 * (privd/status-page.h); workers map it read-only and read it with
 * status_page_read().
 *
 * Layout: one STATUS_PAGE_SIZE memfd holding a struct status_page_shared.
 * Every field is a 64-bit C11 atomic, so reads and writes are never torn
 * and never a data race.
 *
 * Consistency: a seqlock.  The writer makes 'seq' odd, stores the fields,
 * then makes 'seq' even again (release).  A reader loads 'seq' (acquire),
 * copies the fields, loads 'seq' again after an acquire fence, and retries
 * if it was odd or changed.  A reader never blocks the writer, and a worker
 * killed mid-read leaves nothing behind.  Only privd writes, so a reader
 * can only spin while privd is inside status_page_publish(), which does a
 * handful of stores: status_page_read() gives up after
 * STATUS_PAGE_READ_TRIES and returns EAGAIN rather than spin forever.
 *
 * Read-only for workers: privd maps the memfd read-write first, then seals
 * it with F_SEAL_FUTURE_WRITE (with SHRINK, GROW and SEAL).  From then on
 * nobody can create a new writable mapping or write() to it — the worker
 * gets the same fd but can only mmap it PROT_READ, and mprotect() cannot
 * add PROT_WRITE to that mapping (the kernel clears VM_MAYWRITE) — while
 * privd's existing mapping stays writable.  That is stronger than handing
 * over an O_RDONLY reopening of the memfd (which needs /proc), and the
 * worker needs no extra system call to use it.  status_page_map() checks
 * the seals, so a worker never maps a page that another worker could write.
 *
 * Socket-only mode: no page is mapped; privd sends a Status message
 * (worker.proto) on every change, and the worker keeps the values in a
 * private struct status_page_values (worker.h).
 *
 * Ownership: a struct status_page_reader owns its mapping.  Single-threaded.
 */
#ifndef DPIF_STATUS_PAGE_H
#define DPIF_STATUS_PAGE_H 1

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

/* "STAT", host order. */
#define STATUS_PAGE_MAGIC 0x53544154u
/* Layout version; bumped on any change of struct status_page_shared. */
#define STATUS_PAGE_VERSION 1
/* Size of the memfd and of every mapping of it. */
#define STATUS_PAGE_SIZE 4096
/* How often status_page_read() retries a torn read before EAGAIN. */
#define STATUS_PAGE_READ_TRIES 1000

/* The values, as a reader sees them. */
struct status_page_values {
    uint64_t flow_count;        /* Flows at the end of the last dump. */
    uint64_t flow_limit;        /* Current dynamic flow limit. */
    uint64_t dump_duration_msec; /* Duration of the last dump. */
    uint64_t dump_seq;          /* Sequence number of the last dump. */
    uint64_t policy_generation; /* Current forwarding policy generation. */
    uint64_t mac_table_generation; /* Current MAC table generation. */
    uint64_t avg_flows;         /* Average flow count over recent dumps. */
    uint64_t max_flows;         /* Maximum flow count over recent dumps. */
    bool megaflows;             /* Handlers install wildcarded flows. */
};

/* The shared layout.  Written by privd only. */
struct status_page_shared {
    _Atomic uint64_t magic_version; /* STATUS_PAGE_MAGIC << 32 | VERSION,
                                     * written once before sealing. */
    _Atomic uint64_t seq;           /* Seqlock: odd while being written. */
    _Atomic uint64_t flow_count;
    _Atomic uint64_t flow_limit;
    _Atomic uint64_t dump_duration_msec;
    _Atomic uint64_t dump_seq;
    _Atomic uint64_t policy_generation;
    _Atomic uint64_t mac_table_generation;
    _Atomic uint64_t avg_flows;
    _Atomic uint64_t max_flows;
    _Atomic uint64_t megaflows;     /* 0 or 1. */
};

_Static_assert(sizeof(struct status_page_shared) <= STATUS_PAGE_SIZE,
               "status page layout must fit its page");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2,
               "the status page needs lock-free 64-bit atomics");

/* A worker's read-only mapping of the page. */
struct status_page_reader {
    const struct status_page_shared *page; /* The mapping, owned. */
};

/* Maps 'fd' (a memfd of exactly STATUS_PAGE_SIZE bytes sealed with
 * F_SEAL_FUTURE_WRITE, F_SEAL_SHRINK and F_SEAL_GROW) read-only and checks
 * its magic and version.  Takes ownership of 'fd' (closed in every case:
 * the mapping does not need it).  Returns 0, EINVAL for a wrong size,
 * missing seals or a wrong header, or the errno of fstat(), fcntl() or
 * mmap(). */
int status_page_map(int fd, struct status_page_reader *reader,
                     struct errbuf *eb);

/* Unmaps the page.  Idempotent. */
void status_page_unmap(struct status_page_reader *reader);

/* Reads a consistent snapshot of the page into '*values'.  Returns 0, or
 * EAGAIN if the writer was mid-update STATUS_PAGE_READ_TRIES times in a
 * row ('*values' is not written then). */
int status_page_read(const struct status_page_reader *reader,
                     struct status_page_values *values);

/* True if 'a' and 'b' hold the same values (field by field: the struct
 * has padding). */
bool status_page_values_equal(const struct status_page_values *a,
                              const struct status_page_values *b);

/* Reads a snapshot from 'page' (the writer's mapping or a reader's). */
int status_page_read__(const struct status_page_shared *page,
                       struct status_page_values *values);

#endif /* status-page.h */
