/*
 * alloc.c - the allocation and free paths.
 *
 * Fast paths (inline, no lock, no atomic read-modify-write):
 *   alloc: pop the free list of the current slab of the calling thread's
 *          (pool, class) bin and mark the block LIVE.
 *   free:  page map -> slab; the calling thread owns it: check that the
 *          block is LIVE, mark it FREE, push on the slab's free list.
 * Everything else - first use by a thread, an empty bin, a slab that became
 * empty or full, a free from another thread, large blocks, the hierarchy
 * fallback, errors - is out of line in *_slow / *_generic functions.
 */
#include <errno.h>
#include <string.h>

#include "pool/pool_internal.h"
#include "sanitizer.h"

_Thread_local lle__tls_t lle__tls __attribute__((tls_model("initial-exec")));

const lle__slab_t lle__no_slab;
/* The leaf a root entry never written reads as (pagemap.c). */
const lle__map_leaf_t lle__empty_leaf = {
    {[0 ...(1u << LLE__MAP_BITS_LEAF) - 1] = LLE__NO_SLAB}, NULL};

/* ---- heaps -------------------------------------------------------------- */

static void heap_arm(lle__heap_t *h, int pool, unsigned every);

static void heap_park(void *arg)
{
    lle__heap_t *h = arg;
    lle_memory_manager_t *m = h->m;
    pthread_mutex_lock(&m->heaps_lock);
    atomic_store_explicit(&h->parked, 1, memory_order_relaxed);
    h->next_parked = m->parked;
    m->parked = h;
    pthread_mutex_unlock(&m->heaps_lock);
}

LLE__NOINLINE lle__heap_t *lle__heap_get_slow(lle_memory_manager_t *m)
{
    lle__heap_t *h = m->key_ok ? pthread_getspecific(m->key) : NULL;
    if (!h) {
        pthread_mutex_lock(&m->heaps_lock);
        h = m->parked;
        if (h) {                        /* adopt a heap whose thread exited */
            m->parked = h->next_parked;
            h->next_parked = NULL;
            atomic_store_explicit(&h->parked, 0, memory_order_relaxed);
        }
        pthread_mutex_unlock(&m->heaps_lock);
        if (!h) {
            h = lle__host_alloc(m, sizeof *h, 64, true);
            if (!h) return NULL;
            memset(h, 0, sizeof *h);
            h->m = m;
            for (int p = 0; p < LLE__NPOOLS; p++)
                for (int c = 0; c < LLE__NCLASSES; c++) h->bins[p][c].cur = LLE__NO_SLAB;
            h->none.cur = LLE__NO_SLAB;
            h->rng = ((uintptr_t)h >> 6) ^ (uint64_t)lle__now_ns();
            for (int p = 0; p < LLE__NPOOLS; p++)
                heap_arm(h, p, atomic_load_explicit(&m->guard_every[p], memory_order_relaxed));
            atomic_init(&h->remote_slabs, NULL);
            pthread_mutex_lock(&m->heaps_lock);
            h->next_all = m->heaps;
            m->heaps = h;
            m->heap_count++;
            pthread_mutex_unlock(&m->heaps_lock);
        }
        if (m->key_ok && pthread_setspecific(m->key, h) != 0) {
            heap_park(h);
            return NULL;
        }
    }
    lle__tls.id = m->id;
    lle__tls.h = h;
    lle__tls.root = m->map_root;
    return h;
}

/* Key destructor, installed by the manager. */
LLE__HIDDEN void lle__heap_thread_exit(void *arg);
void lle__heap_thread_exit(void *arg)
{
    heap_park(arg);
}

/* ---- bins --------------------------------------------------------------- */

/* The current slab of a bin carries one extra count in `used`, so that
 * used == 0 alone means "empty and not current": the free fast path needs
 * no look at the bin.  Callers never leave a non-empty slab at 0. */
static void bin_set_cur(lle__bin_t *b, lle__slab_t *s)
{
    if (b->cur != LLE__NO_SLAB) b->cur->used--;
    b->cur = s ? s : LLE__NO_SLAB;
    if (s) s->used++;
}

/* Move s between the bin's avail and full lists to match its free state. */
static void bin_refile(lle__bin_t *b, lle__slab_t *s)
{
    bool has = s->free || s->carve < s->carve_end;
    if (lle__slab_in_full(s) && has) {
        lle__slab_list_unlink(&b->full, s);
        s->used &= ~LLE__IN_FULL;
        lle__slab_list_push(&b->avail, s);
    } else if (!lle__slab_in_full(s) && !has) {
        if (b->cur == s) bin_set_cur(b, NULL);
        lle__slab_list_unlink(&b->avail, s);
        s->used |= LLE__IN_FULL;
        lle__slab_list_push(&b->full, s);
    }
}

/* Detach an empty slab from its bin and give it back to its pool. */
static void bin_release(lle__heap_t *h, lle__slab_t *s)
{
    lle__bin_t *b = &h->bins[s->pool][s->cls];
    if (b->cur == s) bin_set_cur(b, NULL);
    if (lle__slab_in_full(s)) lle__slab_list_unlink(&b->full, s);
    else lle__slab_list_unlink(&b->avail, s);
    s->used &= ~LLE__IN_FULL;
    b->nslabs--;
    lle__pool_put_slab(h->m, s);
}

/* Take the blocks other threads freed in s into its local free list. */
static void slab_collect(lle__slab_t *s)
{
    void *blk = atomic_exchange_explicit(&s->thread_free, NULL, memory_order_acquire);
    while (blk) {
        lle__link_open(blk);
        void *next = *(void **)blk;
        /* REMOTE -> FREE: a second free of it from now on is refused. */
        lle__slab_state_set(s, lle__slab_index(s, blk), LLE__ST_FREE);
        *(void **)blk = s->free;
        lle__link_close(blk);
        s->free = blk;
        s->used--;
        blk = next;
    }
}

