/*
 * internal.h - structures shared by the library's modules (never installed).
 *
 * Design in one page
 * ------------------
 * Memory comes from the host in *slabs*: 16 KiB to 512 KiB, aligned to the
 * 16 KiB *granule*.  A slab serves one size class of one pool and is sized
 * for it (at least 8 blocks, at least 16 KiB, at most the pool's block
 * size), so a class used a little costs little; each further slab a heap
 * takes for the same class is twice its last, so a busy class lives in few
 * slabs.  A slab's header
 * (lle__slab_t) lives outside it, so a block overflow can never corrupt
 * allocator metadata, and a slab can later be a guarded or locked mapping
 * without changing the block layout.
 *
 * Pointer -> slab is a two-level map over granule numbers (pagemap.c): a
 * flat root, then a leaf, two dependent loads, no lock.  A pointer the map does
 * not know is checked against the large-block table and the emergency
 * reserve, and is otherwise invalid: nothing is ever handed to the host that
 * the host did not give us.
 *
 * Each thread that allocates from a manager gets a *heap* (lle__heap_t) that
 * owns slabs outright.  Allocation pops the owning heap's free list of the
 * current slab of its (pool, class) bin: no lock, no atomic read-modify-write.
 * A free on the owning thread pushes back the same way.  A free from another
 * thread marks the block REMOTE (compare-and-swap of its state byte) and
 * pushes it on the slab's atomic thread_free list; the owner collects those
 * when its bin runs dry.  A heap whose thread exits is parked and adopted by
 * the next thread that needs one, with its slabs and pending remote frees.
 *
 * Every block has a state byte in its slab's header - FREE, LIVE, or REMOTE
 * while a free from another thread is pending (pool_internal.h) - written by
 * the owner with plain atomic stores and by other threads by CAS.  A free
 * is valid only of a LIVE block, which is how double frees are caught
 * without touching the block's memory.  A slab has state bytes for the
 * blocks of the class it was made for (the pool's initial slabs, for
 * 16-byte blocks), and an empty slab goes only to a class that fits.
 *
 * Pools (lle__pool_t) hold the slabs that are not assigned to a heap bin
 * (empty ones), count what they hold, and decide growth and shrinking under
 * their own mutex.  They are touched only on slow paths.
 *
 * Lock order: pool->lock, then m->heaps_lock, then m->map_lock /
 * m->large_lock / m->emerg_lock.  No callback is called with a lock held.
 *
 * Room for what comes next: the fast path reaches a pool's bins only
 * through the manager's bin_off row for the pool (above 4 KiB, through the
 * pool's small_max and remap table), so a pool switched to a debugging mode
 * (canaries, poisoning, quarantine, call-site records, guard pages) can
 * point its row at the heap's `none` bin and have every allocation take
 * the generic path, at no cost to the other pools.  Slab memory and slab
 * headers are separate and slabs are made in one place (slab_new in
 * pool.c), so a secure pool can take locked, guarded mappings instead of
 * host memory without a change to the block layout.
 */
#ifndef LLE_INTERNAL_H
#define LLE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lle/memory.h"

#define LLE__HIDDEN __attribute__((visibility("hidden")))
#define lle_likely(x) __builtin_expect(!!(x), 1)
#define lle_unlikely(x) __builtin_expect(!!(x), 0)
#define LLE__NOINLINE __attribute__((noinline))
#define LLE__COLD __attribute__((cold))

/* ---- sizes ------------------------------------------------------------- */

#define LLE__GRANULE_SHIFT 14
#define LLE__GRANULE ((size_t)1 << LLE__GRANULE_SHIFT)
#define LLE__MIN_SLAB LLE__GRANULE
#define LLE__MAX_SLAB ((size_t)512 * 1024)
/* Slab sizes are the powers of two from 16 KiB to 512 KiB: six tiers. */
#define LLE__NTIERS 6
static inline unsigned lle__tier_of(size_t slab_bytes)
{
    return (unsigned)__builtin_ctzll((unsigned long long)slab_bytes) - LLE__GRANULE_SHIFT;
}
#define LLE__MIN_ALIGN ((size_t)16)
#define LLE__PAGE ((size_t)4096)
#define LLE__NPOOLS LLE_POOL_TABLE_SIZE
/* Size classes: 16..128 by 16, then 8 classes per doubling up to 64 KiB. */
#define LLE__NCLASSES 80
/* Requests of up to LLE__TABLE_MAX bytes find their bin through the
 * manager's bin_off table, by (n + 15) >> 4. */
#define LLE__TABLE_MAX 4096
#define LLE__SMALL_TABLE (LLE__TABLE_MAX / 16 + 1)
#define LLE__SMALL_ROW 512    /* a row of the manager's bin_off table (a power of two) */
#define LLE__LARGE_HDR ((size_t)32)

/* Size of class c (c < LLE__NCLASSES). */
static inline size_t lle__class_size(unsigned c)
{
    if (c < 8) return (size_t)16 * (c + 1);
    unsigned g = (c - 8) / 8, k = (c - 8) % 8;
    size_t p = (size_t)128 << g;
    return p + (p >> 3) * (k + 1);
}

/* Class of a request of n bytes, 1 <= n <= 65536 (computed, no table). */
static inline unsigned lle__class_of(size_t n)
{
    if (n <= 128) return (unsigned)((n + 15) >> 4) - 1;
    size_t v = n - 1;
    unsigned b = 63u - (unsigned)__builtin_clzll((unsigned long long)v);
    size_t k = (v - ((size_t)1 << b)) >> (b - 3);
    return 8u + (b - 7u) * 8u + (unsigned)k;
}

