/* Fuzzes odp-format.c: arbitrary text is parsed as a flow (with and without
 * a mask) and as an action list; whatever parses is formatted (verbosely for
 * keys, which keeps every byte) and parsed again, and the two streams must
 * be identical. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/ds.h"
#include "common/odp-format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_same(const struct buf *a, const struct buf *b)
{
    if (a->size != b->size || (a->size && memcmp(a->data, b->data, a->size))) {
        abort();
    }
}

static void
fuzz_key(const char *text, bool with_mask)
{
    struct buf key, mask, key2, mask2;
    struct ds s;

    buf_init(&key, 0);
    buf_init(&mask, 0);
    buf_init(&key2, 0);
    buf_init(&mask2, 0);
    ds_init(&s);
    if (!odp_parse_key(text, &key, with_mask ? &mask : NULL, NULL)) {
        odp_format_key(&s, key.data, key.size, with_mask ? mask.data : NULL,
                       mask.size, true);
        if (odp_parse_key(ds_cstr(&s), &key2, with_mask ? &mask2 : NULL,
                          NULL)) {
            abort();
        }
        check_same(&key, &key2);
        check_same(&mask, &mask2);

        /* The short form must at least format without trouble. */
        ds_clear(&s);
        odp_format_key(&s, key.data, key.size, with_mask ? mask.data : NULL,
                       mask.size, false);
    }
    ds_destroy(&s);
    buf_uninit(&key);
    buf_uninit(&mask);
    buf_uninit(&key2);
    buf_uninit(&mask2);
}

static void
fuzz_actions(const char *text)
{
    struct buf actions, actions2;
    struct ds s;

    buf_init(&actions, 0);
    buf_init(&actions2, 0);
    ds_init(&s);
    if (!odp_parse_actions(text, &actions, NULL)) {
        odp_format_actions(&s, actions.data, actions.size);
        if (odp_parse_actions(ds_cstr(&s), &actions2, NULL)) {
            abort();
        }
        check_same(&actions, &actions2);
    }
    ds_destroy(&s);
    buf_uninit(&actions);
    buf_uninit(&actions2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);

    if (!text) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    fuzz_key(text, true);
    fuzz_key(text, false);
    fuzz_actions(text);
    free(text);
    return 0;
}
