/* libFuzzer harness: what privd reads from the openvswitch kernel module
 * besides upcalls (those are fuzz_upcall_nl's): the replies and dump parts
 * of the ovs_datapath, ovs_vport and ovs_flow families
 * (privd/dpif-netlink.c's parsers, through dpif-netlink.h) and the dump
 * framing of privd/netlink-socket.c (nlsock_dump_next(): sequence
 * matching, NLMSG_DONE, NLMSG_ERROR with extended acks).
 *
 * The family ids are fixed (FAMILY_*), set with
 * dpif_netlink_families_set(): this process opens no system datapath.
 *
 * Input: a mode byte, a family byte, then one datagram as a netlink socket
 * delivers it.  Mode (byte 0 % 3):
 *
 *   0  a transaction's reply: the datagram is one message, parsed as
 *      dp_transact(), vport_transact() and op_decode() parse theirs;
 *   1  a dump part: the datagram goes through nlsock_dump_next() (dump
 *      sequence number DUMP_SEQ) and every message it yields through the
 *      parser of the family, as the flow, vport and datapath dumps do;
 *   2  vport notifications: the datagram is walked message by message as
 *      dpif_netlink_port_poll() walks the multicast group's datagrams, and
 *      each parsed as a vport message.
 *
 * Family (byte 1 % 3): datapath, vport, flow (modes 0 and 1).
 *
 * Invariants: everything a parser returns lies inside its message (names
 * NUL-terminated within IFNAMSIZ; key, mask and actions well-formed
 * attribute streams); a flow without a UFID from the kernel gets the one
 * derived from its key and mask; the key decodes without crashing as
 * privd's consumers decode it; a dump yields only whole messages of its
 * own sequence number, and once it ends it yields nothing more. */
#include <libmnl/libmnl.h>
#include <linux/openvswitch.h>
#include <net/if.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/flow.h"
#include "common/log.h"
#include "common/nl.h"
#include "common/odp-key.h"
#include "common/ufid.h"
#include "privd/dpif-netlink.h"
#include "privd/netlink-socket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAMILY_DATAPATH 0x1a
#define FAMILY_VPORT 0x1b
#define FAMILY_FLOW 0x1c
#define FAMILY_PACKET 0x1d
#define DUMP_SEQ 0x1234

static void
check(bool ok)
{
    if (!ok) {
        abort();
    }
}

static bool
inside(const void *p, size_t len, const void *msg, size_t msg_len)
{
    const uint8_t *q = p, *m = msg;
    return q >= m && len <= msg_len && (size_t) (q - m) <= msg_len - len;
}

static void
check_name(const char *name, const void *msg, size_t len)
{
    size_t n = strnlen(name, IFNAMSIZ);
    check(n < IFNAMSIZ && inside(name, n + 1, msg, len));
}

static void
check_stream(const void *p, size_t n, const void *msg, size_t len)
{
    if (p) {
        check(inside(p, n, msg, len));
        check(!nl_check_stream(p, n, NULL));
    } else {
        check(n == 0);
    }
}

static void
parse_dp(const void *msg, size_t len)
{
    const char *name;
    uint32_t features;
    int ifindex;

    if (!dpif_netlink_parse_dp(msg, len, &name, &ifindex, &features)) {
        check_name(name, msg, len);
    }
}

static void
parse_vport(const void *msg, size_t len)
{
    struct dpif_port port;
    uint8_t cmd;
    int ifindex;

    if (!dpif_netlink_parse_vport(msg, len, &port, &ifindex, &cmd)) {
        check_name(port.name, msg, len);
        check(port.type != NULL);
    }
}

