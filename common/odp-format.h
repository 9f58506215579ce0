/*
 * odp-format.h — the text syntax of datapath flow keys, masks and actions.
 *
 * Overview
 * ========
 *
 * The datapath describes a flow as three netlink attribute streams: a key
 * (OVS_KEY_ATTR_*), a mask of the same shape, and a list of actions
 * (OVS_ACTION_ATTR_*).  This module converts those streams to and from the
 * text that "ovs-dpctl dump-flows" prints and "ovs-dpctl add-flow" takes, so
 * that dpifctl, logs and tests speak the syntax operators already know:
 *
 *     recirc_id(0),in_port(2),eth(src=00:00:00:00:00:01,
 *         dst=00:00:00:00:00:02),eth_type(0x0800),
 *         ipv4(src=10.0.0.0/255.255.255.0,proto=6,frag=no),tcp(dst=80)
 *     actions: set(ipv4(ttl=63)),push_vlan(vid=10,pcp=0),3
 *
 * It works on raw attribute bytes (a "struct buf" for output, const bytes
 * for input) and depends neither on "struct flow" nor on the key codec: a
 * stream can be printed even if the codec would reject it, which is what a
 * debugging tool needs.
 *
 * Keys and masks
 * ==============
 *
 * Each key attribute prints as NAME(...).  Scalars print their value;
 * structures print "field=value" pairs; nested attributes (encap, tunnel)
 * print their contents recursively.  With a mask, each field is printed as
 *
 *   - nothing, if its mask is all zeros (it is wildcarded), unless 'verbose';
 *   - "value", if its mask is all ones (an exact match);
 *   - "value/mask" otherwise (IPv4 and Ethernet masks in address form, the
 *     rest in hex).
 *
 * A whole attribute whose mask is all zeros (or absent from the mask) is
 * left out, except eth(), which is printed empty because its presence says
 * that the packet is Ethernet, and the nested encap() and tunnel().  Field
 * names, number bases and flag spellings follow ovs-dpctl exactly (e.g.
 * "recirc_id(0)", "ipv4(tos=0x3)", "tcp_flags(syn|ack)",
 * "tcp_flags(+syn-ack)", "tunnel(...,flags(-df-csum+key))").
 *
 * Parsing is the inverse: fields that are not mentioned get a zero value and
 * a zero mask, mentioned fields get an all-ones mask unless "/mask" is
 * given.  Attributes are emitted in the order written, except inside
 * tunnel(), whose members are emitted in the kernel's order.  The parser is
 * strict: unknown names, duplicate fields or attributes, values out of
 * range, malformed addresses, unbalanced parentheses and trailing text are
 * errors, reported as "column N: reason" in the errbuf.
 *
 * Attributes outside this syntax (conntrack, MPLS, NSH, tunnel options...)
 * print as "keyN(hex[/hex])" and unknown actions as "actionN(hex)"; both
 * forms parse back for attribute types that have no name here, so that any
 * stream survives a round trip through text.
 *
 * Actions
 * =======
 *
 * "drop" is the empty list.  Output is a bare port number.  Other actions
 * are userspace(pid=N[,userdata(HEX)][,actions][,tunnel_out_port=N]),
 * set(KEYATTR), push_vlan([tpid=0xNNNN,]vid=N,pcp=N[,cfi=0]), pop_vlan,
 * sample(sample=P%,actions(LIST)), recirc(ID), hash(l4(BASIS)),
 * hash(sym_l4(BASIS)), trunc(LEN), meter(ID) and clone(LIST).
 *
 * set() chooses the kernel action like ovs-dpctl does: if every field of
 * the attribute is given without a mask it is OVS_ACTION_ATTR_SET, otherwise
 * OVS_ACTION_ATTR_SET_MASKED with the value followed by the mask (and the
 * value may not have bits outside the mask, as the kernel requires).  A
 * masked set prints only the fields it changes: "set(ipv4(ttl=63))".
 *
 * Round trips
 * ===========
 *
 * For any string s this parser accepts in the canonical form that the
 * formatter prints, format(parse(s)) == s; and for any stream x the parser
 * produced, parse(format(x)) == x byte for byte when formatting with
 * 'verbose' (without it, fields whose mask is zero are dropped, by design).
 *
 * Alignment and ownership
 * =======================
 *
 * Streams given to the formatters must start 4-byte aligned (as nl.h
 * requires); malformed streams are printed as far as they are well formed,
 * followed by "***N leftover bytes***".  The parsers append to the caller's
 * buffers, whose current size must be a multiple of 4 (as it is when they
 * hold only attributes); on error they leave the buffers as they found
 * them.  Nothing is
 * retained after a call returns.
 *
 * Thread safety: all functions are reentrant.
 */
#ifndef DPIF_ODP_FORMAT_H
#define DPIF_ODP_FORMAT_H 1

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/ds.h"
#include "common/util.h"

/* Deepest nesting of encap() / clone() / sample() the parser accepts and the
 * formatter follows; deeper nesting prints as "keyN(...)"/"actionN(...)". */
#define ODP_MAX_DEPTH 16

/* Appends the flow key 'key' ('key_len' bytes of OVS_KEY_ATTR_*) to 'out'.
 * 'mask' ('mask_len' bytes) is the flow's mask, or NULL to print the key as
 * an exact match.  With 'verbose', wildcarded fields are printed too (as
 * "value/0"). */
void odp_format_key(struct ds *out, const void *key, size_t key_len,
                    const void *mask, size_t mask_len, bool verbose);

/* Parses the flow 's' and appends its key attributes to 'key' and, if 'mask'
 * is nonnull, its mask attributes to 'mask'.  With 'mask' NULL, "/mask"
 * forms are rejected.  Returns 0 or EINVAL/ERANGE/E2BIG with the reason,
 * including the column, in 'eb'. */
int odp_parse_key(const char *s, struct buf *key, struct buf *mask,
                  struct errbuf *eb);

/* Appends the action list 'actions' ('len' bytes of OVS_ACTION_ATTR_*) to
 * 'out'; an empty list prints as "drop". */
void odp_format_actions(struct ds *out, const void *actions, size_t len);

/* Parses the action list 's' and appends its attributes to 'actions'.
 * Returns 0 or a positive errno with the reason in 'eb'. */
int odp_parse_actions(const char *s, struct buf *actions, struct errbuf *eb);

#endif /* odp-format.h */
