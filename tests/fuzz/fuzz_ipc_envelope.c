/* libFuzzer harness: an arbitrary datagram or ring record through the
 * envelope decoder, as privd, a worker or a control client receives it.
 *
 * Input: one byte choosing the receiver (its accept mask), then the frame.
 * A frame that decodes must re-encode within the limits and decode again
 * to a message that packs to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint64_t accepts[] = {
        IPC_ACCEPT_FROM_WORKER, IPC_ACCEPT_FROM_PRIVD,
        IPC_ACCEPT_FROM_CLIENT, IPC_ACCEPT_FROM_SERVER,
    };
    struct ipc_msg m, m2;
    struct errbuf eb;
    struct buf b;

    if (size < 1 || size > IPC_MAX_FRAME + 1) {
        return 0;
    }
    uint64_t accept = accepts[data[0] % 4];
    if (ipc_frame_decode(data + 1, size - 1, accept, &m, &eb)) {
        return 0;
    }

    buf_init(&b, 0);
    if (ipc_frame_pack(m.hdr.type, m.hdr.seq, m.msg, &b, &eb)) {
        abort();
    }
    if (ipc_frame_decode(b.data, b.size, accept, &m2, &eb)) {
        abort();
    }
    size_t len = protobuf_c_message_get_packed_size(m2.msg);
    uint8_t *again = malloc(len + 1);
    protobuf_c_message_pack(m2.msg, again);
    if (len != b.size - IPC_HEADER_LEN
        || memcmp(again, b.data + IPC_HEADER_LEN, len)) {
        abort();
    }
    free(again);
    buf_uninit(&b);
    ipc_msg_destroy(&m2);
    ipc_msg_destroy(&m);
    return 0;
}
