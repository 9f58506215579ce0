/*
 * mac-table.h — the MAC learning table, shared between processes.
 *
 * Overview
 * ========
 *
 * The action "normal" (common/xlate.h) is a learning switch: it remembers on
 * which port each (MAC address, VLAN) was last seen as a source and sends
 * frames for that destination there.  Every handler of a datapath learns
 * into the same table and every revalidator reads it, so the table lives in
 * shared memory:
 *
 *   - privd creates it with mac_table_create(), which returns a memfd (sealed
 *     against growing and shrinking, so that no worker can make another
 *     fault by resizing it) and keeps its own mapping for "fdb/show";
 *   - privd passes the fd to each worker; handlers map it read-write
 *     (mac_table_attach(fd, true)), revalidators read-only (false).
 *
 * Geometry (number of buckets, entries per bucket, aging time) is read from
 * the region's header once, at attach, checked against the size of the
 * memfd, and kept in the process's private "struct mac_table": a worker that
 * scribbles over the header cannot make another process index out of
 * bounds.  Entry contents are never trusted either: a reader ignores entries
 * whose VLAN is out of range, and the translation ignores ports that are
 * not in the datapath's port list.
 *
 * Layout: a bounded, bucketed hash table.  A (MAC, VLAN) hashes (with a
 * random per-table basis, so that hosts cannot aim at one bucket) to one
 * bucket of MAC_TABLE_WAYS entries.  Learning into a full bucket evicts the
 * least recently seen entry of that bucket: the table never grows and the
 * oldest entries go first.  Entries not seen for the aging time (default
 * 300 s) are invisible to lookups and are removed by mac_table_age().
 *
 * Generations: two counters in the header tell revalidators that
 * translations may have changed.  mac_table_moves() counts MAC moves (a
 * known (MAC, VLAN) seen on another port: flows that unicast to the old port
 * are now wrong).  mac_table_changes() counts every change that can alter a
 * translation: moves, new entries (flows that flooded can now unicast),
 * evictions, aging and flushes.
 *
 * Concurrency
 * ===========
 *
 * Each bucket has a sequence lock for readers and a robust process-shared
 * mutex for writers:
 *
 *   - writers (handlers, privd for flush) take the bucket's mutex, make the
 *     sequence odd, change the entries, and make it even again;
 *   - readers (anyone, including read-only mappings) never write: they copy
 *     the bucket between two reads of an even, unchanged sequence, retrying
 *     a bounded number of times, and report EAGAIN ("busy": the caller
 *     floods) rather than spin forever.
 *
 * Why a robust mutex rather than a try-lock with an owner pid and a timeout
 * steal: when a writer dies holding it, the kernel itself hands the mutex to
 * the next locker with EOWNERDEAD (the robust futex list is walked at
 * process exit), so recovery needs neither guessing whether a pid is alive
 * (pids are reused, and a sandboxed worker may not be allowed to signal
 * another) nor a timeout that could steal the lock from a writer that is
 * merely slow.  The next writer then repairs the bucket, which may be half
 * written: it drops entries that fail validation, closes the sequence (so
 * that readers stop retrying), marks the mutex consistent and counts
 * "mac_table_lock_recovered".  An uncontended lock costs one atomic
 * compare-and-swap, like the try-lock would.
 *
 * Entries are stored as 64-bit atomic words, read and written with relaxed
 * atomics inside the sequence lock, so a torn read is detected by the
 * sequence check and never undefined behaviour.
 *
 * Time is CLOCK_MONOTONIC milliseconds (common/timeval.h time_msec()),
 * which all processes on the host share; every call takes 'now_msec' so
 * that tests can drive it.
 *
 * Ownership: mac_table_create() returns a memfd the caller owns (close it
 * when every worker has it) and a mapping freed with mac_table_close(); the
 * region lives as long as any process maps it.
 */
#ifndef DPIF_MAC_TABLE_H
#define DPIF_MAC_TABLE_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/flow.h"
#include "common/util.h"

