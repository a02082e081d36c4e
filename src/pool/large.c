/*
 * large.c - blocks larger than a pool's slab classes, straight from the host.
 *
 * Layout: [host base ... | lle__large_hdr_t (32 B) | block ...].  The header
 * sits right before the block, which is aligned to max(16, align).  Live
 * blocks are kept in an open-addressing set keyed by block address (under
 * m->large_lock), so a pointer is recognised without reading the memory
 * before it.  A freed block stays in the set as a tombstone until the set is
 * rebuilt, which is how a double free of a large block is told apart from a
 * foreign pointer; after a rebuild an old double free reads as invalid.
 *
 * Blocks of up to LLE__LCACHE_MAX bytes at the default alignment are rounded
 * up to their size class, and when freed they may stay in the manager's
 * large-block cache (m->lcache, bounded by cfg.large_cache) instead of going
 * back to the host: the next request of the same pool and class takes one
 * with a lock and a probe, no host call.  A cached block keeps its set key
 * with LLE__LARGE_CACHED set, so freeing it again is a double free, and it
 * stays counted in its pool's large_bytes (held), not in its in-use bytes.
 *
 * Beside the set, a span index (m->large_spans) maps each 64 KiB span of
 * address space a live block has bytes in to the block, so that a pointer
 * to any byte of a large block finds it in O(1) (lle_memory_check_bounds,
 * lle_block_query: a span holds bytes of nine blocks at most, since large
 * blocks start at least 8 KiB apart: they are larger than a pool's slab
 * classes, or aligned to more than a page).  It is made by the first such
 * lookup and kept from then
 * on: blocks enter it when they become live (from the host, the cache, a
 * realloc) and leave it when freed (to the host or the cache).  A program
 * that never asks pays one test of a flag per large allocation and free.
 *
 * For valgrind (sanitizer.h) the blocks of a manager are the chunks of one
 * pool keyed by &m->large (made in lle__pools_init), each of its usable
 * size; the header before a block is the library's and stays as the host
 * made it.  One pool rather than malloc-like blocks: a realloc through the
 * host keeps the contents' definedness, which the host's copy carries over
 * and a pool chunk can follow to its new address unchanged.  A cached
 * block is out of the pool (its link opened around the allocator's own
 * accesses) and poisoned for ASan past the link; memory that goes back to
 * the host is made accessible again first.
 */
#include <string.h>

#include "pool/pool_internal.h"
#include "sanitizer.h"

#define LARGE_MAGIC UINT64_C(0x6c6c652d6c617267) /* "lle-larg" */

static size_t slot_of(uintptr_t key, size_t cap)
{
    uint64_t h = (uint64_t)(key >> 4) * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(h >> 32) & (cap - 1);
}

/* Index of key in the set, or the empty slot where it would go. */
static size_t probe(const lle__large_set_t *set, uintptr_t key)
{
    size_t i = slot_of(key, set->cap);
    while (set->keys[i] != 0 && (set->keys[i] & ~(uintptr_t)15) != key) i = (i + 1) & (set->cap - 1);
    return i;
}

static bool set_rebuild(lle_memory_manager_t *m, lle__large_set_t *set)
{
    size_t cap = 64;
    while (cap < 4 * (set->live + 1)) cap *= 2;
    uintptr_t *keys = lle__host_alloc(m, cap * sizeof *keys, 16, true);
    if (!keys) return false;
    memset(keys, 0, cap * sizeof *keys);
    lle__large_set_t n = {keys, cap, 0, 0};
    for (int pass = 0; pass < 2; pass++)       /* live entries first, then tombstones */
        for (size_t i = 0; i < set->cap; i++) {
            uintptr_t e = set->keys[i];
            if (!e || (int)(e & LLE__LARGE_FREED) != pass) continue;
            if (pass == 1 && (n.live + n.freed + 1) * 2 > cap) break;
            size_t j = probe(&n, e & ~(uintptr_t)15);
            keys[j] = e;
            if (pass == 0) n.live++;
            else n.freed++;
        }
    if (set->keys) lle__host_free(m, set->keys, set->cap * sizeof *set->keys, true);
    *set = n;
    return true;
}

