/*
 * pattern.h - the tests' random numbers and block contents.
 *
 * pattern_fill() writes into a block the bytes of a fixed random reference
 * starting at an offset given by the block's tag, so two blocks with
 * different tags hold different contents and any overlap or stray write is
 * seen by pattern_intact().
 */
#ifndef LLE_TEST_PATTERN_H
#define LLE_TEST_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PATTERN_MAX_BLOCK ((size_t)70000)
#define PATTERN_TAG_SPAN 8192u

static inline uint64_t xs_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static unsigned char pattern_ref[PATTERN_MAX_BLOCK + PATTERN_TAG_SPAN];

static inline void pattern_init(uint64_t seed)
{
    for (size_t i = 0; i < sizeof pattern_ref; i++) pattern_ref[i] = (unsigned char)(xs_next(&seed) >> 29);
}

static inline void pattern_fill(void *p, size_t n, uint32_t tag)
{
    memcpy(p, pattern_ref + tag % PATTERN_TAG_SPAN, n);
}

static inline bool pattern_intact(const void *p, size_t n, uint32_t tag)
{
    return memcmp(p, pattern_ref + tag % PATTERN_TAG_SPAN, n) == 0;
}

#endif
