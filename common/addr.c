#include "common/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

static int
hex_value(char c)
{
    return (c >= '0' && c <= '9' ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
            : -1);
}

int
addr_parse_eth(const char *s, uint8_t mac[ADDR_ETH_LEN], struct errbuf *eb)
{
    uint8_t tmp[ADDR_ETH_LEN];
    const char *p = s;

    for (int i = 0; i < ADDR_ETH_LEN; i++) {
        int hi = hex_value(p[0]);
        int lo = hi < 0 ? -1 : hex_value(p[1]);
        if (lo < 0) {
            return errbuf_set(eb, EINVAL, "invalid Ethernet address \"%s\"",
                              s);
        }
        tmp[i] = (uint8_t) (hi << 4 | lo);
        p += 2;
        if (i < ADDR_ETH_LEN - 1) {
            if (*p != ':') {
                return errbuf_set(eb, EINVAL,
                                  "invalid Ethernet address \"%s\"", s);
            }
            p++;
        }
    }
    if (*p) {
        return errbuf_set(eb, EINVAL, "invalid Ethernet address \"%s\"", s);
    }
    memcpy(mac, tmp, sizeof tmp);
    return 0;
}

/* Splits 's' at its first '/' into a copy of the address part in 'addr'
 * (of 'size' bytes) and a pointer to the mask part, or NULL if 's' has no
 * '/'. */
static int
split_mask(const char *s, char *addr, size_t size, const char **maskp,
           struct errbuf *eb)
{
    const char *slash = strchr(s, '/');
    size_t len = slash ? (size_t) (slash - s) : strlen(s);

    if (len >= size) {
        return errbuf_set(eb, EINVAL, "address \"%.*s\" is too long",
                          (int) MIN(len, 64), s);
    }
    memcpy(addr, s, len);
    addr[len] = '\0';
    *maskp = slash ? slash + 1 : NULL;
    return 0;
}

int
addr_parse_eth_masked(const char *s, uint8_t mac[ADDR_ETH_LEN],
                      uint8_t mask[ADDR_ETH_LEN], struct errbuf *eb)
{
    char addr[32];
    const char *mask_s = NULL;
    uint8_t m[ADDR_ETH_LEN], a[ADDR_ETH_LEN];

    int error = split_mask(s, addr, sizeof addr, &mask_s, eb);
    if (!error) {
        error = addr_parse_eth(addr, a, eb);
    }
    if (!error) {
        if (mask_s) {
            error = addr_parse_eth(mask_s, m, eb);
            if (error) {
                errbuf_prefix(eb, "bad mask: ");
            }
        } else {
            memset(m, 0xff, sizeof m);
        }
    }
    if (!error) {
        memcpy(mac, a, sizeof a);
        memcpy(mask, m, sizeof m);
    }
    return error;
}

int
addr_parse_ipv4(const char *s, ovs_be32 *ip, struct errbuf *eb)
{
    const char *p = s;
    uint32_t value = 0;

    for (int i = 0; i < 4; i++) {
        unsigned int octet = 0;
        int digits = 0;

        while (*p >= '0' && *p <= '9' && digits < 4) {
            octet = octet * 10 + (unsigned int) (*p++ - '0');
            digits++;
        }
        if (!digits || digits > 3) {
            return errbuf_set(eb, EINVAL, "invalid IPv4 address \"%s\"", s);
        }
        if (octet > 255) {
            return errbuf_set(eb, ERANGE,
                              "IPv4 address \"%s\" has an octet above 255",
                              s);
        }
        value = value << 8 | octet;
        if (i < 3) {
            if (*p != '.') {
                return errbuf_set(eb, EINVAL, "invalid IPv4 address \"%s\"",
                                  s);
            }
            p++;
        }
    }
    if (*p) {
        return errbuf_set(eb, EINVAL, "invalid IPv4 address \"%s\"", s);
    }
    *ip = htonl(value);
    return 0;
}

/* Parses a decimal prefix length no greater than 'max'. */
static int
parse_prefix_len(const char *s, unsigned int max, unsigned int *lenp,
                 struct errbuf *eb)
{
    uint64_t v;

    if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 3) {
        return errbuf_set(eb, EINVAL, "invalid prefix length \"%s\"", s);
    }
    int error = str_to_uint(s, 10, max, &v);
    if (error) {
        return errbuf_set(eb, error, "prefix length \"%s\" is above %u", s,
                          max);
    }
    *lenp = (unsigned int) v;
    return 0;
}

static bool
is_decimal(const char *s)
{
    return *s && strspn(s, "0123456789") == strlen(s);
}

int
addr_parse_ipv4_masked(const char *s, ovs_be32 *ip, ovs_be32 *mask,
                       struct errbuf *eb)
{
    char addr[32];
    const char *mask_s = NULL;
    ovs_be32 a, m = htonl(UINT32_MAX);

    int error = split_mask(s, addr, sizeof addr, &mask_s, eb);
    if (!error) {
        error = addr_parse_ipv4(addr, &a, eb);
    }
    if (!error && mask_s) {
        if (is_decimal(mask_s)) {
            unsigned int len;
            error = parse_prefix_len(mask_s, 32, &len, eb);
            if (!error) {
                m = addr_ipv4_prefix_to_mask(len);
            }
        } else {
            error = addr_parse_ipv4(mask_s, &m, eb);
            if (error) {
                errbuf_prefix(eb, "bad mask: ");
            }
        }
    }
    if (!error) {
        *ip = a;
        *mask = m;
    }
    return error;
}