void lle__heap_collect_remote(lle__heap_t *h)
{
    if (!atomic_load_explicit(&h->remote_slabs, memory_order_relaxed)) return;
    lle__slab_t *s = atomic_exchange_explicit(&h->remote_slabs, NULL, memory_order_acquire);
    while (s) {
        lle__slab_t *next = atomic_load_explicit(&s->remote_next, memory_order_relaxed);
        slab_collect(s);
        if (lle__slab_live(s) == 0) bin_release(h, s);
        else bin_refile(&h->bins[s->pool][s->cls], s);
        s = next;
    }
}

/* Release every empty slab of the heap, the bins' current ones included. */
void lle__heap_release_empty(lle__heap_t *h)
{
    lle__heap_collect_remote(h);
    for (int p = 0; p < LLE__NPOOLS; p++)
        for (int c = 0; c < LLE__NCLASSES; c++) {
            lle__bin_t *b = &h->bins[p][c];
            lle__slab_t *s = b->avail;
            while (s) {
                lle__slab_t *next = s->next;
                if (s->used == (b->cur == s ? 1u : 0u)) bin_release(h, s);
                s = next;
            }
        }
}

/* Extend s's free list with never-used blocks: about a page at a time, so a
 * new slab is touched only as it is used. */
static void slab_carve(lle__slab_t *s)
{
    size_t left = (size_t)(s->carve_end - s->carve) / s->bsize;
    size_t n = LLE__PAGE / s->bsize;
    if (n < 4) n = 4;
    if (n > left) n = left;
    char *p = s->carve + (n - 1) * s->bsize;
    void *head = s->free;
    for (size_t i = 0; i < n; i++, p -= s->bsize) {
        lle__link_new(p);
        *(void **)(void *)p = head;  /* blocks are 16-aligned */
        lle__link_close(p);
        head = p;
    }
    s->free = head;
    s->carve += n * s->bsize;
}

static void slab_assign(lle__slab_t *s, lle__heap_t *h, unsigned cls)
{
    s->bsize = (uint32_t)lle__class_size(cls);
    s->magic = lle__slab_magic(s->bsize);
    s->capacity = (uint32_t)(s->bytes / s->bsize);
    s->cls = (uint8_t)cls;
    s->free = NULL;
    s->carve = s->start;
    s->carve_end = s->start + (size_t)s->capacity * s->bsize;
    s->used = 0;
    s->bin = &h->bins[s->pool][cls];
    atomic_store_explicit(&s->owner, h, memory_order_release);
}

/* Fold b's pending count and bytes into its totals, less `minus`
 * allocations of `minus_bytes` (a sampled one served elsewhere), and start
 * its count at `bias` (0: not armed).  Owner only; readers see either side
 * of it (lle__bin_counts). */
static void bin_settle(lle__bin_t *b, uint32_t bias, uint64_t minus, uint64_t minus_bytes)
{
    /* Odd sequence first (an exchange: nothing below moves above it), the
     * counters with release stores (a reader that sees one sees the odd
     * sequence after it), even sequence last. */
    uint32_t c = atomic_load_explicit(&b->ctl, memory_order_relaxed);
    uint32_t seq = (c >> 24) + 1;
    atomic_exchange_explicit(&b->ctl, (seq << 24) | (c & LLE__CTL_BIAS), memory_order_acq_rel);
    uint64_t v = atomic_load_explicit(&b->acct, memory_order_relaxed);
    atomic_store_explicit(&b->allocs,
                          atomic_load_explicit(&b->allocs, memory_order_relaxed) +
                              (v >> LLE__ACCT_SHIFT) - (c & LLE__CTL_BIAS) - minus,
                          memory_order_release);
    atomic_store_explicit(&b->requested,
                          atomic_load_explicit(&b->requested, memory_order_relaxed) +
                              (v & LLE__ACCT_BYTES) - minus_bytes,
                          memory_order_release);
    atomic_store_explicit(&b->acct, (uint64_t)bias << LLE__ACCT_SHIFT, memory_order_release);
    atomic_store_explicit(&b->ctl, ((seq + 1) << 24) | bias, memory_order_release);
}

/* An interval drawn uniformly from 1 .. 2*every - 1 (every on average),
 * from the xorshift state *x. */
static uint64_t draw_interval(uint64_t *x, unsigned every)
{
    uint64_t v = *x ? *x : ((uintptr_t)x >> 3) | 1;
    v ^= v << 13;
    v ^= v >> 7;
    v ^= v << 17;
    *x = v;
    return 1 + v % (2 * (uint64_t)every - 1);
}

/* The bias that makes a bin's count reach 2^23 after a drawn interval. */
static uint32_t bin_draw(lle__heap_t *h, unsigned every)
{
    uint64_t k = draw_interval(&h->rng, every);
    if (k >= (uint64_t)1 << 23) k = ((uint64_t)1 << 23) - 1;
    return (uint32_t)(((uint64_t)1 << 23) - k);
}

/* Arm (every > 1) or disarm the bins of `pool` in heap h (its owner). */
static void heap_arm(lle__heap_t *h, int pool, unsigned every)
{
    for (unsigned c = 0; c < LLE__NCLASSES; c++)
        bin_settle(&h->bins[pool][c], every > 1 ? bin_draw(h, every) : 0, 0, 0);
}

void lle__heap_arm(lle_memory_manager_t *m, int pool)
{
    if (lle__tls.id == m->id && lle__tls.h)
        heap_arm(lle__tls.h, pool,
                 atomic_load_explicit(&m->guard_every[pool], memory_order_relaxed));
}

/* A bin of a sampled pool not armed yet (sampling began after its last
 * fold): arm it.  On the owner's slow paths. */
