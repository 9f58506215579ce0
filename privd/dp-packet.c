#include "privd/dp-packet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

void
dp_packet_init(struct dp_packet *pkt, void *stub, size_t stub_size)
{
    if (stub && stub_size) {
        buf_use_stub(&pkt->buf, stub, stub_size);
    } else {
        buf_init(&pkt->buf, 0);
    }
    /* What packet_parse() says of an empty frame. */
    memset(&pkt->flow, 0, sizeof pkt->flow);
    pkt->flow.dl_type = htons(FLOW_DL_TYPE_NONE);
    pkt->layout = (struct packet_layout) {
        .l2 = 0,
        .l2_5 = PACKET_OFS_NONE,
        .l3 = PACKET_OFS_NONE,
        .l4 = PACKET_OFS_NONE,
        .l7 = PACKET_OFS_NONE,
        .l3_end = 0,
        .parse_flags = PKT_TRUNC_L2,
    };
    pkt->recirc_depth = 0;
}

void
dp_packet_uninit(struct dp_packet *pkt)
{
    buf_uninit(&pkt->buf);
}

int
dp_packet_set_frame(struct dp_packet *pkt, const void *frame, size_t size,
                    uint32_t in_port)
{
    if (size > DP_PACKET_MAX_SIZE) {
        return EMSGSIZE;
    }
    buf_clear(&pkt->buf);
    if (size) {
        buf_put(&pkt->buf, frame, size);
    }
    packet_parse(pkt->buf.data, pkt->buf.size, in_port, &pkt->flow,
                 &pkt->layout);
    pkt->recirc_depth = 0;
    return 0;
}

void
dp_packet_clone(struct dp_packet *dst, const struct dp_packet *src,
                void *stub, size_t stub_size)
{
    if (stub && stub_size) {
        buf_use_stub(&dst->buf, stub, stub_size);
    } else {
        buf_init(&dst->buf, src->buf.size);
    }
    if (src->buf.size) {
        buf_put(&dst->buf, src->buf.data, src->buf.size);
    }
    dst->layout = src->layout;
    dst->flow = src->flow;
    dst->recirc_depth = src->recirc_depth;
}

void
dp_packet_reparse(struct dp_packet *pkt)
{
    struct flow old = pkt->flow;

    packet_parse(pkt->buf.data, pkt->buf.size, old.in_port, &pkt->flow,
                 &pkt->layout);
    pkt->flow.tunnel = old.tunnel;
    pkt->flow.priority = old.priority;
    pkt->flow.skb_mark = old.skb_mark;
    pkt->flow.recirc_id = old.recirc_id;
    pkt->flow.dp_hash = old.dp_hash;
}