int
addr_parse_ipv6(const char *s, struct in6_addr *ip, struct errbuf *eb)
{
    struct in6_addr a;

    if (strlen(s) >= INET6_ADDRSTRLEN || inet_pton(AF_INET6, s, &a) != 1) {
        return errbuf_set(eb, EINVAL, "invalid IPv6 address \"%.*s\"",
                          INET6_ADDRSTRLEN, s);
    }
    *ip = a;
    return 0;
}

int
addr_parse_ipv6_masked(const char *s, struct in6_addr *ip,
                       struct in6_addr *mask, struct errbuf *eb)
{
    char addr[INET6_ADDRSTRLEN];
    const char *mask_s = NULL;
    struct in6_addr a, m;

    memset(&m, 0xff, sizeof m);
    int error = split_mask(s, addr, sizeof addr, &mask_s, eb);
    if (!error) {
        error = addr_parse_ipv6(addr, &a, eb);
    }
    if (!error && mask_s) {
        if (is_decimal(mask_s)) {
            unsigned int len;
            error = parse_prefix_len(mask_s, 128, &len, eb);
            if (!error) {
                addr_ipv6_prefix_to_mask(len, &m);
            }
        } else {
            error = addr_parse_ipv6(mask_s, &m, eb);
            if (error) {
                errbuf_prefix(eb, "bad mask: ");
            }
        }
    }
    if (!error) {
        *ip = a;
        *mask = m;
    }
    return error;
}

void
addr_format_eth(struct ds *out, const uint8_t mac[ADDR_ETH_LEN])
{
    ds_put_format(out, "%02x:%02x:%02x:%02x:%02x:%02x",
                  mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

void
addr_format_ipv4(struct ds *out, ovs_be32 ip)
{
    uint32_t h = ntohl(ip);

    ds_put_format(out, "%u.%u.%u.%u", h >> 24, (h >> 16) & 0xff,
                  (h >> 8) & 0xff, h & 0xff);
}

void
addr_format_ipv6(struct ds *out, const struct in6_addr *ip)
{
    char buf[INET6_ADDRSTRLEN];

    inet_ntop(AF_INET6, ip, buf, sizeof buf);
    ds_put_cstr(out, buf);
}

void
addr_format_ipv4_masked(struct ds *out, ovs_be32 ip, ovs_be32 mask)
{
    addr_format_ipv4(out, ip);
    if (mask != htonl(UINT32_MAX)) {
        int prefix = addr_ipv4_mask_to_prefix(mask);
        ds_put_char(out, '/');
        if (prefix >= 0) {
            ds_put_format(out, "%d", prefix);
        } else {
            addr_format_ipv4(out, mask);
        }
    }
}

void
addr_format_ipv6_masked(struct ds *out, const struct in6_addr *ip,
                        const struct in6_addr *mask)
{
    addr_format_ipv6(out, ip);

    int prefix = addr_ipv6_mask_to_prefix(mask);
    if (prefix != 128) {
        ds_put_char(out, '/');
        if (prefix >= 0) {
            ds_put_format(out, "%d", prefix);
        } else {
            addr_format_ipv6(out, mask);
        }
    }
}

ovs_be32
addr_ipv4_prefix_to_mask(unsigned int prefix_len)
{
    if (!prefix_len) {
        return 0;
    }
    prefix_len = MIN(prefix_len, 32);
    return htonl(UINT32_MAX << (32 - prefix_len));
}

/* Returns the prefix length of the contiguous host-order mask 'm', or -1. */
static int
u32_mask_to_prefix(uint32_t m)
{
    uint32_t inverted = ~m;

    /* A prefix mask is ones then zeros: its complement is 2^k - 1. */
    if (inverted & (inverted + 1)) {
        return -1;
    }
    return 32 - __builtin_popcount(inverted);
}

int
addr_ipv4_mask_to_prefix(ovs_be32 mask)
{
    return u32_mask_to_prefix(ntohl(mask));
}

void
addr_ipv6_prefix_to_mask(unsigned int prefix_len, struct in6_addr *mask)
{
    prefix_len = MIN(prefix_len, 128);
    memset(mask, 0, sizeof *mask);
    for (unsigned int i = 0; i < 16; i++) {
        unsigned int bits = prefix_len > 8 * i ? prefix_len - 8 * i : 0;
        mask->s6_addr[i] = bits >= 8 ? 0xff
                           : (uint8_t) (0xff00 >> bits);
    }
}

int
addr_ipv6_mask_to_prefix(const struct in6_addr *mask)
{
    int prefix = 0;
    int i = 0;

    while (i < 16 && mask->s6_addr[i] == 0xff) {
        prefix += 8;
        i++;
    }
    if (i < 16) {
        int bits = 0;
        while (bits < 8 && (uint8_t) (0xff00 >> bits) != mask->s6_addr[i]) {
            bits++;
        }
        if (bits == 8) {
            return -1;
        }
        prefix += bits;
        for (i++; i < 16; i++) {
            if (mask->s6_addr[i]) {
                return -1;
            }
        }
    }
    return prefix;
}