/* ---- slabs ------------------------------------------------------------- */

/* DEBUG: slots of debug blocks, managed by src/debug (never owned by a heap).
 * GUARD: a region of guard-page slots mapped by src/debug itself (its
 * memory is not the host's; see lle__slab_wrap).  The pool layer hands a
 * pointer into either kind to m->dbg_ops. */
/* SECURE: a locked, guarded mapping of src/secure (its aux is that
 * module's slab descriptor); the pool layer hands a pointer into it to
 * m->sec_ops. */
enum {
    LLE__SLAB_SMALL = 1,
    LLE__SLAB_EMERGENCY = 2,
    LLE__SLAB_DEBUG = 3,
    LLE__SLAB_GUARD = 4,
    LLE__SLAB_SECURE = 5
};

typedef struct lle__heap lle__heap_t;
typedef struct lle__slab lle__slab_t;
struct lle__bin;

struct lle__slab {
    /* First cache line: everything the fast paths read (an owner's free
     * touches this line, one line of state bytes and the block). */
    char        *start;       /* first block (the slab's memory, granule-aligned) */
    void        *free;        /* local free list, linked through blocks */
    uint64_t     magic;       /* UINT64_MAX / bsize + 1: index and divisibility by one multiply */
    uint32_t     bsize;       /* block size of the class */
    uint32_t     capacity;    /* blocks in the slab for this class */
    /* Live blocks as the owner knows them, +1 while the bin's current slab,
     * + LLE__IN_FULL while on the bin's full list: a free needs the slow
     * path exactly when it leaves `used` at 0 or at LLE__IN_FULL and above,
     * which one compare tells (lle__slab_free_count). */
    uint32_t     used;
    uint8_t      pool;
    uint8_t      cls;
    uint8_t      kind;
    uint8_t      dlayout;     /* DEBUG: its slot layout (src/debug) */
    struct lle__bin *bin;     /* the owner's bin while assigned */
    _Atomic(lle__heap_t *) owner; /* NULL while in the pool */
    struct lle__dheap *dheap; /* DEBUG: the debug heap whose slab it is (src/debug) */
    /* Owner-side slow-path fields. */
    char        *carve;       /* next never-used block */
    char        *carve_end;   /* end of the last whole block */
    lle__slab_t *next, *prev; /* bin list or pool empty list */
    size_t       bytes;       /* slab size */
    void        *aux;         /* EMERGENCY: its lle__emerg_t; DEBUG: its slot lead (src/debug) */
    size_t       tail;        /* bytes of bits[] after the header (see below) */
    uint32_t     hint;        /* DEBUG: its first never-used slot */
    /* Written by other threads: a line of their own. */
    _Alignas(64) _Atomic(void *) thread_free;  /* blocks freed by other threads */
    _Atomic(lle__slab_t *)  remote_next;  /* link in owner->remote_slabs */
    /* SMALL: `tail` state bytes, one a block (lle__slab_state), enough for
     * every class the slab may serve; DEBUG: src/debug's bitmap words. */
    _Alignas(64) _Atomic uint64_t bits[];
};

/* Whether s belongs to src/debug (debug blocks or guard-page slots). */
static inline bool lle__slab_is_debug(const lle__slab_t *s)
{
    return s->kind == LLE__SLAB_DEBUG || s->kind == LLE__SLAB_GUARD;
}

/* Doubly linked slab lists (a bin's avail/full lists, debug bins). */
static inline void lle__slab_list_push(lle__slab_t **head, lle__slab_t *s)
{
    s->prev = NULL;
    s->next = *head;
    if (*head) (*head)->prev = s;
    *head = s;
}

static inline void lle__slab_list_unlink(lle__slab_t **head, lle__slab_t *s)
{
    if (s->prev) s->prev->next = s->next;
    else *head = s->next;
    if (s->next) s->next->prev = s->prev;
    s->next = s->prev = NULL;
}

/* A bin: the slabs of one (pool, class) owned by one heap, and its
 * counters.  Counters are written only by the owning thread with a relaxed
 * load + store (no lock prefix) and read by anyone; bytes are derived from
 * the counts and the class size.  An allocation adds to one word, `acct`:
 * its count in bits 40-63 and the bytes asked for in bits 0-39.  A request
 * served from a slab is at most 64 KiB, so the bytes of 2^23 allocations
 * stay below bit 40; when the count reaches 2^23 (bit 63 set) the owner
 * folds the word into `allocs` and `requested` (bin_fold in alloc.c).
 *
 * The same test samples allocations for guard pages at no cost to the fast
 * path: a bin of a pool that samples one allocation in N is *armed* by
 * starting its count at 2^23 - k (k random, N on average), so the fold
 * comes with the k-th allocation, which bin_fold serves from a guard page.
 * The start (the bias) is kept in `ctl` with a sequence number: the owner
 * makes it odd while it folds or arms, and readers retry until they see
 * the same even value on both sides of their reads (lle__bin_counts).
 *
 * A bin is one cache line: an allocation touches only it, the slab's first
 * line and the block. */
