/*
 * gc.c - the cycle collector (lle/gc.h).
 *
 * One mechanism serves every kind of collection: scan_set() takes a set of
 * tracked objects and finds those that nothing outside the set reaches.
 *
 *   1. Each member's scratch gets its count (and the change counter of its
 *      count word, for step 5).
 *   2. Every member's traverse callback reports its references; each one
 *      to a member takes 1 from that member's scratch.  What is left is
 *      the number of references from outside the set.  A reported pointer
 *      that is not a live object of this manager, or more references to a
 *      member than its count, abandons the collection: it frees nothing.
 *   3. Members with references from outside are alive, and so is every
 *      member they reach: marked from them with an explicit stack.
 *   4. The members not marked are unreachable.
 *   5. The change test, with every weak-reference stripe held (so no weak
 *      reference can be upgraded meanwhile): an unreachable member whose
 *      count word changed since step 1 was retained or released by another
 *      thread during the scan; it is treated as reached from outside, with
 *      what it reaches.  The rest have their weak references cleared and
 *      leave their generation.
 * Then, without the lock, each of them is held (count + 1), its destroy
 * callback runs, and when the hold is the last reference its memory goes;
 * an object still referenced after every destroy ran was resurrected and
 * stays (destroyed, never traversed again) until its last release.
 *
 * Because step 2 only ever discounts references that exist, the result is
 * safe for any set: a young collection (the young generation, with old
 * objects' references counted as outside ones), a full collection (the
 * dirty closure: what was released since the last full collection and what
 * that reaches, see scan_dirty) and the verification step of an
 * incremental collection (a group of candidates) are the same steps.
 *
 * The incremental full collection (lle_memory_idle) runs steps 1-4 over
 * the whole heap in pieces while the program runs between them (SCAN,
 * MARK, GATHER): what it finds is only a list of candidates, grouped by
 * what reaches what, possibly stale.  VERIFY then runs scan_set on groups
 * of candidates, each within one step, which makes the outcome exact.  An
 * object that dies while such a collection is under way keeps its memory
 * (it is on `deferred`) until the collection ends, so the pointers the
 * collection holds stay readable; they are skipped as untracked.
 */
#include <string.h>

#include "gc/gc_internal.h"
#include "sanitizer.h"

/* scratch: bits 0-29 references left, 30 GATHERED, 31 REACHED; in
 * scan_set bits 32-54 the change counter at step 1 and bit 62 INIT (step 1
 * done; cleared again before scan_set returns); in an incremental
 * collection bits 32-61 its epoch and bit 63 STAMP (it has seen the
 * object). */
#define REFS_MASK ((uint64_t)0x3fffffff)
#define GATHERED ((uint64_t)1 << 30)
#define REACHED ((uint64_t)1 << 31)
#define INIT ((uint64_t)1 << 62)
#define STAMP ((uint64_t)1 << 63)
#define CHANGES_MASK ((uint64_t)0x7fffff)
#define CHANGES_OF(w) (((w) >> (LLE__RC_BITS + 1)) & CHANGES_MASK)

/* Deferred memory beyond which an incremental collection is abandoned. */
#define DEFER_LIMIT ((size_t)4 << 20)
/* Objects a step handles between two looks at the clock. */
#define CLOCK_EVERY 32

/* ---- work arrays ---------------------------------------------------------- */

static bool grow_arr(lle__gc_t *gc, void **arr, size_t *cap, size_t need, size_t elem)
{
    return lle__array_grow(gc->m, arr, cap, need, elem, 1024);
}

static void free_arr(lle__gc_t *gc, void **arr, size_t *cap, size_t elem)
{
    lle__array_free(gc->m, arr, cap, elem);
}

/* ---- generations ---------------------------------------------------------- */

bool lle__gc_track(lle__gc_t *gc, lle__obj_t *o)
{
    pthread_mutex_lock(&gc->lock);
    lle__gen_t *g = &gc->gen[0];
    if (g->n >= UINT32_MAX ||
        !grow_arr(gc, (void **)&g->objs, &g->cap, g->n + 1, sizeof *g->objs)) {
        pthread_mutex_unlock(&gc->lock);
        return false;
    }
    o->idx = (uint32_t)g->n;
    o->gen = LLE__GEN_YOUNG;
    g->objs[g->n++] = o;
    gc->created_since_full++;
    gc->bytes_since_full += lle__obj_bytes(o);
    if (g->n >= gc->cfg.young_threshold)
        atomic_store_explicit(&gc->young_due, true, memory_order_relaxed);
    pthread_mutex_unlock(&gc->lock);
    return true;
}

static void untrack_locked(lle__gc_t *gc, lle__obj_t *o)
{
    lle__gen_t *g = &gc->gen[(o->gen & LLE__GEN_MASK) - 1];
    lle__obj_t *last = g->objs[--g->n];
    g->objs[o->idx] = last;
    last->idx = o->idx;
    o->gen = LLE__GEN_NONE;
    if (gc->inc_phase != LLE__INC_NONE) o->flags |= LLE__OBJ_DEFERRED;
}

void lle__gc_untrack(lle__gc_t *gc, lle__obj_t *o)
{
    pthread_mutex_lock(&gc->lock);
    untrack_locked(gc, o);
    pthread_mutex_unlock(&gc->lock);
}

/* Make every young object old (a full collection examines both). */
static void promote_locked(lle__gc_t *gc)
{
    lle__gen_t *y = &gc->gen[0], *o = &gc->gen[1];
    if (!y->n) return;
    if (!grow_arr(gc, (void **)&o->objs, &o->cap, o->n + y->n, sizeof *o->objs)) return;
    for (size_t i = 0; i < y->n; i++) {
        lle__obj_t *x = y->objs[i];
        x->gen = (uint8_t)((x->gen & ~LLE__GEN_MASK) | LLE__GEN_OLD);
        x->idx = (uint32_t)o->n;
        o->objs[o->n++] = x;
    }
    y->n = 0;
    atomic_store_explicit(&gc->young_due, false, memory_order_relaxed);
}

/* Take the deferred objects (lock held); free them with free_deferred
 * after unlocking. */
static lle__obj_t *take_deferred_locked(lle__gc_t *gc)
{
    lle__obj_t *d = gc->deferred;
    gc->deferred = NULL;
    gc->deferred_bytes = 0;
    return d;
}

static void free_deferred(lle__gc_t *gc, lle__obj_t *d)
{
    while (d) {
        lle__obj_t *next = (lle__obj_t *)(uintptr_t)d->scratch;
        lle_pool_free(gc->m, d);
        d = next;
    }
}

static void inc_abandon_locked(lle__gc_t *gc)
{
    gc->inc_phase = LLE__INC_NONE;
    gc->stack_n = 0;
    gc->cand_n = 0;
    gc->inc_verify = 0;
}