static inline void bin_check_armed(lle_memory_manager_t *m, lle__heap_t *h, lle__bin_t *b,
                                   int pool)
{
    unsigned every = atomic_load_explicit(&m->guard_every[pool], memory_order_relaxed);
    if (lle_unlikely(every > 1) &&
        !(atomic_load_explicit(&b->ctl, memory_order_relaxed) & LLE__CTL_BIAS))
        bin_settle(b, bin_draw(h, every), 0, 0);
}

/* b's count reached 2^23 with blk just taken from its current slab: fold
 * the count.  When the bin was armed this allocation is the sampled one:
 * blk goes back and a block on guard pages is returned instead (if one can
 * be had).  Returns the block.  Only b, blk and n come in: one more
 * argument (the caller's address) cost the fast path a stack frame.  The
 * guard block's site is this function's return address instead: reached
 * by a tail call from lle_pool_alloc (optimised builds), that is the
 * caller of lle_pool_alloc; elsewhere (-O0, sanitizers, a refill) an
 * address inside the library. */
/* The alignment an aligned request (alloc_generic) asks of the bins it
 * reaches, for a sampled block (bin_fold) to keep; 0 outside one.  Only
 * those slow paths touch it. */
static _Thread_local size_t aligned_request;

static LLE__NOINLINE LLE__COLD void *bin_fold(lle__bin_t *b, void *blk, size_t n)
{
    const void *pc = __builtin_extract_return_addr(__builtin_return_address(0));
    lle__slab_t *s = b->cur;   /* slab_pop always takes from the current slab */
    lle__heap_t *h = atomic_load_explicit(&s->owner, memory_order_relaxed);
    lle_memory_manager_t *m = h->m;
    unsigned every = atomic_load_explicit(&m->guard_every[s->pool], memory_order_relaxed);
    void *g = NULL;
    if (every > 1 && (atomic_load_explicit(&b->ctl, memory_order_relaxed) & LLE__CTL_BIAS))
        g = m->dbg_ops->sample(m, s->pool, n,
                               aligned_request ? aligned_request : LLE__MIN_ALIGN, pc);
    bin_settle(b, every > 1 ? bin_draw(h, every) : 0, g ? 1 : 0, g ? n : 0);
    if (!g) return blk;
    /* Undo the pop, as a local free would. */
    lle__slab_state_set(s, lle__slab_index(s, blk), LLE__ST_FREE);
    *(void **)blk = s->free;
    lle__block_back(s, blk, s->bsize);
    s->free = blk;
    s->used--;
    return g;
}

/* n <= 64 KiB (a request served from a slab). */
static inline void *slab_pop(lle__bin_t *b, lle__slab_t *s, size_t n)
{
    void *blk = s->free;
    lle__link_open(blk);
    s->free = *(void **)blk;
    lle__block_out(s, blk, s->bsize);
    s->used++;
    lle__slab_state_set(s, lle__slab_index(s, blk), LLE__ST_LIVE);
    if (lle_unlikely(lle__ctr_add(&b->acct, ((uint64_t)1 << LLE__ACCT_SHIFT) | n)))
        return bin_fold(b, blk, n);
    return blk;
}

/* A block from the slabs bin b already holds: more of the current slab
 * carved, another slab with free blocks, or blocks other threads freed.
 * NULL when they are all full. */
static void *bin_refill(lle__heap_t *h, lle__bin_t *b, size_t n)
{
    for (int round = 0; round < 2; round++) {
        lle__slab_t *s = b->cur != LLE__NO_SLAB ? b->cur : NULL;
        if (s && !s->free && s->carve < s->carve_end) slab_carve(s);
        if (s && s->free) return slab_pop(b, s, n);
        if (s) bin_refile(b, s);        /* exhausted: onto the full list */
        /* Another slab of the bin with room. */
        for (s = b->avail; s; s = s->next) {
            if (!s->free && s->carve < s->carve_end) slab_carve(s);
            if (s->free) {
                bin_set_cur(b, s);
                return slab_pop(b, s, n);
            }
        }
        if (round == 0) lle__heap_collect_remote(h);
    }
    return NULL;
}

/* A block of class cls of pool `pool` for heap h: from the bin's slabs, else
 * from a new slab of the pool.  NULL when the pool cannot provide one. */
static LLE__NOINLINE void *small_alloc_slow(lle_memory_manager_t *m, lle__heap_t *h, int pool,
                                            unsigned cls, size_t n)
{
    lle__bin_t *b = &h->bins[pool][cls];
    bin_check_armed(m, h, b, pool);
    void *p = bin_refill(h, b, n);
    if (p) return p;
    /* Each slab the bin already holds doubles the next one, up to the
     * pool's block size: a class used a little costs one small slab, a busy
     * one spreads its blocks over few slabs, so its current slab runs dry
     * less often. */
    const lle__pool_t *pl = &m->pools[pool];
    size_t base = (size_t)LLE__GRANULE << pl->tier[cls], bytes = base;
    for (uint32_t k = 0; k < b->nslabs && bytes < pl->max_slab; k++) bytes *= 2;
    size_t bsize = lle__class_size(cls);
    lle__slab_t *s = lle__pool_take_slab(m, pool, bytes, bsize);
    if (!s && bytes > base) s = lle__pool_take_slab(m, pool, base, bsize);  /* near the limit */
    if (!s && atomic_load_explicit(&pl->large_cached, memory_order_relaxed) &&
        lle__large_cache_release(m, pool))       /* cached large blocks hold the limit */
        s = lle__pool_take_slab(m, pool, base, bsize);
    if (!s) return NULL;
    slab_assign(s, h, cls);
    b->nslabs++;
    lle__slab_list_push(&b->avail, s);
    bin_set_cur(b, s);
    slab_carve(s);
    return slab_pop(b, s, n);
}

/* ---- the hierarchy (slow path of every allocation) ---------------------- */