#define LLE__ACCT_SHIFT 40
#define LLE__ACCT_BYTES (((uint64_t)1 << LLE__ACCT_SHIFT) - 1)
#define LLE__CTL_BIAS ((uint32_t)0xffffff)   /* ctl bits 0-23: the bias; 24-31: sequence */
typedef struct lle__bin {
    lle__slab_t     *cur;       /* slab being allocated from (also on `avail`),
                                   LLE__NO_SLAB when none */
    _Atomic uint64_t acct;      /* allocations << 40 | bytes, not yet folded */
    _Atomic uint64_t frees;     /* blocks freed by the owning thread */
    _Atomic uint64_t allocs;    /* blocks handed out by this heap (folded) */
    _Atomic uint64_t requested; /* bytes asked for by those allocations (folded) */
    lle__slab_t     *avail;     /* slabs with free or uncarved blocks */
    lle__slab_t     *full;      /* slabs with no free block known to the owner */
    uint32_t         nslabs;    /* slabs on avail and full */
    _Atomic uint32_t ctl;       /* sequence << 24 | bias of acct's count (0: not armed) */
} __attribute__((aligned(64))) lle__bin_t;
_Static_assert(sizeof(lle__bin_t) == 64, "a bin is one cache line");

/* The "no slab" a bin's cur points to when it has none, and the page map
 * holds for a granule without a slab: its free list is empty and its
 * owner NULL, so neither the allocation nor the free fast path needs a
 * NULL test.  Never written (it is const: a stray write faults). */
LLE__HIDDEN extern const lle__slab_t lle__no_slab;
#define LLE__NO_SLAB ((lle__slab_t *)&lle__no_slab)

/* Allocations and bytes asked for of bin b (folded plus pending, less the
 * bias), read consistently with the owner's folds. */
static inline void lle__bin_counts(const lle__bin_t *b, uint64_t *allocs, uint64_t *requested)
{
    /* Acquire loads (plain loads on x86), matched by bin_settle's release
     * stores: no fence, which ThreadSanitizer could not follow. */
    for (;;) {
        uint32_t c0 = atomic_load_explicit(&b->ctl, memory_order_acquire);
        uint64_t a = atomic_load_explicit(&b->allocs, memory_order_acquire);
        uint64_t r = atomic_load_explicit(&b->requested, memory_order_acquire);
        uint64_t v = atomic_load_explicit(&b->acct, memory_order_acquire);
        if (!((c0 >> 24) & 1) && atomic_load_explicit(&b->ctl, memory_order_relaxed) == c0) {
            uint64_t pending = (v >> LLE__ACCT_SHIFT) - (c0 & LLE__CTL_BIAS);
            if (allocs) *allocs = a + pending;
            if (requested) *requested = r + (v & LLE__ACCT_BYTES);
            return;
        }
    }
}
static inline uint64_t lle__bin_allocs(const lle__bin_t *b)
{
    uint64_t a;
    lle__bin_counts(b, &a, NULL);
    return a;
}
static inline uint64_t lle__bin_requested(const lle__bin_t *b)
{
    uint64_t r;
    lle__bin_counts(b, NULL, &r);
    return r;
}

/* Sums of one pool's bin counters over every heap (heaps_lock held). */
typedef struct lle__pool_sums {
    uint64_t allocs, frees, requested, granted, freed_bytes;
} lle__pool_sums_t;

struct lle__heap {
    lle_memory_manager_t *m;
    lle__heap_t          *next_all;     /* m->heaps list */
    lle__heap_t          *next_parked;  /* m->parked list */
    _Atomic(lle__slab_t *) remote_slabs;/* slabs with pending remote frees */
    _Atomic int           parked;
    uint64_t              rng;          /* xorshift state: guard-page sampling intervals */
    struct lle__dheap    *dbg;          /* its debug blocks (src/debug), made on first use */
    /* The bin of the requests the bins do not serve (LLE__NONE_OFF): its
     * slab is LLE__NO_SLAB, so the fast path finds it dry and takes the
     * slow path, which sees the bin and routes the request. */
    lle__bin_t            none;
    lle__bin_t            bins[LLE__NPOOLS][LLE__NCLASSES];
};

/* Offset of bin (pool, cls) in a heap: what the manager's bin_off table
 * holds (LLE__NONE_OFF for "not served from a bin"). */
#define LLE__BIN_OFF(pool, cls) \
    ((uint16_t)(offsetof(lle__heap_t, bins) + \
                ((size_t)(pool) * LLE__NCLASSES + (cls)) * sizeof(lle__bin_t)))
_Static_assert(sizeof(lle__heap_t) <= UINT16_MAX, "bin offsets must fit bin_off's uint16_t");
#define LLE__NONE_OFF ((uint16_t)offsetof(lle__heap_t, none))

/* Counters one thread at a time writes (a heap's owner, the holder of a
 * lock) and anyone reads with atomic loads: a relaxed load and store, no
 * locked instruction.  lle__ctr_add is the fast paths' form for a uint64_t
 * counter: it also tells whether the sum has bit 63 set, and on x86-64 it
 * is one memory-destination add (its store is single-copy atomic, which
 * is all a reader needs; no lock prefix, since no other thread writes),
 * which the compiler does not make of an atomic load and store.  Under
 * ThreadSanitizer, which must see atomic accesses, it is the load and
 * store. */