/* Return o's memory (deferred while an incremental collection runs); the
 * caller has taken it out of the live counters. */
static void free_uncounted(lle__gc_t *gc, lle__obj_t *o)
{
    size_t bytes = lle__obj_bytes(o);
    if (o->flags & LLE__OBJ_DEFERRED) {
        lle__obj_t *drop = NULL;
        pthread_mutex_lock(&gc->lock);
        o->magic = LLE__OBJ_DEAD;
        if (gc->inc_phase != LLE__INC_NONE) {
            o->scratch = (uint64_t)(uintptr_t)gc->deferred;
            gc->deferred = o;
            gc->deferred_bytes += bytes;
            if (gc->deferred_bytes > DEFER_LIMIT) {
                /* The program frees faster than idle time collects: give
                 * the collection up rather than hold its memory. */
                inc_abandon_locked(gc);
                gc->st.abandoned++;
                drop = take_deferred_locked(gc);
            }
            o = NULL;
        }
        pthread_mutex_unlock(&gc->lock);
        free_deferred(gc, drop);
        if (!o) return;
    } else {
        o->magic = LLE__OBJ_DEAD;
    }
    lle_pool_free(gc->m, o);
}

void lle__gc_free_obj(lle__gc_t *gc, lle__obj_t *o)
{
    atomic_fetch_sub_explicit(&gc->live_objects, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&gc->live_bytes, lle__obj_bytes(o), memory_order_relaxed);
    free_uncounted(gc, o);
}

bool lle__gc_valid_obj(lle__gc_t *gc, const void *p)
{
    uintptr_t a = (uintptr_t)p;
    if (!a || (a & 15) || a < LLE__OBJ_HDR) return false;
    const lle__obj_t *o = lle__obj_of(p);
    /* Read the header only where the manager holds memory: a slab the page
     * map knows, or else a live block (large blocks); and in a slab only
     * where the block is not free (for ASan and valgrind, sanitizer.h). */
    if (!lle__map_get(gc->m, o) && lle_pool_usable_size(gc->m, o) < LLE__OBJ_HDR) return false;
    return lle__readable(o, LLE__OBJ_HDR) && o->magic == LLE__OBJ_LIVE && o->gc == gc;
}

/* ---- scan_set ------------------------------------------------------------- */

typedef struct visit_ctx {
    lle__gc_t        *gc;
    unsigned          mask;       /* members: gen & mask */
    const lle__obj_t *parent;
    /* The page-map leaf of the last pointer checked (objects come from a
     * few regions: one compare instead of a walk down the map). */
    uintptr_t         leaf_key;
    lle__map_leaf_t  *leaf;
    size_t            bad;
    const void       *bad_parent, *bad_child;
    bool              bad_extra;  /* more references than the count, not a foreign pointer */
    bool              oom;
    size_t            count;      /* scan_dirty: members so far, in gc->chunk */
} visit_ctx_t;

/* Whether p is a live object of the collector, reading no memory the
 * manager does not hold. */
static inline bool ctx_valid(visit_ctx_t *c, const void *p)
{
    uintptr_t a = (uintptr_t)p;
    if (lle_unlikely((a & 15) || a < LLE__OBJ_HDR)) return false;
    const lle__obj_t *o = lle__obj_of(p);
    uintptr_t key = (uintptr_t)o >> LLE__LEAF_SPAN_SHIFT;
    if (lle_unlikely(key != c->leaf_key)) {
        c->leaf = lle__map_leaf(c->gc->m, o);
        c->leaf_key = c->leaf ? key : UINTPTR_MAX;
    }
    if (lle_unlikely(!c->leaf || !lle__leaf_get(c->leaf, o)))
        return lle__gc_valid_obj(c->gc, p);   /* a large block, or not ours */
    return lle__readable(o, LLE__OBJ_HDR) && o->magic == LLE__OBJ_LIVE && o->gc == c->gc;
}

static void note_bad(visit_ctx_t *c, const void *child, bool extra)
{
    if (!c->bad++) {
        c->bad_parent = lle__obj_payload((lle__obj_t *)(uintptr_t)c->parent);
        c->bad_child = child;
        c->bad_extra = extra;
    }
}

static void report_bad(lle__gc_t *gc, const visit_ctx_t *c)
{
    const lle__obj_t *p = lle__obj_of(c->bad_parent);
    atomic_fetch_add_explicit(&gc->invalid_refs, c->bad, memory_order_relaxed);
    if (c->bad_extra)
        lle__report(gc->m, LLE_ERROR_INVALID_POINTER, -1, 0, c->bad_child,
                    "collector: the traverse callback of %s object %p reported %p more times "
                    "than %p is referenced (%zu bad references); collection abandoned, "
                    "nothing freed",
                    p->type->name ? p->type->name : "?", c->bad_parent, c->bad_child,
                    c->bad_child, c->bad);
    else
        lle__report(gc->m, LLE_ERROR_INVALID_POINTER, -1, 0, c->bad_child,
                    "collector: the traverse callback of %s object %p reported %p, which is "
                    "not a live object of this manager (%zu bad references); collection "
                    "abandoned, nothing freed",
                    p->type->name ? p->type->name : "?", c->bad_parent, c->bad_child, c->bad);
}

/* Step 1's scratch word for a member whose reference word is w: its
 * change count above, its count of references (at least 1, at most
 * REFS_MASK) below. */
static inline uint64_t step1_scratch(uint64_t w)
{
    uint64_t n = LLE__RC_COUNT(w);
    if (n == 0) n = 1;  /* being released to death by another thread: its business */
    if (n > REFS_MASK) n = REFS_MASK;
    return (CHANGES_OF(w) << 32) | n;
}

/* Step 1 for one member, the first time the pass meets it. */
static inline void init_member(lle__obj_t *o)
{
    if (o->scratch & INIT) return;
    o->scratch = INIT | step1_scratch(atomic_load_explicit(&o->rc, memory_order_relaxed));
}

/* The object a traverse callback reported, or NULL for none or for a bad
 * pointer (noted). */
static inline lle__obj_t *checked_child(visit_ctx_t *c, void *child)
{
    if (!child) return NULL;
    if (lle_unlikely(!ctx_valid(c, child))) {
        note_bad(c, child, false);
        return NULL;
    }
    return lle__obj_of(child);
}

/* Step 2 for a reference to member co: one of its references is internal
 * (more internal ones than its count is a bad traverse, noted). */
static inline void take_internal_ref(visit_ctx_t *c, void *child, lle__obj_t *co)
{
    if (lle_unlikely((co->scratch & REFS_MASK) == 0)) {
        note_bad(c, child, true);
        return;
    }
    co->scratch--;
}

