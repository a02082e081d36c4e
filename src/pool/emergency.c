/*
 * emergency.c - the emergency reserve: memory taken from the host at
 * creation and used only when the typed pool and the secondary pool both
 * fail (spec 4.2, step 4).
 *
 * The reserve is one granule-aligned region, registered in the page map as a
 * slab of kind EMERGENCY, cut into 64-byte units with a first-fit bitmap
 * allocator under m->emerg_lock.  Serving from it is slow and rare by design.
 * Once it has been used, the next successful host allocation of any pool
 * ("memory came back") triggers a refill: a fresh region becomes the reserve
 * and the used one is retired, given back to the host when its last block
 * is freed.
 *
 * For valgrind the region is a slab like any other (its own pool, made in
 * slab_new); blocks enter and leave that pool under emerg_lock, before a
 * unit can change hands.
 */
#include <string.h>

#include "pool/pool_internal.h"
#include "sanitizer.h"


static lle__emerg_t *region_new(lle_memory_manager_t *m, size_t bytes)
{
    size_t units = bytes / LLE__EMERG_UNIT;
    size_t words = (units + 63) / 64;
    size_t meta = sizeof(lle__emerg_t) + words * sizeof(uint64_t) + units * sizeof(uint32_t);
    lle__emerg_t *e = lle__host_alloc(m, meta, 16, true);
    if (!e) return NULL;
    memset(e, 0, meta);
    e->units = units;
    e->used = (uint64_t *)(e + 1);
    e->run = (uint32_t *)(e->used + words);
    e->slab = lle__slab_new(m, LLE_POOL_SECONDARY, bytes, LLE__SLAB_EMERGENCY);
    if (!e->slab) {
        lle__host_free(m, e, meta, true);
        return NULL;
    }
    e->slab->aux = e;
    return e;
}

static void region_free(lle_memory_manager_t *m, lle__emerg_t *e)
{
    size_t words = (e->units + 63) / 64;
    size_t meta = sizeof(lle__emerg_t) + words * sizeof(uint64_t) + e->units * sizeof(uint32_t);
    lle__slab_destroy(m, e->slab);
    lle__host_free(m, e, meta, true);
}

lle_result_t lle__emerg_init(lle_memory_manager_t *m)
{
    size_t bytes = m->cfg.emergency_reserve;
    if (!bytes) return LLE_SUCCESS;
    bytes = (bytes + LLE__GRANULE - 1) & ~(LLE__GRANULE - 1);
    m->emerg = region_new(m, bytes);
    return m->emerg ? LLE_SUCCESS : LLE_ERROR_OUT_OF_MEMORY;
}

static bool unit_used(const lle__emerg_t *e, size_t u)
{
    return (e->used[u / 64] >> (u % 64)) & 1;
}

static void mark(lle__emerg_t *e, size_t u, size_t k, bool on)
{
    for (size_t i = u; i < u + k; i++) {
        if (on) e->used[i / 64] |= (uint64_t)1 << (i % 64);
        else e->used[i / 64] &= ~((uint64_t)1 << (i % 64));
    }
}

