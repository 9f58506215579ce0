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
 *     fault by resizing it) and keeps its own read-only mapping for
 *     "fdb/show" and "fdb/flush";
 *   - privd passes the fd to each worker; handlers map it read-write
 *     (mac_table_attach(fd, true)), revalidators read-only (false).
 *
 * Entry contents are never trusted: a reader ignores entries that fail
 * their check or format, and the translation ignores ports that are not in
 * the datapath's port list.
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
 * Trust and concurrency
 * =====================
 *
 * Every handler and revalidator maps the region read-write, and any of
 * them may be compromised: the region holds no lock, no futex and no
 * pointer, nothing whose corruption another process could trip over, and
 * nobody ever waits for anybody on it.
 *
 *   - Lock-free slots.  Each entry has its own 64-bit sequence word: a
 *     version, odd while a writer is inside, and, when even, a check (a
 *     hash of version and contents).  A writer claims a slot with one
 *     compare-and-swap from the version it read (odd, stamped with its
 *     clock), stores the entry and publishes it with a second CAS (even,
 *     with the check).  A reader copies the slot between two loads of an
 *     even, unchanged word, at most a bounded number of times, and drops a
 *     copy whose check or format is wrong: a torn write, or a scribble.
 *     A slot left odd (a writer killed mid-update, or a hostile one) is
 *     busy for CLAIM_STALE_MSEC, then any writer may claim it again.
 *     Learning gives up after a bounded number of lost races (EAGAIN,
 *     "mac_table_busy"): the caller floods, as for an unknown address.
 *     Two writers learning the same new address at once may leave two
 *     copies in a bucket: the newer counts everywhere (lookup, dump), and
 *     the next learn of the address drops the other.
 *     The worst a hostile writer can do is what it could do by learning:
 *     wrong or missing entries, i.e. floods and wrong unicasts, which
 *     the translation checks against the datapath's real ports.
 *
 *   - privd never maps the region writable.  mac_table_create() writes
 *     the header with pwrite() and maps the region read-only; "fdb/show"
 *     reads each slot with the bounded reader above and validates every
 *     field; "fdb/flush" counts the entries, then punches a hole over the
 *     slot pages (fallocate(), which neither waits for nor reads what
 *     workers wrote: every mapping sees zeros, i.e. free slots) and counts
 *     the flush in the header with pwrite().
 *
 *   - The header can be scribbled too.  Geometry is derived from the
 *     memfd's size (sealed, so nobody can change it) and kept in each
 *     process's private struct mac_table, so no index ever depends on
 *     shared bytes; a header that does not match (counted,
 *     "mac_table_header_invalid") only costs the default aging time.  The
 *     generation counters are hints: a scribbler can only make
 *     revalidators re-check their flows.
 *
 * Entries are stored as 64-bit atomic words, read and written with relaxed
 * atomics inside the sequence protocol, so a torn read is detected and
 * never undefined behaviour.
 *
 * Counters: mac_table_busy (a lookup or learn gave up on busy slots),
 * mac_table_evicted, mac_table_header_invalid, mac_table_moved,
 * mac_table_slot_invalid (a slot failed its check), mac_table_slot_stolen
 * (an abandoned claim taken over), mac_table_write_lost (a writer's claim
 * was taken over before it published, or privd's flush count could not be
 * written).
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
#define MAC_TABLE_MAX_AGING_MSEC 86400000LL /* 1 day. */

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
 * 'aging_msec' (0 means MAC_TABLE_DEFAULT_AGING_MSEC, at most
 * MAC_TABLE_MAX_AGING_MSEC), in a new sealed memfd.  On success stores the
 * fd (owned by the caller, close-on-exec) in '*fdp' and the owner's
 * read-only mapping in '*tablep' (it keeps a duplicate of the fd for
 * mac_table_flush()); writers attach with mac_table_attach(fd, true).  Returns 0, EINVAL for a
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
 * in '*resultp' (may be NULL), EROFS on a read-only mapping, or EAGAIN if
 * the bucket's slots stayed busy (other writers, or a hostile one) for a
 * bounded number of attempts. */
int mac_table_learn(struct mac_table *table, struct eth_addr mac,
                    uint16_t vlan, uint32_t port, long long now_msec,
                    enum mac_learn_result *resultp);

/* Looks up where 'mac' on 'vlan' was last seen.  Returns 0 and the port in
 * '*portp'; ENOENT if it is unknown or aged out; EAGAIN if it was not found
 * and a slot of its bucket stayed busy (a writer inside, or one that left a
 * claim behind).  The
 * port is whatever a writer stored: check it against the datapath's ports.
 * Works on read-only mappings. */
int mac_table_lookup(const struct mac_table *table, struct eth_addr mac,
                     uint16_t vlan, long long now_msec, uint32_t *portp);

/* Removes entries not seen for the aging time, and repairs garbage slots
 * and claims abandoned for longer than a second.  Writable mappings only
 * (0 otherwise).  Returns how many entries it removed. */
size_t mac_table_age(struct mac_table *table, long long now_msec);

/* Removes every entry, or with 'port' other than UINT32_MAX only the entries
 * on that port (a port that went away).  On a writable mapping slot by
 * slot; on the owner's mapping from mac_table_create() (privd) only
 * UINT32_MAX, by punching a hole over the slots; 0 on other read-only
 * mappings.  Returns how many entries were live. */
size_t mac_table_flush(struct mac_table *table, uint32_t port);

/* Copies up to 'max' live entries into 'entries' (slot order; busy and
 * invalid slots are skipped).  Each slot is read a bounded number of
 * times, so the call is bounded by the capacity whatever the writers do.
 * Returns how many were copied. */
size_t mac_table_dump(const struct mac_table *table, long long now_msec,
                      struct mac_table_entry *entries, size_t max);

/* Generation counters (see Overview). */
uint64_t mac_table_moves(const struct mac_table *table);
uint64_t mac_table_changes(const struct mac_table *table);

/* Number of entries the table can hold. */
size_t mac_table_capacity(const struct mac_table *table);

/* Test seam: when set, 'hook' is called by writers with a slot claimed
 * (its sequence odd) after the first entry word is written, so that tests
 * can kill a writer mid-update.  NULL (the default) removes it. */
void mac_table_set_test_hook(void (*hook)(void));

#endif /* mac-table.h */