static void visit_sub(void *child, void *arg)
{
    visit_ctx_t *c = arg;
    lle__obj_t *co = checked_child(c, child);
    if (!co || !(co->gen & c->mask)) return;
    init_member(co);
    take_internal_ref(c, child, co);
}

/* Step 3.  The pointers were checked by step 2: traverse callbacks report
 * the same references each time (the caller keeps them from changing). */
static void visit_mark(void *child, void *arg)
{
    visit_ctx_t *c = arg;
    if (!child) return;
    lle__obj_t *co = lle__obj_of(child);
    if (!(co->gen & c->mask) || (co->scratch & REACHED)) return;
    co->scratch |= REACHED;
    c->gc->stack[c->gc->stack_n++] = co;   /* each member is pushed once: capacity n */
}

static void drain_marks(lle__gc_t *gc, visit_ctx_t *c)
{
    while (gc->stack_n) {
        lle__obj_t *p = gc->stack[--gc->stack_n];
        c->parent = p;
        p->type->traverse(lle__obj_payload(p), visit_mark, c);
    }
}

static void lock_stripes(lle__gc_t *gc)
{
    for (int i = 0; i < LLE__WEAK_STRIPES; i++) pthread_mutex_lock(&gc->weak_lock[i]);
}
static void unlock_stripes(lle__gc_t *gc)
{
    for (int i = LLE__WEAK_STRIPES; i-- > 0;) pthread_mutex_unlock(&gc->weak_lock[i]);
}

static void scan_finish(lle__gc_t *gc, lle__obj_t **set, size_t n, visit_ctx_t *c);

/* Steps 1-5 above over set[0..n) (members: gen & mask), gc->lock held.  On
 * success the unreachable members are in gc->list[0..list_n), untracked,
 * weak references cleared.  On error nothing has changed.
 *
 * Passes over the members: one that counts (steps 1 and 2: a member is
 * initialised when first met, as itself or as a child), one that marks
 * from the members with outside references and notes the others as
 * candidates, then only the candidates are looked at again. */
static lle_result_t scan_set(lle__gc_t *gc, lle__obj_t **set, size_t n, unsigned mask)
{
    gc->list_n = 0;
    gc->stack_n = 0;
    if (!n) return LLE_SUCCESS;
    if (!grow_arr(gc, (void **)&gc->stack, &gc->stack_cap, n, sizeof *gc->stack) ||
        !grow_arr(gc, (void **)&gc->list, &gc->list_cap, n, sizeof *gc->list))
        return LLE_ERROR_OUT_OF_MEMORY;

    visit_ctx_t ctx = {.gc = gc, .mask = mask, .leaf_key = UINTPTR_MAX};
    for (size_t i = 0; i < n; i++) {
        if (i + 6 < n) {
            const char *h = (const char *)set[i + 6];
            __builtin_prefetch(h, 1);
            __builtin_prefetch(h + 64, 1);
        }
        lle__obj_t *o = set[i];
        init_member(o);
        ctx.parent = o;
        o->type->traverse(lle__obj_payload(o), visit_sub, &ctx);
    }
    if (ctx.bad) {
        report_bad(gc, &ctx);
        for (size_t i = 0; i < n; i++) set[i]->scratch = 0;
        return LLE_ERROR_INVALID_POINTER;
    }
    scan_finish(gc, set, n, &ctx);
    return LLE_SUCCESS;
}

/* Steps 3-5 over set[0..n), counted by step 2 (gc->stack empty, gc->list
 * of capacity n). */
static void scan_finish(lle__gc_t *gc, lle__obj_t **set, size_t n, visit_ctx_t *c)
{
    visit_ctx_t ctx = *c;
    size_t ncand = 0;
    for (size_t i = 0; i < n; i++) {
        if (i + 8 < n) __builtin_prefetch(set[i + 8], 1);
        lle__obj_t *o = set[i];
        uint64_t sc = o->scratch & ~INIT;
        o->scratch = sc;
        if (sc & REACHED) continue;
        if (sc & REFS_MASK) {
            o->scratch = sc | REACHED;
            gc->stack[gc->stack_n++] = o;
            drain_marks(gc, &ctx);
        } else {
            gc->list[ncand++] = o;   /* unreached so far */
        }
    }
    for (size_t i = 0; i < ncand; i++)
        if (!(gc->list[i]->scratch & REACHED)) gc->list[gc->list_n++] = gc->list[i];
    if (!gc->list_n) return;

    lock_stripes(gc);
    for (size_t j = 0; j < gc->list_n; j++) {
        lle__obj_t *g = gc->list[j];
        uint64_t w = atomic_load_explicit(&g->rc, memory_order_acquire);
        if (!(g->scratch & REACHED) && CHANGES_OF(w) != ((g->scratch >> 32) & CHANGES_MASK)) {
            g->scratch |= REACHED;
            gc->stack[gc->stack_n++] = g;
            drain_marks(gc, &ctx);
        }
    }
    size_t k = 0;
    for (size_t j = 0; j < gc->list_n; j++)
        if (!(gc->list[j]->scratch & REACHED)) gc->list[k++] = gc->list[j];
    gc->list_n = k;
    for (size_t j = 0; j < k; j++) lle__weak_detach(gc->list[j]);
    unlock_stripes(gc);
    for (size_t j = 0; j < k; j++) untrack_locked(gc, gc->list[j]);
}

/* ---- the dirty closure ------------------------------------------------------ *
 *
 * A full collection examines the dirty closure: every old object that is
 * dirty (released since a full collection last examined it) and every
 * object these reach.  That finds all garbage: an object only becomes
 * unreachable when a reference to it goes, which is a release of the
 * object through which the rest of the garbage was reached; that object
 * stays dirty until a full collection examines it, and the one that does
 * examines all it reaches, which is the garbage and whatever else is
 * unreachable and refers to it.  (Objects outside the set are counted as
 * outside references, so scan_set's answer for the set is exact.)
 *
 * One pass reads every object's count word and, from each dirty one,
 * walks what it reaches: each object met is added to the set (LLE__GEN_CAND)
 * and initialised (step 1), and each reference met is discounted (step 2),
 * so the walk is scan_set's counting pass over a set found as it goes
 * (the set is closed: every reference from a member is to a member or to
 * no tracked object).  Steps 3-5 follow as in scan_set.  A heap left alone
 * since the last full collection costs one read per object; a heap all
 * reached from released objects costs that read more than scan_set.
 *
 * The DIRTY bit of a member is cleared as it joins, before step 1 reads
 * its count: a release after that sets it again, for the next collection. */

