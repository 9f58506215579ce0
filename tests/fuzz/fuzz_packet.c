/* libFuzzer harness for common/packet.c.
 *
 * Parses arbitrary bytes (from an exactly-sized heap copy, so ASan sees any
 * over-read) and checks tests/packet_invariants.h.  When the parse reported
 * nothing but padding, the flow must be composable and must come back from
 * packet_parse() unchanged and without flags: compose and parse are
 * inverses on every flow the parser can produce. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/packet.h"
#include "tests/packet_invariants.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define IN_PORT 3

static void
parse_copy(const uint8_t *data, size_t size, struct flow *flow,
           struct packet_layout *l)
{
    uint8_t *copy = malloc(size ? size : 1);

    if (!copy) {
        abort();
    }
    memcpy(copy, data, size);
    packet_parse(copy, size, IN_PORT, flow, l);
    free(copy);

    const char *broken = packet_check_invariants(size, IN_PORT, flow, l);
    if (broken) {
        fprintf(stderr, "invariant broken: %s\n", broken);
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct packet_layout l, l2;
    struct flow flow, again;

    parse_copy(data, size, &flow, &l);
    if (l.parse_flags & ~PKT_PADDED) {
        return 0;
    }

    uint64_t stub[2048 / 8];
    struct errbuf eb = { "" };
    struct buf b;
    /* ND ignores the payload; an ARP payload would be padding. */
    uint16_t type = ntohs(flow.dl_type);
    size_t payload = type == 0x0806 || type == 0x8035 ? 0 : size % 41;

    buf_use_stub(&b, stub, sizeof stub);
    int error = packet_compose(&b, &flow, payload, &eb);
    if (error) {
        fprintf(stderr, "parsed flow does not compose: %s\n", eb.msg);
        abort();
    }
    parse_copy(b.data, b.size, &again, &l2);
    if (memcmp(&flow, &again, sizeof flow) || l2.parse_flags) {
        char flags[128];

        fprintf(stderr, "compose/parse round trip differs (flags: %s)\n",
                packet_parse_flags_to_string(l2.parse_flags, flags,
                                             sizeof flags));
        abort();
    }
    buf_uninit(&b);
    return 0;
}
