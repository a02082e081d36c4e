/*
 * pool.c - typed pools: the slabs no heap holds, growth and shrinking, the
 * resize history, trimming and the final release.
 *
 * A pool's size is the bytes of slabs it holds from the host (assigned to a
 * heap bin or empty).  Slabs come in six sizes (16 KiB to the pool's block
 * size); each class uses the smallest that holds 8 of its blocks.  The pool
 * grows when a bin needs a slab and the pool has no empty one that large:
 * by one slab, or - when its utilisation (bytes of live blocks in slabs /
 * slab bytes) is at or above grow_threshold - by growth_factor applied to
 * its slabs of that size, never past max_size.  It shrinks when a slab comes
 * back empty and utilisation is below shrink_threshold: empty slabs go back
 * to the host (the largest first) down to initial_size.  Large blocks count
 * against max_size but not in these ratios: they are always full.
 * Every change is recorded in the pool's history ring and told to the
 * resize listeners (after the pool lock is released).
 */
#include <string.h>

#include "pool/pool_internal.h"
#include "sanitizer.h"

/* src/debug's bitmap for a DEBUG slab of slab_bytes: 2 words per 64
 * granules of 16 bytes (its slots are larger), in bytes. */
static size_t debug_bitmap_bytes(size_t slab_bytes)
{
    size_t blocks = slab_bytes / LLE__MIN_ALIGN;
    return 2 * ((blocks + 63) / 64) * sizeof(uint64_t);
}

static size_t slab_header_bytes(size_t tail)
{
    return sizeof(lle__slab_t) + tail;
}

/* A SMALL slab has a state byte for every STATE_UNIT bytes at least. */
#define STATE_UNIT ((size_t)64)

/* State bytes for `blocks` blocks and the byte past them (a pointer into
 * the slab's tail), to a whole line: the tail of a SMALL slab made to hold
 * that many. */
static size_t state_tail(size_t blocks)
{
    return (blocks + 1 + 63) & ~(size_t)63;
}

/* A slab header (hb bytes, `tail` of them after the struct) for `bytes` at
 * mem, registered in the page map; NULL (nothing kept) when that fails. */
static lle__slab_t *slab_header(lle_memory_manager_t *m, int pool, char *mem, size_t bytes,
                                int kind, size_t tail)
{
    size_t hb = slab_header_bytes(tail);
    lle__slab_t *s = lle__host_alloc(m, hb, 64, true);
    if (!s) return NULL;
    memset(s, 0, hb);   /* SMALL: every block FREE */
    s->start = mem;
    s->bytes = bytes;
    s->tail = tail;
    s->pool = (uint8_t)pool;
    s->kind = (uint8_t)kind;
    atomic_init(&s->owner, NULL);
    atomic_init(&s->thread_free, NULL);
    atomic_init(&s->remote_next, NULL);
    if (!lle__map_set(m, mem, bytes, s)) {
        lle__host_free(m, s, hb, true);
        return NULL;
    }
    return s;
}

/* A new slab for pool `pool` with `tail` bytes after its header,
 * registered in the page map. */
static lle__slab_t *slab_new(lle_memory_manager_t *m, int pool, size_t bytes, int kind,
                             size_t tail)
{
    char *mem = lle__host_alloc(m, bytes, LLE__GRANULE, false);
    if (!mem) return NULL;
    lle__slab_t *s = slab_header(m, pool, mem, bytes, kind, tail);
    if (!s) {
        lle__host_free(m, mem, bytes, false);
        return NULL;
    }
    /* One valgrind pool a slab, keyed by its header: the pool lives and
     * dies with the slab, so when the slab goes back to the host valgrind
     * forgets every block of it at once (those a caller never freed
     * included), and the handle is at hand on every path that has the
     * block's slab.  Until a block is handed out, no byte of the slab is
     * the caller's.  Only the kinds whose blocks src/pool lays out and
     * annotates: a slab of another kind keeps its memory as the host gave
     * it, for its own code to annotate. */
    if (kind == LLE__SLAB_SMALL || kind == LLE__SLAB_EMERGENCY) {
        lle__vg_pool_new(s);
        lle__mem_noaccess(mem, bytes);
    }
    return s;
}

lle__slab_t *lle__slab_wrap(lle_memory_manager_t *m, int pool, void *mem, size_t bytes, int kind)
{
    return slab_header(m, pool, mem, bytes, kind, 0);
}