/* o joins the set: step 1 for it, pushed to be walked. */
static inline void closure_add(lle__gc_t *gc, visit_ctx_t *c, lle__obj_t *o)
{
    o->gen |= LLE__GEN_CAND;
    gc->chunk[c->count++] = o;
    gc->stack[gc->stack_n++] = o;   /* each member is pushed once: capacity n */
    uint64_t w = atomic_load_explicit(&o->rc, memory_order_relaxed);
    if (w & LLE__RC_DIRTY)
        w = atomic_fetch_and_explicit(&o->rc, ~LLE__RC_DIRTY, memory_order_relaxed) &
            ~LLE__RC_DIRTY;
    o->scratch = step1_scratch(w);
}

static inline void visit_closure(void *child, void *arg)
{
    visit_ctx_t *c = arg;
    lle__obj_t *co = checked_child(c, child);
    if (!co) return;
    if (co->gen == LLE__GEN_OLD) closure_add(c->gc, c, co);
    else if (co->gen != (LLE__GEN_OLD | LLE__GEN_CAND)) return;   /* not tracked */
    take_internal_ref(c, child, co);
}

/* Steps 1-5 over the dirty closure of the old generation (gc->lock held,
 * young promoted); *examined gets its size.  Results as scan_set's; on
 * error every member is made dirty again. */
static lle_result_t scan_dirty(lle__gc_t *gc, size_t *examined)
{
    lle__gen_t *g = &gc->gen[1];
    size_t total = g->n;
    gc->list_n = 0;
    gc->stack_n = 0;
    *examined = 0;
    if (!total) return LLE_SUCCESS;
    if (!grow_arr(gc, (void **)&gc->stack, &gc->stack_cap, total, sizeof *gc->stack) ||
        !grow_arr(gc, (void **)&gc->list, &gc->list_cap, total, sizeof *gc->list) ||
        !grow_arr(gc, (void **)&gc->chunk, &gc->chunk_cap, total, sizeof *gc->chunk))
        return LLE_ERROR_OUT_OF_MEMORY;
    visit_ctx_t ctx = {.gc = gc, .mask = LLE__GEN_CAND, .leaf_key = UINTPTR_MAX};
    for (size_t i = 0; i < total; i++) {
        if (i + 8 < total) __builtin_prefetch(g->objs[i + 8], 0);
        lle__obj_t *o = g->objs[i];
        if (!(atomic_load_explicit(&o->rc, memory_order_relaxed) & LLE__RC_DIRTY) ||
            o->gen != LLE__GEN_OLD)
            continue;
        closure_add(gc, &ctx, o);
        while (gc->stack_n) {
            lle__obj_t *p = gc->stack[--gc->stack_n];
            ctx.parent = p;
            p->type->traverse(lle__obj_payload(p), visit_closure, &ctx);
        }
    }
    size_t n = ctx.count;
    if (ctx.bad) {
        report_bad(gc, &ctx);
        for (size_t i = 0; i < n; i++) {
            lle__obj_t *o = gc->chunk[i];
            o->gen &= (uint8_t)~LLE__GEN_CAND;
            o->scratch = 0;
            atomic_fetch_or_explicit(&o->rc, LLE__RC_DIRTY, memory_order_relaxed);
        }
        return LLE_ERROR_INVALID_POINTER;
    }
    scan_finish(gc, gc->chunk, n, &ctx);
    for (size_t i = 0; i < n; i++) gc->chunk[i]->gen &= (uint8_t)~LLE__GEN_CAND;
    *examined = n;
    return LLE_SUCCESS;
}

/* Destroy the n objects of list (found by scan_set), without gc->lock and
 * with collect_lock held.  Returns how many were freed; *bytes gets their
 * bytes and *resurrected those kept alive. */
static size_t destroy_list(lle__gc_t *gc, lle__obj_t **list, size_t n, uint64_t *bytes,
                           uint64_t *resurrected)
{
    /* No other thread can reach these objects (scan_set's change test), so
     * the hold needs no locked instruction; from here on destroy callbacks
     * may hand them out, so the rest is atomic. */
    for (size_t i = 0; i < n; i++) {
        uint64_t w = atomic_load_explicit(&list[i]->rc, memory_order_relaxed);
        atomic_store_explicit(&list[i]->rc, w + LLE__RC_ONE + LLE__RC_CHANGE,
                              memory_order_relaxed);
        list[i]->flags |= LLE__OBJ_FINALIZED;
    }
    for (size_t i = 0; i < n; i++)
        if (list[i]->type->destroy) list[i]->type->destroy(lle__obj_payload(list[i]));
    size_t freed = 0;
    for (size_t i = 0; i < n; i++) {
        lle__obj_t *g = list[i];
        uint64_t w = atomic_fetch_add_explicit(&g->rc, LLE__RC_CHANGE - LLE__RC_ONE,
                                               memory_order_acq_rel);
        if (LLE__RC_COUNT(w) == 1) {
            *bytes += lle__obj_bytes(g);
            freed++;
            free_uncounted(gc, g);
        } else {
            (*resurrected)++;
        }
    }
    atomic_fetch_sub_explicit(&gc->live_objects, freed, memory_order_relaxed);
    atomic_fetch_sub_explicit(&gc->live_bytes, (size_t)*bytes, memory_order_relaxed);
    return freed;
}

static void note_pause(lle__gc_t *gc, uint64_t ns)
{
    lle_gc_stats_t *s = &gc->st;
    s->last_pause_ns = ns;
    if (!s->fastest_pause_ns || ns < s->fastest_pause_ns) s->fastest_pause_ns = ns;
    if (ns > s->slowest_pause_ns) s->slowest_pause_ns = ns;
    s->total_pause_ns += ns;
}

/* What a collection of n objects took: the estimate of the next ones
 * (gc->lock held).  Small sets say little about a large one. */
static void learn_cost(lle__gc_t *gc, uint64_t ns, size_t n)
{
    if (n < 256) return;
    double per = (double)ns / (double)n;
    gc->ns_per_obj = gc->ns_per_obj > 0 ? 0.75 * gc->ns_per_obj + 0.25 * per : per;
}

/* A whole (not incremental) collection, collect_lock and mut_lock held,
 * gc->lock not held. */