#if defined(__SANITIZE_THREAD__)
#define LLE__CTR_PORTABLE 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LLE__CTR_PORTABLE 1
#endif
#endif
#if defined(__x86_64__) && defined(__GNUC__) && !defined(LLE__CTR_PORTABLE)
static inline bool lle__ctr_add(_Atomic uint64_t *c, uint64_t v)
{
    bool neg;
    __asm__("addq %2, %0" : "+m"(*(uint64_t *)(void *)c), "=@ccs"(neg) : "er"(v));
    return neg;
}
#else
static inline bool lle__ctr_add(_Atomic uint64_t *c, uint64_t v)
{
    uint64_t s = atomic_load_explicit(c, memory_order_relaxed) + v;
    atomic_store_explicit(c, s, memory_order_relaxed);
    return (int64_t)s < 0;
}
#endif

#define LLE__CTR_ADD(field, v) \
    atomic_store_explicit(&(field), atomic_load_explicit(&(field), memory_order_relaxed) + (v), \
                          memory_order_relaxed)
#define LLE__CTR_SUB(field, v) \
    atomic_store_explicit(&(field), atomic_load_explicit(&(field), memory_order_relaxed) - (v), \
                          memory_order_relaxed)

/* ---- pools ------------------------------------------------------------- */

#define LLE__MAX_LISTENERS 8

typedef struct lle__pool {
    pthread_mutex_t   lock;
    lle_pool_config_t cfg;
    size_t            max_slab;    /* cfg.block_size */
    unsigned          nclasses;    /* classes served from slabs: [0, nclasses) */
    uint8_t           tier[LLE__NCLASSES];         /* class -> slab size tier */
    size_t            small_max;   /* largest request served from slabs */
    uint8_t           remap[LLE__NCLASSES];        /* class -> class honouring alignment */
    /* Under lock. */
    lle__slab_t      *empty[LLE__NTIERS]; /* held, unassigned, by size */
    size_t            empty_count, empty_bytes;
    size_t            slab_count, slab_bytes; /* held: assigned + empty */
    size_t            tier_bytes[LLE__NTIERS]; /* slab_bytes by slab size */
    size_t            peak_reserved;
    uint64_t          grow_count, shrink_count, limit_hits;
    lle_resize_event_t *history;   /* ring of cfg history entries */
    size_t            history_len, history_next, history_cap;
    /* Large-block counters: written only under m->large_lock (a relaxed
     * load + store, no locked instruction), read by anyone. */
    _Atomic size_t    large_bytes;      /* host bytes of live and cached large blocks */
    _Atomic size_t    large_live;       /* live large blocks */
    _Atomic size_t    large_in_use;     /* their usable bytes */
    _Atomic size_t    large_cached;     /* host bytes of its blocks in m->lcache */
    _Atomic uint64_t  large_allocs, large_frees, large_requested, large_granted;
    /* Updated atomically (any thread). */
    _Atomic uint64_t  remote_frees, remote_freed_bytes;
    _Atomic size_t    slab_bytes_atomic; /* mirror of slab_bytes for lock-free readers */
    /* Bytes of debug slabs (src/debug) the pool holds: counted in its size
     * and limit (lle__pool_debug_reserve), under lock. */
    size_t            debug_bytes;
} lle__pool_t;

/* ---- page map ---------------------------------------------------------- */

/* Granule number -> slab in two levels: a flat root of one entry per
 * 32 MiB of the 47-bit user address space (2^22 entries, 32 MiB of address
 * space of the manager's own, of which only written pages take memory),
 * and leaves of 2^11 entries from the host.  See pagemap.c. */
#define LLE__MAP_BITS_LEAF 11
#define LLE__ADDR_BITS 47
typedef struct lle__map_leaf {
    _Atomic(lle__slab_t *) e[1u << LLE__MAP_BITS_LEAF];
    /* The manager's leaves, made first last (m->map_leaves): the root holds
     * no plain pointer to them (see map_root). */
    struct lle__map_leaf  *next;
} lle__map_leaf_t;
/* Address bits below a leaf's span: a leaf covers 2^LLE__LEAF_SPAN_SHIFT bytes. */
#define LLE__LEAF_SPAN_SHIFT (LLE__GRANULE_SHIFT + LLE__MAP_BITS_LEAF)
#define LLE__MAP_ROOT_ENTRIES ((uintptr_t)1 << (LLE__ADDR_BITS - LLE__LEAF_SPAN_SHIFT))
#define LLE__MAP_ROOT_BYTES ((size_t)LLE__MAP_ROOT_ENTRIES * sizeof(uintptr_t))
#define LLE__MAP_ROOT_PAGES (LLE__MAP_ROOT_BYTES / LLE__PAGE)

/* A leaf whose every entry is LLE__NO_SLAB (never written: it is const). */
LLE__HIDDEN extern const lle__map_leaf_t lle__empty_leaf;

/* ---- large blocks ------------------------------------------------------ */

typedef struct lle__large_hdr {
    uint64_t magic;      /* LLE__LARGE_MAGIC ^ (uintptr_t)block */
    size_t   size;       /* usable bytes */
    size_t   total;      /* bytes asked of the host */
    uint32_t offset;     /* block - host base */
    uint16_t pool;
    uint16_t align_log2;
} lle__large_hdr_t;

typedef struct lle__large_set {
    uintptr_t *keys;     /* block address | 1 when freed (tombstone of a free) */
    size_t     cap, live, freed;
} lle__large_set_t;

