/*
 * site.c - interned call sites.
 *
 * A site is (file, line, function) when the caller named one, else the
 * caller's return address, plus the backtrace when one is recorded.  Each
 * distinct site gets an id once (a hash table over an append-only array,
 * so ids never move) and keeps running totals of the live debug blocks
 * allocated there: a leak report or a snapshot reads these totals instead
 * of walking the blocks.  Site strings are not copied: they must live as
 * long as the manager (__FILE__ and __func__ do).
 */
#include <dlfcn.h>
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

static bool site_equal(const lle__dbg_t *d, const lle__dsite_t *e, const lle_site_t *s,
                       const void *const *frames, unsigned nf)
{
    return e->site.file == s->file && e->site.line == s->line && e->site.func == s->func &&
           e->site.pc == s->pc && e->nframes == nf &&
           (nf == 0 || memcmp(d->frames + e->frame0, frames, nf * sizeof *frames) == 0);
}

static bool rehash(lle_memory_manager_t *m, lle__dbg_t *d, size_t cap)
{
    uint32_t *idx = lle__host_alloc(m, cap * sizeof *idx, 16, true);
    if (!idx) return false;
    memset(idx, 0, cap * sizeof *idx);
    for (size_t i = 0; i < d->nsites; i++) {
        size_t j = (size_t)(d->sites[i].hash >> 17) & (cap - 1);
        while (idx[j]) j = (j + 1) & (cap - 1);
        idx[j] = (uint32_t)(i + 1);
    }
    if (d->index) lle__host_free(m, d->index, d->index_cap * sizeof *d->index, true);
    d->index = idx;
    d->index_cap = cap;
    return true;
}

uint32_t lle__dsite_intern(lle_memory_manager_t *m, const lle_site_t *site, const void *pc,
                           const void *const *frames, unsigned nf)
{
    lle__dbg_t *d = m->dbg;
    lle_site_t s = {0};
    if (site) s = *site;
    else s.pc = pc;
    uint64_t h = site_hash(&s, frames, nf);
    if (d->index_cap) {
        size_t j = (size_t)(h >> 17) & (d->index_cap - 1);
        for (uint32_t id; (id = d->index[j]) != 0; j = (j + 1) & (d->index_cap - 1)) {
            const lle__dsite_t *e = &d->sites[id - 1];
            if (e->hash == h && site_equal(d, e, &s, frames, nf)) return id;
        }
    }
    if (d->nsites >= UINT32_MAX - 1) return 0;
    if ((d->nsites + 1) * 2 > d->index_cap && !rehash(m, d, d->index_cap ? d->index_cap * 2 : 256))
        return 0;
    if (!lle__array_grow(m, (void **)&d->sites, &d->sites_cap, d->nsites + 1, sizeof *d->sites, 64)) return 0;
    if (nf && !lle__array_grow(m, (void **)&d->frames, &d->frames_cap, d->nframes + nf,
                                sizeof *d->frames, 64))
        return 0;
    lle__dsite_t *e = &d->sites[d->nsites];
    memset(e, 0, sizeof *e);
    e->site = s;
    e->hash = h;
    e->nframes = nf;
    e->frame0 = (uint32_t)d->nframes;
    if (nf) memcpy(d->frames + d->nframes, frames, nf * sizeof *frames);
    d->nframes += nf;
    uint32_t id = (uint32_t)++d->nsites;
    size_t j = (size_t)(h >> 17) & (d->index_cap - 1);
    while (d->index[j]) j = (j + 1) & (d->index_cap - 1);
    d->index[j] = id;
    return id;
}

lle_site_t lle__dsite_site(const lle__dbg_t *d, uint32_t id)
{
    lle_site_t z = {0};
    return id && id <= d->nsites ? d->sites[id - 1].site : z;
}

void lle__dsite_free_all(lle_memory_manager_t *m)
{
    lle__dbg_t *d = m->dbg;
    lle__array_free(m, (void **)&d->sites, &d->sites_cap, sizeof *d->sites);
    lle__array_free(m, (void **)&d->index, &d->index_cap, sizeof *d->index);
    lle__array_free(m, (void **)&d->frames, &d->frames_cap, sizeof *d->frames);
    d->nsites = d->nframes = 0;
}

void lle__dsite_describe(const lle_site_t *s, char *buf, size_t len)
{
    if (s->file) {
        snprintf(buf, len, "%s:%d (%s)", s->file, s->line, s->func ? s->func : "?");
        return;
    }
    if (!s->pc) {
        snprintf(buf, len, "an unknown site");
        return;
    }
    Dl_info info;
    if (dladdr(s->pc, &info) && info.dli_sname)
        snprintf(buf, len, "%p (%s+0x%lx)", s->pc, info.dli_sname,
                 (unsigned long)((const char *)s->pc - (const char *)info.dli_saddr));
    else if (dladdr(s->pc, &info) && info.dli_fname)
        snprintf(buf, len, "%p (%s+0x%lx)", s->pc, info.dli_fname,
                 (unsigned long)((const char *)s->pc - (const char *)info.dli_fbase));
    else
        snprintf(buf, len, "%p", s->pc);
}