static lle_result_t collect_now(lle__gc_t *gc, bool full, size_t *freed_out)
{
    uint64_t t0 = lle__now_ns();
    pthread_mutex_lock(&gc->lock);
    lle__obj_t *drop = NULL;
    if (gc->inc_phase != LLE__INC_NONE) {
        inc_abandon_locked(gc);
        drop = take_deferred_locked(gc);
    }
    if (gc->cfg.strategy != LLE_GC_GENERATIONAL) full = true;
    /* n: the objects examined.  A full collection examines the dirty
     * closure of the whole heap (made old first), a young one the young
     * generation. */
    size_t n = 0;
    lle_result_t r;
    if (full) {
        promote_locked(gc);
        r = gc->gen[0].n ? LLE_ERROR_OUT_OF_MEMORY   /* promotion failed */
                         : scan_dirty(gc, &n);
        if (r == LLE_SUCCESS) gc->st.full_examined += n;
    } else {
        n = gc->gen[0].n;
        r = scan_set(gc, gc->gen[0].objs, n, LLE__GEN_YOUNG);
    }
    size_t ng = gc->list_n;
    if (r == LLE_SUCCESS) {
        if (full) {
            gc->old_at_full = gc->gen[1].n;
            gc->bytes_since_full = 0;
            gc->created_since_full = 0;
            gc->last_full_ns = t0;
        } else {
            promote_locked(gc);
        }
        gc->destroying = true;
        gc->destroyer = pthread_self();
    } else {
        gc->st.abandoned++;
    }
    pthread_mutex_unlock(&gc->lock);
    free_deferred(gc, drop);
    if (r != LLE_SUCCESS) {
        if (r == LLE_ERROR_OUT_OF_MEMORY)
            lle__report(gc->m, r, -1, 0, NULL,
                        "collector: its work arrays could not grow; collection abandoned");
        return r;
    }
    uint64_t bytes = 0, resurrected = 0;
    size_t freed = destroy_list(gc, gc->list, ng, &bytes, &resurrected);
    size_t compacted = 0;
    if (full && gc->cfg.strategy == LLE_GC_MARK_SWEEP_COMPACT)
        compacted = lle__pools_trim(gc->m, false, atomic_load(&gc->pool));
    uint64_t ns = lle__now_ns() - t0;

    pthread_mutex_lock(&gc->lock);
    gc->destroying = false;
    lle_gc_stats_t *s = &gc->st;
    if (full) s->full_collections++;
    else s->young_collections++;
    s->objects_freed += freed;
    s->bytes_freed += bytes;
    s->resurrected += resurrected;
    s->compacted_bytes += compacted;
    note_pause(gc, ns);
    /* A full collection's time is mostly its read of every object, not the
     * cost of the set it examined: only young collections teach the
     * estimate that sizes incremental steps. */
    if (!full) learn_cost(gc, ns, n);
    pthread_mutex_unlock(&gc->lock);
    if (freed_out) *freed_out = freed;
    return LLE_SUCCESS;
}

void lle__gc_after_new(lle__gc_t *gc)
{
    if (!atomic_load_explicit(&gc->young_due, memory_order_relaxed) ||
        !atomic_load_explicit(&gc->young_in_alloc, memory_order_relaxed))
        return;
    /* Never wait here: another thread collecting, this thread inside a
     * destroy callback, or holding lle_gc_lock, all mean "not now". */
    if (pthread_mutex_trylock(&gc->collect_lock)) return;
    if (pthread_mutex_trylock(&gc->mut_lock)) {
        pthread_mutex_unlock(&gc->collect_lock);
        return;
    }
    pthread_mutex_lock(&gc->lock);
    bool go = gc->inc_phase == LLE__INC_NONE && gc->gen[0].n >= gc->cfg.young_threshold;
    pthread_mutex_unlock(&gc->lock);
    if (go) (void)collect_now(gc, false, NULL);
    pthread_mutex_unlock(&gc->mut_lock);
    pthread_mutex_unlock(&gc->collect_lock);
}

/* Take collect_lock and mut_lock, unless this thread runs a collection's
 * destroy callbacks. */
static lle_result_t enter_collector(lle__gc_t *gc)
{
    pthread_mutex_lock(&gc->lock);
    bool nested = gc->destroying && pthread_equal(gc->destroyer, pthread_self());
    pthread_mutex_unlock(&gc->lock);
    if (nested) return LLE_ERROR_INVALID_STATE;
    pthread_mutex_lock(&gc->collect_lock);
    pthread_mutex_lock(&gc->mut_lock);
    return LLE_SUCCESS;
}

static void leave_collector(lle__gc_t *gc)
{
    pthread_mutex_unlock(&gc->mut_lock);
    pthread_mutex_unlock(&gc->collect_lock);
}

lle_result_t lle_gc_collect(lle_memory_manager_t *m, lle_gc_scope_t scope, size_t *freed)
{
    if (freed) *freed = 0;
    if (!m) return LLE_ERROR_NULL_PARAMETER;
    if (scope != LLE_GC_YOUNG && scope != LLE_GC_FULL) return LLE_ERROR_INVALID_ARGUMENT;
    if (lle_memory_get_state(m) == LLE_MEMORY_STATE_SHUTDOWN) return LLE_ERROR_INVALID_STATE;
    lle__gc_t *gc = m->gc;
    lle_result_t r = enter_collector(gc);
    if (r != LLE_SUCCESS) {
        lle__report(m, r, -1, 0, NULL,
                    "lle_gc_collect called from a destroy callback during a collection");
        return r;
    }
    r = collect_now(gc, scope == LLE_GC_FULL, freed);
    leave_collector(gc);
    return r;
}

lle_result_t lle__gc_collect_full(lle_memory_manager_t *m, size_t *freed)
{
    lle__gc_t *gc = m->gc;
    lle_result_t r = enter_collector(gc);
    if (r != LLE_SUCCESS) return r;
    r = collect_now(gc, true, freed);
    leave_collector(gc);
    return r;
}

void lle_gc_lock(lle_memory_manager_t *m)
{
    if (m) pthread_mutex_lock(&m->gc->mut_lock);
}

void lle_gc_unlock(lle_memory_manager_t *m)
{
    if (m) pthread_mutex_unlock(&m->gc->mut_lock);
}

/* ---- what is due ---------------------------------------------------------- */

/* 0 nothing, 1 young, 2 full (gc->lock held).  with_pool: also look at the
 * object pool's utilisation (takes the pool's locks). */
static int due_locked(lle__gc_t *gc, uint64_t now, bool with_pool)
{
    const lle_gc_config_t *c = &gc->cfg;
    size_t young = gc->gen[0].n, old = gc->gen[1].n;
    if (!young && !old) return 0;
    bool gen = c->strategy == LLE_GC_GENERATIONAL;
    if (gen) {
        size_t base = gc->old_at_full > c->young_threshold ? gc->old_at_full : c->young_threshold;
        if (old > gc->old_at_full && (old - gc->old_at_full) * 100 >= base * c->old_growth_percent)
            return 2;
    } else {
        size_t base = gc->old_at_full > c->young_threshold ? gc->old_at_full : c->young_threshold;
        if (gc->created_since_full >= c->young_threshold &&
            (young + old > gc->old_at_full ? young + old - gc->old_at_full : 0) * 100 >=
                base * c->old_growth_percent)
            return 2;
    }
    if (c->trigger_bytes && gc->bytes_since_full >= c->trigger_bytes) return 2;
    if (c->trigger_interval_ms && gc->created_since_full &&
        now - gc->last_full_ns >= c->trigger_interval_ms * 1000000u)
        return 2;
    if (with_pool && c->trigger_utilization > 0 && gc->created_since_full) {
        int pool = atomic_load_explicit(&gc->pool, memory_order_relaxed);
        size_t slab = atomic_load_explicit(&gc->m->pools[pool].slab_bytes_atomic,
                                           memory_order_relaxed);
        if (slab >= ((size_t)1 << 20) &&
            (double)lle__pool_slab_live(gc->m, pool) < c->trigger_utilization * (double)slab)
            return 2;
    }
    if (young >= c->young_threshold) return gen ? 1 : 2;
    return 0;
}