/* The 64 KiB spans of address space live large blocks cover: one entry
 * (span number, block) for each span a live block has bytes in, so that any
 * byte of a large block finds the block (lle__large_find_containing).
 * Linear probing by span, several entries per span (blocks start at least
 * 8 KiB apart, so a span holds bytes of nine at most).  Made by the first lookup,
 * kept up to date from then on. */
typedef struct lle__large_span_entry {
    uintptr_t span;      /* span number; 0: empty (span 0 never holds a block) */
    uintptr_t block;
} lle__large_span_entry_t;
typedef struct lle__large_spans {
    lle__large_span_entry_t *e;
    size_t                  cap, used;
    bool                    on;   /* made (the first lookup made it) */
} lle__large_spans_t;

/* Large blocks of up to LLE__LCACHE_MAX usable bytes (alignment 16) are
 * rounded up to their size class and may be cached when freed. */
#define LLE__LCACHE_MAX ((size_t)256 * 1024)
#define LLE__LCACHE_CLASSES 96              /* lle__class_of(LLE__LCACHE_MAX) + 1 */
/* Low bits of a large-set key: a freed block (tombstone), a cached block. */
#define LLE__LARGE_FREED ((uintptr_t)1)
#define LLE__LARGE_CACHED ((uintptr_t)2)

/* ---- emergency reserve -------------------------------------------------- */

#define LLE__EMERG_UNIT ((size_t)64)
#define LLE__EMERG_INNER 0x80000000u

typedef struct lle__emerg {
    lle__slab_t *slab;       /* registered in the page map, kind EMERGENCY */
    size_t       units;
    size_t       used_units;
    size_t       live;       /* live blocks */
    uint64_t    *used;       /* 1 bit a unit */
    uint32_t    *run;        /* at a block's first unit: its length in units; at
                                its other units LLE__EMERG_INNER | the distance
                                back to the first; 0 at free units */
    struct lle__emerg *next; /* retired regions waiting to drain */
} lle__emerg_t;

/* ---- debug blocks --------------------------------------------------------- */

/* What the pool layer asks of the debug allocator (src/debug installs it,
 * so the pools never call up into a higher layer).  Sites: `site` when the
 * caller named one, else the caller's return address `pc`. */
typedef struct lle__dbg_ops {
    /* A debug block of pool `pool`; NULL (nothing reported) when it cannot:
     * the caller then serves an ordinary block. */
    void *(*alloc)(lle_memory_manager_t *m, int pool, size_t n, size_t align,
                   const lle_site_t *site, const void *pc);
    /* Free / resize p, a pointer into debug slab s. */
    lle_result_t (*free)(lle_memory_manager_t *m, lle__slab_t *s, void *p, const lle_site_t *site,
                         const void *pc);
    void *(*realloc)(lle_memory_manager_t *m, lle__slab_t *s, void *p, size_t n,
                     const lle_site_t *site, const void *pc);
    /* The block of s holding p (anywhere inside it); see lle_block_query. */
    lle_result_t (*query)(lle_memory_manager_t *m, lle__slab_t *s, const void *p,
                          lle_block_info_t *out);
    /* A sampled allocation of an ordinary pool (m->guard_every): a block
     * on guard pages, or NULL (nothing reported) when none can be had. */
    void *(*sample)(lle_memory_manager_t *m, int pool, size_t n, size_t align, const void *pc);
} lle__dbg_ops_t;

/* What the pool layer asks of the secure pool (src/secure installs it
 * with its first slab) about a pointer into secure slab s. */
typedef struct lle__sec_ops {
    lle_result_t (*free)(lle_memory_manager_t *m, lle__slab_t *s, void *p);
    /* lle_pool_realloc of a secure block: a secure block again (the old
     * copy wiped); n == 0 frees it. */
    void *(*realloc)(lle_memory_manager_t *m, lle__slab_t *s, void *p, size_t n);
    lle_result_t (*query)(lle_memory_manager_t *m, lle__slab_t *s, const void *p,
                          lle_block_info_t *out);
} lle__sec_ops_t;
/* m->sec_ops, set before the first secure slab is in the page map. */
#define lle__sec_ops(m) atomic_load_explicit(&(m)->sec_ops, memory_order_acquire)

/* What the statistics ask of the debug allocator about one typed pool. */
typedef struct lle__dbg_pool_stats {
    uint64_t allocs, frees, requested;
    size_t   live_blocks, live_bytes, slab_bytes, quarantined_blocks, quarantined_bytes, kept;
    size_t   guarded_blocks;   /* of live_blocks, on guard pages */
} lle__dbg_pool_stats_t;
LLE__HIDDEN void lle__dbg_pool_stats(lle_memory_manager_t *m, int pool, lle__dbg_pool_stats_t *out);

/* ---- manager ------------------------------------------------------------ */

struct lle_memory_manager {
    uint64_t              id;           /* unique per process: guards stale TLS caches */
    /* The page map's root (pagemap.c): entry k, for the addresses whose
     * bits above LLE__LEAF_SPAN_SHIFT are k, holds the address of their
     * leaf less that of lle__empty_leaf; 0 (never written) is the empty
     * leaf.  A thread's heap cache keeps a copy (lle__tls_t). */
    _Atomic uintptr_t    *map_root;
    /* The allocation fast path's table: for a request of n <= LLE__TABLE_MAX bytes
     * from pool p, the offset in the calling thread's heap of the bin that
     * serves it, bin_off[p][(n + 15) >> 4] (LLE__BIN_OFF; LLE__NONE_OFF:
     * the slow path decides).  Built with the pools' class tables. */
    _Atomic uint16_t      bin_off[LLE__NPOOLS][LLE__SMALL_ROW];
    lle_host_allocator_t  host;
    lle_memory_config_t   cfg;
    _Atomic int           state;
    pthread_mutex_t       state_lock;   /* serialises transitions */
    lle_memory_state_fn   state_fn;
    void                 *state_user;
    lle_memory_error_fn   error_fn;
    void                 *error_user;

