/*
 * site.c - interned call sites.
 *
 * A site is (file, line, function) when the caller named one, else the
 * caller's return address, plus the backtrace when one is recorded.  Each
 * distinct site gets an id once: a hash table (under site_lock) over
 * records kept in chunks that never move, so a record, once its id is
 * published, is read by anyone without a lock.  The running totals of the
 * live debug blocks of each site are kept by the debug heaps (debug.c): a
 * leak report or a snapshot adds them up instead of walking the blocks.
 * Threads find the ids of the sites they use again in their own cache
 * (debug.c), so interning takes the lock about once per site and thread.
 * Site strings are not copied: they must live as long as the manager
 * (__FILE__ and __func__ do).
 */
#include <stdio.h>
#include <string.h>

#include "debug/debug_internal.h"

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + UINT64_C(0x9E3779B97F4A7C15) + (h << 6) + (h >> 2);
    return h * UINT64_C(0xff51afd7ed558ccd);
}

static uint64_t site_hash(const lle_site_t *s, const void *const *frames, unsigned nf)
{
    uint64_t h = mix(mix(mix((uintptr_t)s->file, (uint64_t)s->line), (uintptr_t)s->func),
                     (uintptr_t)s->pc);
    for (unsigned i = 0; i < nf; i++) h = mix(h, (uintptr_t)frames[i]);
    return h | 1;
}

static bool site_equal(const lle__dsite_t *e, const lle_site_t *s, const void *const *frames,
                       unsigned nf)
{
    return e->site.file == s->file && e->site.line == s->line && e->site.func == s->func &&
           e->site.pc == s->pc && e->nframes == nf &&
           (nf == 0 || memcmp(e->frames, frames, nf * sizeof *frames) == 0);
}

/* site_lock held. */
static bool rehash(lle_memory_manager_t *m, lle__dbg_t *d, size_t nsites, size_t cap)
{
    uint32_t *idx = lle__host_alloc(m, cap * sizeof *idx, 16, true);
    if (!idx) return false;
    memset(idx, 0, cap * sizeof *idx);
    for (size_t i = 0; i < nsites; i++) {
        size_t j = (size_t)(lle__dsite_get(d, (uint32_t)(i + 1))->hash >> 17) & (cap - 1);
        while (idx[j]) j = (j + 1) & (cap - 1);
        idx[j] = (uint32_t)(i + 1);
    }
    if (d->index) lle__host_free(m, d->index, d->index_cap * sizeof *d->index, true);
    d->index = idx;
    d->index_cap = cap;
    return true;
}

/* site_lock held: the id of s, or 0 when it is not interned. */
static uint32_t lookup(const lle__dbg_t *d, const lle_site_t *s, uint64_t h,
                       const void *const *frames, unsigned nf)
{
    if (!d->index_cap) return 0;
    size_t j = (size_t)(h >> 17) & (d->index_cap - 1);
    for (uint32_t id; (id = d->index[j]) != 0; j = (j + 1) & (d->index_cap - 1)) {
        const lle__dsite_t *e = lle__dsite_get(d, id);
        if (e->hash == h && site_equal(e, s, frames, nf)) return id;
    }
    return 0;
}

/* site_lock held: a new record for s (its id), 0 when there is no room. */
static uint32_t add(lle_memory_manager_t *m, lle__dbg_t *d, const lle_site_t *s, uint64_t h,
                    const void *const *frames, unsigned nf)
{
    size_t n = atomic_load_explicit(&d->nsites, memory_order_relaxed);
    if (n >= (size_t)LLE__DSITE_CHUNK * LLE__DSITE_CHUNKS) return 0;
    if ((n + 1) * 2 > d->index_cap && !rehash(m, d, n, d->index_cap ? d->index_cap * 2 : 256))
        return 0;
    lle__dsite_t *chunk = atomic_load_explicit(&d->chunks[n / LLE__DSITE_CHUNK],
                                               memory_order_relaxed);
    if (!chunk) {
        chunk = lle__host_alloc(m, LLE__DSITE_CHUNK * sizeof *chunk, 64, true);
        if (!chunk) return 0;
        atomic_store_explicit(&d->chunks[n / LLE__DSITE_CHUNK], chunk, memory_order_release);
    }
    const void **fr = NULL;
    if (nf) {
        fr = lle__host_alloc(m, nf * sizeof *fr, 16, true);
        if (!fr) return 0;
        memcpy(fr, frames, nf * sizeof *fr);
    }
    lle__dsite_t *e = &chunk[n % LLE__DSITE_CHUNK];
    e->site = *s;
    e->frames = fr;
    e->nframes = nf;
    e->hash = h;
    uint32_t id = (uint32_t)(n + 1);
    size_t j = (size_t)(h >> 17) & (d->index_cap - 1);
    while (d->index[j]) j = (j + 1) & (d->index_cap - 1);
    d->index[j] = id;
    atomic_store_explicit(&d->nsites, n + 1, memory_order_release);   /* publishes e */
    return id;
}

uint32_t lle__dsite_intern(lle_memory_manager_t *m, const lle_site_t *site, const void *pc,
                           const void *const *frames, unsigned nf)
{
    lle__dbg_t *d = m->dbg;
    lle_site_t s = {0};
    if (site) s = *site;
    else s.pc = pc;
    uint64_t h = site_hash(&s, frames, nf);
    pthread_mutex_lock(&d->site_lock);
    uint32_t id = lookup(d, &s, h, frames, nf);
    if (!id) id = add(m, d, &s, h, frames, nf);
    pthread_mutex_unlock(&d->site_lock);
    return id;
}

lle_site_t lle__dsite_site(const lle__dbg_t *d, uint32_t id)
{
    lle_site_t z = {0};
    return id && id <= lle__dsite_count(d) ? lle__dsite_get(d, id)->site : z;
}

void lle__dsite_free_all(lle_memory_manager_t *m)
{
    lle__dbg_t *d = m->dbg;
    size_t n = atomic_load_explicit(&d->nsites, memory_order_relaxed);
    for (size_t i = 0; i < n; i++) {
        const lle__dsite_t *e = lle__dsite_get(d, (uint32_t)(i + 1));
        if (e->frames) lle__host_free(m, (void *)e->frames, e->nframes * sizeof *e->frames, true);
    }
    for (size_t c = 0; c < LLE__DSITE_CHUNKS; c++) {
        lle__dsite_t *chunk = atomic_load_explicit(&d->chunks[c], memory_order_relaxed);
        if (!chunk) break;
        lle__host_free(m, chunk, LLE__DSITE_CHUNK * sizeof *chunk, true);
        atomic_store_explicit(&d->chunks[c], NULL, memory_order_relaxed);
    }
    lle__array_free(m, (void **)&d->index, &d->index_cap, sizeof *d->index);
    atomic_store_explicit(&d->nsites, 0, memory_order_relaxed);
}