int lle_gc_due(lle_memory_manager_t *m)
{
    if (!m) return 0;
    lle__gc_t *gc = m->gc;
    pthread_mutex_lock(&gc->lock);
    int d = gc->inc_phase != LLE__INC_NONE ? 2 : due_locked(gc, lle__now_ns(), true);
    pthread_mutex_unlock(&gc->lock);
    return d;
}

/* ---- incremental full collection ------------------------------------------ */

static inline bool stamped(const lle__gc_t *gc, const lle__obj_t *o)
{
    return (o->scratch >> 32) == ((STAMP >> 32) | gc->inc_epoch);
}

static inline void stamp(lle__gc_t *gc, lle__obj_t *o)
{
    if (stamped(gc, o)) return;
    uint64_t c = LLE__RC_COUNT(atomic_load_explicit(&o->rc, memory_order_relaxed));
    if (c == 0) c = 1;
    if (c > REFS_MASK) c = REFS_MASK;
    o->scratch = STAMP | ((uint64_t)gc->inc_epoch << 32) | c;
}

/* The next tracked object of the heap walk, NULL at its end.  The arrays
 * change between steps; an object may be seen twice or not at all, which
 * only changes the candidates, never what VERIFY decides. */
static lle__obj_t *cursor_next(lle__gc_t *gc)
{
    while (gc->inc_gen < 2) {
        lle__gen_t *g = &gc->gen[gc->inc_gen];
        if (gc->inc_idx < g->n) return g->objs[gc->inc_idx++];
        gc->inc_gen++;
        gc->inc_idx = 0;
    }
    return NULL;
}

static void cursor_reset(lle__gc_t *gc)
{
    gc->inc_gen = 0;
    gc->inc_idx = 0;
}

/* The tracked object a traverse callback reported to an incremental
 * phase; NULL for none, an untracked object, or a bad pointer (noted). */
static inline lle__obj_t *inc_child(visit_ctx_t *c, void *child)
{
    lle__obj_t *co = checked_child(c, child);
    return co && co->gen != LLE__GEN_NONE ? co : NULL;
}

static void visit_inc_sub(void *child, void *arg)
{
    visit_ctx_t *c = arg;
    lle__obj_t *co = inc_child(c, child);
    if (!co) return;
    stamp(c->gc, co);
    if (co->scratch & REFS_MASK) co->scratch--;
}

static bool push(lle__gc_t *gc, visit_ctx_t *c, lle__obj_t *o)
{
    if (gc->stack_n == gc->stack_cap &&
        !grow_arr(gc, (void **)&gc->stack, &gc->stack_cap, gc->stack_n + 1, sizeof *gc->stack)) {
        c->oom = true;
        return false;
    }
    gc->stack[gc->stack_n++] = o;
    return true;
}

static void visit_inc_mark(void *child, void *arg)
{
    visit_ctx_t *c = arg;
    lle__obj_t *co = inc_child(c, child);
    if (!co || !stamped(c->gc, co) || (co->scratch & REACHED)) return;
    co->scratch |= REACHED;
    push(c->gc, c, co);
}

static bool cand_add(lle__gc_t *gc, visit_ctx_t *c, lle__obj_t *o, bool first)
{
    if (gc->cand_n == gc->cand_cap &&
        !grow_arr(gc, (void **)&gc->cand, &gc->cand_cap, gc->cand_n + 1, sizeof *gc->cand)) {
        c->oom = true;
        return false;
    }
    gc->cand[gc->cand_n++] = (uintptr_t)o | (first ? 1u : 0u);
    return true;
}

static void visit_inc_gather(void *child, void *arg)
{
    visit_ctx_t *c = arg;
    lle__obj_t *co = inc_child(c, child);
    if (!co || !stamped(c->gc, co) || (co->scratch & (REACHED | GATHERED))) return;
    co->scratch |= GATHERED;
    if (cand_add(c->gc, c, co, false)) push(c->gc, c, co);
}

/* Pop and traverse until the stack is empty or the deadline passed; false
 * when the deadline passed first. */
static bool drain_inc(lle__gc_t *gc, visit_ctx_t *c, lle_visit_fn visit, uint64_t deadline)
{
    unsigned k = 0;
    while (gc->stack_n && !c->bad && !c->oom) {
        lle__obj_t *p = gc->stack[--gc->stack_n];
        if (p->gen == LLE__GEN_NONE) continue;   /* died since it was pushed */
        c->parent = p;
        p->type->traverse(lle__obj_payload(p), visit, c);
        if (++k % CLOCK_EVERY == 0 && lle__now_ns() >= deadline) return false;
    }
    return true;
}

/* Collected candidates of one VERIFY step: gc->lock held on entry and on
 * return (dropped while destroy callbacks run).  Returns false when the
 * deadline leaves no room for the next group. */
static bool verify_step(lle__gc_t *gc, uint64_t deadline, bool fresh, size_t *freed_out,
                        lle_result_t *err)
{
    uint64_t now = lle__now_ns();
    double per = gc->ns_per_obj > 0 ? gc->ns_per_obj : 100.0;
    double room = now < deadline ? (double)(deadline - now) * 0.8 / per : 0;
    /* Whole groups that fit; a first group larger than any budget is taken
     * when the call has done nothing else yet. */
    size_t j = gc->inc_verify, end = j;
    while (end < gc->cand_n) {
        size_t e = end + 1;
        while (e < gc->cand_n && !(gc->cand[e] & 1)) e++;
        if ((double)(e - j) > room && !(end == j && fresh)) break;
        end = e;
        if ((double)(end - j) >= room) break;
    }
    if (end == j) return false;
    if (!grow_arr(gc, (void **)&gc->chunk, &gc->chunk_cap, end - j, sizeof *gc->chunk)) {
        *err = LLE_ERROR_OUT_OF_MEMORY;
        return false;
    }
    size_t n = 0;
    for (size_t i = j; i < end; i++) {
        lle__obj_t *o = (lle__obj_t *)(gc->cand[i] & ~(uintptr_t)1);
        if (o->gen == LLE__GEN_NONE || (o->gen & LLE__GEN_CAND)) continue;
        o->gen |= LLE__GEN_CAND;
        gc->chunk[n++] = o;
    }
    gc->inc_verify = end;
    uint64_t t0 = lle__now_ns();
    lle_result_t r = scan_set(gc, gc->chunk, n, LLE__GEN_CAND);
    for (size_t i = 0; i < n; i++) gc->chunk[i]->gen &= (uint8_t)~LLE__GEN_CAND;
    if (r != LLE_SUCCESS) {
        *err = r;
        return false;
    }
    size_t ng = gc->list_n;
    if (ng) {
        gc->destroying = true;
        gc->destroyer = pthread_self();
        pthread_mutex_unlock(&gc->lock);
        uint64_t bytes = 0, resurrected = 0;
        size_t freed = destroy_list(gc, gc->list, ng, &bytes, &resurrected);
        pthread_mutex_lock(&gc->lock);
        gc->destroying = false;
        gc->st.objects_freed += freed;
        gc->st.bytes_freed += bytes;
        gc->st.resurrected += resurrected;
        *freed_out += freed;
    }
    learn_cost(gc, lle__now_ns() - t0, n);
    return true;
}