    lle__pool_t           pools[LLE__NPOOLS];

    pthread_mutex_t       heaps_lock;
    lle__heap_t          *heaps;        /* every heap ever made */
    lle__heap_t          *parked;       /* heaps whose thread exited */
    size_t                heap_count;
    pthread_key_t         key;
    bool                  key_ok;

    pthread_mutex_t       map_lock;
    lle__map_leaf_t      *map_leaves;   /* every leaf, by its `next` */
    /* Bit i: page i of the root has had an entry set (under map_lock). */
    uint64_t              map_root_used[LLE__MAP_ROOT_PAGES / 64];

    pthread_mutex_t       large_lock;
    lle__large_set_t      large;
    lle__large_spans_t      large_spans;    /* under large_lock */
    /* Freed large blocks kept for reuse (under large_lock), by pool and
     * size class, linked through their first word; their set keys carry
     * LLE__LARGE_CACHED. */
    void                 *lcache[LLE__NPOOLS][LLE__LCACHE_CLASSES];
    size_t                lcache_bytes;   /* host bytes of those blocks */

    pthread_mutex_t       emerg_lock;
    lle__emerg_t         *emerg;        /* current reserve (NULL if none) */
    lle__emerg_t         *retired;
    _Atomic uint64_t      emergency_allocs;
    _Atomic uint64_t      emergency_refills;
    _Atomic int           emerg_needs_refill;

    pthread_mutex_t       listen_lock;
    lle_resize_fn         listen_fn[LLE__MAX_LISTENERS];
    void                 *listen_user[LLE__MAX_LISTENERS];

    /* Host traffic (atomic: slow paths of any thread). */
    _Atomic size_t        host_bytes;
    _Atomic size_t        host_peak;
    _Atomic size_t        meta_bytes;
    _Atomic uint64_t      host_allocs, host_frees, host_failures;
    _Atomic uint64_t      failed_allocs, invalid_frees, double_frees;
    uint64_t              created_ns;
    struct lle__gc       *gc;           /* objects and their collector (src/gc) */
    /* Idle upkeep (src/manager/idle.c). */
    _Atomic uint64_t      last_trim_ns; /* lle_memory_idle's last trim */
    _Atomic uint64_t      trim_ns;      /* what a trim took lately */
    pthread_mutex_t       bg_lock;      /* the background thread's fields */
    pthread_cond_t        bg_cond;
    pthread_t             bg_thread;
    bool                  bg_on, bg_stop;
    uint64_t              bg_period_ns, bg_budget_ns;
    /* The error channel and the audit trail (src/manager/errors.c), under
     * err_lock: the rings of the last errors and operations. */
    pthread_mutex_t       err_lock;
    lle_error_record_t   *err_hist;
    size_t                err_cap, err_len, err_next;
    lle_audit_entry_t    *audit;
    size_t                audit_cap, audit_len, audit_next;
    _Atomic uint64_t      err_counts[LLE_RESULT_COUNT_];
    _Atomic unsigned char recovery[LLE_RESULT_COUNT_];
    lle_abort_fn          abort_fn;
    void                 *abort_user;
    /* Debug blocks (src/debug): bit p set while pool p has a debugging
     * feature on (its allocations then leave the fast path). */
    _Atomic unsigned      dbg_mask;
    /* Per pool: N > 1 when one allocation in N (on average) of the pool's
     * bins is sampled for guard pages (lle__bin_t), 0 otherwise. */
    _Atomic unsigned      guard_every[LLE__NPOOLS];
    struct lle__dbg      *dbg;
    const lle__dbg_ops_t *dbg_ops;
    /* The secure pool and sealing (src/secure), made on first use. */
    _Atomic(struct lle__secure *) sec;
    _Atomic(const lle__sec_ops_t *) sec_ops;
};

/* ---- internal functions ------------------------------------------------- */

/* os */
LLE__HIDDEN uint64_t lle__now_ns(void);
/* CLOCK_MONOTONIC at the resolution of the kernel tick (cheap). */
LLE__HIDDEN uint64_t lle__now_coarse_ns(void);
LLE__HIDDEN unsigned long lle__thread_id(void);
/* Mappings of the library's own (os.c), page-granular.  reserve: `bytes`
 * of address space aligned to `align` (a power of two, at least a page),
 * no access, no memory committed; NULL on failure.  protect: access 0
 * none, 1 read, 3 read and write. */
LLE__HIDDEN void *lle__os_reserve(size_t bytes, size_t align);
/* `bytes` of zeroed memory, readable and writable, that takes RAM only for
 * the pages written (read ones map the system's zero page); NULL on
 * failure.  Given back with lle__os_release, which also clears what
 * AddressSanitizer was told of the range (a block poisoned in it). */