void *lle__emerg_alloc(lle_memory_manager_t *m, size_t n, size_t align)
{
    if (align > LLE__EMERG_UNIT) return NULL;
    if (n == 0) n = 1;
    void *p = NULL;
    pthread_mutex_lock(&m->emerg_lock);
    lle__emerg_t *e = m->emerg;
    if (e && n <= e->units * LLE__EMERG_UNIT) {
        size_t k = (n + LLE__EMERG_UNIT - 1) / LLE__EMERG_UNIT;
        size_t run = 0;
        for (size_t u = 0; u < e->units; u++) {
            if (unit_used(e, u)) {
                run = 0;
                continue;
            }
            if (++run == k) {
                size_t first = u + 1 - k;
                mark(e, first, k, true);
                e->run[first] = (uint32_t)k;
                for (size_t i = 1; i < k; i++) e->run[first + i] = LLE__EMERG_INNER | (uint32_t)i;
                e->used_units += k;
                e->live++;
                p = e->slab->start + first * LLE__EMERG_UNIT;
                lle__block_out(e->slab, p, k * LLE__EMERG_UNIT);
                break;
            }
        }
        if (p) atomic_store_explicit(&m->emerg_needs_refill, 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&m->emerg_lock);
    return p;
}

/* The unit of p in region e if p is the start of a live block, else 0 with
 * *err set. */
static size_t block_units(const lle__emerg_t *e, const void *p, lle_result_t *err)
{
    size_t off = (size_t)((const char *)p - e->slab->start);
    size_t u = off / LLE__EMERG_UNIT;
    *err = LLE_ERROR_INVALID_POINTER;
    if (off % LLE__EMERG_UNIT || u >= e->units) return 0;
    if (e->run[u] && !(e->run[u] & LLE__EMERG_INNER)) {
        *err = LLE_SUCCESS;
        return e->run[u];
    }
    if (!unit_used(e, u)) *err = LLE_ERROR_DOUBLE_FREE;  /* a block boundary, now free */
    return 0;
}

lle_result_t lle__emerg_free(lle_memory_manager_t *m, lle__slab_t *s, void *p)
{
    lle__emerg_t *e = s->aux;
    lle_result_t err;
    bool drop = false;
    pthread_mutex_lock(&m->emerg_lock);
    size_t k = block_units(e, p, &err);
    if (k) {
        size_t u = (size_t)((char *)p - e->slab->start) / LLE__EMERG_UNIT;
        lle__block_back(e->slab, p, k * LLE__EMERG_UNIT);
        mark(e, u, k, false);
        memset(&e->run[u], 0, k * sizeof e->run[0]);
        e->used_units -= k;
        e->live--;
        if (e != m->emerg && e->live == 0) {    /* a retired region drained */
            lle__emerg_t **pp = &m->retired;
            while (*pp && *pp != e) pp = &(*pp)->next;
            if (*pp) {
                *pp = e->next;
                drop = true;
            }
        }
    }
    pthread_mutex_unlock(&m->emerg_lock);
    if (drop) region_free(m, e);
    return k ? LLE_SUCCESS : err;
}

void *lle__emerg_block_containing(lle_memory_manager_t *m, lle__slab_t *s, const void *p)
{
    lle__emerg_t *e = s->aux;
    void *b = NULL;
    pthread_mutex_lock(&m->emerg_lock);
    size_t u = (size_t)((const char *)p - e->slab->start) / LLE__EMERG_UNIT;
    if ((const char *)p >= e->slab->start && u < e->units && unit_used(e, u)) {
        uint32_t r = e->run[u];
        size_t first = r & LLE__EMERG_INNER ? u - (r & ~LLE__EMERG_INNER) : u;
        b = e->slab->start + first * LLE__EMERG_UNIT;
    }
    pthread_mutex_unlock(&m->emerg_lock);
    return b;
}

size_t lle__emerg_usable(lle_memory_manager_t *m, lle__slab_t *s, const void *p)
{
    lle_result_t err;
    pthread_mutex_lock(&m->emerg_lock);
    size_t k = block_units(s->aux, p, &err);
    pthread_mutex_unlock(&m->emerg_lock);
    return k * LLE__EMERG_UNIT;
}

/* Called after a successful host allocation while the reserve is used:
 * a fresh region becomes the reserve, the used one is retired.  Two threads
 * may race here; only the one that still finds `old` current installs its
 * region, the other gives its region back. */
void lle__emerg_refill(lle_memory_manager_t *m)
{
    if (!atomic_exchange_explicit(&m->emerg_needs_refill, 0, memory_order_relaxed)) return;
    pthread_mutex_lock(&m->emerg_lock);
    lle__emerg_t *old = m->emerg;
    size_t bytes = old ? old->units * LLE__EMERG_UNIT : 0;
    bool used = old && old->live > 0;
    pthread_mutex_unlock(&m->emerg_lock);
    if (!used) return;
    lle__emerg_t *fresh = region_new(m, bytes);
    if (!fresh) {
        atomic_store_explicit(&m->emerg_needs_refill, 1, memory_order_relaxed);
        return;
    }
    lle__emerg_t *drop = NULL;
    pthread_mutex_lock(&m->emerg_lock);
    if (m->emerg != old) {
        drop = fresh;                      /* another thread refilled first */
    } else {
        if (old->live > 0) {
            old->next = m->retired;
            m->retired = old;
        } else {
            drop = old;
        }
        m->emerg = fresh;
    }
    pthread_mutex_unlock(&m->emerg_lock);
    if (drop) region_free(m, drop);
    if (drop != fresh) atomic_fetch_add_explicit(&m->emergency_refills, 1, memory_order_relaxed);
}

LLE__HIDDEN void lle__emerg_usage(lle_memory_manager_t *m, size_t *capacity, size_t *in_use);
void lle__emerg_usage(lle_memory_manager_t *m, size_t *capacity, size_t *in_use)
{
    pthread_mutex_lock(&m->emerg_lock);
    *capacity = m->emerg ? m->emerg->units * LLE__EMERG_UNIT : 0;
    *in_use = m->emerg ? m->emerg->used_units * LLE__EMERG_UNIT : 0;
    for (lle__emerg_t *e = m->retired; e; e = e->next) *in_use += e->used_units * LLE__EMERG_UNIT;
    pthread_mutex_unlock(&m->emerg_lock);
}

void lle__emerg_release_all(lle_memory_manager_t *m, size_t *blocks, size_t *bytes)
{
    lle__emerg_t *list[2] = {m->emerg, m->retired};
    for (int i = 0; i < 2; i++) {
        lle__emerg_t *e = list[i];
        while (e) {
            lle__emerg_t *next = i == 0 ? NULL : e->next;
            *blocks += e->live;
            *bytes += e->used_units * LLE__EMERG_UNIT;
            region_free(m, e);
            e = next;
        }
    }
    m->emerg = m->retired = NULL;
}