/* Work on the incremental collection until the deadline or its end
 * (gc->lock held).  Returns the deferred objects to free when it ended. */
static lle__obj_t *inc_work(lle__gc_t *gc, uint64_t deadline, bool fresh, size_t *freed,
                            lle_idle_report_t *rep)
{
    visit_ctx_t c = {.gc = gc, .leaf_key = UINTPTR_MAX};
    lle_result_t err = LLE_SUCCESS;
    bool completed = false;
    unsigned k = 0;
    uint64_t t0 = lle__now_ns();
    while (gc->inc_phase != LLE__INC_NONE && !c.bad && !c.oom && err == LLE_SUCCESS) {
        if (gc->inc_phase == LLE__INC_SCAN) {
            lle__obj_t *o = cursor_next(gc);
            if (!o) {
                gc->inc_phase = LLE__INC_MARK;
                cursor_reset(gc);
                continue;
            }
            stamp(gc, o);
            c.parent = o;
            o->type->traverse(lle__obj_payload(o), visit_inc_sub, &c);
        } else if (gc->inc_phase == LLE__INC_MARK || gc->inc_phase == LLE__INC_GATHER) {
            bool mark = gc->inc_phase == LLE__INC_MARK;
            if (!drain_inc(gc, &c, mark ? visit_inc_mark : visit_inc_gather, deadline)) break;
            if (c.bad || c.oom) break;
            lle__obj_t *o = cursor_next(gc);
            if (!o) {
                gc->inc_phase = mark ? LLE__INC_GATHER : LLE__INC_VERIFY;
                cursor_reset(gc);
                continue;
            }
            if (!stamped(gc, o)) continue;
            if (mark) {
                if ((o->scratch & REFS_MASK) && !(o->scratch & REACHED)) {
                    o->scratch |= REACHED;
                    push(gc, &c, o);
                }
            } else if (!(o->scratch & (REACHED | GATHERED))) {
                o->scratch |= GATHERED;
                if (cand_add(gc, &c, o, true)) push(gc, &c, o);
            }
        } else {   /* VERIFY */
            if (gc->inc_verify >= gc->cand_n) {
                gc->inc_phase = LLE__INC_NONE;
                completed = true;
                break;
            }
            if (!verify_step(gc, deadline, fresh && k == 0, freed, &err)) break;
            k = CLOCK_EVERY - 1;   /* look at the clock now */
        }
        if (++k % CLOCK_EVERY == 0 && lle__now_ns() >= deadline) break;
    }
    uint64_t ns = lle__now_ns() - t0;
    gc->st.incremental_steps++;
    note_pause(gc, ns);
    if (rep) rep->gc_steps++;
    lle__obj_t *drop = NULL;
    if (c.bad || c.oom || err != LLE_SUCCESS) {
        if (c.bad) report_bad(gc, &c);
        else if (c.oom || err == LLE_ERROR_OUT_OF_MEMORY)
            lle__report(gc->m, LLE_ERROR_OUT_OF_MEMORY, -1, 0, NULL,
                        "collector: its work arrays could not grow; collection abandoned");
        gc->st.abandoned++;
        inc_abandon_locked(gc);
        drop = take_deferred_locked(gc);
    } else if (completed) {
        /* Finished: it counts as one full collection, after which every
         * object is old (those created meanwhile go to the next one). */
        promote_locked(gc);
        gc->st.full_collections++;
        gc->old_at_full = gc->gen[1].n;
        gc->bytes_since_full = 0;
        gc->created_since_full = 0;
        gc->last_full_ns = gc->inc_started_ns;
        gc->cand_n = 0;
        gc->inc_verify = 0;
        drop = take_deferred_locked(gc);
    }
    return drop;
}

void lle__gc_idle(lle__gc_t *gc, uint64_t deadline, lle_idle_report_t *rep)
{
    if (pthread_mutex_trylock(&gc->collect_lock)) {
        if (rep) rep->work_left = true;   /* another thread is collecting */
        return;
    }
    pthread_mutex_lock(&gc->mut_lock);
    uint64_t start = lle__now_ns();
    bool fresh = true;
    for (;;) {
        uint64_t now = lle__now_ns();
        pthread_mutex_lock(&gc->lock);
        int due = gc->inc_phase != LLE__INC_NONE ? 3 : due_locked(gc, now, true);
        if (!due) {
            pthread_mutex_unlock(&gc->lock);
            break;
        }
        if (now >= deadline) {
            pthread_mutex_unlock(&gc->lock);
            if (rep) rep->work_left = true;
            break;
        }
        if (due != 3) {
            bool full = due == 2 || gc->cfg.strategy != LLE_GC_GENERATIONAL;
            size_t n = full ? gc->gen[0].n + gc->gen[1].n : gc->gen[0].n;
            double per = gc->ns_per_obj > 0 ? gc->ns_per_obj : 100.0;
            double est = (double)n * per;
            if ((double)now + est <= (double)deadline) {
                pthread_mutex_unlock(&gc->lock);
                size_t f = 0;
                if (collect_now(gc, full, &f) != LLE_SUCCESS) break;
                if (rep) {
                    rep->gc_steps++;
                    rep->objects_freed += f;
                }
                fresh = false;
                continue;
            }
            if (!full && est <= (double)(deadline - start)) {
                /* A young collection that fits a budget, not what is left. */
                pthread_mutex_unlock(&gc->lock);
                if (rep) rep->work_left = true;
                break;
            }
            /* Too large for any step: collect everything incrementally. */
            gc->inc_phase = LLE__INC_SCAN;
            gc->inc_epoch = (gc->inc_epoch + 1) & 0x3fffffff;
            if (!gc->inc_epoch) gc->inc_epoch = 1;
            cursor_reset(gc);
            gc->stack_n = 0;
            gc->cand_n = 0;
            gc->inc_verify = 0;
            gc->inc_started_ns = now;
        }
        size_t f = 0;
        lle__obj_t *drop = inc_work(gc, deadline, fresh, &f, rep);
        bool ended = gc->inc_phase == LLE__INC_NONE;
        pthread_mutex_unlock(&gc->lock);
        free_deferred(gc, drop);
        if (rep) rep->objects_freed += f;
        fresh = false;
        if (!ended) {
            if (rep) rep->work_left = true;
            break;
        }
    }
    pthread_mutex_unlock(&gc->mut_lock);
    pthread_mutex_unlock(&gc->collect_lock);
}