unsigned lle__class_for(size_t n, size_t align)
{
    if (n == 0) n = 1;
    if (n > lle__class_size(LLE__NCLASSES - 1)) return LLE__NCLASSES;
    unsigned c = lle__class_of(n);
    while (c < LLE__NCLASSES && (lle__class_size(c) & (align - 1))) c++;
    return c;
}

/* One level: pool `pool` serves n bytes at `align` from a slab or as a large
 * block.  NULL when the pool is full or the host failed. */
static void *pool_level(lle_memory_manager_t *m, lle__heap_t *h, int pool, size_t n, size_t align)
{
    lle__pool_t *pl = &m->pools[pool];
    if (align < pl->cfg.alignment) align = pl->cfg.alignment;
    if (align <= LLE__PAGE && n <= pl->small_max) {
        unsigned c = lle__class_for(n, align);
        if (c < pl->nclasses && h) return small_alloc_slow(m, h, pool, c, n);
        if (c < pl->nclasses) return NULL;  /* no heap: the host is out */
    }
    return lle__large_alloc(m, pool, n, align);
}

static LLE__NOINLINE LLE__COLD void *alloc_fail(lle_memory_manager_t *m, int pool, size_t n,
                                                lle_result_t code, const char *why)
{
    atomic_fetch_add_explicit(&m->failed_allocs, 1, memory_order_relaxed);
    lle__report(m, code, pool, n, NULL, "allocation of %zu bytes from pool %s failed: %s", n,
                lle_pool_type_name(pool) ? lle_pool_type_name(pool) : "?", why);
    errno = ENOMEM;
    return NULL;
}

/* The hierarchy from `pool` down: primary, secondary, emergency. */
static void *alloc_hierarchy(lle_memory_manager_t *m, int pool, size_t n, size_t align)
{
    int st = atomic_load_explicit(&m->state, memory_order_acquire);
    if (st == LLE_MEMORY_STATE_SHUTDOWN)
        return alloc_fail(m, pool, n, LLE_ERROR_INVALID_STATE, "the manager is shut down");

    lle__heap_t *h = lle__heap_get(m);
    void *p = pool_level(m, h, pool, n, align);                 /* primary */
    if (!p && pool != LLE_POOL_SECONDARY)
        p = pool_level(m, h, LLE_POOL_SECONDARY, n, align);     /* secondary */
    if (!p) {                                                   /* emergency */
        p = lle__emerg_alloc(m, n, align);
        if (p) {
            atomic_fetch_add_explicit(&m->emergency_allocs, 1, memory_order_relaxed);
            lle__report(m, LLE_ERROR_OUT_OF_MEMORY, pool, n, p,
                        "pool %s and the secondary pool are exhausted: %zu bytes served from "
                        "the emergency reserve",
                        lle_pool_type_name(pool), n);
        }
    }
    if (!p) return alloc_fail(m, pool, n, LLE_ERROR_OUT_OF_MEMORY, "every level is exhausted");
    return p;
}

/* The return address of the function it is used in. */
#define CALLER() __builtin_extract_return_addr(__builtin_return_address(0))

/* Sampling of the blocks too large for a bin (their path is slow anyway):
 * a countdown per thread. */
static _Thread_local uint64_t large_countdown, large_rng;

static LLE__NOINLINE void *large_sample(lle_memory_manager_t *m, int pool, size_t n, size_t align,
                                        const void *pc)
{
    unsigned every = atomic_load_explicit(&m->guard_every[pool], memory_order_relaxed);
    if (every < 2 || align > LLE__MIN_ALIGN) return NULL;
    if (large_countdown == 0) large_countdown = draw_interval(&large_rng, every);
    if (--large_countdown != 0) return NULL;
    return m->dbg_ops->sample(m, pool, n, LLE__MIN_ALIGN, pc);
}

/* alloc_hierarchy for an alignment above the minimum, which a block
 * sampled in the bins it reaches must keep (aligned_request).  Out of
 * line: alloc_generic keeps its tail calls. */
static LLE__NOINLINE void *alloc_hierarchy_aligned(lle_memory_manager_t *m, int pool, size_t n,
                                                   size_t align)
{
    size_t outer = aligned_request;
    aligned_request = align;
    void *p = alloc_hierarchy(m, pool, n, align);
    aligned_request = outer;
    return p;
}

/* Every allocation that is not served by the fast path.  `site` or `pc`
 * (the return address of the public function) names the caller for debug
 * blocks.  The public functions read pc on their slow paths only
 * (alloc_inline) and pass it down; relying on a tail call instead lost the
 * caller in builds that make none (-O0, ASan), where distinct call sites
 * then shared one address. */
static LLE__NOINLINE void *alloc_generic(lle_memory_manager_t *m, int pool, size_t n, size_t align,
                                         const lle_site_t *site, const void *pc)
{
    if (!m) return NULL;
    if ((unsigned)pool >= LLE_POOL_COUNT)
        return alloc_fail(m, pool, n, LLE_ERROR_INVALID_ARGUMENT, "no such pool type");
    if (align == 0 || (align & (align - 1)))
        return alloc_fail(m, pool, n, LLE_ERROR_INVALID_ARGUMENT,
                          "alignment is not a power of two");
    if (align < LLE__MIN_ALIGN) align = LLE__MIN_ALIGN;
    if (n > LLE_POOL_MAX_REQUEST || align > LLE_POOL_MAX_REQUEST)
        return alloc_fail(m, pool, n, LLE_ERROR_INVALID_ARGUMENT,
                          "request exceeds LLE_POOL_MAX_REQUEST");
    if (lle_unlikely(atomic_load_explicit(&m->dbg_mask, memory_order_relaxed) >> pool & 1)) {
        void *p = m->dbg_ops->alloc(m, pool, n, align, site, pc);
        if (p) return p;
    } else if (lle_unlikely(atomic_load_explicit(&m->guard_every[pool], memory_order_relaxed) > 1) &&
               n > m->pools[pool].small_max) {
        void *p = large_sample(m, pool, n, align, pc);
        if (p) return p;
    }
    if (align > LLE__MIN_ALIGN) return alloc_hierarchy_aligned(m, pool, n, align);
    return alloc_hierarchy(m, pool, n, align);
}