void lle__slab_unwrap(lle_memory_manager_t *m, lle__slab_t *s, void *mem)
{
    lle__map_set(m, mem, s->bytes, NULL);
    lle__host_free(m, s, slab_header_bytes(0), true);
}

void lle__slab_destroy(lle_memory_manager_t *m, lle__slab_t *s)
{
    lle__vg_pool_drop(s);                 /* if it has one */
    lle__mem_fresh(s->start, s->bytes);   /* as the host handed it out */
    lle__map_set(m, s->start, s->bytes, NULL);
    lle__host_free(m, s->start, s->bytes, false);
    lle__host_free(m, s, slab_header_bytes(s->tail), true);
}

lle__slab_t *lle__slab_new(lle_memory_manager_t *m, int pool, size_t bytes, int kind)
{
    /* A debug slab larger than any slab holds one block: two words. */
    size_t tail = kind != LLE__SLAB_DEBUG  ? 0
                  : bytes > LLE__MAX_SLAB ? 2 * sizeof(uint64_t)
                                          : debug_bitmap_bytes(bytes);
    return slab_new(m, pool, bytes, kind, tail);
}

bool lle__pool_may_grow(const lle_memory_manager_t *m)
{
    int st = atomic_load_explicit(&m->state, memory_order_acquire);
    return st != LLE_MEMORY_STATE_LOW_MEMORY && st != LLE_MEMORY_STATE_ERROR &&
           st != LLE_MEMORY_STATE_SHUTDOWN;
}

static size_t pool_slab_bytes(const lle__pool_t *pl)
{
    return pl->slab_bytes;
}

static void empty_push(lle__pool_t *pl, lle__slab_t *s)
{
    unsigned t = lle__tier_of(s->bytes);
    s->next = pl->empty[t];
    pl->empty[t] = s;
    pl->empty_count++;
    pl->empty_bytes += s->bytes;
}

/* The smallest empty slab of at least tier t with a state byte for each
 * of its blocks of bsize bytes, or NULL. */
static lle__slab_t *empty_pop(lle__pool_t *pl, unsigned t, size_t bsize)
{
    for (; t < LLE__NTIERS; t++)
        for (lle__slab_t **at = &pl->empty[t]; *at; at = &(*at)->next) {
            lle__slab_t *s = *at;
            if (s->tail < state_tail(s->bytes / bsize)) continue;
            *at = s->next;
            s->next = NULL;
            pl->empty_count--;
            pl->empty_bytes -= s->bytes;
            return s;
        }
    return NULL;
}

/* A new slab counted in the pool (lock held), with a state byte for each
 * of its blocks of bsize bytes. */
static lle__slab_t *pool_new_slab(lle_memory_manager_t *m, int pool, size_t bytes, size_t bsize)
{
    lle__pool_t *pl = &m->pools[pool];
    /* At least a state byte per 64 bytes (1/64 of the slab), so that a
     * slab made for any class can serve every class of 64 bytes and more
     * once it is empty. */
    size_t unit = bsize < STATE_UNIT ? bsize : STATE_UNIT;
    lle__slab_t *s = slab_new(m, pool, bytes, LLE__SLAB_SMALL, state_tail(bytes / unit));
    if (s) {
        pl->slab_count++;
        pl->slab_bytes += bytes;
        pl->tier_bytes[lle__tier_of(bytes)] += bytes;
    }
    return s;
}

static size_t pool_held(const lle__pool_t *pl)
{
    return pool_slab_bytes(pl) + atomic_load_explicit(&pl->large_bytes, memory_order_relaxed) +
           pl->debug_bytes;
}

bool lle__pool_debug_reserve(lle_memory_manager_t *m, int pool, size_t bytes)
{
    lle__pool_t *pl = &m->pools[pool];
    pthread_mutex_lock(&pl->lock);
    size_t held = pool_held(pl);
    bool ok = lle__pool_may_grow(m) && held + bytes <= pl->cfg.max_size && held + bytes >= held;
    if (ok) {
        pl->debug_bytes += bytes;
        if (held + bytes > pl->peak_reserved) pl->peak_reserved = held + bytes;
    } else {
        pl->limit_hits++;
    }
    pthread_mutex_unlock(&pl->lock);
    return ok;
}

