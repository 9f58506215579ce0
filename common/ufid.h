/*
 * ufid.h — Unique Flow IDentifiers.
 *
 * A UFID is a 128-bit name for a datapath flow, chosen by userspace when it
 * installs the flow (OVS_FLOW_ATTR_UFID).  dpifd derives it from the flow's
 * netlink key and mask with MurmurHash3-128, so every process that sees the
 * same megaflow computes the same UFID, and the revalidator shard that owns a
 * flow is ufid_shard(ufid, n_revalidators) everywhere.
 *
 * The text form is the one Open vSwitch prints:
 * "ufid:xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (u32[0], u32[1] split in two
 * halves, u32[2] split, u32[3]).
 */
#ifndef DPIF_UFID_H
#define DPIF_UFID_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Host order words, the layout of OVS_FLOW_ATTR_UFID (16 bytes). */
union ufid {
    uint32_t u32[4];
    uint64_t u64[2];
};

#define UFID_STRLEN 42          /* "ufid:" + 36 + NUL. */

/* Computes the UFID of a flow from its netlink key and mask attributes
 * (either may be empty). */
void ufid_from_key(const void *key, size_t key_len,
                   const void *mask, size_t mask_len, union ufid *ufid);

/* Formats 'ufid' into 'buf' (UFID_STRLEN bytes) with the "ufid:" prefix. */
void ufid_format(const union ufid *ufid, char buf[UFID_STRLEN]);

/* Parses "ufid:..." (the prefix is required) at the start of 's'.  On
 * success stores the UFID and returns the number of characters consumed;
 * returns 0 if 's' does not start with a well-formed UFID. */
size_t ufid_parse(const char *s, union ufid *ufid);

/* Revalidator shard that owns 'ufid' among 'n_shards' (> 0). */
unsigned int ufid_shard(const union ufid *ufid, unsigned int n_shards);

bool ufid_equals(const union ufid *a, const union ufid *b);
bool ufid_is_zero(const union ufid *ufid);

#endif /* ufid.h */