/* ---- public allocation -------------------------------------------------- */

/* The current slab of the calling thread's bin b is dry: refill from the
 * bin's own slabs before the whole hierarchy (which also handles a new
 * slab, the pool's limits and the state).  The `none` bin is always dry:
 * its requests go to the generic path with their site. */
static LLE__NOINLINE void *alloc_bin_miss(lle_memory_manager_t *m, lle__bin_t *b, int pool,
                                          size_t n, const lle_site_t *site, const void *pc)
{
    if (b == &lle__tls.h->none) return alloc_generic(m, pool, n, LLE__MIN_ALIGN, site, pc);
    bin_check_armed(m, lle__tls.h, b, pool);
    void *p = bin_refill(lle__tls.h, b, n);
    return p ? p : alloc_generic(m, pool, n, LLE__MIN_ALIGN, NULL, NULL);
}

/* The bin's fast path: pop its current slab, else refill (or route, for
 * the `none` bin).  A macro so that pc_expr, which reads the return
 * address, is evaluated on the miss path only. */
#define bin_alloc(m, b, pool, n, site, pc_expr)                                      \
    __extension__({                                                                  \
        lle__bin_t *b_ = (b);                                                        \
        lle__slab_t *s_ = b_->cur;                                                   \
        lle_likely(s_->free != NULL) ? slab_pop(b_, s_, (n))                         \
                                     : alloc_bin_miss((m), b_, (pool), (n), (site), (pc_expr)); \
    })

/* A request above LLE__TABLE_MAX bytes from the calling thread's heap (m, pool
 * checked).  Out of line: it keeps the fast path short and frameless. */
static LLE__NOINLINE void *alloc_above_table(lle_memory_manager_t *m, int pool, size_t n,
                                             const lle_site_t *site, const void *pc)
{
    const lle__pool_t *pl = &m->pools[pool];
    if (n > pl->small_max ||
        (atomic_load_explicit(&m->dbg_mask, memory_order_relaxed) >> pool & 1))
        return alloc_generic(m, pool, n, LLE__MIN_ALIGN, site, pc);
    lle__bin_t *b = (lle__bin_t *)(void *)((char *)lle__tls.h +
                                           LLE__BIN_OFF(pool, pl->remap[lle__class_of(n)]));
    return bin_alloc(m, b, pool, n, site, pc);
}

/* pc: the caller of the public function, for debug blocks allocated
 * without a site; NULL for the return address of the public function this
 * is inlined into, read on the slow paths only. */
static inline __attribute__((always_inline)) void *alloc_inline(lle_memory_manager_t *m, int pool,
                                                                size_t n, const lle_site_t *site,
                                                                const void *pc)
{
#define PC_OR_CALLER() (pc ? pc : CALLER())
    if (lle_likely(m != NULL && (unsigned)pool < LLE_POOL_COUNT && lle__tls.id == m->id)) {
        if (lle_unlikely(n > LLE__TABLE_MAX))
            return alloc_above_table(m, pool, n, site, PC_OR_CALLER());
        unsigned off = atomic_load_explicit(&m->bin_off[(unsigned)pool][(n + 15) >> 4],
                                            memory_order_relaxed);
        return bin_alloc(m, (lle__bin_t *)(void *)((char *)lle__tls.h + off), pool, n, site,
                         PC_OR_CALLER());
    }
    return alloc_generic(m, pool, n, LLE__MIN_ALIGN, site, PC_OR_CALLER());
#undef PC_OR_CALLER
}


/* Under AddressSanitizer a block leaves the pools addressable over its
 * usable size, whatever a module left poisoned in it (sanitizer.h). */
#ifdef LLE__ASAN
static void *asan_fresh(lle_memory_manager_t *m, void *p)
{
    if (p) lle__asan_unpoison(p, lle_pool_usable_size(m, p));
    return p;
}
#else
#define asan_fresh(m, p) (p)
#endif

void *lle_pool_alloc(lle_memory_manager_t *m, lle_memory_pool_type_t t, size_t n)
{
    return asan_fresh(m, alloc_inline(m, (int)t, n, NULL, NULL));
}

void *lle_pool_alloc_at(lle_memory_manager_t *m, lle_memory_pool_type_t t, size_t n,
                        const lle_site_t *site)
{
    return asan_fresh(m, alloc_inline(m, (int)t, n, site, NULL));
}

static inline __attribute__((always_inline)) void *calloc_inline(lle_memory_manager_t *m, int t,
                                                                 size_t k, size_t n,
                                                                 const lle_site_t *site)
{
    size_t bytes;
    if (__builtin_mul_overflow(k, n, &bytes)) {
        if (m) alloc_fail(m, t, SIZE_MAX, LLE_ERROR_INVALID_ARGUMENT,
                          "calloc size overflows");
        errno = ENOMEM;
        return NULL;
    }
    void *p = asan_fresh(m, alloc_inline(m, t, bytes, site, NULL));
    if (p) memset(p, 0, bytes);
    return p;
}

void *lle_pool_calloc(lle_memory_manager_t *m, lle_memory_pool_type_t t, size_t k, size_t n)
{
    return calloc_inline(m, (int)t, k, n, NULL);
}

void *lle_pool_calloc_at(lle_memory_manager_t *m, lle_memory_pool_type_t t, size_t k, size_t n,
                         const lle_site_t *site)
{
    return calloc_inline(m, (int)t, k, n, site);
}