void lle__pool_debug_release(lle_memory_manager_t *m, int pool, size_t bytes)
{
    lle__pool_t *pl = &m->pools[pool];
    pthread_mutex_lock(&pl->lock);
    pl->debug_bytes -= bytes;
    pthread_mutex_unlock(&pl->lock);
}

static void publish_slab_bytes(lle__pool_t *pl)
{
    size_t held = pool_held(pl);
    atomic_store_explicit(&pl->slab_bytes_atomic, pool_slab_bytes(pl), memory_order_relaxed);
    if (held > pl->peak_reserved) pl->peak_reserved = held;
}

void lle__pool_sums(lle_memory_manager_t *m, lle__pool_sums_t sums[LLE__NPOOLS])
{
    memset(sums, 0, sizeof(lle__pool_sums_t) * LLE__NPOOLS);
    pthread_mutex_lock(&m->heaps_lock);
    for (lle__heap_t *h = m->heaps; h; h = h->next_all)
        for (int p = 0; p < LLE__NPOOLS; p++) {
            lle__pool_sums_t *s = &sums[p];
            for (unsigned c = 0; c < m->pools[p].nclasses; c++) {
                s->requested += lle__bin_requested(&h->bins[p][c]);
                uint64_t a = lle__bin_allocs(&h->bins[p][c]);
                uint64_t f = atomic_load_explicit(&h->bins[p][c].frees, memory_order_relaxed);
                s->allocs += a;
                s->frees += f;
                s->granted += a * lle__class_size(c);
                s->freed_bytes += f * lle__class_size(c);
            }
        }
    pthread_mutex_unlock(&m->heaps_lock);
    for (int p = 0; p < LLE__NPOOLS; p++) {
        lle__pool_t *pl = &m->pools[p];
        sums[p].frees += atomic_load_explicit(&pl->remote_frees, memory_order_relaxed);
        sums[p].freed_bytes += atomic_load_explicit(&pl->remote_freed_bytes, memory_order_relaxed);
    }
}

size_t lle__pool_slab_live(lle_memory_manager_t *m, int pool)
{
    lle__pool_t *pl = &m->pools[pool];
    uint64_t granted = 0, freed = 0;
    pthread_mutex_lock(&m->heaps_lock);
    for (lle__heap_t *h = m->heaps; h; h = h->next_all)
        for (unsigned c = 0; c < pl->nclasses; c++) {
            size_t cs = lle__class_size(c);
            granted += lle__bin_allocs(&h->bins[pool][c]) * cs;
            freed += atomic_load_explicit(&h->bins[pool][c].frees, memory_order_relaxed) * cs;
        }
    pthread_mutex_unlock(&m->heaps_lock);
    freed += atomic_load_explicit(&pl->remote_freed_bytes, memory_order_relaxed);
    return granted > freed ? (size_t)(granted - freed) : 0;
}

/* Append an event to the pool's ring (lock held). */
static void record(lle_memory_manager_t *m, int pool, size_t old_size, size_t new_size,
                   lle_resize_reason_t why, lle_resize_event_t *out)
{
    lle__pool_t *pl = &m->pools[pool];
    lle_resize_event_t ev = {pool, old_size, new_size, why, lle__now_ns()};
    if (pl->history_cap) {
        pl->history[pl->history_next] = ev;
        pl->history_next = (pl->history_next + 1) % pl->history_cap;
        if (pl->history_len < pl->history_cap) pl->history_len++;
    }
    if (new_size > old_size) pl->grow_count++;
    else pl->shrink_count++;
    *out = ev;
}

void lle__notify_resize(lle_memory_manager_t *m, const lle_resize_event_t *ev, size_t n)
{
    lle_resize_fn fns[LLE__MAX_LISTENERS];
    void *users[LLE__MAX_LISTENERS];
    size_t k = 0;
    pthread_mutex_lock(&m->listen_lock);
    for (size_t i = 0; i < LLE__MAX_LISTENERS; i++)
        if (m->listen_fn[i]) {
            fns[k] = m->listen_fn[i];
            users[k++] = m->listen_user[i];
        }
    pthread_mutex_unlock(&m->listen_lock);
    for (size_t e = 0; e < n; e++)
        for (size_t i = 0; i < k; i++) fns[i](users[i], &ev[e]);
}