/* ---- configuration, statistics, life ---------------------------------------- */

void lle_gc_config_default(lle_gc_config_t *cfg)
{
    if (!cfg) return;
    memset(cfg, 0, sizeof *cfg);
    cfg->strategy = LLE_GC_GENERATIONAL;
    cfg->young_threshold = 2000;
    cfg->young_in_alloc = true;
    cfg->old_growth_percent = 25;
    cfg->trigger_bytes = (size_t)8 << 20;
    cfg->trigger_utilization = 0.5;
    cfg->trigger_interval_ms = 0;
    cfg->background = false;
    cfg->background_period_ms = 100;
    cfg->background_budget_us = 1000;
    cfg->pool = LLE_POOL_CUSTOM;
}

lle_result_t lle__gc_set_config(lle__gc_t *gc, const lle_gc_config_t *cfg)
{
    if ((unsigned)cfg->strategy >= LLE_GC_STRATEGY_COUNT || cfg->young_threshold < 16 ||
        cfg->old_growth_percent < 1 || cfg->old_growth_percent > 1000 ||
        !(cfg->trigger_utilization >= 0 && cfg->trigger_utilization < 1) ||
        (unsigned)cfg->pool >= LLE_POOL_COUNT || cfg->background_period_ms < 1 ||
        cfg->background_period_ms > 3600000 || cfg->background_budget_us < 10 ||
        cfg->background_budget_us > 1000000)
        return LLE_ERROR_INVALID_ARGUMENT;
    pthread_mutex_lock(&gc->lock);
    if (cfg->pool != gc->cfg.pool &&
        atomic_load_explicit(&gc->live_objects, memory_order_relaxed) != 0) {
        pthread_mutex_unlock(&gc->lock);
        return LLE_ERROR_INVALID_ARGUMENT;
    }
    gc->cfg = *cfg;
    atomic_store_explicit(&gc->pool, (int)cfg->pool, memory_order_relaxed);
    atomic_store_explicit(&gc->young_in_alloc, cfg->young_in_alloc, memory_order_relaxed);
    atomic_store_explicit(&gc->young_due, gc->gen[0].n >= cfg->young_threshold,
                          memory_order_relaxed);
    pthread_mutex_unlock(&gc->lock);
    return LLE_SUCCESS;
}

lle_result_t lle_gc_get_stats(lle_memory_manager_t *m, lle_gc_stats_t *out)
{
    if (!m || !out) return LLE_ERROR_NULL_PARAMETER;
    lle__gc_t *gc = m->gc;
    pthread_mutex_lock(&gc->lock);
    *out = gc->st;
    out->young_objects = gc->gen[0].n;
    out->old_objects = gc->gen[1].n;
    pthread_mutex_unlock(&gc->lock);
    out->invalid_references = atomic_load_explicit(&gc->invalid_refs, memory_order_relaxed);
    out->live_objects = atomic_load_explicit(&gc->live_objects, memory_order_relaxed);
    out->live_bytes = atomic_load_explicit(&gc->live_bytes, memory_order_relaxed);
    out->objects_created = atomic_load_explicit(&gc->created, memory_order_relaxed);
    out->collections = out->young_collections + out->full_collections;
    uint64_t count = out->young_collections + out->full_collections + out->incremental_steps;
    out->average_pause_ns = count ? out->total_pause_ns / count : 0;
    return LLE_SUCCESS;
}

lle_result_t lle__gc_init(lle_memory_manager_t *m)
{
    lle__gc_t *gc = lle__host_alloc(m, sizeof *gc, 64, true);
    if (!gc) return LLE_ERROR_OUT_OF_MEMORY;
    memset(gc, 0, sizeof *gc);
    gc->m = m;
    lle_gc_config_default(&gc->cfg);
    atomic_init(&gc->pool, (int)gc->cfg.pool);
    atomic_init(&gc->young_in_alloc, gc->cfg.young_in_alloc);
    atomic_init(&gc->young_due, false);
    pthread_mutex_init(&gc->collect_lock, NULL);
    pthread_mutex_init(&gc->mut_lock, NULL);
    pthread_mutex_init(&gc->lock, NULL);
    for (int i = 0; i < LLE__WEAK_STRIPES; i++) pthread_mutex_init(&gc->weak_lock[i], NULL);
    gc->last_full_ns = lle__now_ns();
    m->gc = gc;
    return LLE_SUCCESS;
}

void lle__gc_release(lle_memory_manager_t *m)
{
    lle__gc_t *gc = m->gc;
    if (!gc) return;
    pthread_mutex_lock(&gc->lock);
    inc_abandon_locked(gc);
    lle__obj_t *drop = take_deferred_locked(gc);
    pthread_mutex_unlock(&gc->lock);
    free_deferred(gc, drop);
    for (int g = 0; g < 2; g++) {
        free_arr(gc, (void **)&gc->gen[g].objs, &gc->gen[g].cap, sizeof(lle__obj_t *));
        gc->gen[g].n = 0;
    }
    free_arr(gc, (void **)&gc->stack, &gc->stack_cap, sizeof *gc->stack);
    free_arr(gc, (void **)&gc->list, &gc->list_cap, sizeof *gc->list);
    free_arr(gc, (void **)&gc->cand, &gc->cand_cap, sizeof *gc->cand);
    free_arr(gc, (void **)&gc->chunk, &gc->chunk_cap, sizeof *gc->chunk);
    gc->stack_n = gc->list_n = gc->cand_n = 0;
}

void lle__gc_fini(lle_memory_manager_t *m)
{
    lle__gc_t *gc = m->gc;
    if (!gc) return;
    lle__gc_release(m);
    for (int i = 0; i < LLE__WEAK_STRIPES; i++) pthread_mutex_destroy(&gc->weak_lock[i]);
    pthread_mutex_destroy(&gc->lock);
    pthread_mutex_destroy(&gc->mut_lock);
    pthread_mutex_destroy(&gc->collect_lock);
    lle__host_free(m, gc, sizeof *gc, true);
    m->gc = NULL;
}