void *lle_pool_alloc_aligned(lle_memory_manager_t *m, lle_memory_pool_type_t t, size_t n,
                             size_t align)
{
    return asan_fresh(m, alloc_generic(m, (int)t, n, align, NULL, CALLER()));
}

void *lle_pool_alloc_aligned_at(lle_memory_manager_t *m, lle_memory_pool_type_t t, size_t n,
                                size_t align, const lle_site_t *site)
{
    return asan_fresh(m, alloc_generic(m, (int)t, n, align, site, CALLER()));
}

/* ---- free --------------------------------------------------------------- */

/* A free refused: counted and reported with where it was called (the
 * caller's site when it gave one, else its return address pc).  pc NULL
 * and no site: the free's own fast path, which leaves the return address
 * to this function so as not to load it on every free; reached from it by
 * tail calls (optimised builds), this function's return address is the
 * caller of lle_pool_free; elsewhere (-O0, sanitizers) an address inside
 * the library. */
static LLE__NOINLINE LLE__COLD lle_result_t free_error(lle_memory_manager_t *m, const void *p,
                                                       lle_result_t code, int pool,
                                                       const lle_site_t *site, const void *pc)
{
    atomic_fetch_add_explicit(code == LLE_ERROR_DOUBLE_FREE ? &m->double_frees : &m->invalid_frees,
                              1, memory_order_relaxed);
    lle_site_t here = {0};
    if (site) here = *site;
    else here.pc = pc ? pc : CALLER();
    char where[160];
    lle__site_describe(&here, where, sizeof where);
    lle__report_sites(m, code, pool, 0, p, NULL, &here,
                      code == LLE_ERROR_DOUBLE_FREE
                          ? "free of %p at %s: the block is already free"
                          : "free of %p at %s: not a block of this manager (foreign, stack or "
                            "interior pointer); nothing was freed",
                      p, where);
    return code;
}

/* Free from a thread that does not own the slab. */
static LLE__NOINLINE lle_result_t free_remote(lle_memory_manager_t *m, lle__slab_t *s, void *p,
                                              uint32_t i, const lle_site_t *site, const void *pc)
{
    /* Claim the block: LIVE -> REMOTE in one step, so of two frees of it
     * racing from other threads one wins and the other is refused. */
    uint8_t live = LLE__ST_LIVE;
    if (!atomic_compare_exchange_strong_explicit(lle__slab_state(s, i), &live, LLE__ST_REMOTE,
                                                 memory_order_acq_rel, memory_order_relaxed))
        return free_error(m, p, LLE_ERROR_DOUBLE_FREE, s->pool, site, pc);
    lle__heap_t *owner = atomic_load_explicit(&s->owner, memory_order_acquire);
    lle__pool_t *pl = &m->pools[s->pool];
    atomic_fetch_add_explicit(&pl->remote_frees, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&pl->remote_freed_bytes, s->bsize, memory_order_relaxed);
    /* Taken back before it is published: the owner may hand it out again
     * the moment the exchange succeeds. */
    lle__block_back(s, p, s->bsize);
    void *head = atomic_load_explicit(&s->thread_free, memory_order_relaxed);
    do {
        lle__link_open(p);
        *(void **)(void *)p = head;  /* blocks are 16-aligned */
        lle__link_close(p);
    } while (!atomic_compare_exchange_weak_explicit(&s->thread_free, &head, p, memory_order_release,
                                                    memory_order_relaxed));
    if (head == NULL && owner) {
        /* First pending free of this slab: tell the owner where to look. */
        lle__slab_t *top = atomic_load_explicit(&owner->remote_slabs, memory_order_relaxed);
        do {
            atomic_store_explicit(&s->remote_next, top, memory_order_relaxed);
        } while (!atomic_compare_exchange_weak_explicit(&owner->remote_slabs, &top, s,
                                                        memory_order_release,
                                                        memory_order_relaxed));
    }
    return LLE_SUCCESS;
}

/* Local free that left the slab empty or took it off the full list. */
static LLE__NOINLINE lle_result_t free_fixup(lle__heap_t *h, lle__slab_t *s)
{
    if (lle__slab_live(s) == 0) bin_release(h, s);
    else bin_refile(s->bin, s);
    return LLE_SUCCESS;
}

static LLE__NOINLINE lle_result_t free_generic(lle_memory_manager_t *m, void *p, lle__slab_t *s,
                                               const lle_site_t *site, const void *pc)
{
    if (!m) return LLE_ERROR_NULL_PARAMETER;
    if (s && lle__slab_is_debug(s)) return m->dbg_ops->free(m, s, p, site, pc);
    if (s && s->kind == LLE__SLAB_SECURE) return lle__sec_ops(m)->free(m, s, p);
    if (s && s->kind == LLE__SLAB_EMERGENCY) {
        lle_result_t r = lle__emerg_free(m, s, p);
        return r == LLE_SUCCESS ? r : free_error(m, p, r, LLE_POOL_SECONDARY, site, pc);
    }
    if (s) return free_error(m, p, LLE_ERROR_INVALID_POINTER, s->pool, site, pc);
    lle_result_t r = lle__large_free(m, p);
    return r == LLE_SUCCESS ? r : free_error(m, p, r, -1, site, pc);
}

/* A pointer that is not a block of a slab the calling thread owns: a free
 * from another thread, a large or emergency block, or an error. */
static LLE__NOINLINE lle_result_t free_not_local(lle_memory_manager_t *m, void *p,
                                                 lle__slab_t *s, const lle_site_t *site,
                                                 const void *pc)
{
    if (s && s->kind == LLE__SLAB_SMALL) {
        uint32_t i = lle__slab_block_at(s, p);
        if (i >= s->capacity)
            return free_error(m, p, LLE_ERROR_INVALID_POINTER, s->pool, site, pc);
        return free_remote(m, s, p, i, site, pc);
    }
    return free_generic(m, p, s, site, pc);
}

