/* sort.c — heapsort without system calls.  See sort.h. */
#include "common/sort.h"

#include <stdint.h>
#include <string.h>

/* Swaps the 'size' bytes at 'a' and 'b' through a stack buffer. */
static void
sort_swap(unsigned char *a, unsigned char *b, size_t size)
{
    unsigned char tmp[64];

    while (size) {
        size_t chunk = size < sizeof tmp ? size : sizeof tmp;

        memcpy(tmp, a, chunk);
        memcpy(a, b, chunk);
        memcpy(b, tmp, chunk);
        a += chunk;
        b += chunk;
        size -= chunk;
    }
}

/* Moves the element at 'root' down the max-heap of the first 'n' elements
 * until both its children are no greater. */
static void
sort_sift_down(unsigned char *base, size_t root, size_t n, size_t size,
               int (*compare)(const void *, const void *))
{
    for (;;) {
        size_t child = 2 * root + 1;

        if (child >= n) {
            return;
        }
        if (child + 1 < n
            && compare(base + child * size, base + (child + 1) * size) < 0) {
            child++;
        }
        if (compare(base + root * size, base + child * size) >= 0) {
            return;
        }
        sort_swap(base + root * size, base + child * size, size);
        root = child;
    }
}

void
sort_array(void *base_, size_t n, size_t size,
           int (*compare)(const void *, const void *))
{
    unsigned char *base = base_;

    if (n < 2 || !size || n > SIZE_MAX / size) {
        return;
    }
    for (size_t i = n / 2; i-- > 0;) {
        sort_sift_down(base, i, n, size, compare);
    }
    for (size_t end = n - 1; end > 0; end--) {
        sort_swap(base, base + end * size, size);
        sort_sift_down(base, 0, end, size, compare);
    }
}
