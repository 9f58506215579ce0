/*
 * hash.h — non-cryptographic hashing.
 *
 * hash_bytes() and friends are MurmurHash3 (x86_32) style: fast, good
 * avalanche, stable across runs and processes for the same 'basis', so a
 * hash computed in one process (a shard number, say) means the same in
 * another.  Never use them where an attacker choosing inputs could gain from
 * collisions unless the table also bounds its chain lengths.
 */
#ifndef DPIF_HASH_H
#define DPIF_HASH_H 1

#include <stddef.h>
#include <stdint.h>

/* One step of the 32-bit mixing function: folds 'data' into 'hash'. */
static inline uint32_t
hash_add(uint32_t hash, uint32_t data)
{
    data *= 0xcc9e2d51;
    data = (data << 15) | (data >> 17);
    data *= 0x1b873593;
    hash ^= data;
    hash = (hash << 13) | (hash >> 19);
    return hash * 5 + 0xe6546b64;
}

static inline uint32_t
hash_add64(uint32_t hash, uint64_t data)
{
    return hash_add(hash_add(hash, (uint32_t) data), (uint32_t) (data >> 32));
}

/* Final avalanche over 'hash' after adding 'n_bytes' of data. */
static inline uint32_t
hash_finish(uint32_t hash, uint32_t n_bytes)
{
    hash ^= n_bytes;
    hash ^= hash >> 16;
    hash *= 0x85ebca6b;
    hash ^= hash >> 13;
    hash *= 0xc2b2ae35;
    hash ^= hash >> 16;
    return hash;
}

/* Hashes 'n' arbitrary bytes (any alignment). */
uint32_t hash_bytes(const void *p, size_t n, uint32_t basis);

/* Hashes 'n' 64-bit words. */
uint32_t hash_words64(const uint64_t *p, size_t n, uint32_t basis);

static inline uint32_t
hash_int(uint32_t x, uint32_t basis)
{
    return hash_finish(hash_add(basis, x), 4);
}

/* MurmurHash3 x64 128-bit of 'n' bytes with 'seed': 'out' gets 16 bytes as
 * two host-order 64-bit words. */
void hash_bytes128(const void *p, size_t n, uint32_t seed, uint64_t out[2]);

#endif /* hash.h */