/* A local free whose block is not live: a second free, or a pointer into
 * the slab's tail (past its last block). */
static LLE__NOINLINE LLE__COLD lle_result_t free_local_error(lle_memory_manager_t *m,
                                                             lle__slab_t *s, void *p,
                                                             const lle_site_t *site,
                                                             const void *pc)
{
    return free_error(m, p,
                      lle__slab_block_at(s, p) >= s->capacity ? LLE_ERROR_INVALID_POINTER
                                                               : LLE_ERROR_DOUBLE_FREE,
                      s->pool, site, pc);
}

/* The free of lle_pool_free and lle_pool_free_at: site (may be NULL) and
 * the caller's return address (CALLER(), which in a function always
 * inlined is that of the function it is inlined into) only name the call
 * in an error report; the return address is read on the paths that can
 * report only, never on the way to a successful local free. */
static inline __attribute__((always_inline)) lle_result_t free_inline(lle_memory_manager_t *m,
                                                                      void *p,
                                                                      const lle_site_t *site)
{
    if (lle_unlikely(p == NULL)) return LLE_SUCCESS;
    if (lle_unlikely(m == NULL)) return LLE_ERROR_NULL_PARAMETER;
    if (lle_unlikely(lle__tls.id != m->id))
        return free_not_local(m, p, lle__map_get(m, p), site, CALLER());
    lle__heap_t *h = lle__tls.h;
    uintptr_t k = (uintptr_t)p >> LLE__LEAF_SPAN_SHIFT;
    if (lle_unlikely(k >= LLE__MAP_ROOT_ENTRIES))
        return free_not_local(m, p, NULL, site, CALLER());
    lle__slab_t *s = lle__leaf_entry(lle__root_leaf(lle__tls.root, k), p);
    /* Only small slabs ever have an owner (LLE__NO_SLAB's is NULL). */
    if (lle_likely(atomic_load_explicit(&s->owner, memory_order_relaxed) == h)) {
        /* p lies in the slab's memory (the map says so): off < 2^19. */
        uint64_t off = (uint64_t)((char *)p - s->start);
        lle__u128 q = (lle__u128)off * s->magic;
        if (lle_unlikely((uint64_t)q >= s->magic))  /* not the start of a block */
            return free_error(m, p, LLE_ERROR_INVALID_POINTER, s->pool, site, NULL);
        /* i <= capacity: the slab has a state byte for it. */
        uint32_t i = (uint32_t)(q >> 64);
        if (lle_unlikely(lle__slab_state_get(s, i) != LLE__ST_LIVE))
            return free_local_error(m, s, p, site, NULL);
        lle__slab_state_set(s, i, LLE__ST_FREE);
        *(void **)p = s->free;
        lle__block_back(s, p, s->bsize);
        s->free = p;
        lle__ctr_add(&s->bin->frees, 1);
        if (lle_unlikely(lle__slab_free_count(s))) return free_fixup(h, s);
        return LLE_SUCCESS;
    }
    return free_not_local(m, p, s != LLE__NO_SLAB ? s : NULL, site, CALLER());
}

lle_result_t lle_pool_free(lle_memory_manager_t *m, void *p)
{
    return free_inline(m, p, NULL);
}

lle_result_t lle_pool_free_at(lle_memory_manager_t *m, void *p, const lle_site_t *site)
{
    if (!p) return LLE_SUCCESS;
    if (!m) return LLE_ERROR_NULL_PARAMETER;
    lle__slab_t *s = lle__map_get(m, p);
    if (s && lle__slab_is_debug(s)) return m->dbg_ops->free(m, s, p, site, CALLER());
    return free_inline(m, p, site);
}

/* ---- queries and realloc ------------------------------------------------ */

typedef struct block_info {
    lle_result_t err;     /* LLE_SUCCESS when p is a live block */
    int          pool;
    size_t       usable;
    size_t       align;   /* alignment the block must keep */
    bool         large;
} block_info_t;

static block_info_t block_info(lle_memory_manager_t *m, const void *p)
{
    block_info_t bi = {LLE_ERROR_INVALID_POINTER, -1, 0, LLE__MIN_ALIGN, false};
    lle__slab_t *s = lle__map_get(m, p);
    if (s && s->kind == LLE__SLAB_SMALL) {
        lle__heap_t *owner = atomic_load_explicit(&s->owner, memory_order_acquire);
        if (!owner) return bi;
        uint32_t i = lle__slab_block_at(s, p);
        if (i >= s->capacity) return bi;
        if (lle__slab_state_get(s, i) != LLE__ST_LIVE) {
            bi.err = LLE_ERROR_DOUBLE_FREE;
            return bi;
        }
        bi.err = LLE_SUCCESS;
        bi.pool = s->pool;
        bi.usable = s->bsize;
        bi.align = m->pools[s->pool].cfg.alignment;
        return bi;
    }
    if (s && (lle__slab_is_debug(s) || s->kind == LLE__SLAB_SECURE)) {
        /* Their own modules know these blocks: p must be one's start. */
        lle_block_info_t info;
        lle_result_t r = lle__slab_is_debug(s) ? m->dbg_ops->query(m, s, p, &info)
                                               : lle__sec_ops(m)->query(m, s, p, &info);
        if (r == LLE_SUCCESS && info.start != p) r = LLE_ERROR_INVALID_POINTER;
        bi.err = r;
        if (r == LLE_SUCCESS) {
            bi.pool = info.pool;
            bi.usable = info.size;
        }
        return bi;
    }
    if (s && s->kind == LLE__SLAB_EMERGENCY) {
        size_t u = lle__emerg_usable(m, s, p);
        if (u) {
            bi.err = LLE_SUCCESS;
            bi.pool = LLE_POOL_SECONDARY;
            bi.usable = u;
            bi.align = LLE__EMERG_UNIT;
        }
        return bi;
    }
    if (s) return bi;
    lle__large_hdr_t *hd = lle__large_find(m, p, &bi.err);
    if (hd) {
        bi.pool = hd->pool;
        bi.usable = hd->size;
        bi.align = (size_t)1 << hd->align_log2;
        bi.large = true;
    }
    return bi;
}