#define MAC_TABLE_WAYS 4                    /* Entries per bucket. */
#define MAC_TABLE_DEFAULT_CAPACITY 8192     /* Entries. */
#define MAC_TABLE_MAX_CAPACITY (1u << 22)   /* Entries. */
#define MAC_TABLE_DEFAULT_AGING_MSEC 300000 /* 300 s. */

/* A process's view of a shared table.  Opaque. */
struct mac_table;

/* One live entry, as mac_table_dump() reports it. */
struct mac_table_entry {
    struct eth_addr mac;        /* Learned source address. */
    uint16_t vlan;              /* VLAN id 0..4095 (0: untagged). */
    uint32_t port;              /* Port it was last seen on. */
    long long age_msec;         /* Time since it was last seen. */
};

/* What mac_table_learn() did. */
enum mac_learn_result {
    MAC_LEARN_REFRESHED,        /* Known on this port: time updated. */
    MAC_LEARN_NEW,              /* A new entry. */
    MAC_LEARN_MOVED,            /* Known on another port: moved. */
};

/* Creates a table of at least 'capacity' entries (rounded up to a power of
 * two buckets; 0 means MAC_TABLE_DEFAULT_CAPACITY) whose entries age after
 * 'aging_msec' (0 means MAC_TABLE_DEFAULT_AGING_MSEC), in a new sealed
 * memfd.  On success stores the fd (owned by the caller, close-on-exec) in
 * '*fdp' and a writable mapping in '*tablep'.  Returns 0, EINVAL for a
 * capacity above MAC_TABLE_MAX_CAPACITY, or an errno from the system. */
int mac_table_create(size_t capacity, long long aging_msec, int *fdp,
                     struct mac_table **tablep, struct errbuf *eb);

/* Maps the table in 'fd' (which the caller keeps) read-write if 'writable',
 * read-only otherwise.  Checks the header (magic, version, geometry, size).
 * Returns 0 and a mapping in '*tablep', or EINVAL for a region that is not
 * a valid table, or an errno from the system. */
int mac_table_attach(int fd, bool writable, struct mac_table **tablep,
                     struct errbuf *eb);

/* Unmaps 'table' (may be NULL). */
void mac_table_close(struct mac_table *table);

/* Records that 'mac' on 'vlan' (0..4095) was seen on 'port' at 'now_msec'.
 * Multicast sources are not learned (EINVAL).  Returns 0 and what happened
 * in '*resultp' (may be NULL), or EROFS on a read-only mapping. */
int mac_table_learn(struct mac_table *table, struct eth_addr mac,
                    uint16_t vlan, uint32_t port, long long now_msec,
                    enum mac_learn_result *resultp);

/* Looks up where 'mac' on 'vlan' was last seen.  Returns 0 and the port in
 * '*portp'; ENOENT if it is unknown or aged out; EAGAIN if the bucket stayed
 * busy (a writer kept it, or died in it and nobody repaired it yet).  The
 * port is whatever a writer stored: check it against the datapath's ports.
 * Works on read-only mappings. */
int mac_table_lookup(const struct mac_table *table, struct eth_addr mac,
                     uint16_t vlan, long long now_msec, uint32_t *portp);

/* Removes entries not seen for the aging time.  Returns how many. */
size_t mac_table_age(struct mac_table *table, long long now_msec);

/* Removes every entry, or with 'port' other than UINT32_MAX only the entries
 * on that port (a port that went away).  Returns how many. */
size_t mac_table_flush(struct mac_table *table, uint32_t port);

/* Copies up to 'max' live entries into 'entries' (bucket order; a busy
 * bucket is skipped).  Returns how many were copied. */
size_t mac_table_dump(const struct mac_table *table, long long now_msec,
                      struct mac_table_entry *entries, size_t max);

/* Generation counters (see Overview). */
uint64_t mac_table_moves(const struct mac_table *table);
uint64_t mac_table_changes(const struct mac_table *table);

/* Number of entries the table can hold. */
size_t mac_table_capacity(const struct mac_table *table);

/* Test seam: when set, 'hook' is called by writers inside the critical
 * section (sequence odd, mutex held) after the first entry word is written,
 * so that tests can kill a writer mid-update.  NULL (the default) removes
 * it. */
void mac_table_set_test_hook(void (*hook)(void));

#endif /* mac-table.h */