LLE__HIDDEN void *lle__os_zeroed(size_t bytes);
LLE__HIDDEN void lle__os_release(void *p, size_t bytes);
LLE__HIDDEN bool lle__os_protect(void *p, size_t bytes, int access);
/* Lock [p, p+bytes) in RAM; false (errno set) when the system refuses. */
LLE__HIDDEN bool lle__os_lock(void *p, size_t bytes);
LLE__HIDDEN void lle__os_unlock(void *p, size_t bytes);
/* Keep [p, p+bytes) out of core dumps (bit 1 of the result) and out of
 * forked children (bit 2: zero-filled there with MADV_WIPEONFORK, else
 * unmapped there with MADV_DONTFORK), as far as the system allows. */
LLE__HIDDEN unsigned lle__os_conceal(void *p, size_t bytes);

/* The secure pool (src/secure): at shutdown, the live blocks are counted
 * (their number and bytes added to *blocks and *bytes), every mapping is
 * wiped and unmapped and the state freed. */
LLE__HIDDEN void lle__secure_shutdown(lle_memory_manager_t *m, size_t *blocks, size_t *bytes);

/* The error channel (src/manager/errors.c): formats the message, counts
 * the error, keeps it in the history and the audit trail, calls the error
 * callback and applies the code's recovery strategy (which it returns;
 * ABORT does not return).  Never called with a lock of the library held. */
LLE__HIDDEN void lle__report(lle_memory_manager_t *m, lle_result_t code, int pool, size_t size,
                             const void *addr, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
LLE__HIDDEN lle_recovery_t lle__report_sites(lle_memory_manager_t *m, lle_result_t code, int pool,
                                             size_t size, const void *addr,
                                             const lle_site_t *alloc_site,
                                             const lle_site_t *free_site, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));
/* A fault on a guard page, from the signal handler (e->message formatted):
 * counted, kept in the history when its lock is free at once, passed to
 * the error callback, then to the abort handler if one is set.  Only
 * async-signal-safe calls of the library's own. */
LLE__HIDDEN void lle__report_fault(lle_memory_manager_t *m, lle_memory_error_t *e);
LLE__HIDDEN lle_result_t lle__errors_init(lle_memory_manager_t *m);
LLE__HIDDEN void lle__errors_release(lle_memory_manager_t *m);
/* One operation into the audit trail (nothing when it keeps none). */
LLE__HIDDEN void lle__audit(lle_memory_manager_t *m, lle_audit_op_t op, lle_result_t code,
                            const void *addr, size_t size, int pool, const lle_site_t *site);

/* host accounting wrappers: every host call of the library goes through these */
LLE__HIDDEN void *lle__host_alloc(lle_memory_manager_t *m, size_t size, size_t align, bool meta);
LLE__HIDDEN void lle__host_free(lle_memory_manager_t *m, void *p, size_t size, bool meta);
LLE__HIDDEN void *lle__host_realloc(lle_memory_manager_t *m, void *p, size_t old_size,
                                    size_t new_size);

/* A bounded text writer: appends like snprintf into buf[0, cap) (the text
 * stays NUL-terminated, truncated when it does not fit) and counts the
 * length the whole text needs. */