size_t lle_pool_usable_size(lle_memory_manager_t *m, const void *p)
{
    if (!m || !p) return 0;
    block_info_t bi = block_info(m, p);
    return bi.err == LLE_SUCCESS ? bi.usable : 0;
}

int lle_pool_owner(lle_memory_manager_t *m, const void *p)
{
    if (!m || !p) return -1;
    block_info_t bi = block_info(m, p);
    return bi.err == LLE_SUCCESS ? bi.pool : -1;
}

static void *realloc_impl(lle_memory_manager_t *m, void *p, size_t n, const lle_site_t *site,
                          const void *pc)
{
    if (!m) return NULL;
    if (!p) return asan_fresh(m, alloc_inline(m, LLE_POOL_CUSTOM, n, site, pc));
    lle__slab_t *ds = lle__map_get(m, p);
    if (ds && lle__slab_is_debug(ds))
        return asan_fresh(m, m->dbg_ops->realloc(m, ds, p, n, site, pc));
    if (ds && ds->kind == LLE__SLAB_SECURE) return lle__sec_ops(m)->realloc(m, ds, p, n);
    block_info_t bi = block_info(m, p);
    if (bi.err != LLE_SUCCESS) {
        atomic_fetch_add_explicit(&m->invalid_frees, 1, memory_order_relaxed);
        if (bi.err == LLE_ERROR_DOUBLE_FREE)
            lle__report(m, LLE_ERROR_USE_AFTER_FREE, bi.pool, n, p,
                        "realloc of %p: the block was freed; nothing changed", p);
        else
            lle__report(m, bi.err, bi.pool, n, p,
                        "realloc of %p: not a block of this manager (foreign, stack or "
                        "interior pointer); nothing changed",
                        p);
        return NULL;
    }
    if (n == 0) {
        lle_pool_free(m, p);
        return NULL;
    }
    if (n > LLE_POOL_MAX_REQUEST)
        return alloc_fail(m, bi.pool, n, LLE_ERROR_INVALID_ARGUMENT,
                          "request exceeds LLE_POOL_MAX_REQUEST");
    /* Stay in place while the block fits and is not more than twice too big. */
    if (n <= bi.usable && (n > bi.usable / 2 || bi.usable <= 2 * LLE__MIN_ALIGN))
        return asan_fresh(m, p);
    if (bi.large && n > m->pools[bi.pool].small_max && bi.align <= LLE__MIN_ALIGN) {
        void *q = lle__large_realloc(m, p, n);
        if (q) return asan_fresh(m, q);
    }
    /* A block of the secondary pool or the reserve starts again there. */
    void *q = asan_fresh(m, alloc_hierarchy(m, bi.pool, n, bi.align));
    if (!q) return NULL;
    memcpy(q, p, n < bi.usable ? n : bi.usable);
    lle_pool_free(m, p);
    return q;
}

void *lle_pool_realloc(lle_memory_manager_t *m, void *p, size_t n)
{
    return realloc_impl(m, p, n, NULL, CALLER());
}

void *lle_pool_realloc_at(lle_memory_manager_t *m, void *p, size_t n, const lle_site_t *site)
{
    return realloc_impl(m, p, n, site, CALLER());
}

/* ---- queries of any block ----------------------------------------------------- */

lle_result_t lle_block_query(lle_memory_manager_t *m, const void *p, lle_block_info_t *out)
{
    if (!m || !p || !out) return LLE_ERROR_NULL_PARAMETER;
    memset(out, 0, sizeof *out);
    lle__slab_t *s = lle__map_get(m, p);
    if (s && lle__slab_is_debug(s)) return m->dbg_ops->query(m, s, p, out);
    if (s && s->kind == LLE__SLAB_SECURE) return lle__sec_ops(m)->query(m, s, p, out);
    if (s && s->kind == LLE__SLAB_SMALL) {
        /* Any byte of a slab block: its index by division. */
        uint64_t off = (uint64_t)((const char *)p - s->start);
        if (off >= s->bytes || !atomic_load_explicit(&s->owner, memory_order_acquire))
            return LLE_ERROR_INVALID_POINTER;
        uint32_t i = lle__slab_index(s, p);
        if (i >= s->capacity) return LLE_ERROR_INVALID_POINTER;
        const char *start = s->start + (size_t)i * s->bsize;
        block_info_t bi = block_info(m, start);
        if (bi.err != LLE_SUCCESS) return bi.err;
        out->start = start;
        out->size = bi.usable;
        out->pool = bi.pool;
        out->state = LLE_BLOCK_LIVE;
        return LLE_SUCCESS;
    }
    block_info_t bi = block_info(m, p);   /* emergency and large blocks: by their start */
    if (bi.err != LLE_SUCCESS) {
        /* A byte inside a large block or a block of the reserve (also where
         * a freed block began: the host may have given the bytes again). */
        void *b = !s ? lle__large_find_containing(m, p)
                  : s->kind == LLE__SLAB_EMERGENCY ? lle__emerg_block_containing(m, s, p)
                                                   : NULL;
        if (b) {
            bi = block_info(m, b);
            p = b;
        }
    }
    if (bi.err != LLE_SUCCESS) return bi.err;
    out->start = p;
    out->size = bi.usable;
    out->pool = bi.pool;
    out->state = LLE_BLOCK_LIVE;
    return LLE_SUCCESS;
}
