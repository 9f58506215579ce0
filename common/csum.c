#include "common/csum.h"

#include <arpa/inet.h>
#include <string.h>

uint32_t
csum_continue(uint32_t partial, const void *data_, size_t n)
{
    const uint8_t *data = data_;
    uint64_t sum = partial;

    /* Sum 16-bit big-endian words; an odd trailing byte is the high byte of
     * a zero-padded word.  Accumulating in 64 bits avoids folding in the
     * loop. */
    for (; n >= 2; data += 2, n -= 2) {
        sum += (uint32_t) data[0] << 8 | data[1];
    }
    if (n) {
        sum += (uint32_t) data[0] << 8;
    }
    while (sum >> 32) {
        sum = (sum & 0xffffffff) + (sum >> 32);
    }
    return (uint32_t) sum;
}

ovs_be16
csum_finish(uint32_t partial)
{
    while (partial >> 16) {
        partial = (partial & 0xffff) + (partial >> 16);
    }
    return htons((uint16_t) ~partial);
}

ovs_be16
csum(const void *data, size_t n)
{
    return csum_finish(csum_continue(0, data, n));
}

uint32_t
csum_pseudo_ipv4(ovs_be32 src, ovs_be32 dst, uint8_t proto, uint16_t l4_len)
{
    uint32_t partial = 0;

    partial = csum_continue(partial, &src, 4);
    partial = csum_continue(partial, &dst, 4);
    partial += proto;
    partial += l4_len;
    return partial;
}

uint32_t
csum_pseudo_ipv6(const void *src16, const void *dst16, uint8_t next_header,
                 uint32_t l4_len)
{
    uint32_t partial = 0;

    partial = csum_continue(partial, src16, 16);
    partial = csum_continue(partial, dst16, 16);
    partial += l4_len >> 16;
    partial += l4_len & 0xffff;
    partial += next_header;
    return partial;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), in host order arithmetic. */
static uint32_t
csum_add_change16(uint32_t sum, uint16_t old_val, uint16_t new_val)
{
    return sum + (uint16_t) ~old_val + new_val;
}

ovs_be16
csum_update16(ovs_be16 old_csum, ovs_be16 old_val, ovs_be16 new_val)
{
    uint32_t sum = (uint16_t) ~ntohs(old_csum);
    sum = csum_add_change16(sum, ntohs(old_val), ntohs(new_val));
    return csum_finish(sum);
}

ovs_be16
csum_update32(ovs_be16 old_csum, ovs_be32 old_val, ovs_be32 new_val)
{
    uint32_t o = ntohl(old_val), n = ntohl(new_val);
    uint32_t sum = (uint16_t) ~ntohs(old_csum);

    sum = csum_add_change16(sum, (uint16_t) (o >> 16), (uint16_t) (n >> 16));
    sum = csum_add_change16(sum, (uint16_t) o, (uint16_t) n);
    return csum_finish(sum);
}

ovs_be16
csum_update128(ovs_be16 old_csum, const void *old_val, const void *new_val)
{
    const uint8_t *o = old_val, *n = new_val;
    uint32_t sum = (uint16_t) ~ntohs(old_csum);

    for (int i = 0; i < 16; i += 2) {
        sum = csum_add_change16(sum, (uint16_t) (o[i] << 8 | o[i + 1]),
                                (uint16_t) (n[i] << 8 | n[i + 1]));
    }
    return csum_finish(sum);
}