static bool set_insert(lle_memory_manager_t *m, uintptr_t key)
{
    lle__large_set_t *set = &m->large;
    if (!set->keys || (set->live + set->freed + 1) * 4 > set->cap * 3)
        if (!set_rebuild(m, set)) return false;
    size_t i = probe(set, key);
    if (set->keys[i] & LLE__LARGE_FREED) set->freed--;
    set->keys[i] = key;
    set->live++;
    return true;
}

static lle__large_hdr_t *hdr_of(const void *p)
{
    return (lle__large_hdr_t *)(void *)((char *)(uintptr_t)p - LLE__LARGE_HDR);
}

/* ---- the span index ----------------------------------------------------- */

#define SPAN_SHIFT 16   /* 64 KiB spans: a block of up to 64 KiB has one or two */

static size_t span_slot(uintptr_t g, size_t cap)
{
    return (size_t)(((uint64_t)g * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & (cap - 1);
}

/* Spans of usable bytes at blk: the first and the count. */
static uintptr_t span_first(const void *blk)
{
    return (uintptr_t)blk >> SPAN_SHIFT;
}

static size_t span_count(const void *blk, size_t usable)
{
    return (size_t)((((uintptr_t)blk + usable - 1) >> SPAN_SHIFT) - span_first(blk)) + 1;
}

/* The most spans a block of `usable` bytes can have bytes in. */
static size_t span_count_max(size_t usable)
{
    return (usable + ((size_t)1 << SPAN_SHIFT) - 1) / ((size_t)1 << SPAN_SHIFT) + 1;
}

static void span_put(lle__large_spans_t *x, uintptr_t g, uintptr_t blk)
{
    size_t i = span_slot(g, x->cap);
    while (x->e[i].span) i = (i + 1) & (x->cap - 1);
    x->e[i].span = g;
    x->e[i].block = blk;
    x->used++;
}

/* Room for `more` entries (large_lock held); false when the host refuses
 * the larger table (nothing changed). */
static bool span_reserve(lle_memory_manager_t *m, size_t more)
{
    lle__large_spans_t *x = &m->large_spans;
    if (!x->on || (x->e && (x->used + more) * 4 <= x->cap * 3)) return true;
    size_t cap = 64;
    while ((x->used + more) * 4 > cap * 3) cap *= 2;
    lle__large_spans_t n = {lle__host_alloc(m, cap * sizeof *n.e, 16, true), cap, 0, true};
    if (!n.e) return false;
    memset(n.e, 0, cap * sizeof *n.e);
    for (size_t i = 0; x->e && i < x->cap; i++)
        if (x->e[i].span) span_put(&n, x->e[i].span, x->e[i].block);
    if (x->e) lle__host_free(m, x->e, x->cap * sizeof *x->e, true);
    *x = n;
    return true;
}

/* blk (usable bytes) becomes live: room reserved (span_reserve). */
static void span_add(lle_memory_manager_t *m, const void *blk, size_t usable)
{
    if (!m->large_spans.on) return;
    uintptr_t g = span_first(blk);
    for (size_t k = span_count(blk, usable); k; k--, g++) span_put(&m->large_spans, g, (uintptr_t)blk);
}

/* blk (usable bytes) is no longer live: its entries go, each by moving
 * back the entries probed after it (no tombstones). */
static void span_del(lle_memory_manager_t *m, const void *blk, size_t usable)
{
    lle__large_spans_t *x = &m->large_spans;
    if (!x->on) return;
    size_t mask = x->cap - 1;
    uintptr_t g = span_first(blk);
    for (size_t k = span_count(blk, usable); k; k--, g++) {
        size_t i = span_slot(g, x->cap);
        while (x->e[i].span && (x->e[i].span != g || x->e[i].block != (uintptr_t)blk))
            i = (i + 1) & mask;
        if (!x->e[i].span) continue;   /* not there: nothing to remove */
        for (size_t j = (i + 1) & mask; x->e[j].span; j = (j + 1) & mask) {
            size_t home = span_slot(x->e[j].span, x->cap);
            /* Entry j may fill the hole at i when its home is not in (i, j]. */
            bool between = i < j ? (home > i && home <= j) : (home > i || home <= j);
            if (!between) {
                x->e[i] = x->e[j];
                i = j;
            }
        }
        x->e[i].span = 0;
        x->e[i].block = 0;
        x->used--;
    }
}

/* The first lookup: the index of every live block (large_lock held);
 * false, index still off, when the host refuses its table. */
static bool span_build(lle_memory_manager_t *m)
{
    const lle__large_set_t *set = &m->large;
    size_t need = 0;
    for (size_t i = 0; set->keys && i < set->cap; i++) {
        uintptr_t e = set->keys[i];
        if (e && !(e & (LLE__LARGE_FREED | LLE__LARGE_CACHED)))
            need += span_count((void *)e, hdr_of((void *)e)->size);
    }
    m->large_spans.on = true;
    if (!span_reserve(m, need)) {
        m->large_spans.on = false;
        return false;
    }
    for (size_t i = 0; set->keys && i < set->cap; i++) {
        uintptr_t e = set->keys[i];
        if (e && !(e & (LLE__LARGE_FREED | LLE__LARGE_CACHED)))
            span_add(m, (void *)e, hdr_of((void *)e)->size);
    }
    return true;
}

void *lle__large_find_containing(lle_memory_manager_t *m, const void *p)
{
    uintptr_t a = (uintptr_t)p, g = a >> SPAN_SHIFT;
    void *found = NULL;
    pthread_mutex_lock(&m->large_lock);
    if (!m->large_spans.on) span_build(m);
    const lle__large_spans_t *x = &m->large_spans;
    for (size_t i = x->e ? span_slot(g, x->cap) : 0; x->e && x->e[i].span;
         i = (i + 1) & (x->cap - 1)) {
        uintptr_t b = x->e[i].block;
        if (x->e[i].span == g && a >= b && a - b < hdr_of((void *)b)->size) {
            found = (void *)b;
            break;
        }
    }
    pthread_mutex_unlock(&m->large_lock);
    return found;
}

/* A live block enters or leaves the pool's counts (large_lock held). */
static void account(lle_memory_manager_t *m, int pool, long sign, size_t total, size_t usable)
{
    lle__pool_t *pl = &m->pools[pool];
    if (sign > 0) {
        LLE__CTR_ADD(pl->large_bytes, total);
        LLE__CTR_ADD(pl->large_in_use, usable);
        LLE__CTR_ADD(pl->large_live, 1);
    } else {
        LLE__CTR_SUB(pl->large_bytes, total);
        LLE__CTR_SUB(pl->large_in_use, usable);
        LLE__CTR_SUB(pl->large_live, 1);
    }
}

/* What the pool holds - slabs, large blocks, debug slabs - for its limit
 * and peak (pl->lock held). */
static size_t held_locked(const lle__pool_t *pl)
{
    return atomic_load_explicit(&pl->slab_bytes_atomic, memory_order_relaxed) +
           atomic_load_explicit(&pl->large_bytes, memory_order_relaxed) + pl->debug_bytes;
}

static void update_peak(lle__pool_t *pl)
{
    size_t held = held_locked(pl);
    if (held > pl->peak_reserved) pl->peak_reserved = held;
}

/* Cache class of a block of `usable` bytes at alignment `align`, or -1 when
 * such blocks are not cached. */
static int cache_class(const lle_memory_manager_t *m, size_t usable, size_t align)
{
    if (m->cfg.large_cache == 0 || align > LLE__MIN_ALIGN || usable > LLE__LCACHE_MAX) return -1;
    return (int)lle__class_of(usable);
}

/* A cached block of pool `pool` and class k, made live again; NULL if none. */
static void *cache_take(lle_memory_manager_t *m, int pool, int k, size_t n)
{
    pthread_mutex_lock(&m->large_lock);
    void *blk = m->lcache[pool][k];
    if (blk && !span_reserve(m, span_count(blk, hdr_of(blk)->size))) blk = NULL;
    if (blk) {
        lle__link_open(blk);
        m->lcache[pool][k] = *(void **)blk;
        size_t i = probe(&m->large, (uintptr_t)blk);
        m->large.keys[i] = (uintptr_t)blk;
        const lle__large_hdr_t *h = hdr_of(blk);
        span_add(m, blk, h->size);
        lle__block_out(&m->large, blk, h->size);
        m->lcache_bytes -= h->total;
        lle__pool_t *pl = &m->pools[pool];
        LLE__CTR_SUB(pl->large_cached, h->total);
        LLE__CTR_ADD(pl->large_in_use, h->size);
        LLE__CTR_ADD(pl->large_live, 1);
        LLE__CTR_ADD(pl->large_allocs, 1);
        LLE__CTR_ADD(pl->large_requested, n);
        LLE__CTR_ADD(pl->large_granted, h->size);
    }
    pthread_mutex_unlock(&m->large_lock);
    return blk;
}

void *lle__large_alloc(lle_memory_manager_t *m, int pool, size_t n, size_t align)
{
    lle__pool_t *pl = &m->pools[pool];
    if (n == 0) n = 1;
    size_t usable = (n + 15) & ~(size_t)15;
    int k = cache_class(m, usable, align);
    if (k >= 0) {
        void *blk = cache_take(m, pool, k, n);
        if (blk) return blk;
        usable = lle__class_size((unsigned)k);
    }
    size_t space = align > LLE__LARGE_HDR ? align : LLE__LARGE_HDR;
    size_t total = space + usable;
    if (total < usable) return NULL;

    pthread_mutex_lock(&pl->lock);
    size_t held = held_locked(pl);
    if (!lle__pool_may_grow(m)) {
        pthread_mutex_unlock(&pl->lock);
        return NULL;
    }
    if (held + total > pl->cfg.max_size || held + total < held) {
        pthread_mutex_unlock(&pl->lock);
        /* Blocks the cache keeps for other sizes count against the limit:
         * give them back and look again. */
        if (atomic_load_explicit(&pl->large_cached, memory_order_relaxed) &&
            lle__large_cache_release(m, pool))
            return lle__large_alloc(m, pool, n, align);
        pthread_mutex_lock(&pl->lock);
        pl->limit_hits++;
        pthread_mutex_unlock(&pl->lock);
        return NULL;
    }
    char *base = lle__host_alloc(m, total, align, false);
    if (!base) {
        pthread_mutex_unlock(&pl->lock);
        return NULL;
    }
    char *blk = base + space;
    lle__large_hdr_t *h = hdr_of(blk);
    h->magic = LARGE_MAGIC ^ (uint64_t)(uintptr_t)blk;
    h->size = usable;
    h->total = total;
    h->offset = (uint32_t)space;
    h->pool = (uint16_t)pool;
    h->align_log2 = (uint16_t)__builtin_ctzll((unsigned long long)(align < 16 ? 16 : align));
    pthread_mutex_lock(&m->large_lock);
    bool ok = span_reserve(m, span_count(blk, usable)) && set_insert(m, (uintptr_t)blk);
    if (ok) {
        span_add(m, blk, usable);
        account(m, pool, 1, total, usable);
        LLE__CTR_ADD(pl->large_allocs, 1);
        LLE__CTR_ADD(pl->large_requested, n);
        LLE__CTR_ADD(pl->large_granted, usable);
    }
    pthread_mutex_unlock(&m->large_lock);
    if (!ok) {
        lle__host_free(m, base, total, false);
        pthread_mutex_unlock(&pl->lock);
        return NULL;
    }
    update_peak(pl);
    pthread_mutex_unlock(&pl->lock);
    lle__block_out(&m->large, blk, usable);
    if (atomic_load_explicit(&m->emerg_needs_refill, memory_order_relaxed)) lle__emerg_refill(m);
    return blk;
}

lle__large_hdr_t *lle__large_find(lle_memory_manager_t *m, const void *p, lle_result_t *err)
{
    uintptr_t key = (uintptr_t)p;
    *err = LLE_ERROR_INVALID_POINTER;
    if (key & 15) return NULL;
    lle__large_hdr_t *h = NULL;
    pthread_mutex_lock(&m->large_lock);
    if (m->large.keys) {
        uintptr_t e = m->large.keys[probe(&m->large, key)];
        if (e == key) {
            h = hdr_of(p);
            *err = LLE_SUCCESS;
        } else if (e == (key | LLE__LARGE_FREED) || e == (key | LLE__LARGE_CACHED)) {
            *err = LLE_ERROR_DOUBLE_FREE;
        }
    }
    pthread_mutex_unlock(&m->large_lock);
    return h;
}

lle_result_t lle__large_free(lle_memory_manager_t *m, void *p)
{
    uintptr_t key = (uintptr_t)p;
    if (key & 15) return LLE_ERROR_INVALID_POINTER;
    pthread_mutex_lock(&m->large_lock);
    lle_result_t r = LLE_ERROR_INVALID_POINTER;
    bool cached = false;
    int pool = 0;
    size_t total = 0, usable = 0, offset = 0;
    if (m->large.keys) {
        size_t i = probe(&m->large, key);
        if (m->large.keys[i] == key) {
            /* Read the header now: once cached, the block may be another
             * thread's (and realloc'd) the moment the lock is released. */
            const lle__large_hdr_t *h = hdr_of(p);
            pool = h->pool;
            total = h->total;
            usable = h->size;
            offset = h->offset;
            span_del(m, p, usable);
            int k = h->offset == LLE__LARGE_HDR ? cache_class(m, h->size, LLE__MIN_ALIGN) : -1;
            if (k >= 0 && lle__class_size((unsigned)k) == h->size &&
                m->lcache_bytes + h->total <= m->cfg.large_cache) {
                /* Counted before it is published: whoever takes it next
                 * subtracts what is added here. */
                lle__pool_t *pl = &m->pools[pool];
                LLE__CTR_ADD(pl->large_cached, total);
                LLE__CTR_SUB(pl->large_in_use, usable);
                LLE__CTR_SUB(pl->large_live, 1);
                m->large.keys[i] |= LLE__LARGE_CACHED;
                *(void **)p = m->lcache[h->pool][k];
                lle__block_back(&m->large, p, usable);   /* before another thread can take it */
                m->lcache[h->pool][k] = p;
                m->lcache_bytes += h->total;
                cached = true;
            } else {
                m->large.keys[i] |= LLE__LARGE_FREED;
                m->large.live--;
                m->large.freed++;
                account(m, pool, -1, total, usable);
            }
            LLE__CTR_ADD(m->pools[pool].large_frees, 1);
            r = LLE_SUCCESS;
        } else if (m->large.keys[i] == (key | LLE__LARGE_FREED) ||
                   m->large.keys[i] == (key | LLE__LARGE_CACHED)) {
            r = LLE_ERROR_DOUBLE_FREE;
        }
    }
    pthread_mutex_unlock(&m->large_lock);
    if (r != LLE_SUCCESS || cached) return r;
    lle__vg_free(&m->large, p);
    lle__vg_undefined(p, usable);
    lle__host_free(m, (char *)p - offset, total, false);
    return LLE_SUCCESS;
}

/* Give the cached blocks of `pool` (every pool when pool < 0) back to the
 * host; returns the host bytes released. */
size_t lle__large_cache_release(lle_memory_manager_t *m, int pool)
{
    size_t bytes = 0;
    for (int p = 0; p < LLE__NPOOLS; p++) {
        if (pool >= 0 && p != pool) continue;
        void *list = NULL;
        pthread_mutex_lock(&m->large_lock);
        for (int k = 0; k < LLE__LCACHE_CLASSES; k++) {
            void *blk = m->lcache[p][k];
            m->lcache[p][k] = NULL;
            while (blk) {
                lle__link_open(blk);   /* open until the block goes to the host */
                void *next = *(void **)blk;
                size_t i = probe(&m->large, (uintptr_t)blk);
                m->large.keys[i] = (uintptr_t)blk | LLE__LARGE_FREED;
                m->large.live--;
                m->large.freed++;
                size_t total = hdr_of(blk)->total;
                m->lcache_bytes -= total;
                LLE__CTR_SUB(m->pools[p].large_cached, total);
                LLE__CTR_SUB(m->pools[p].large_bytes, total);
                *(void **)blk = list;
                list = blk;
                blk = next;
            }
        }
        pthread_mutex_unlock(&m->large_lock);
        while (list) {
            void *next = *(void **)list;
            lle__large_hdr_t *h = hdr_of(list);
            size_t total = h->total;
            lle__mem_fresh(list, h->size);
            lle__host_free(m, (char *)list - h->offset, total, false);
            bytes += total;
            list = next;
        }
    }
    return bytes;
}

/* Grow or shrink a 16-aligned large block through the host's realloc.  NULL
 * (block untouched) when the pool limit or the host says no. */
void *lle__large_realloc(lle_memory_manager_t *m, void *p, size_t n)
{
    lle__large_hdr_t *h = hdr_of(p);
    int pool = h->pool;
    lle__pool_t *pl = &m->pools[pool];
    size_t usable = (n + 15) & ~(size_t)15;
    size_t total = LLE__LARGE_HDR + usable;
    size_t old_total = h->total, old_usable = h->size;
    if (h->offset != LLE__LARGE_HDR) return NULL;

    pthread_mutex_lock(&pl->lock);
    size_t held = held_locked(pl);
    if (total > old_total && (!lle__pool_may_grow(m) || held - old_total + total > pl->cfg.max_size)) {
        if (lle__pool_may_grow(m)) pl->limit_hits++;
        pthread_mutex_unlock(&pl->lock);
        return NULL;
    }
    /* Reserve the new key's slot and retire the old address before the host
     * frees it (another thread may get it back at once); undone on failure. */
    pthread_mutex_lock(&m->large_lock);
    bool room = m->large.keys && (m->large.live + m->large.freed + 2) * 4 <= m->large.cap * 3;
    if (!room) room = set_rebuild(m, &m->large);
    /* The index: room for the block wherever the host puts it, with the
     * old one's entries gone. */
    room = room && span_reserve(m, span_count_max(usable > old_usable ? usable : old_usable));
    if (room) {
        span_del(m, p, old_usable);
        size_t i = probe(&m->large, (uintptr_t)p);
        m->large.keys[i] |= LLE__LARGE_FREED;
        m->large.live--;
        m->large.freed++;
    }
    pthread_mutex_unlock(&m->large_lock);
    if (!room) {
        pthread_mutex_unlock(&pl->lock);
        return NULL;
    }
    char *base = (char *)p - LLE__LARGE_HDR;
    char *nb = lle__host_realloc(m, base, old_total, total);
    char *blk = nb ? nb + LLE__LARGE_HDR : (char *)p;
    if (nb) {
        h = hdr_of(blk);
        h->magic = LARGE_MAGIC ^ (uint64_t)(uintptr_t)blk;
        h->size = usable;
        h->total = total;
        lle__vg_move(&m->large, p, blk, usable);
    }
    pthread_mutex_lock(&m->large_lock);
    set_insert(m, (uintptr_t)blk);         /* cannot fail: room was reserved */
    span_add(m, blk, nb ? usable : old_usable);
    if (nb) {
        account(m, pool, -1, old_total, old_usable);
        account(m, pool, 1, total, usable);
    }
    pthread_mutex_unlock(&m->large_lock);
    if (!nb) {
        pthread_mutex_unlock(&pl->lock);
        return NULL;
    }
    update_peak(pl);
    pthread_mutex_unlock(&pl->lock);
    return blk;
}

void lle__large_release_all(lle_memory_manager_t *m, size_t *blocks, size_t *bytes)
{
    lle__large_set_t *set = &m->large;
    lle__large_cache_release(m, -1);
    for (size_t i = 0; set->keys && i < set->cap; i++) {
        uintptr_t e = set->keys[i];
        if (!e || (e & (LLE__LARGE_FREED | LLE__LARGE_CACHED))) continue;
        lle__large_hdr_t *h = hdr_of((void *)e);
        *blocks += 1;
        *bytes += h->size;
        account(m, h->pool, -1, h->total, h->size);
        lle__vg_free(&m->large, (void *)e);
        lle__vg_undefined((void *)e, h->size);
        lle__host_free(m, (char *)e - h->offset, h->total, false);
    }
    if (set->keys) lle__host_free(m, set->keys, set->cap * sizeof *set->keys, true);
    memset(set, 0, sizeof *set);
    lle__large_spans_t *x = &m->large_spans;
    if (x->e) lle__host_free(m, x->e, x->cap * sizeof *x->e, true);
    memset(x, 0, sizeof *x);
    lle__vg_pool_drop(&m->large);
}