lle__slab_t *lle__pool_take_slab(lle_memory_manager_t *m, int pool, size_t bytes, size_t bsize)
{
    lle__pool_t *pl = &m->pools[pool];
    lle_resize_event_t ev;
    lle__slab_t *got = NULL;
    bool grew = false;

    pthread_mutex_lock(&pl->lock);
    got = empty_pop(pl, lle__tier_of(bytes), bsize);
    if (got) {
        pthread_mutex_unlock(&pl->lock);
        return got;
    }
    if (!lle__pool_may_grow(m)) {
        pthread_mutex_unlock(&pl->lock);
        return NULL;
    }
    size_t held = pool_held(pl);
    if (held + bytes > pl->cfg.max_size || held + bytes < held) {
        pl->limit_hits++;
        pthread_mutex_unlock(&pl->lock);
        return NULL;
    }
    /* Above the grow threshold the slabs of this size grow by the growth
     * factor at once (fewer trips to the host later); below it, one slab. */
    size_t want = 1;
    lle_resize_reason_t why = LLE_RESIZE_GROW_DEMAND;
    size_t tier_held = pl->tier_bytes[lle__tier_of(bytes)];
    if (pl->slab_bytes > 0 && tier_held > 0) {
        size_t live = lle__pool_slab_live(m, pool);
        if ((double)live >= pl->cfg.grow_threshold * (double)pl->slab_bytes) {
            double target = (double)tier_held * pl->cfg.growth_factor;
            double room = (double)(pl->cfg.max_size - held);
            if (target - (double)tier_held > room) target = (double)tier_held + room;
            size_t extra = (size_t)((target - (double)tier_held) / (double)bytes);
            if (extra > 1) want = extra;
            why = LLE_RESIZE_GROW_FACTOR;
        }
    }
    size_t before = pool_slab_bytes(pl);
    for (size_t i = 0; i < want; i++) {
        lle__slab_t *s = pool_new_slab(m, pool, bytes, bsize);
        if (!s) break;
        if (!got) got = s;
        else empty_push(pl, s);
    }
    if (got) {
        publish_slab_bytes(pl);
        record(m, pool, before, pool_slab_bytes(pl), why, &ev);
        grew = true;
    }
    pthread_mutex_unlock(&pl->lock);
    if (grew) {
        lle__notify_resize(m, &ev, 1);
        if (atomic_load_explicit(&m->emerg_needs_refill, memory_order_relaxed))
            lle__emerg_refill(m);
    }
    return got;
}

/* Release empty slabs (lock held) until the pool is down to `floor` bytes of
 * slabs or has no empty slab left.  Returns the bytes released. */
static size_t release_empty(lle_memory_manager_t *m, lle__pool_t *pl, size_t floor)
{
    size_t released = 0;
    for (int t = LLE__NTIERS - 1; t >= 0; t--)   /* the largest first */
        while (pl->empty[t] && pool_slab_bytes(pl) > floor) {
            lle__slab_t *s = pl->empty[t];
            pl->empty[t] = s->next;
            pl->empty_count--;
            pl->empty_bytes -= s->bytes;
            pl->slab_count--;
            pl->slab_bytes -= s->bytes;
            pl->tier_bytes[t] -= s->bytes;
            released += s->bytes;
            lle__slab_destroy(m, s);
        }
    if (released) publish_slab_bytes(pl);
    return released;
}

void lle__pool_put_slab(lle_memory_manager_t *m, lle__slab_t *s)
{
    int pool = s->pool;
    lle__pool_t *pl = &m->pools[pool];
    lle_resize_event_t ev;
    bool shrank = false;

    atomic_store_explicit(&s->owner, NULL, memory_order_release);
    s->free = NULL;
    s->carve = s->carve_end = s->start;
    /* Its next class carves links elsewhere: all of it poisoned again. */
    lle__mem_noaccess(s->start, s->bytes);
    s->next = s->prev = NULL;
    pthread_mutex_lock(&pl->lock);
    empty_push(pl, s);
    size_t held = pool_slab_bytes(pl);
    size_t live = lle__pool_slab_live(m, pool);
    if (held > pl->cfg.initial_size && (double)live < pl->cfg.shrink_threshold * (double)held) {
        size_t before = pool_slab_bytes(pl);
        if (release_empty(m, pl, pl->cfg.initial_size)) {
            record(m, pool, before, pool_slab_bytes(pl), LLE_RESIZE_SHRINK, &ev);
            shrank = true;
        }
    }
    pthread_mutex_unlock(&pl->lock);
    if (shrank) lle__notify_resize(m, &ev, 1);
}

