/*
 * packet_invariants.h — properties every packet_parse() result must have,
 * whatever the input bytes.  Shared by tests/unit/test_packet.c (which runs
 * them over crafted and truncated frames) and tests/fuzz/fuzz_packet.c
 * (which runs them over arbitrary bytes).
 *
 * packet_check_invariants() returns NULL when the flow and layout are
 * consistent with each other and with the frame size, or a static string
 * naming the first broken rule.  The rules restate packet.h's contract:
 * offsets within the parsed bytes and in layer order, a layer present
 * exactly when its fields were extracted, no field from an absent layer or
 * from another protocol, metadata zero except in_port.
 */
#ifndef DPIF_TESTS_PACKET_INVARIANTS_H
#define DPIF_TESTS_PACKET_INVARIANTS_H 1

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "common/flow.h"
#include "common/packet.h"

/* True if the 'n' bytes at 'p' are all zero. */
static inline bool
packet_inv_zero(const void *p_, size_t n)
{
    const unsigned char *p = p_;

    for (size_t i = 0; i < n; i++) {
        if (p[i]) {
            return false;
        }
    }
    return true;
}

#define PACKET_INV_ZERO(FIELD) packet_inv_zero(&(FIELD), sizeof (FIELD))

static inline const char *
packet_check_invariants(size_t size, uint32_t in_port, const struct flow *f,
                        const struct packet_layout *l)
{
    size_t parsed = size < PACKET_PARSE_MAX ? size : PACKET_PARSE_MAX;
    uint16_t type = ntohs(f->dl_type);
    const uint16_t none = PACKET_OFS_NONE;

    /* Metadata. */
    if (f->in_port != in_port || !PACKET_INV_ZERO(f->tunnel)
        || f->priority || f->skb_mark || f->recirc_id || f->dp_hash
        || !PACKET_INV_ZERO(f->pad)) {
        return "metadata other than in_port is set";
    }

    /* Offsets. */
    if (l->l2 != 0) {
        return "l2 is not 0";
    }
    if (l->l3_end > parsed) {
        return "l3_end beyond the parsed bytes";
    }
    if (l->l2_5 != none && l->l2_5 + VLAN_HEADER_LEN > l->l3_end) {
        return "l2_5 beyond l3_end";
    }
    if (l->l3 != none && (l->l3 < ETH_HEADER_LEN || l->l3 > l->l3_end)) {
        return "l3 out of range";
    }
    if (l->l4 != none && (l->l3 == none || l->l4 <= l->l3
                          || l->l4 > l->l3_end)) {
        return "l4 out of range or without l3";
    }
    if (l->l7 != none && (l->l4 == none || l->l7 <= l->l4
                          || l->l7 > l->l3_end)) {
        return "l7 out of range or without l4";
    }
    if (l->l3 == none && l->l3_end != parsed) {
        return "l3_end is not the frame size without L3";
    }
    if (l->parse_flags & PKT_PADDED && l->l3_end >= parsed) {
        return "padded but l3_end is the frame size";
    }
    if (l->l3 != none && !(l->parse_flags & PKT_PADDED)
        && l->l3_end != parsed) {
        return "l3_end short of the frame size without padding";
    }

    /* L2. */
    if (parsed < ETH_HEADER_LEN) {
        struct flow expect;

        memset(&expect, 0, sizeof expect);
        expect.in_port = in_port;
        expect.dl_type = htons(FLOW_DL_TYPE_NONE);
        if (memcmp(&expect, f, sizeof expect)
            || l->parse_flags != PKT_TRUNC_L2) {
            return "short frame has fields or flags besides TRUNC_L2";
        }
        return NULL;
    }
    if ((l->l2_5 == none) != !f->vlan_tci) {
        return "vlan_tci set exactly when there is a tag: violated";
    }
    if (f->vlan_tci && !(f->vlan_tci & htons(VLAN_CFI))) {
        return "vlan_tci without VLAN_CFI";
    }
    if (type < 0x600 && type != FLOW_DL_TYPE_NONE) {
        return "dl_type is an 802.3 length";
    }

    /* L3 presence. */
    bool ip = type == 0x0800 || type == 0x86dd;
    bool arp = type == 0x0806 || type == 0x8035;
    if (l->l3 != none && !ip && !arp) {
        return "l3 for a dl_type that has none";
    }
    if (l->l3 == none
        && (f->nw_src || f->nw_dst || !PACKET_INV_ZERO(f->ipv6_src)
            || !PACKET_INV_ZERO(f->ipv6_dst)
            || !PACKET_INV_ZERO(f->nd_target) || f->ipv6_label
            || f->nw_proto || f->nw_tos || f->nw_ttl || f->nw_frag
            || !PACKET_INV_ZERO(f->arp_sha) || !PACKET_INV_ZERO(f->arp_tha))) {
        return "L3 field without l3";
    }
    if (type != 0x86dd
        && (!PACKET_INV_ZERO(f->ipv6_src) || !PACKET_INV_ZERO(f->ipv6_dst)
            || !PACKET_INV_ZERO(f->nd_target) || f->ipv6_label)) {
        return "IPv6 field in a non-IPv6 flow";
    }
    if (type != 0x0800 && !arp && (f->nw_src || f->nw_dst)) {
        return "nw_src/nw_dst in a non-IPv4, non-ARP flow";
    }
    if (arp && (f->nw_tos || f->nw_ttl || f->nw_frag)) {
        return "IP field in an ARP flow";
    }
    if (ntohl(f->ipv6_label) > 0xfffff) {
        return "ipv6_label over 20 bits";
    }
    if (f->nw_frag & ~FLOW_NW_FRAG_MASK || f->nw_frag == FLOW_NW_FRAG_LATER) {
        return "impossible nw_frag";
    }

    /* L4 presence. */
    if (l->l4 != none && !ip) {
        return "l4 outside IP";
    }
    if (l->l4 != none && f->nw_frag & FLOW_NW_FRAG_LATER) {
        return "l4 in a later fragment";
    }
    if (l->l7 == none && (f->tp_src || f->tp_dst || f->tcp_flags)) {
        return "L4 field without l7";
    }
    if (f->tcp_flags && (f->nw_proto != 6 || ntohs(f->tcp_flags) > 0xfff)) {
        return "tcp_flags outside TCP or over 12 bits";
    }
    bool icmp = ((type == 0x0800 && f->nw_proto == 1)
                 || (type == 0x86dd && f->nw_proto == 58));
    if (icmp && (ntohs(f->tp_src) > 0xff || ntohs(f->tp_dst) > 0xff)) {
        return "ICMP type or code over 255";
    }
    bool nd = (type == 0x86dd && f->nw_proto == 58 && !f->tp_dst
               && (f->tp_src == htons(135) || f->tp_src == htons(136)));
    if (!nd && !arp && (!PACKET_INV_ZERO(f->nd_target)
                        || !PACKET_INV_ZERO(f->arp_sha)
                        || !PACKET_INV_ZERO(f->arp_tha))) {
        return "ND or ARP field outside ND and ARP";
    }
    if (l->parse_flags & (PKT_TRUNC_IP | PKT_TRUNC_EXT) && l->l4 != none) {
        return "l4 although L3 stopped short";
    }
    return NULL;
}

#endif /* packet_invariants.h */
