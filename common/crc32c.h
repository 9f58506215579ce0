/*
 * crc32c.h — CRC-32C (Castagnoli), the checksum of SCTP (RFC 9260) and
 * iSCSI (RFC 3720).
 *
 * The polynomial is 0x1EDC6F41 (reflected: 0x82F63B78), the register starts
 * at all ones and the result is complemented: crc32c("123456789") is
 * 0xe3069283.  SCTP stores the 32-bit result in the checksum field in
 * little-endian byte order (least significant byte first), which is what
 * crc32c_put_le() writes.
 *
 * crc32c_continue() extends a finished CRC over more bytes, the convention
 * of zlib's crc32(): crc32c_continue(crc32c(a), b) == crc32c(a || b) and
 * crc32c_continue(0, a) == crc32c(a).  That lets a caller checksum a header
 * and a payload that are not contiguous.
 *
 * The implementation is byte-at-a-time over a constant 256-entry table (the
 * reflected polynomial applied to each byte value); there is no hardware
 * acceleration, which is plenty for composing test and injected frames.
 *
 * Thread and process safety: pure functions of their arguments.
 */
#ifndef DPIF_CRC32C_H
#define DPIF_CRC32C_H 1

#include <stddef.h>
#include <stdint.h>

/* CRC-32C of the 'n' bytes at 'data'. */
uint32_t crc32c(const void *data, size_t n);

/* CRC-32C of the bytes that gave the finished CRC 'crc' followed by the 'n'
 * bytes at 'data'.  Start with 0. */
uint32_t crc32c_continue(uint32_t crc, const void *data, size_t n);

/* Writes 'crc' to the 4 bytes at 'dst', least significant byte first (the
 * SCTP checksum field layout). */
void crc32c_put_le(void *dst, uint32_t crc);

#endif /* crc32c.h */