/* Release the empty slabs of the calling thread's heap and of parked heaps,
 * then each pool's empty slabs (down to initial_size when to_initial_only). */
size_t lle__pools_trim(lle_memory_manager_t *m, bool to_initial_only, int only)
{
    if (lle__tls.id == m->id && lle__tls.h) lle__heap_release_empty(lle__tls.h);
    /* Parked heaps: claim each one (so no thread adopts it meanwhile). */
    for (;;) {
        pthread_mutex_lock(&m->heaps_lock);
        lle__heap_t *h = m->parked;
        lle__heap_t *prev = NULL;
        while (h && atomic_load_explicit(&h->parked, memory_order_relaxed) == 2) {
            prev = h;
            h = h->next_parked;
        }
        if (h) {
            if (prev) prev->next_parked = h->next_parked;
            else m->parked = h->next_parked;
            atomic_store_explicit(&h->parked, 2, memory_order_relaxed);
        }
        pthread_mutex_unlock(&m->heaps_lock);
        if (!h) break;
        lle__heap_release_empty(h);
        pthread_mutex_lock(&m->heaps_lock);
        h->next_parked = m->parked;
        m->parked = h;
        pthread_mutex_unlock(&m->heaps_lock);
    }
    /* Put the trimmed parked heaps back in their plain parked state. */
    pthread_mutex_lock(&m->heaps_lock);
    for (lle__heap_t *h = m->parked; h; h = h->next_parked)
        atomic_store_explicit(&h->parked, 1, memory_order_relaxed);
    pthread_mutex_unlock(&m->heaps_lock);

    size_t total = lle__large_cache_release(m, only);
    for (int p = 0; p < LLE__NPOOLS; p++) {
        if (only >= 0 && p != only) continue;
        lle__pool_t *pl = &m->pools[p];
        lle_resize_event_t ev;
        size_t got;
        pthread_mutex_lock(&pl->lock);
        size_t before = pool_slab_bytes(pl);
        got = release_empty(m, pl, to_initial_only ? pl->cfg.initial_size : 0);
        if (got) record(m, p, before, pool_slab_bytes(pl), LLE_RESIZE_TRIM, &ev);
        pthread_mutex_unlock(&pl->lock);
        if (got) lle__notify_resize(m, &ev, 1);
        total += got;
    }
    return total;
}

static void build_class_tables(lle_memory_manager_t *m, int p)
{
    lle__pool_t *pl = &m->pools[p];
    size_t align = pl->cfg.alignment;
    unsigned nc = 0;
    while (nc < LLE__NCLASSES && lle__class_size(nc) <= pl->max_slab / 8) nc++;
    pl->nclasses = nc;
    for (unsigned c = 0; c < LLE__NCLASSES; c++) {
        size_t want = 8 * lle__class_size(c), slab = LLE__MIN_SLAB;
        while (slab < want && slab < pl->max_slab) slab *= 2;
        pl->tier[c] = (uint8_t)lle__tier_of(slab);
    }
    for (unsigned c = 0; c < LLE__NCLASSES; c++) {
        unsigned r = c;
        while (r < LLE__NCLASSES && (lle__class_size(r) & (align - 1))) r++;
        pl->remap[c] = (uint8_t)(r < LLE__NCLASSES ? r : LLE__NCLASSES - 1);
    }
    /* The largest request served from slabs: the largest class below nc that
     * honours the alignment. */
    pl->small_max = 0;
    for (unsigned c = 0; c < nc; c++)
        if ((lle__class_size(c) & (align - 1)) == 0) pl->small_max = lle__class_size(c);
    lle__pool_route(m, p, false);
}

void lle__pool_route(lle_memory_manager_t *m, int p, bool debug)
{
    const lle__pool_t *pl = &m->pools[p];
    for (unsigned i = 0; i < LLE__SMALL_ROW; i++) {
        size_t n = i == 0 ? 1 : (size_t)i * 16;
        unsigned c = i < LLE__SMALL_TABLE ? pl->remap[lle__class_of(n)] : LLE__NCLASSES;
        uint16_t off = !debug && n <= pl->small_max && c < pl->nclasses ? LLE__BIN_OFF(p, c)
                                                                        : LLE__NONE_OFF;
        atomic_store_explicit(&m->bin_off[p][i], off, memory_order_relaxed);
    }
}