static void
parse_flow(const void *msg, size_t len)
{
    struct dpif_flow f;
    bool has_ufid;

    if (dpif_netlink_parse_flow(msg, len, &f, &has_ufid)) {
        return;
    }
    check_stream(f.key, f.key_len, msg, len);
    check_stream(f.mask, f.mask_len, msg, len);
    check_stream(f.actions, f.actions_len, msg, len);
    if (!has_ufid && f.key) {
        union ufid u;
        ufid_from_key(f.key, f.key_len, f.mask, f.mask_len, &u);
        check(ufid_equals(&u, &f.ufid));
    }
    if (f.key) {
        struct flow flow, mask;
        if (odp_key_to_flow(f.key, f.key_len, &flow, NULL) != ODP_FIT_ERROR
            && f.mask) {
            odp_mask_to_flow(f.mask, f.mask_len, &flow, &mask, NULL);
        }
    }
}

static void
parse_one(unsigned int family, const void *msg, size_t len)
{
    switch (family % 3) {
    case 0:
        parse_dp(msg, len);
        break;
    case 1:
        parse_vport(msg, len);
        break;
    default:
        parse_flow(msg, len);
        break;
    }
}

static void
fuzz_dump(unsigned int family, const uint8_t *dgram, size_t len)
{
    struct nlsock_dump dump;
    const void *msg;
    size_t msg_len;

    memset(&dump, 0, sizeof dump);
    dump.seq = DUMP_SEQ;
    buf_init(&dump.rx, len);
    buf_put(&dump.rx, dgram, len);
    /* No socket: without 'may_refill' the dump never receives. */
    while (nlsock_dump_next(&dump, false, &msg, &msg_len)) {
        const struct nlmsghdr *nlh = msg;
        check(inside(msg, msg_len, dump.rx.data, dump.rx.size));
        check(msg_len >= NLMSG_HDRLEN && nlh->nlmsg_len == msg_len);
        check(nlh->nlmsg_seq == DUMP_SEQ);
        check(nlh->nlmsg_type != NLMSG_DONE && nlh->nlmsg_type != NLMSG_ERROR);
        /* The parser gets its own exact copy, so ASan sees overreads. */
        void *copy = xmemdup(msg, msg_len);
        parse_one(family, copy, msg_len);
        free(copy);
    }
    if (dump.done) {
        check(!nlsock_dump_next(&dump, false, &msg, &msg_len));
        check(dump.status >= 0);
    }
    buf_uninit(&dump.rx);
}

/* dpif_netlink_port_poll()'s walk over one datagram. */
static void
fuzz_notifications(const uint8_t *dgram, size_t len)
{
    size_t ofs = 0;

    while (ofs < len) {
        const struct nlmsghdr *nlh = (const void *) (dgram + ofs);
        int left = (int) (len - ofs);
        if (!nlsock_msg_ok(nlh, left)) {
            break;
        }
        ofs += MIN((size_t) NLMSG_ALIGN(nlh->nlmsg_len), (size_t) left);
        parse_vport(nlh, nlh->nlmsg_len);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool initialized;
    if (!initialized) {
        static const struct dpif_netlink_families f = {
            .datapath = FAMILY_DATAPATH, .vport = FAMILY_VPORT,
            .flow = FAMILY_FLOW, .packet = FAMILY_PACKET,
        };
        dpif_netlink_families_set(&f);
        log_set_level("ANY", LOG_LEVEL_OFF);
        /* The extended-ack reader runs only at debug level. */
        log_set_level("netlink_socket", LOG_LEVEL_DBG);
        initialized = true;
    }
    if (size < 2 || size > NLSOCK_RECV_BUF_SIZE + 2) {
        return 0;
    }
    unsigned int mode = data[0] % 3, family = data[1];
    size_t len = size - 2;

    /* 4-byte aligned and exactly sized, as a receive buffer holds it. */
    uint8_t *dgram = xmemdup(data + 2, len);
    switch (mode) {
    case 0:
        parse_one(family, dgram, len);
        break;
    case 1:
        fuzz_dump(family, dgram, len);
        break;
    default:
        fuzz_notifications(dgram, len);
        break;
    }
    free(dgram);
    return 0;
}
