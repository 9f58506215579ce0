/* libFuzzer harness for common/upcall-nl.c, the parser dpif-handlerd runs
 * on every message the kernel datapath sends to its upcall socket.
 *
 * Input: a 2-byte little-endian generic netlink family id, then the
 * message as a socket would deliver it.  The message is copied to its own
 * heap block (4-byte aligned, exactly sized, so that ASan sees any
 * overread).
 *
 * On success the parse must describe an upcall that lies inside the
 * message: packet, key and userdata within its bytes, an Ethernet header at
 * least, a well-formed key holding the in_port reported, a known type.  The
 * key then goes through the flow-key decoder as the handler's would.  On
 * failure the reason must be a terminated string. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/flow.h"
#include "common/nl.h"
#include "common/odp-key.h"
#include "common/upcall-nl.h"

#include <linux/openvswitch.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(bool ok)
{
    if (!ok) {
        abort();
    }
}

static bool
inside(const void *p, size_t len, const uint8_t *msg, size_t msg_len)
{
    const uint8_t *q = p;
    return q >= msg && len <= msg_len && q - msg <= (ptrdiff_t) (msg_len - len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    uint16_t family = (uint16_t) (data[0] | data[1] << 8);
    size_t len = size - 2;
    uint8_t *msg = malloc(len ? len : 1);
    check(msg != NULL);
    memcpy(msg, data + 2, len);

    struct upcall_nl up;
    struct errbuf eb = { "" };
    if (upcall_nl_parse(msg, len, family, &up, &eb)) {
        check(memchr(eb.msg, '\0', sizeof eb.msg) != NULL);
        free(msg);
        return 0;
    }
    check(up.type == UPCALL_NL_MISS || up.type == UPCALL_NL_ACTION);
    check(up.packet_len >= 14 && inside(up.packet, up.packet_len, msg, len));
    check(inside(up.key, up.key_len, msg, len));
    check(!up.has_userdata
          || inside(up.userdata, up.userdata_len, msg, len));
    check(!nl_check_stream(up.key, up.key_len, &eb));
    const struct nlattr *in_port = nl_find_attr(up.key, up.key_len,
                                                OVS_KEY_ATTR_IN_PORT);
    check(in_port && nl_attr_get_u32(in_port) == up.in_port);

    struct flow flow;
    enum odp_key_fitness fit = odp_key_to_flow(up.key, up.key_len, &flow,
                                               &eb);
    if (fit != ODP_FIT_ERROR) {
        check(flow.in_port == up.in_port);
    }
    free(msg);
    return 0;
}
