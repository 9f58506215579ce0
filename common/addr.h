/*
 * addr.h — text forms of Ethernet, IPv4 and IPv6 addresses and masks.
 *
 * Overview
 * ========
 *
 * Every text interface of dpifd names addresses the same way: the flow and
 * action syntax of odp-format.h ("eth(src=00:11:22:33:44:55)",
 * "ipv4(src=10.0.0.0/255.255.255.0)"), the forwarding-policy rules and
 * dpifctl's arguments.  This module is the one place that turns those
 * strings into bytes and back, so that all of them accept and print exactly
 * the same forms:
 *
 *   Ethernet   "00:11:22:33:44:55": six groups of exactly two hex digits
 *              (either case) separated by ':'.  Printed in lowercase.
 *
 *   IPv4       "192.0.2.1": four decimal octets 0..255, each of one to three
 *              digits.  No shorthand ("10.1"), no octal, no hex.
 *
 *   IPv6       any form inet_pton(3) accepts ("2001:db8::1",
 *              "::ffff:192.0.2.1").  Printed in the RFC 5952 form of
 *              inet_ntop(3).
 *
 * Masked forms append "/MASK":
 *
 *   Ethernet   "/ff:ff:ff:00:00:00" (an address-shaped mask).
 *   IPv4       "/24" (a prefix length 0..32) or "/255.255.255.0" (any
 *              dotted mask, contiguous or not).
 *   IPv6       "/64" (a prefix length 0..128) or "/ffff:ffff::" (any mask).
 *
 * Without "/MASK" the mask is all ones (an exact match).  The parsers do not
 * require the address bits outside the mask to be zero: a flow dump can
 * legitimately show "10.0.0.1/255.255.255.0", and callers that want a
 * normalized network (the policy parser) apply the mask themselves.
 *
 * Conventions: byte order is network order everywhere (ovs_be32, the
 * in6_addr bytes, the MAC bytes).  The parsers take a whole NUL-terminated
 * string: anything after the address is an error, so callers cut the token
 * out first.  They return 0 or EINVAL (malformed) / ERANGE (a prefix length
 * or octet too large), with the reason in 'eb' (which may be NULL), and write
 * their outputs only on success.  The formatters append to a "struct ds".
 *
 * Thread safety: all functions are reentrant.
 */
#ifndef DPIF_ADDR_H
#define DPIF_ADDR_H 1

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/ds.h"
#include "common/util.h"

#define ADDR_ETH_LEN 6          /* Bytes in an Ethernet address. */

/* Parsing: see the forms above. */
int addr_parse_eth(const char *s, uint8_t mac[ADDR_ETH_LEN],
                   struct errbuf *eb);
int addr_parse_eth_masked(const char *s, uint8_t mac[ADDR_ETH_LEN],
                          uint8_t mask[ADDR_ETH_LEN], struct errbuf *eb);
int addr_parse_ipv4(const char *s, ovs_be32 *ip, struct errbuf *eb);
int addr_parse_ipv4_masked(const char *s, ovs_be32 *ip, ovs_be32 *mask,
                           struct errbuf *eb);
int addr_parse_ipv6(const char *s, struct in6_addr *ip, struct errbuf *eb);
int addr_parse_ipv6_masked(const char *s, struct in6_addr *ip,
                           struct in6_addr *mask, struct errbuf *eb);

/* Formatting of plain addresses. */
void addr_format_eth(struct ds *out, const uint8_t mac[ADDR_ETH_LEN]);
void addr_format_ipv4(struct ds *out, ovs_be32 ip);
void addr_format_ipv6(struct ds *out, const struct in6_addr *ip);

/* Formatting of masked addresses in the shortest form the parsers accept:
 * the bare address for an all-ones mask, "ADDR/LEN" for a prefix mask,
 * "ADDR/MASK" otherwise.  (odp-format.h deliberately does not use these: the
 * datapath flow syntax always spells a partial mask out in full.) */
void addr_format_ipv4_masked(struct ds *out, ovs_be32 ip, ovs_be32 mask);
void addr_format_ipv6_masked(struct ds *out, const struct in6_addr *ip,
                             const struct in6_addr *mask);

/* Prefix masks.  The *_to_prefix() functions return the prefix length of a
 * contiguous mask, or -1 if the mask is not a prefix. */
ovs_be32 addr_ipv4_prefix_to_mask(unsigned int prefix_len);
int addr_ipv4_mask_to_prefix(ovs_be32 mask);
void addr_ipv6_prefix_to_mask(unsigned int prefix_len, struct in6_addr *mask);
int addr_ipv6_mask_to_prefix(const struct in6_addr *mask);

#endif /* addr.h */
