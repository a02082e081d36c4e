/*
 * bench/churn_core.h - the churn step shared by churn, latency and overhead.
 *
 * A table of live slots, each holding one block.  One operation picks a
 * random slot, checks and frees the block it holds, and allocates a new
 * block of a size from the line-editor mix (bench_mix_size) in its place,
 * writing its first and last byte.  Include after adapter.h.
 */
#ifndef LLE_BENCH_CHURN_CORE_H
#define LLE_BENCH_CHURN_CORE_H

#include <stdlib.h>

#include "adapter.h"

typedef struct churn {
    bench_slot_t *slot;
    size_t        nslots;
    uint64_t      rng;
    uint64_t      bad_tags;   /* blocks whose tags were overwritten */
    uint64_t      free_errors;/* frees the allocator refused */
    uint64_t      op;         /* operations done so far */
} churn_t;

/* Allocate the table and fill every slot.  -1 (reported) on failure. */
static inline int churn_open(churn_t *c, size_t nslots, uint64_t seed)
{
    c->slot = calloc(nslots, sizeof *c->slot);
    c->nslots = nslots;
    c->rng = bench_seed(seed);
    c->bad_tags = c->free_errors = c->op = 0;
    if (!c->slot) {
        bench_error("out of memory for %zu slots", nslots);
        return -1;
    }
    for (size_t i = 0; i < nslots; i++) {
        uint64_t r = bench_rand(&c->rng);
        size_t n = bench_mix_size(r);
        void *p = ba_alloc(n);
        if (!p) {
            bench_error("allocation of %zu bytes failed while filling slot %zu", n, i);
            return -1;
        }
        bench_slot_set(&c->slot[i], p, n, (uint8_t)(r >> 56));
    }
    return 0;
}

/* Release the old block of a slot (checking its tags). */
static inline void churn_drop(churn_t *c, bench_slot_t *s)
{
    if (!bench_slot_ok(s))
        c->bad_tags++;
    if (ba_free(s->p) != 0)
        c->free_errors++;
    s->p = NULL;
}

/* One operation: free + alloc.  -1 (reported) when the allocation failed. */
static inline int churn_step(churn_t *c)
{
    uint64_t r = bench_rand(&c->rng);
    bench_slot_t *s = &c->slot[bench_pick_slot(r, c->nslots)];
    size_t n = bench_mix_size(r);
    churn_drop(c, s);
    void *p = ba_alloc(n);
    if (!p) {
        bench_error("allocation of %zu bytes failed at operation %llu", n,
                    (unsigned long long)c->op);
        return -1;
    }
    bench_slot_set(s, p, n, (uint8_t)(r >> 24));
    c->op++;
    return 0;
}

/* Free every block and the table; 0 when no check failed along the way. */
static inline int churn_close(churn_t *c)
{
    if (c->slot) {
        for (size_t i = 0; i < c->nslots; i++)
            if (c->slot[i].p)
                churn_drop(c, &c->slot[i]);
        free(c->slot);
        c->slot = NULL;
    }
    if (c->bad_tags)
        bench_error("%llu block(s) had their first or last byte overwritten while live"
                    " (overlapping blocks?)", (unsigned long long)c->bad_tags);
    if (c->free_errors)
        bench_error("%llu free(s) were refused by the allocator",
                    (unsigned long long)c->free_errors);
    return (c->bad_tags || c->free_errors) ? -1 : 0;
}

/* Sum of the sizes asked for by the blocks live now. */
static inline uint64_t churn_live_bytes(const churn_t *c)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < c->nslots; i++)
        if (c->slot[i].p)
            sum += c->slot[i].n;
    return sum;
}

/* Open the table and run n untimed operations: 0, or -1 on failure. */
static inline int churn_open_warm(churn_t *c, size_t slots, uint64_t seed, uint64_t n)
{
    if (churn_open(c, slots, seed) != 0)
        return -1;
    for (uint64_t i = 0; i < n; i++)
        if (churn_step(c) != 0)
            return -1;
    return 0;
}

#endif
