/* libFuzzer harness for common/odp-key.c.
 *
 * Input: a 2-byte little-endian key length N, then N bytes of key attributes,
 * then the rest as mask attributes (N is clipped to what is there).  Both are
 * copied to their own heap blocks so that ASan sees any overread and the
 * streams are 4-byte aligned as the decoder requires.
 *
 * Whenever the key decodes (any grade but ODP_FIT_ERROR) and its flow
 * re-encodes (which a perfectly fitting key's flow must), the re-encoding
 * must decode perfectly to the same flow, and encoding that flow again must
 * give the same bytes.  Whenever the mask then decodes, it must be
 * in normal form and survive mask -> attributes -> mask unchanged; so must
 * the exact mask of the flow. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/flow.h"
#include "common/odp-key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(bool ok)
{
    if (!ok) {
        abort();
    }
}

static void
check_reason(const struct errbuf *eb)
{
    check(memchr(eb->msg, '\0', sizeof eb->msg) != NULL);
}

/* 'mask' (normalized for 'flow') survives encoding and decoding. */
static void
check_mask_round_trip(const struct flow *flow, const struct flow *mask)
{
    struct flow out;
    struct buf b;

    buf_init(&b, 0);
    check(odp_mask_from_flow(&b, mask, flow, NULL) == 0);
    check(odp_mask_to_flow(b.data, b.size, flow, &out, NULL)
          == ODP_FIT_PERFECT);
    check(!memcmp(&out, mask, sizeof out));
    buf_uninit(&b);
}

static void
fuzz_mask(const struct flow *flow, const uint8_t *mask, size_t len)
{
    struct errbuf eb = { .msg = "" };
    struct flow m, norm;

    enum odp_key_fitness fit = odp_mask_to_flow(mask, len, flow, &m, &eb);
    check_reason(&eb);
    check(fit != ODP_FIT_TOO_LITTLE);
    if (fit != ODP_FIT_ERROR) {
        odp_mask_normalize(flow, &m, &norm);
        check(!memcmp(&norm, &m, sizeof m));
        check_mask_round_trip(flow, &m);
    }

    odp_mask_exact(flow, &m);
    check_mask_round_trip(flow, &m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    size_t key_len = MIN((size_t) (data[0] | data[1] << 8), size - 2);
    size_t mask_len = size - 2 - key_len;
    uint8_t *key = malloc(key_len ? key_len : 1);
    uint8_t *mask = malloc(mask_len ? mask_len : 1);
    memcpy(key, data + 2, key_len);
    memcpy(mask, data + 2 + key_len, mask_len);

    struct errbuf eb = { .msg = "" };
    struct flow flow;
    enum odp_key_fitness fit = odp_key_to_flow(key, key_len, &flow, &eb);
    check_reason(&eb);

    if (fit != ODP_FIT_ERROR) {
        struct buf b, b2;
        buf_init(&b, 0);
        buf_init(&b2, 0);
        int error = odp_key_from_flow(&b, &flow, &eb);
        check(!error || fit != ODP_FIT_PERFECT);
        if (!error) {
            struct flow flow2;
            check(odp_key_to_flow(b.data, b.size, &flow2, NULL)
                  == ODP_FIT_PERFECT);
            check(!memcmp(&flow, &flow2, sizeof flow));
            check(odp_key_from_flow(&b2, &flow2, NULL) == 0);
            check(b.size == b2.size && !memcmp(b.data, b2.data, b.size));
            fuzz_mask(&flow, mask, mask_len);
        }
        buf_uninit(&b);
        buf_uninit(&b2);
    }

    free(key);
    free(mask);
    return 0;
}
