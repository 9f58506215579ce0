/*
 * bytes.h — reading and writing multi-byte fields at any alignment.
 *
 * Frames, netlink payloads and shared-memory records are only byte or
 * 4-byte aligned, so dpifd never casts a pointer into them to a wider type:
 * every access copies.  Two families, named for what they return:
 *
 *   get_unaligned_be16/32/64(), put_unaligned_be16/32/64() move the bytes as
 *   they are (network order in, ovs_be* out): for fields stored in a struct
 *   flow or compared with other network-order values;
 *
 *   ntoh16_at()/ntoh32_at()/ntoh64_at() decode a big-endian field into a
 *   host-order number, hton16_at()/hton32_at() encode one: for arithmetic
 *   and printing.
 *
 *   get_unaligned_u32() copies a host-order 32-bit value (netlink's own
 *   integers).
 */
#ifndef DPIF_BYTES_H
#define DPIF_BYTES_H 1

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include "common/util.h"

static inline ovs_be16
get_unaligned_be16(const void *p)
{
    ovs_be16 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline ovs_be32
get_unaligned_be32(const void *p)
{
    ovs_be32 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline ovs_be64
get_unaligned_be64(const void *p)
{
    ovs_be64 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline uint32_t
get_unaligned_u32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void
put_unaligned_be16(void *p, ovs_be16 v)
{
    memcpy(p, &v, sizeof v);
}

static inline void
put_unaligned_be32(void *p, ovs_be32 v)
{
    memcpy(p, &v, sizeof v);
}

static inline uint16_t
ntoh16_at(const void *p)
{
    return ntohs(get_unaligned_be16(p));
}

static inline uint32_t
ntoh32_at(const void *p)
{
    return ntohl(get_unaligned_be32(p));
}

static inline uint64_t
ntoh64_at(const void *p)
{
    const uint8_t *b = p;
    uint64_t v = 0;

    for (int i = 0; i < 8; i++) {
        v = v << 8 | b[i];
    }
    return v;
}

static inline void
hton16_at(void *p, uint16_t v)
{
    put_unaligned_be16(p, htons(v));
}

static inline void
hton32_at(void *p, uint32_t v)
{
    put_unaligned_be32(p, htonl(v));
}

#endif /* bytes.h */
