#include "common/flow.h"

#include <arpa/inet.h>
#include <assert.h>
#include <net/ethernet.h>
#include <string.h>

#include "common/hash.h"

/* No implicit padding anywhere: masking, hashing and memcmp() rely on it. */
static_assert(sizeof(struct flow_tnl) == 24, "struct flow_tnl has padding");
static_assert(sizeof(struct flow) == 144, "struct flow has padding");
static_assert(sizeof(struct flow) % sizeof(uint64_t) == 0,
              "struct flow must be a whole number of 64-bit words");

static const uint64_t *
flow_u64(const struct flow *flow)
{
    return (const uint64_t *) (const void *) flow;
}

void
flow_apply_mask(struct flow *dst, const struct flow *flow,
                const struct flow *mask)
{
    uint64_t *d = (uint64_t *) (void *) dst;
    const uint64_t *f = flow_u64(flow), *m = flow_u64(mask);

    for (size_t i = 0; i < FLOW_U64S; i++) {
        d[i] = f[i] & m[i];
    }
}

bool
flow_equal_masked(const struct flow *a, const struct flow *b,
                  const struct flow *mask)
{
    const uint64_t *pa = flow_u64(a), *pb = flow_u64(b), *m = flow_u64(mask);

    for (size_t i = 0; i < FLOW_U64S; i++) {
        if ((pa[i] ^ pb[i]) & m[i]) {
            return false;
        }
    }
    return true;
}

void
flow_mask_exact(struct flow *mask)
{
    memset(mask, 0xff, sizeof *mask);
    memset(mask->tunnel.pad, 0, sizeof mask->tunnel.pad);
    memset(mask->pad, 0, sizeof mask->pad);
}

bool
flow_mask_covers(const struct flow *a, const struct flow *b)
{
    const uint64_t *pa = flow_u64(a), *pb = flow_u64(b);

    for (size_t i = 0; i < FLOW_U64S; i++) {
        if (pb[i] & ~pa[i]) {
            return false;
        }
    }
    return true;
}

bool
flow_mask_is_empty(const struct flow *mask)
{
    const uint64_t *m = flow_u64(mask);

    for (size_t i = 0; i < FLOW_U64S; i++) {
        if (m[i]) {
            return false;
        }
    }
    return true;
}

uint32_t
flow_hash(const struct flow *flow, uint32_t basis)
{
    return hash_words64(flow_u64(flow), FLOW_U64S, basis);
}

uint32_t
flow_hash_masked(const struct flow *flow, const struct flow *mask,
                 uint32_t basis)
{
    const uint64_t *f = flow_u64(flow), *m = flow_u64(mask);
    uint32_t hash = basis;

    for (size_t i = 0; i < FLOW_U64S; i++) {
        hash = hash_add64(hash, f[i] & m[i]);
    }
    return hash_finish(hash, (uint32_t) (FLOW_U64S * 8));
}

bool
flow_is_ip(const struct flow *flow)
{
    return flow->dl_type == htons(ETHERTYPE_IP)
           || flow->dl_type == htons(ETHERTYPE_IPV6);
}

uint32_t
flow_hash_5tuple(const struct flow *flow, uint32_t basis)
{
    uint32_t hash = basis;

    if (flow->dl_type == htons(ETHERTYPE_IP)) {
        /* XOR makes the hash the same in both directions. */
        hash = hash_add(hash, flow->nw_src ^ flow->nw_dst);
    } else if (flow->dl_type == htons(ETHERTYPE_IPV6)) {
        for (int i = 0; i < 4; i++) {
            uint32_t s, d;
            memcpy(&s, &flow->ipv6_src.s6_addr[i * 4], 4);
            memcpy(&d, &flow->ipv6_dst.s6_addr[i * 4], 4);
            hash = hash_add(hash, s ^ d);
        }
    } else {
        uint32_t w = 0;
        for (int i = 0; i < ETH_ADDR_LEN; i++) {
            w = w * 31 + (uint32_t) (flow->dl_src.ea[i] ^ flow->dl_dst.ea[i]);
        }
        hash = hash_add(hash, w);
        return hash_finish(hash_add(hash, flow->dl_type), 8);
    }
    hash = hash_add(hash, flow->nw_proto);
    hash = hash_add(hash, (uint32_t) (flow->tp_src ^ flow->tp_dst));
    return hash_finish(hash, 12);
}
