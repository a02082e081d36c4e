/*
 * faulty_host.c - see faulty_host.h.  Each block carries a 64-byte prefix
 * recording its size, so frees with a wrong size are counted.
 */
#include "faulty_host.h"

#include <stdlib.h>
#include <string.h>

#define PREFIX 64u

static int should_fail(faulty_host_t *fh, size_t size)
{
    uint64_t n = atomic_fetch_add(&fh->calls, 1) + 1;
    int fail = fh->fail_all || (fh->fail_nth && n == fh->fail_nth) ||
               (fh->fail_every && n % fh->fail_every == 0) ||
               (fh->fail_above && size > fh->fail_above);
    if (fail) atomic_fetch_add(&fh->failures, 1);
    return fail;
}

static void *fh_alloc(void *ctx, size_t size, size_t align)
{
    faulty_host_t *fh = ctx;
    if (should_fail(fh, size)) return NULL;
    size_t pre = align > PREFIX ? align : PREFIX;
    void *base = NULL;
    if (posix_memalign(&base, align > 16 ? align : 16, size + pre) != 0) return NULL;
    char *p = (char *)base + pre;
    size_t *words = (size_t *)(void *)p;  /* p is at least 16-aligned */
    words[-1] = size;
    words[-2] = pre;
    atomic_fetch_add(&fh->outstanding_bytes, (int64_t)size);
    atomic_fetch_add(&fh->outstanding_blocks, 1);
    return p;
}

static void fh_free(void *ctx, void *p, size_t size)
{
    faulty_host_t *fh = ctx;
    if (!p) return;
    size_t real = ((size_t *)p)[-1], pre = ((size_t *)p)[-2];
    if (real != size) atomic_fetch_add(&fh->size_mismatch, 1);
    atomic_fetch_sub(&fh->outstanding_bytes, (int64_t)real);
    atomic_fetch_sub(&fh->outstanding_blocks, 1);
    free((char *)p - pre);
}

static void *fh_realloc(void *ctx, void *p, size_t old_size, size_t new_size, size_t align)
{
    faulty_host_t *fh = ctx;
    if (should_fail(fh, new_size)) return NULL;
    atomic_fetch_sub(&fh->calls, 1);  /* the inner alloc counts again */
    void *q = fh_alloc(ctx, new_size, align);
    if (!q) return NULL;
    memcpy(q, p, old_size < new_size ? old_size : new_size);
    fh_free(ctx, p, old_size);
    return q;
}

static size_t fh_usable(void *ctx, const void *p)
{
    (void)ctx;
    return ((const size_t *)p)[-1];
}

void faulty_host_init(faulty_host_t *fh)
{
    memset(fh, 0, sizeof *fh);
    fh->methods.alloc = fh_alloc;
    fh->methods.free = fh_free;
    fh->methods.realloc = fh_realloc;
    fh->methods.usable_size = fh_usable;
    fh->methods.ctx = fh;
}
