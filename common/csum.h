/*
 * csum.h — Internet checksums (RFC 1071) and their incremental update
 * (RFC 1624).
 *
 * csum() computes the one's complement checksum of a block;
 * csum_continue()/csum_finish() compose it over several blocks (a
 * pseudo-header then a segment).  When a header field changes, the
 * csum_update*() functions fix an existing checksum from the old and new
 * values without reading the rest of the packet: that is how SET actions
 * rewrite addresses and ports.
 *
 * All checksums and the 16/32-bit values passed in are in network byte order,
 * exactly as they sit in the packet.
 */
#ifndef DPIF_CSUM_H
#define DPIF_CSUM_H 1

#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

/* Adds 'n' bytes at 'data' to the partial sum 'partial' (start with 0). */
uint32_t csum_continue(uint32_t partial, const void *data, size_t n);

/* Folds a partial sum into a final (complemented) checksum. */
ovs_be16 csum_finish(uint32_t partial);

/* Checksum of one block. */
ovs_be16 csum(const void *data, size_t n);

/* Partial sum of the IPv4 pseudo-header for an L4 segment of 'l4_len' bytes
 * with protocol 'proto'. */
uint32_t csum_pseudo_ipv4(ovs_be32 src, ovs_be32 dst, uint8_t proto,
                          uint16_t l4_len);

/* Partial sum of the IPv6 pseudo-header. */
uint32_t csum_pseudo_ipv6(const void *src16, const void *dst16,
                          uint8_t next_header, uint32_t l4_len);

/* Returns checksum 'old_csum' updated for a 16-bit field changing from
 * 'old_val' to 'new_val'. */
ovs_be16 csum_update16(ovs_be16 old_csum, ovs_be16 old_val, ovs_be16 new_val);

/* Same for a 32-bit field (an IPv4 address). */
ovs_be16 csum_update32(ovs_be16 old_csum, ovs_be32 old_val, ovs_be32 new_val);

/* Same for a 128-bit field (an IPv6 address), 16 bytes each. */
ovs_be16 csum_update128(ovs_be16 old_csum, const void *old_val,
                        const void *new_val);

#endif /* csum.h */