lle_result_t lle__pools_init(lle_memory_manager_t *m)
{
    lle__vg_pool_new(&m->large);   /* valgrind's pool of large blocks (large.c) */
    for (int p = 0; p < LLE__NPOOLS; p++) {
        lle__pool_t *pl = &m->pools[p];
        pl->cfg = m->cfg.pools[p];
        pl->max_slab = pl->cfg.block_size;
        build_class_tables(m, p);
        pthread_mutex_init(&pl->lock, NULL);
        pl->history_cap = m->cfg.resize_history;
        if (pl->history_cap) {
            pl->history = lle__host_alloc(m, pl->history_cap * sizeof(lle_resize_event_t), 16,
                                          true);
            if (!pl->history) return LLE_ERROR_OUT_OF_MEMORY;
        }
    }
    for (int p = 0; p < LLE__NPOOLS; p++) {
        lle__pool_t *pl = &m->pools[p];
        if (!pl->cfg.initial_size) continue;
        lle_resize_event_t ev;
        pthread_mutex_lock(&pl->lock);
        /* The largest slabs that fit, the rest rounded up to 16 KiB. */
        while (pl->slab_bytes < pl->cfg.initial_size) {
            size_t left = pl->cfg.initial_size - pl->slab_bytes, bytes = pl->max_slab;
            while (bytes > left && bytes > LLE__MIN_SLAB) bytes /= 2;
            lle__slab_t *s = pool_new_slab(m, p, bytes, LLE__MIN_ALIGN);
            if (!s) {
                pthread_mutex_unlock(&pl->lock);
                return LLE_ERROR_OUT_OF_MEMORY;
            }
            empty_push(pl, s);
        }
        publish_slab_bytes(pl);
        record(m, p, 0, pool_slab_bytes(pl), LLE_RESIZE_INITIAL, &ev);
        pthread_mutex_unlock(&pl->lock);
    }
    return LLE_SUCCESS;
}

/* Live blocks of a slab: LIVE, not pending a remote free. */
static size_t slab_live(lle__slab_t *s)
{
    size_t n = 0;
    for (uint32_t i = 0; i < s->capacity; i++) n += lle__slab_state_get(s, i) == LLE__ST_LIVE;
    return n;
}

static void release_list(lle_memory_manager_t *m, lle__slab_t *s, size_t *blocks, size_t *bytes)
{
    while (s) {
        lle__slab_t *next = s->next;
        size_t live = slab_live(s);
        *blocks += live;
        *bytes += live * s->bsize;
        m->pools[s->pool].slab_count--;
        m->pools[s->pool].slab_bytes -= s->bytes;
        m->pools[s->pool].tier_bytes[lle__tier_of(s->bytes)] -= s->bytes;
        lle__slab_destroy(m, s);
        s = next;
    }
}

/* Shutdown: free every slab, large block, heap and the reserve; count what
 * was still live.  No other thread may use m. */
void lle__pools_release_all(lle_memory_manager_t *m, size_t *leaked_blocks, size_t *leaked_bytes)
{
    size_t blocks = 0, bytes = 0;
    lle__heap_t *h = m->heaps;
    while (h) {
        lle__heap_t *next = h->next_all;
        for (int p = 0; p < LLE__NPOOLS; p++)
            for (int c = 0; c < LLE__NCLASSES; c++) {
                release_list(m, h->bins[p][c].avail, &blocks, &bytes);
                release_list(m, h->bins[p][c].full, &blocks, &bytes);
            }
        lle__host_free(m, h, sizeof *h, true);
        h = next;
    }
    m->heaps = m->parked = NULL;
    for (int p = 0; p < LLE__NPOOLS; p++) {
        lle__pool_t *pl = &m->pools[p];
        lle_resize_event_t ev;
        size_t before = pool_slab_bytes(pl);
        for (int t = 0; t < LLE__NTIERS; t++) {
            release_list(m, pl->empty[t], &blocks, &bytes);
            pl->empty[t] = NULL;
        }
        pl->empty_count = pl->empty_bytes = 0;
        publish_slab_bytes(pl);
        if (before) record(m, p, before, 0, LLE_RESIZE_RELEASE, &ev);
    }
    lle__large_release_all(m, &blocks, &bytes);
    lle__emerg_release_all(m, &blocks, &bytes);
    if (leaked_blocks) *leaked_blocks = blocks;
    if (leaked_bytes) *leaked_bytes = bytes;
}