typedef struct lle__text {
    char  *buf;
    size_t cap, len;
} lle__text_t;
LLE__HIDDEN void lle__text_add(lle__text_t *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Stores the length needed (without the NUL) in *needed when not NULL;
 * LLE_ERROR_BUFFER_TOO_SMALL when the text did not fit. */
LLE__HIDDEN lle_result_t lle__text_done(const lle__text_t *t, size_t *needed);

/* Grow *arr (host memory, meta) to hold at least `need` elements of
 * `elem` bytes: doubling from `first`; the contents are kept.  False (and
 * *arr unchanged) when the host fails.  lle__array_free gives it back. */
LLE__HIDDEN bool lle__array_grow(lle_memory_manager_t *m, void **arr, size_t *cap, size_t need,
                                 size_t elem, size_t first);
LLE__HIDDEN void lle__array_free(lle_memory_manager_t *m, void **arr, size_t *cap, size_t elem);

/* A growing text for reports, in host memory (meta).  On running out of
 * memory it stops growing and lle__sbuf_deliver returns
 * LLE_ERROR_OUT_OF_MEMORY without calling fn. */
typedef struct lle__sbuf {
    lle_memory_manager_t *m;
    char                 *buf;
    size_t                cap, len;
    bool                  oom;
} lle__sbuf_t;
LLE__HIDDEN void lle__sbuf_add(lle__sbuf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* s as a JSON string (null for NULL). */
LLE__HIDDEN void lle__sbuf_json_str(lle__sbuf_t *b, const char *s);
/* Text for a call site: "file:line (func)", "pc (symbol+off)" or "an
 * unknown site". */
LLE__HIDDEN void lle__site_describe(const lle_site_t *s, char *buf, size_t len);
/* Hand the text to fn and free it. */
LLE__HIDDEN lle_result_t lle__sbuf_deliver(lle__sbuf_t *b, lle_text_fn fn, void *user);

/* page map (pagemap.c) */
/* Map the root; false when the system gives no address space for it. */
LLE__HIDDEN bool lle__map_init(lle_memory_manager_t *m);
LLE__HIDDEN bool lle__map_set(lle_memory_manager_t *m, const void *start, size_t bytes,
                              lle__slab_t *s);
/* Give back the leaves and the root. */
LLE__HIDDEN void lle__map_free_all(lle_memory_manager_t *m);
/* Bytes of the root's pages that have had an entry set. */
LLE__HIDDEN size_t lle__map_root_bytes(lle_memory_manager_t *m);

/* The leaf of entry k < LLE__MAP_ROOT_ENTRIES of a manager's root,
 * lle__empty_leaf where none was made: one load, no test. */
static inline const lle__map_leaf_t *lle__root_leaf(_Atomic uintptr_t *root, uintptr_t k)
{
    return (const lle__map_leaf_t *)((uintptr_t)&lle__empty_leaf +
                                     atomic_load_explicit(&root[k], memory_order_acquire));
}

/* The leaf covering p, or NULL when the map has none there. */
static inline lle__map_leaf_t *lle__map_leaf(const lle_memory_manager_t *m, const void *p)
{
    uintptr_t k = (uintptr_t)p >> LLE__LEAF_SPAN_SHIFT;
    if (lle_unlikely(k >= LLE__MAP_ROOT_ENTRIES)) return NULL;
    uintptr_t off = atomic_load_explicit(&m->map_root[k], memory_order_acquire);
    return off ? (lle__map_leaf_t *)((uintptr_t)&lle__empty_leaf + off) : NULL;
}

/* Entry of p in its leaf as stored: LLE__NO_SLAB where there is no slab
 * (its owner is NULL, its kind 0). */
static inline lle__slab_t *lle__leaf_entry(const lle__map_leaf_t *leaf, const void *p)
{
    return atomic_load_explicit(
        &leaf->e[((uintptr_t)p >> LLE__GRANULE_SHIFT) & ((1u << LLE__MAP_BITS_LEAF) - 1)],
        memory_order_acquire);
}

/* The slab of p in its leaf, or NULL. */
static inline lle__slab_t *lle__leaf_get(const lle__map_leaf_t *leaf, const void *p)
{
    lle__slab_t *s = lle__leaf_entry(leaf, p);
    return s != LLE__NO_SLAB ? s : NULL;
}

static inline lle__slab_t *lle__map_get(const lle_memory_manager_t *m, const void *p)
{
    uintptr_t k = (uintptr_t)p >> LLE__LEAF_SPAN_SHIFT;
    if (lle_unlikely(k >= LLE__MAP_ROOT_ENTRIES)) return NULL;
    return lle__leaf_get(lle__root_leaf(m->map_root, k), p);
}

/* pools (src/pool) */
LLE__HIDDEN lle_result_t lle__pools_init(lle_memory_manager_t *m);
LLE__HIDDEN void lle__pools_release_all(lle_memory_manager_t *m, size_t *leaked_blocks,
                                        size_t *leaked_bytes);
/* Return empty slabs (and cached large blocks) to the host: of pool `only`,
 * or of every pool when only < 0; down to each pool's initial size when
 * to_initial_only.  Returns the bytes given back. */
LLE__HIDDEN size_t lle__pools_trim(lle_memory_manager_t *m, bool to_initial_only, int only);
/* Bytes of the live blocks of a pool that sit in slabs (large blocks not
 * counted): what its resize rules compare with its slab bytes. */
LLE__HIDDEN size_t lle__pool_slab_live(lle_memory_manager_t *m, int pool);
LLE__HIDDEN void lle__pool_sums(lle_memory_manager_t *m, lle__pool_sums_t sums[LLE__NPOOLS]);
/* Debug slabs: count `bytes` in pool `pool` if its limit and state allow
 * (false otherwise), and give them back. */
LLE__HIDDEN bool lle__pool_debug_reserve(lle_memory_manager_t *m, int pool, size_t bytes);
LLE__HIDDEN void lle__pool_debug_release(lle_memory_manager_t *m, int pool, size_t bytes);
/* Route pool p's allocations: through the fast path's table (debug
 * false), or all to the slow path, where debug blocks are made. */
LLE__HIDDEN void lle__pool_route(lle_memory_manager_t *m, int p, bool debug);
/* Arm (m->guard_every[pool] > 1) or disarm the calling thread's bins of
 * `pool` for guard-page sampling now; other threads' bins follow at their
 * next fold or refill (alloc.c). */
LLE__HIDDEN void lle__heap_arm(lle_memory_manager_t *m, int pool);
LLE__HIDDEN lle__slab_t *lle__slab_new(lle_memory_manager_t *m, int pool, size_t bytes, int kind);
LLE__HIDDEN void lle__slab_destroy(lle_memory_manager_t *m, lle__slab_t *s);
/* A slab header for memory the caller maps itself (GUARD regions): `bytes`
 * at `mem`, granule-aligned, registered in the page map; no bitmap.  The
 * caller sets the layout fields (start, bsize, magic, capacity, aux).
 * lle__slab_unwrap takes the registration of [mem, mem+bytes) back and
 * frees the header; the memory stays the caller's. */
LLE__HIDDEN lle__slab_t *lle__slab_wrap(lle_memory_manager_t *m, int pool, void *mem,
                                        size_t bytes, int kind);
LLE__HIDDEN void lle__slab_unwrap(lle_memory_manager_t *m, lle__slab_t *s, void *mem);
LLE__HIDDEN lle_result_t lle__emerg_init(lle_memory_manager_t *m);
LLE__HIDDEN void lle__emerg_refill(lle_memory_manager_t *m);
/* idle upkeep: stop the background thread (manager shutdown) */
LLE__HIDDEN void lle__idle_stop(lle_memory_manager_t *m);
LLE__HIDDEN void lle__notify_resize(lle_memory_manager_t *m, const lle_resize_event_t *ev,
                                    size_t n);

#endif
