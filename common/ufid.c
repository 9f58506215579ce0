#include "common/ufid.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "common/hash.h"

void
ufid_from_key(const void *key, size_t key_len,
              const void *mask, size_t mask_len, union ufid *ufid)
{
    uint64_t k[2], m[2];

    hash_bytes128(key, key_len, 0, k);
    hash_bytes128(mask, mask_len, 0x9e3779b9, m);
    ufid->u64[0] = k[0] ^ (m[0] * 0x9e3779b97f4a7c15ULL);
    ufid->u64[1] = k[1] ^ (m[1] * 0xc2b2ae3d27d4eb4fULL);
}

void
ufid_format(const union ufid *ufid, char buf[UFID_STRLEN])
{
    snprintf(buf, UFID_STRLEN, "ufid:%08x-%04x-%04x-%04x-%04x%08x",
             ufid->u32[0], ufid->u32[1] >> 16, ufid->u32[1] & 0xffff,
             ufid->u32[2] >> 16, ufid->u32[2] & 0xffff, ufid->u32[3]);
}

static bool
parse_hex32(const char *s, int n, uint32_t *v)
{
    uint32_t x = 0;

    for (int i = 0; i < n; i++) {
        int c = (unsigned char) s[i];
        if (!isxdigit(c)) {
            return false;
        }
        x = x * 16 + (uint32_t) (isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
    }
    *v = x;
    return true;
}

size_t
ufid_parse(const char *s, union ufid *ufid)
{
    uint32_t a, b1, b2, c1, c2, d1;

    if (strncmp(s, "ufid:", 5)) {
        return 0;
    }
    s += 5;
    if (!parse_hex32(s, 8, &a) || s[8] != '-'
        || !parse_hex32(s + 9, 4, &b1) || s[13] != '-'
        || !parse_hex32(s + 14, 4, &b2) || s[18] != '-'
        || !parse_hex32(s + 19, 4, &c1) || s[23] != '-'
        || !parse_hex32(s + 24, 4, &c2) || !parse_hex32(s + 28, 8, &d1)) {
        return 0;
    }
    ufid->u32[0] = a;
    ufid->u32[1] = b1 << 16 | b2;
    ufid->u32[2] = c1 << 16 | c2;
    ufid->u32[3] = d1;
    return 5 + 36;
}

unsigned int
ufid_shard(const union ufid *ufid, unsigned int n_shards)
{
    return hash_finish(hash_add(hash_add(0, ufid->u32[0]), ufid->u32[3]), 8)
           % n_shards;
}

bool
ufid_equals(const union ufid *a, const union ufid *b)
{
    return a->u64[0] == b->u64[0] && a->u64[1] == b->u64[1];
}

bool
ufid_is_zero(const union ufid *ufid)
{
    return !ufid->u64[0] && !ufid->u64[1];
}
