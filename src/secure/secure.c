/*
 * secure.c - the secure pool and sealing.
 *
 * Mappings.  A *slab* is a mapping of this file's own (lle__os_reserve),
 * registered in the page map as a slab of kind LLE__SLAB_SECURE whose aux
 * is its descriptor (sslab_t):
 *
 *   | guard page | data pages (locked, no dump, wiped in children) | guard ... |
 *
 * The mapping is rounded up to the 16 KiB granule the page map needs; what
 * lies past the data stays inaccessible.  Shared slabs have 16 KiB of data
 * cut into blocks of one size class (32 B to 2 KiB, powers of two); a
 * request above 2 KiB gets a slab of its own (one block, its data rounded
 * up to pages).  Which blocks are taken is a bitmap in the descriptor, so a
 * free block holds nothing but zeros: no free-list link, no header.  Each
 * block's record (length asked for, pool, sensitivity, state, last use,
 * seal) lives in the descriptor too, outside the mapping.
 *
 * Wiping.  Blocks are zero when handed out: fresh pages are, and a block
 * is wiped (sodium_memzero, which the compiler cannot drop) when freed,
 * when realloc moves it, and past the new end when it shrinks.  A slab's
 * data is wiped again before it is unmapped.
 *
 * Sealing.  A sealed block holds XChaCha20-Poly1305 ciphertext of its
 * length; the nonce (random per seal), the tag and the key generation are
 * in a seal record (seal_t) kept on a list, which rotation walks.  The
 * associated data binds the block's address, length, pool and key
 * generation: ciphertext copied to another block does not open.  Keys live
 * in a block of this pool (flag B_KEYS, not the user's): the master key
 * (random) and one key per pool type derived from it (crypto_kdf).
 *
 * Rotation is incremental: starting one moves the list of seal records
 * from S->sealed to S->old_list in one step (a record's list_gen behind
 * S->list_gen says it is on the old list) and keeps the old key set
 * (S->old_keys); each
 * step re-seals records from old_list under the new keys and moves them
 * back; the old keys are wiped when old_list is empty.  Until then unseal
 * opens a block of either generation.  lle_seal_rotate_keys runs a whole
 * rotation (finishing one under way first).
 *
 * Idle upkeep (lle__secure_idle, from lle_memory_idle): rotation steps,
 * then a cold-sealing pass over the registered history stores and the
 * blocks marked B_AUTO.  A pass resumes where the last idle call stopped
 * (a store's ordinal and its bucket, a slab list and a slab's ordinal in
 * it: lists change between calls, so a pass may skip or revisit a few
 * blocks, which the next pass makes good); a new pass starts no sooner
 * than an eighth of the cold-seal age after the last ended.  Each seal is
 * started only when its expected cost (a base plus a cost per KiB by
 * size band, measured by these steps) fits before the deadline, and the lock is let
 * go every IDLE_BATCH seals.
 *
 * Sanitizers (src/sanitizer.h): a slab's data is poisoned / no-access
 * except the blocks handed out (each a memcheck pool chunk of its usable
 * size, defined: it is zero); wipes happen while a block is still
 * accessible, and a slab is unpoisoned before its last wipe and unmap.
 *
 * Locking.  One mutex (S->lock) guards everything here; it is taken before
 * m->map_lock (slab registration).  S->stores_lock guards the list of
 * history stores and is taken before a store's lock, which is taken
 * before S->lock.  Reports are prepared under the locks and delivered
 * after they are released.  Pointer lookups are made under S->lock, so a
 * slab cannot be unmapped during one.
 */
#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pool/pool_internal.h"
#include "sanitizer.h"
#include "secure/secure_internal.h"

#define NCLASS 7                          /* 32 B .. 2 KiB */
#define MIN_CLASS ((size_t)32)
#define MAX_CLASS ((size_t)2048)
#define SLAB_DATA ((size_t)16 * 1024)     /* data of a shared slab */
#define MAX_REQUEST ((size_t)1 << 32)     /* lengths are kept in 32 bits */

#define KEY_BYTES crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define KEYSET_BYTES (KEY_BYTES * (1 + LLE__NPOOLS))   /* master, then one a pool */
#define KDF_CONTEXT "LLEseal1"
#define IDLE_BATCH 32                     /* seals between two lock releases */

_Static_assert(KEY_BYTES == crypto_kdf_KEYBYTES, "the master key is a kdf key");
_Static_assert(sizeof KDF_CONTEXT - 1 == crypto_kdf_CONTEXTBYTES, "kdf context is 8 bytes");

enum {
    B_SEALED = 1,   /* holds ciphertext; seal record in blk->seal */
    B_LOST = 2,     /* sealed under a key rotated away: cannot be opened */
    B_KEYS = 4,     /* the key set: never the user's */
    B_OWNED = 8,    /* kept by the library (history, secbuf): not for seal_cold */
    B_AUTO = 16     /* lle_secure_auto_seal: idle may seal it when cold */
};

typedef struct seal {
    struct seal   *next, *prev;    /* S->sealed */
    struct sslab  *ss;
    uint32_t       idx;
    uint64_t       epoch;          /* key generation it was sealed with */
    uint64_t       list_gen;       /* S->list_gen when put on S->sealed: older
                                    * means on S->old_list (a rotation's to-do) */
    unsigned char  nonce[NONCE_BYTES];
    unsigned char  tag[TAG_BYTES];
} seal_t;

typedef struct sblk {
    uint32_t len;       /* bytes asked for */
    uint8_t  pool;
    uint8_t  sens;
    uint8_t  flags;     /* B_* */
    uint64_t used_ns;   /* last use: allocation, unseal, touch (coarse clock) */
    seal_t  *seal;
} sblk_t;

typedef struct sslab {
    lle__slab_t  *slab;
    char         *map, *data;
    size_t        map_bytes, data_bytes;
    uint32_t      bsize, capacity, used, hint;
    int           cls;               /* -1: a one-block slab */
    bool          locked;
    unsigned      conceal;           /* lle__os_conceal's bits */
    struct sslab *next, *prev;
    sblk_t       *blk;               /* capacity records */
    size_t        words;
    uint64_t      bits[];            /* 1: taken (bits past capacity set) */
} sslab_t;

struct lle__secure {
    pthread_mutex_t     lock;
    lle_secure_config_t cfg;
    sslab_t            *avail[NCLASS];   /* slabs with a free block */
    sslab_t            *full[NCLASS];
    unsigned            nempty[NCLASS];  /* empty slabs kept (one a class) */
    sslab_t            *large;           /* one-block slabs */
    seal_t             *sealed;          /* every seal record */
    unsigned char      *keys;            /* KEYSET_BYTES in a B_KEYS block, or NULL */
    uint64_t            epoch;           /* generation of `keys` */
    uint64_t            keys_born_ns;    /* when `keys` were drawn (coarse clock) */
    /* A rotation under way: the previous key set and the seal records
     * still under it; the work time spent and the blocks done so far. */
    unsigned char      *old_keys;
    uint64_t            old_epoch;
    seal_t             *old_list;
    uint64_t            list_gen;        /* see seal_t.list_gen */
    uint64_t            rot_work_ns;
    size_t              rot_done;
    /* Cold-sealing pass of lle_memory_idle (see the file's note). */
    bool                cold_running;
    uint64_t            cold_next_ns;    /* no new pass before (coarse clock) */
    size_t              cold_store;      /* ordinal of the store being gone through */
    int                 cold_list;       /* then: slab list (0 .. 2 * NCLASS) */
    size_t              cold_slab;       /* and the slab's ordinal in it */
    /* Sealing cost model: ns for a small block, and ns per KiB beyond it
     * for blocks up to 4 KiB, 32 KiB, and more (the cost per byte grows
     * once a block outgrows the caches). */
    _Atomic uint64_t    est_base_ns, est_kib_ns[3];
    pthread_mutex_t     stores_lock;
    lle_history_store_t *stores;         /* linked through lle__history_next */
    lle_secure_stats_t  st;
};
typedef struct lle__secure sec_t;

/* ---- reports ------------------------------------------------------------------ */

void lle__sec_pend_set(lle__sec_pend_t *pd, lle_result_t code, int pool, size_t size,
                       const void *addr, const char *fmt, ...)
{
    if (!pd || pd->code != LLE_SUCCESS) return;   /* the first reason is kept */
    pd->code = code;
    pd->pool = pool;
    pd->size = size;
    pd->addr = addr;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pd->msg, sizeof pd->msg, fmt, ap);
    va_end(ap);
}

void lle__sec_pend_flush(lle_memory_manager_t *m, lle__sec_pend_t *pd)
{
    if (pd->code != LLE_SUCCESS) lle__report(m, pd->code, pd->pool, pd->size, pd->addr, "%s", pd->msg);
    pd->code = LLE_SUCCESS;
}

void lle_secure_wipe(void *p, size_t n)
{
    if (p && n) sodium_memzero(p, n);
}

/* ---- slabs -------------------------------------------------------------------- */

static void list_push(sslab_t **head, sslab_t *s)
{
    s->prev = NULL;
    s->next = *head;
    if (*head) (*head)->prev = s;
    *head = s;
}

static void list_unlink(sslab_t **head, sslab_t *s)
{
    if (s->prev) s->prev->next = s->next;
    else *head = s->next;
    if (s->next) s->next->prev = s->prev;
    s->next = s->prev = NULL;
}

static unsigned class_of(size_t n)
{
    if (n <= MIN_CLASS) return 0;
    return (unsigned)(64 - __builtin_clzll((unsigned long long)(n - 1))) - 5;
}

static size_t round_up(size_t n, size_t to)
{
    return (n + to - 1) & ~(to - 1);
}

static void account_slab(sec_t *S, const sslab_t *ss, int sign)
{
    lle_secure_stats_t *st = &S->st;
    size_t k = (size_t)(sign > 0 ? 1 : -1);
#define ADJ(f, v) (f += sign > 0 ? (v) : (size_t)0 - (v))
    if (ss->cls < 0) st->large_regions += k;
    else st->slabs += k;
    ADJ(st->mapped_bytes, ss->map_bytes);
    if (st->mapped_bytes > st->peak_mapped_bytes) st->peak_mapped_bytes = st->mapped_bytes;
    ADJ(st->data_bytes, ss->data_bytes);
    ADJ(st->guard_pages, (ss->map_bytes - ss->data_bytes) / LLE__PAGE);
    if (ss->locked) ADJ(st->locked_bytes, ss->data_bytes);
    else ADJ(st->unlocked_bytes, ss->data_bytes);
    if (ss->conceal & 1) ADJ(st->nodump_bytes, ss->data_bytes);
    if (ss->conceal & 2) ADJ(st->nofork_bytes, ss->data_bytes);
#undef ADJ
}

/* A new slab for class cls (cls < 0: one block of n bytes), or NULL with
 * the reason in pd (S->lock held). */
static sslab_t *slab_new(lle_memory_manager_t *m, sec_t *S, int cls, size_t n, int pool,
                         lle__sec_pend_t *pd)
{
    size_t bsize = cls >= 0 ? MIN_CLASS << cls : round_up(n ? n : 1, LLE__PAGE);
    size_t data_bytes = cls >= 0 ? SLAB_DATA : bsize;
    size_t map_bytes = round_up(data_bytes + 2 * LLE__PAGE, LLE__GRANULE);
    if (S->cfg.max_bytes && S->st.mapped_bytes + map_bytes > S->cfg.max_bytes) {
        lle__sec_pend_set(pd, LLE_ERROR_POOL_LIMIT, pool, n, NULL,
                          "secure pool: a slab of %zu bytes would pass the limit of %zu bytes "
                          "(%zu mapped)",
                          map_bytes, S->cfg.max_bytes, S->st.mapped_bytes);
        return NULL;
    }
    uint32_t capacity = (uint32_t)(data_bytes / bsize);
    size_t words = (capacity + 63) / 64;
    size_t hb = sizeof(sslab_t) + words * sizeof(uint64_t);
    sslab_t *ss = lle__host_alloc(m, hb, 64, true);
    sblk_t *blk = lle__host_alloc(m, capacity * sizeof(sblk_t), 16, true);
    char *map = lle__os_reserve(map_bytes, LLE__GRANULE);
    bool annotated = false;
    if (!ss || !blk || !map) goto oom;
    memset(ss, 0, hb);
    memset(blk, 0, capacity * sizeof(sblk_t));
    ss->map = map;
    ss->map_bytes = map_bytes;
    ss->data = map + LLE__PAGE;
    ss->data_bytes = data_bytes;
    ss->bsize = (uint32_t)bsize;
    ss->capacity = capacity;
    ss->cls = cls;
    ss->blk = blk;
    ss->words = words;
    if (capacity % 64) ss->bits[words - 1] = ~(uint64_t)0 << (capacity % 64);
    if (!lle__os_protect(ss->data, data_bytes, 3)) goto oom;
    /* No block handed out yet: nothing of the data may be touched. */
    lle__vg_pool_new(ss);
    lle__mem_noaccess(ss->data, data_bytes);
    annotated = true;
    ss->locked = lle__os_lock(ss->data, data_bytes);
    if (!ss->locked) {
        int e = errno;
        S->st.lock_failures++;
        if (S->cfg.lock_policy == LLE_SECURE_LOCK_REQUIRED) {
            lle__sec_pend_set(pd, LLE_ERROR_LOCK_LIMIT, pool, n, NULL,
                              "secure pool: %zu bytes could not be locked in RAM (%s; see "
                              "RLIMIT_MEMLOCK); the lock policy is 'required': allocation refused",
                              data_bytes, strerror(e));
            goto fail;
        }
        lle__sec_pend_set(pd, LLE_ERROR_LOCK_LIMIT, pool, n, ss->data,
                          "secure pool: %zu bytes could not be locked in RAM (%s; see "
                          "RLIMIT_MEMLOCK); the lock policy is 'report': this slab stays "
                          "unlocked and may be swapped out",
                          data_bytes, strerror(e));
    }
    ss->conceal = lle__os_conceal(ss->data, data_bytes);
    ss->slab = lle__slab_wrap(m, LLE_POOL_CUSTOM, map, map_bytes, LLE__SLAB_SECURE);
    if (!ss->slab) {
        if (ss->locked) lle__os_unlock(ss->data, data_bytes);
        goto oom;
    }
    ss->slab->start = ss->data;
    ss->slab->bsize = (uint32_t)bsize;
    ss->slab->magic = lle__slab_magic((uint32_t)bsize);
    ss->slab->capacity = capacity;
    ss->slab->aux = ss;
    account_slab(S, ss, 1);
    return ss;
oom:
    lle__sec_pend_set(pd, LLE_ERROR_OUT_OF_MEMORY, pool, n, NULL,
                      "secure pool: no memory for a slab of %zu bytes", map_bytes);
fail:
    if (annotated) {   /* back as it was mapped */
        lle__vg_pool_drop(ss);
        lle__asan_unpoison(ss->data, data_bytes);
        lle__vg_defined(ss->data, data_bytes);
    }
    if (map) lle__os_release(map, map_bytes);
    if (blk) lle__host_free(m, blk, capacity * sizeof(sblk_t), true);
    if (ss) lle__host_free(m, ss, hb, true);
    return NULL;
}

static void slab_free(lle_memory_manager_t *m, sec_t *S, sslab_t *ss)
{
    account_slab(S, ss, -1);
    /* Its blocks freed or not, the whole data is wiped: accessible first. */
    lle__vg_pool_drop(ss);
    lle__asan_unpoison(ss->data, ss->data_bytes);
    lle__vg_defined(ss->data, ss->data_bytes);
    sodium_memzero(ss->data, ss->data_bytes);
    if (ss->locked) lle__os_unlock(ss->data, ss->data_bytes);
    lle__slab_unwrap(m, ss->slab, ss->map);
    lle__os_release(ss->map, ss->map_bytes);
    lle__host_free(m, ss->blk, ss->capacity * sizeof(sblk_t), true);
    lle__host_free(m, ss, sizeof(sslab_t) + ss->words * sizeof(uint64_t), true);
}

/* ---- blocks ------------------------------------------------------------------- */

static uint32_t take_bit(sslab_t *ss)
{
    for (size_t k = 0; k < ss->words; k++) {
        size_t w = (ss->hint + k) % ss->words;
        if (ss->bits[w] != ~(uint64_t)0) {
            unsigned b = (unsigned)__builtin_ctzll(~ss->bits[w]);
            ss->bits[w] |= (uint64_t)1 << b;
            ss->hint = (uint32_t)w;
            return (uint32_t)(w * 64 + b);
        }
    }
    return UINT32_MAX;   /* not reached: the slab is on avail */
}

static bool bit_taken(const sslab_t *ss, uint32_t i)
{
    return (ss->bits[i >> 6] >> (i & 63)) & 1;
}

static char *block_addr(const sslab_t *ss, uint32_t i)
{
    return ss->data + (size_t)i * ss->bsize;
}

/* Bytes a block of ss may use: its size class, or a one-block slab's data. */
static size_t usable_of(const sslab_t *ss)
{
    return ss->cls < 0 ? ss->data_bytes : ss->bsize;
}

/* A zero-filled block with flags B_* (S->lock held), its slab in *ssp;
 * NULL with the reason in pd. */
static void *alloc_locked(lle_memory_manager_t *m, sec_t *S, int pool, size_t n, int sens,
                          uint8_t flags, sslab_t **ssp, lle__sec_pend_t *pd)
{
    sslab_t *ss;
    uint32_t i;
    if (n > MAX_CLASS) {
        ss = slab_new(m, S, -1, n, pool, pd);
        if (!ss) return NULL;
        ss->bits[0] |= 1;
        i = 0;
        list_push(&S->large, ss);
    } else {
        unsigned c = class_of(n);
        ss = S->avail[c];
        if (!ss) {
            ss = slab_new(m, S, (int)c, n, pool, pd);
            if (!ss) return NULL;
            list_push(&S->avail[c], ss);
        } else if (ss->used == 0) {
            S->nempty[c]--;
        }
        i = take_bit(ss);
        if (++ss->used == ss->capacity) {
            list_unlink(&S->avail[c], ss);
            list_push(&S->full[c], ss);
        }
    }
    sblk_t *b = &ss->blk[i];
    b->len = (uint32_t)n;
    b->pool = (uint8_t)pool;
    b->sens = (uint8_t)sens;
    b->flags = flags;
    b->seal = NULL;
    b->used_ns = lle__now_coarse_ns();
    *ssp = ss;
    char *p = block_addr(ss, i);
    /* Handed out over its usable size, defined: it is zero. */
    lle__asan_unpoison(p, usable_of(ss));
    lle__vg_alloc(ss, p, usable_of(ss));
    lle__vg_defined(p, usable_of(ss));
    return p;
}

/* The counts of a user block just allocated (S->lock held). */
static void count_alloc(sec_t *S, const sslab_t *ss, size_t n)
{
    lle_secure_stats_t *st = &S->st;
    st->allocs++;
    st->live_blocks++;
    st->live_bytes += n;
    st->in_use_bytes += usable_of(ss);
    st->requested_bytes += n;
    st->granted_bytes += usable_of(ss);
}

static void seal_unlink(sec_t *S, seal_t *r)
{
    seal_t **head = r->list_gen != S->list_gen ? &S->old_list : &S->sealed;
    if (r->prev) r->prev->next = r->next;
    else *head = r->next;
    if (r->next) r->next->prev = r->prev;
    r->next = r->prev = NULL;
}

/* Put r at the head of S->sealed. */
static void seal_push(sec_t *S, seal_t *r)
{
    r->list_gen = S->list_gen;
    r->prev = NULL;
    r->next = S->sealed;
    if (S->sealed) S->sealed->prev = r;
    S->sealed = r;
}

static void seal_drop(lle_memory_manager_t *m, sec_t *S, sblk_t *b)
{
    if (!b->seal) return;
    seal_unlink(S, b->seal);
    lle__host_free(m, b->seal, sizeof(seal_t), true);
    b->seal = NULL;
    if (!(b->flags & B_KEYS)) {
        S->st.sealed_blocks--;
        S->st.sealed_bytes -= b->len;
    }
}

/* Wipe and free block i of ss (S->lock held, the block live). */
static void free_locked(lle_memory_manager_t *m, sec_t *S, sslab_t *ss, uint32_t i)
{
    sblk_t *b = &ss->blk[i];
    if (b->seal) seal_drop(m, S, b);
    size_t wipe = usable_of(ss);
    char *p = block_addr(ss, i);
    sodium_memzero(p, wipe);
    if (!(b->flags & B_KEYS)) {
        S->st.live_blocks--;
        S->st.live_bytes -= b->len;
        S->st.in_use_bytes -= wipe;
        S->st.frees++;
        S->st.wiped_bytes += wipe;
    }
    if (b->flags & B_AUTO) S->st.auto_seal_blocks--;
    memset(b, 0, sizeof *b);
    if (ss->cls >= 0) {   /* wiped: from now on a use is a use after free */
        lle__vg_free(ss, p);
        lle__asan_poison(p, wipe);
    }
    ss->bits[i >> 6] &= ~((uint64_t)1 << (i & 63));
    if (ss->cls < 0) {
        list_unlink(&S->large, ss);
        slab_free(m, S, ss);
        return;
    }
    unsigned c = (unsigned)ss->cls;
    if (ss->used-- == ss->capacity) {
        list_unlink(&S->full[c], ss);
        list_push(&S->avail[c], ss);
    }
    if (ss->used == 0 && ++S->nempty[c] > 1) {   /* keep one empty slab a class */
        list_unlink(&S->avail[c], ss);
        S->nempty[c]--;
        slab_free(m, S, ss);
    }
}

/* The live user block at (or, unless exact, holding) p, S->lock held.
 * NULL with *err set: LLE_ERROR_INVALID_POINTER, or LLE_ERROR_DOUBLE_FREE
 * for a freed block. */
static sblk_t *find(lle_memory_manager_t *m, const void *p, bool exact, sslab_t **ssp,
                    uint32_t *ip, lle_result_t *err)
{
    *err = LLE_ERROR_INVALID_POINTER;
    lle__slab_t *s = p ? lle__map_get(m, p) : NULL;
    if (!s || s->kind != LLE__SLAB_SECURE) return NULL;
    sslab_t *ss = s->aux;
    const char *q = p;
    if (q < ss->data || q >= ss->data + (size_t)ss->capacity * ss->bsize) return NULL;
    uint32_t i = (uint32_t)((size_t)(q - ss->data) / ss->bsize);
    if (exact && q != block_addr(ss, i)) return NULL;
    if (!bit_taken(ss, i)) {
        *err = LLE_ERROR_DOUBLE_FREE;
        return NULL;
    }
    if (ss->blk[i].flags & B_KEYS) return NULL;
    *ssp = ss;
    *ip = i;
    *err = LLE_SUCCESS;
    return &ss->blk[i];
}

/* ---- the state ---------------------------------------------------------------- */

static lle_result_t ops_free(lle_memory_manager_t *m, lle__slab_t *s, void *p);
static void *ops_realloc(lle_memory_manager_t *m, lle__slab_t *s, void *p, size_t n);
static lle_result_t ops_query(lle_memory_manager_t *m, lle__slab_t *s, const void *p,
                              lle_block_info_t *out);
static const lle__sec_ops_t sec_ops = {ops_free, ops_realloc, ops_query};

void lle_secure_config_default(lle_secure_config_t *cfg)
{
    if (!cfg) return;
    memset(cfg, 0, sizeof *cfg);
    cfg->lock_policy = LLE_SECURE_LOCK_REPORT;
    cfg->encrypt_sensitive_data = true;
    cfg->encrypt_all_allocations = false;
    cfg->sensitive_level = LLE_SENSITIVITY_MEDIUM;
    cfg->max_bytes = 0;
    cfg->cold_seal_ms = 0;         /* idle upkeep off: sealing changes what a block holds */
    cfg->rotate_interval_ms = 0;
}

/* The manager's secure state, made on first use; NULL (reported) when it
 * cannot be made or the manager is shutting down. */
static sec_t *get_sec(lle_memory_manager_t *m)
{
    sec_t *S = atomic_load_explicit(&m->sec, memory_order_acquire);
    if (lle_likely(S != NULL)) return S;
    if (atomic_load_explicit(&m->state, memory_order_acquire) == LLE_MEMORY_STATE_SHUTDOWN) {
        lle__report(m, LLE_ERROR_INVALID_STATE, -1, 0, NULL,
                    "secure pool: the manager is shut down");
        return NULL;
    }
    if (sodium_init() < 0) {
        lle__report(m, LLE_ERROR_NOT_SUPPORTED, -1, 0, NULL,
                    "secure pool: libsodium failed to initialise");
        return NULL;
    }
    S = lle__host_alloc(m, sizeof *S, 64, true);
    if (!S) {
        lle__report(m, LLE_ERROR_OUT_OF_MEMORY, -1, sizeof *S, NULL,
                    "secure pool: no memory for its state");
        return NULL;
    }
    memset(S, 0, sizeof *S);
    pthread_mutex_init(&S->lock, NULL);
    pthread_mutex_init(&S->stores_lock, NULL);
    S->cfg = m->cfg.secure;   /* validated with the manager's configuration */
    /* Until measured: a few microseconds a seal, 1.5 us a KiB (generous). */
    atomic_init(&S->est_base_ns, 4000);
    for (int k = 0; k < 3; k++) atomic_init(&S->est_kib_ns[k], 1500);
    atomic_store_explicit(&m->sec_ops, &sec_ops, memory_order_release);
    sec_t *expect = NULL;
    if (!atomic_compare_exchange_strong_explicit(&m->sec, &expect, S, memory_order_acq_rel,
                                                 memory_order_acquire)) {
        pthread_mutex_destroy(&S->lock);
        pthread_mutex_destroy(&S->stores_lock);
        lle__host_free(m, S, sizeof *S, true);
        return expect;
    }
    return S;
}

void lle__secure_shutdown(lle_memory_manager_t *m, size_t *blocks, size_t *bytes)
{
    sec_t *S = atomic_exchange_explicit(&m->sec, NULL, memory_order_acq_rel);
    if (!S) return;
    pthread_mutex_lock(&S->lock);
    *blocks += S->st.live_blocks;
    *bytes += S->st.live_bytes;
    for (int l = 0; l < 2; l++)
        for (seal_t *r = l ? S->old_list : S->sealed, *next; r; r = next) {
            next = r->next;
            lle__host_free(m, r, sizeof *r, true);
        }
    S->sealed = S->old_list = NULL;
    sslab_t **lists[2 * NCLASS + 1];
    for (int c = 0; c < NCLASS; c++) {
        lists[2 * c] = &S->avail[c];
        lists[2 * c + 1] = &S->full[c];
    }
    lists[2 * NCLASS] = &S->large;
    for (int k = 0; k < 2 * NCLASS + 1; k++)
        for (sslab_t *ss = *lists[k], *next; ss; ss = next) {
            next = ss->next;
            slab_free(m, S, ss);   /* wipes the data */
        }
    pthread_mutex_unlock(&S->lock);
    pthread_mutex_destroy(&S->lock);
    pthread_mutex_destroy(&S->stores_lock);
    sodium_memzero(S, sizeof *S);
    lle__host_free(m, S, sizeof *S, true);
}

lle_result_t lle_secure_configure(lle_memory_manager_t *m, const lle_secure_config_t *cfg)
{
    if (!m || !cfg) return LLE_ERROR_NULL_PARAMETER;
    char why[160];
    if (lle__secure_config_check(cfg, why, sizeof why) != LLE_SUCCESS) {
        lle__report(m, LLE_ERROR_INVALID_ARGUMENT, -1, 0, NULL,
                    "lle_secure_configure: %s; configuration unchanged", why);
        return LLE_ERROR_INVALID_ARGUMENT;
    }
    sec_t *S = get_sec(m);
    if (!S) return LLE_ERROR_INVALID_STATE;
    pthread_mutex_lock(&S->lock);
    S->cfg = *cfg;
    pthread_mutex_unlock(&S->lock);
    return LLE_SUCCESS;
}

lle_result_t lle_secure_get_config(lle_memory_manager_t *m, lle_secure_config_t *out)
{
    if (!m || !out) return LLE_ERROR_NULL_PARAMETER;
    sec_t *S = get_sec(m);
    if (!S) return LLE_ERROR_INVALID_STATE;
    pthread_mutex_lock(&S->lock);
    *out = S->cfg;
    pthread_mutex_unlock(&S->lock);
    return LLE_SUCCESS;
}

/* ---- allocation API ------------------------------------------------------------ */

void *lle__secure_alloc_pd(lle_memory_manager_t *m, int pool, size_t n, int sens, bool owned,
                           lle__sec_pend_t *pd)
{
    if ((unsigned)pool >= LLE__NPOOLS || (unsigned)sens >= LLE_SENSITIVITY_COUNT ||
        n >= MAX_REQUEST) {
        lle__sec_pend_set(pd, LLE_ERROR_INVALID_ARGUMENT,
                          (unsigned)pool < LLE__NPOOLS ? pool : -1, n, NULL,
                          "secure alloc: pool %d, sensitivity %d or size %zu out of range", pool,
                          sens, n);
        return NULL;
    }
    sec_t *S = get_sec(m);
    if (!S) return NULL;
    pthread_mutex_lock(&S->lock);
    sslab_t *ss;
    void *p = alloc_locked(m, S, pool, n, sens, owned ? B_OWNED : 0, &ss, pd);
    if (p) {
        count_alloc(S, ss, n);
    } else {
        S->st.failed_allocs++;
    }
    pthread_mutex_unlock(&S->lock);
    return p;
}

void *lle_secure_alloc_ex(lle_memory_manager_t *m, lle_memory_pool_type_t pool, size_t n,
                          lle_sensitivity_t sensitivity)
{
    if (!m) return NULL;
    lle__sec_pend_t pd;
    pd.code = LLE_SUCCESS;   /* only the code: the rest is written with it */
    void *p = lle__secure_alloc_pd(m, (int)pool, n, (int)sensitivity, false, &pd);
    lle__sec_pend_flush(m, &pd);
    return p;
}

void *lle_secure_alloc(lle_memory_manager_t *m, size_t n)
{
    return lle_secure_alloc_ex(m, LLE_POOL_CUSTOM, n, LLE_SENSITIVITY_HIGH);
}

static void report_bad(lle__sec_pend_t *pd, lle_result_t err, const void *p, const char *what)
{
    if (err == LLE_ERROR_DOUBLE_FREE)
        lle__sec_pend_set(pd, err, -1, 0, p,
                          "%s of %p: the secure block was already freed; nothing changed", what,
                          p);
    else
        lle__sec_pend_set(pd, err, -1, 0, p,
                          "%s of %p: not a live secure block of this manager (an ordinary, "
                          "foreign, interior or other manager's pointer); nothing changed",
                          what, p);
}

lle_result_t lle__secure_free_pd(lle_memory_manager_t *m, void *p, lle__sec_pend_t *pd)
{
    if (!p) return LLE_SUCCESS;
    sec_t *S = atomic_load_explicit(&m->sec, memory_order_acquire);
    lle_result_t err = LLE_ERROR_INVALID_POINTER;
    if (S) {
        sslab_t *ss;
        uint32_t i;
        pthread_mutex_lock(&S->lock);
        if (find(m, p, true, &ss, &i, &err)) free_locked(m, S, ss, i);
        pthread_mutex_unlock(&S->lock);
    }
    if (err != LLE_SUCCESS) report_bad(pd, err, p, "secure free");
    return err;
}

lle_result_t lle_secure_free(lle_memory_manager_t *m, void *p)
{
    if (!p) return LLE_SUCCESS;
    if (!m) return LLE_ERROR_NULL_PARAMETER;
    lle__sec_pend_t pd;
    pd.code = LLE_SUCCESS;
    lle_result_t err = lle__secure_free_pd(m, p, &pd);
    lle__sec_pend_flush(m, &pd);
    return err;
}

/* Resize under the lock: the new address, or NULL with *err (and pd). */
static void *realloc_locked(lle_memory_manager_t *m, sec_t *S, void *p, size_t n,
                            lle_result_t *err, lle__sec_pend_t *pd)
{
    sslab_t *ss;
    uint32_t i;
    sblk_t *b = find(m, p, true, &ss, &i, err);
    if (!b) return NULL;
    if (b->flags & B_SEALED) {
        *err = LLE_ERROR_INVALID_STATE;
        lle__sec_pend_set(pd, LLE_ERROR_INVALID_STATE, b->pool, n, p,
                          "secure realloc of %p: the block is sealed; unseal it first", p);
        return NULL;
    }
    size_t usable = usable_of(ss);
    bool fits = ss->cls < 0 ? n > MAX_CLASS && n <= usable && n > usable / 2
                            : class_of(n) == (unsigned)ss->cls;
    S->st.reallocs++;
    if (fits) {
        if (n < b->len) {
            sodium_memzero((char *)p + n, b->len - n);
            S->st.wiped_bytes += b->len - n;
        }
        S->st.live_bytes += n - b->len;   /* modular: shrinking subtracts */
        b->len = (uint32_t)n;
        b->used_ns = lle__now_coarse_ns();
        return p;
    }
    size_t old = b->len;
    uint8_t keep = b->flags & (B_OWNED | B_AUTO);   /* the owner's marks go along */
    sslab_t *qss;
    void *q = alloc_locked(m, S, b->pool, n, b->sens, keep, &qss, pd);
    if (!q) {
        *err = pd->code != LLE_SUCCESS ? pd->code : LLE_ERROR_OUT_OF_MEMORY;
        S->st.failed_allocs++;
        return NULL;
    }
    /* alloc_locked may have added a slab, never moved one: ss and i stand. */
    memcpy(q, p, old < n ? old : n);
    count_alloc(S, qss, n);
    if (keep & B_AUTO) S->st.auto_seal_blocks++;
    free_locked(m, S, ss, i);
    return q;
}

lle_result_t lle_secure_realloc(lle_memory_manager_t *m, void **pp, size_t n)
{
    if (!m || !pp) return LLE_ERROR_NULL_PARAMETER;
    if (!*pp) {
        if (n == 0) return LLE_ERROR_INVALID_ARGUMENT;
        void *q = lle_secure_alloc(m, n);
        if (!q) return LLE_ERROR_OUT_OF_MEMORY;
        *pp = q;
        return LLE_SUCCESS;
    }
    if (n == 0 || n >= MAX_REQUEST) {
        lle__report(m, LLE_ERROR_INVALID_ARGUMENT, -1, n, *pp,
                    "secure realloc of %p to %zu bytes: out of range (free a block with "
                    "lle_secure_free); nothing changed",
                    *pp, n);
        return LLE_ERROR_INVALID_ARGUMENT;
    }
    sec_t *S = atomic_load_explicit(&m->sec, memory_order_acquire);
    lle_result_t err = LLE_ERROR_INVALID_POINTER;
    lle__sec_pend_t pd = {0};
    void *q = NULL;
    if (S) {
        pthread_mutex_lock(&S->lock);
        q = realloc_locked(m, S, *pp, n, &err, &pd);
        pthread_mutex_unlock(&S->lock);
    }
    if (!q && (err == LLE_ERROR_INVALID_POINTER || err == LLE_ERROR_DOUBLE_FREE))
        report_bad(&pd, err, *pp, "secure realloc");
    lle__sec_pend_flush(m, &pd);
    if (!q) return err;
    *pp = q;
    return LLE_SUCCESS;
}

size_t lle_secure_length(lle_memory_manager_t *m, const void *p)
{
    if (!m || !p) return 0;
    sec_t *S = atomic_load_explicit(&m->sec, memory_order_acquire);
    if (!S) return 0;
    sslab_t *ss;
    uint32_t i;
    lle_result_t err;
    pthread_mutex_lock(&S->lock);
    sblk_t *b = find(m, p, true, &ss, &i, &err);
    size_t n = b ? b->len : 0;
    pthread_mutex_unlock(&S->lock);
    return n;
}

bool lle_secure_owns(lle_memory_manager_t *m, const void *p)
{
    if (!m || !p) return false;
    sec_t *S = atomic_load_explicit(&m->sec, memory_order_acquire);
    if (!S) return false;
    sslab_t *ss;
    uint32_t i;
    lle_result_t err;
    pthread_mutex_lock(&S->lock);
    bool live = find(m, p, false, &ss, &i, &err) != NULL;
    pthread_mutex_unlock(&S->lock);
    return live;
}

/* ---- what the pool layer asks ----------------------------------------------------- */

static lle_result_t ops_free(lle_memory_manager_t *m, lle__slab_t *s, void *p)
{
    (void)s;   /* looked up again under the lock */
    return lle_secure_free(m, p);
}

static void *ops_realloc(lle_memory_manager_t *m, lle__slab_t *s, void *p, size_t n)
{
    (void)s;
    if (n == 0) {
        lle_secure_free(m, p);
        return NULL;
    }
    void *q = p;
    return lle_secure_realloc(m, &q, n) == LLE_SUCCESS ? q : NULL;
}

static lle_result_t ops_query(lle_memory_manager_t *m, lle__slab_t *s, const void *p,
                              lle_block_info_t *out)
{
    (void)s;
    sec_t *S = atomic_load_explicit(&m->sec, memory_order_acquire);
    if (!S) return LLE_ERROR_INVALID_POINTER;
    sslab_t *ss;
    uint32_t i;
    lle_result_t err;
    pthread_mutex_lock(&S->lock);
    sblk_t *b = find(m, p, false, &ss, &i, &err);
    if (b) {
        memset(out, 0, sizeof *out);
        out->start = block_addr(ss, i);
        out->size = ss->cls < 0 ? ss->data_bytes : ss->bsize;
        out->pool = b->pool;
        out->state = LLE_BLOCK_LIVE;
    }
    pthread_mutex_unlock(&S->lock);
    return err;
}

/* ---- keys and sealing ------------------------------------------------------------- */

/* Associated data of a seal: where the block is, how long, whose key. */
typedef struct seal_ad {
    uint64_t addr, len, epoch;
    uint32_t pool, magic;
} seal_ad_t;

static void make_ad(seal_ad_t *ad, const void *p, const sblk_t *b, uint64_t epoch)
{
    memset(ad, 0, sizeof *ad);
    ad->addr = (uint64_t)(uintptr_t)p;
    ad->len = b->len;
    ad->epoch = epoch;
    ad->pool = b->pool;
    ad->magic = 0x4c4c4553u;   /* "LLES" */
}

/* A fresh key set in a new B_KEYS block (S->lock held): random master,
 * pool keys derived from it.  NULL with the reason in pd. */
static unsigned char *keys_new(lle_memory_manager_t *m, sec_t *S, lle__sec_pend_t *pd)
{
    sslab_t *ss;
    unsigned char *k = alloc_locked(m, S, LLE_POOL_CUSTOM, KEYSET_BYTES, LLE_SENSITIVITY_CRITICAL,
                                    B_KEYS, &ss, pd);
    if (!k) return NULL;
    randombytes_buf(k, KEY_BYTES);
    for (int p = 0; p < LLE__NPOOLS; p++)
        crypto_kdf_derive_from_key(k + KEY_BYTES * (1 + (size_t)p), KEY_BYTES, (uint64_t)p,
                                   KDF_CONTEXT, k);
    S->st.key_generation++;
    return k;
}

static void keys_free(lle_memory_manager_t *m, sec_t *S, unsigned char *k)
{
    sslab_t *ss = lle__map_get(m, k)->aux;
    free_locked(m, S, ss, (uint32_t)((size_t)((char *)k - ss->data) / ss->bsize));
}

static const unsigned char *pool_key(const unsigned char *keys, int pool)
{
    return keys + KEY_BYTES * (1 + (size_t)pool);
}

/* Make sure there are current keys (S->lock held); false with the reason
 * in pd when they cannot be made. */
static bool keys_ready(lle_memory_manager_t *m, sec_t *S, lle__sec_pend_t *pd)
{
    if (S->keys) return true;
    S->keys = keys_new(m, S, pd);
    if (!S->keys) return false;
    S->epoch = S->st.key_generation;
    S->keys_born_ns = lle__now_coarse_ns();
    return true;
}

/* Encrypt block p (record b) in place under `keys` of generation epoch,
 * a fresh nonce and the tag into r. */
static void encrypt_block(char *p, const sblk_t *b, seal_t *r, const unsigned char *keys,
                          uint64_t epoch)
{
    seal_ad_t ad;
    make_ad(&ad, p, b, epoch);
    randombytes_buf(r->nonce, sizeof r->nonce);
    crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
        (unsigned char *)p, r->tag, NULL, (const unsigned char *)p, b->len,
        (const unsigned char *)&ad, sizeof ad, NULL, r->nonce, pool_key(keys, b->pool));
    r->epoch = epoch;
}

/* Seal block i of ss with the current keys (S->keys set, block unsealed). */
static lle_result_t seal_locked(lle_memory_manager_t *m, sec_t *S, sslab_t *ss, uint32_t i,
                                lle__sec_pend_t *pd)
{
    sblk_t *b = &ss->blk[i];
    char *p = block_addr(ss, i);
    seal_t *r = lle__host_alloc(m, sizeof *r, 16, true);
    if (!r) {
        lle__sec_pend_set(pd, LLE_ERROR_OUT_OF_MEMORY, b->pool, b->len, p,
                          "seal of %p: no memory for its seal record; nothing changed", (void *)p);
        return LLE_ERROR_OUT_OF_MEMORY;
    }
    memset(r, 0, sizeof *r);
    uint64_t t0 = lle__now_ns();
    encrypt_block(p, b, r, S->keys, S->epoch);
    S->st.seal_ns_total += lle__now_ns() - t0;
    r->ss = ss;
    r->idx = i;
    seal_push(S, r);
    b->seal = r;
    b->flags |= B_SEALED;
    S->st.seals++;
    S->st.sealed_blocks++;
    S->st.sealed_bytes += b->len;
    return LLE_SUCCESS;
}

/* Open block i of ss in place with `keys` (S->lock held).  False when
 * authentication fails: the block is then wiped. */
static bool open_locked(const sslab_t *ss, uint32_t i, const unsigned char *keys, uint64_t epoch)
{
    const sblk_t *b = &ss->blk[i];
    char *p = block_addr(ss, i);
    seal_ad_t ad;
    make_ad(&ad, p, b, epoch);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
            (unsigned char *)p, NULL, (const unsigned char *)p, b->len, b->seal->tag,
            (const unsigned char *)&ad, sizeof ad, b->seal->nonce, pool_key(keys, b->pool)) == 0)
        return true;
    sodium_memzero(p, b->len);
    return false;
}

/* The key set that opens sealed block b and its generation; NULL when
 * its key was rotated away.  During a rotation a block not yet re-sealed
 * opens with the old keys. */
static const unsigned char *keys_of(const sec_t *S, const sblk_t *b, uint64_t *epoch)
{
    const seal_t *r = b->seal;
    if (b->flags & B_LOST) return NULL;
    if (r->epoch == S->epoch) {
        *epoch = S->epoch;
        return S->keys;
    }
    if (r->list_gen != S->list_gen && S->old_keys && r->epoch == S->old_epoch) {
        *epoch = S->old_epoch;
        return S->old_keys;
    }
    return NULL;
}

lle_result_t lle__seal_pd(lle_memory_manager_t *m, void *p, lle__sec_pend_t *pd)
{
    sec_t *S = get_sec(m);
    if (!S) return LLE_ERROR_INVALID_STATE;
    sslab_t *ss;
    uint32_t i;
    lle_result_t err;
    pthread_mutex_lock(&S->lock);
    sblk_t *b = find(m, p, true, &ss, &i, &err);
    if (!b) {
        lle__sec_pend_set(pd, err, -1, 0, p,
                          "seal of %p: not the start of a live secure block of this manager "
                          "(only secure blocks can be sealed); nothing changed",
                          p);
    } else if (b->flags & B_SEALED) {
        err = LLE_ERROR_INVALID_STATE;
        lle__sec_pend_set(pd, err, b->pool, b->len, p, "seal of %p: already sealed", p);
    } else {
        err = keys_ready(m, S, pd) ? seal_locked(m, S, ss, i, pd) : pd->code;
    }
    if (err != LLE_SUCCESS) S->st.seal_failures++;
    pthread_mutex_unlock(&S->lock);
    return err;
}

lle_result_t lle_seal(lle_memory_manager_t *m, void *p)
{
    if (!m || !p) return LLE_ERROR_NULL_PARAMETER;
    lle__sec_pend_t pd = {0};
    lle_result_t err = lle__seal_pd(m, p, &pd);
    lle__sec_pend_flush(m, &pd);
    return err;
}

/* Unseal block b = (ss, i) at p (S->lock held, the block live). */
static lle_result_t unseal_locked(lle_memory_manager_t *m, sec_t *S, sslab_t *ss, uint32_t i,
                                  lle__sec_pend_t *pd)
{
    sblk_t *b = &ss->blk[i];
    char *p = block_addr(ss, i);
    uint64_t epoch = 0;
    const unsigned char *keys;
    lle_result_t err;
    if (!(b->flags & B_SEALED)) {
        err = LLE_ERROR_NOT_SEALED;
        lle__sec_pend_set(pd, err, b->pool, b->len, p, "unseal of %p: the block is not sealed",
                          (void *)p);
    } else if (!(keys = keys_of(S, b, &epoch))) {
        err = LLE_ERROR_KEY_ROTATED;
        lle__sec_pend_set(pd, err, b->pool, b->len, p,
                          "unseal of %p: its key (generation %llu) was rotated away; the "
                          "block cannot be opened",
                          (void *)p, (unsigned long long)b->seal->epoch);
    } else {
        uint64_t t0 = lle__now_ns();
        if (open_locked(ss, i, keys, epoch)) {
            S->st.unseal_ns_total += lle__now_ns() - t0;
            S->st.unseals++;
            seal_drop(m, S, b);
            b->flags &= (uint8_t)~B_SEALED;
            b->used_ns = lle__now_coarse_ns();
            err = LLE_SUCCESS;
        } else {
            err = LLE_ERROR_CORRUPTION;
            S->st.tamper_detected++;
            lle__sec_pend_set(pd, err, b->pool, b->len, p,
                              "unseal of %p (%u bytes): authentication failed - the sealed "
                              "block, its nonce or its tag was changed; the block is wiped and "
                              "stays sealed",
                              (void *)p, b->len);
        }
    }
    if (err != LLE_SUCCESS) S->st.unseal_failures++;
    return err;
}

lle_result_t lle__unseal_pd(lle_memory_manager_t *m, void *p, lle__sec_pend_t *pd)
{
    sec_t *S = atomic_load_explicit(&m->sec, memory_order_acquire);
    sslab_t *ss;
    uint32_t i;
    lle_result_t err = LLE_ERROR_INVALID_POINTER;
    if (!S) {
        lle__sec_pend_set(pd, err, -1, 0, p,
                          "unseal of %p: not a live secure block of this manager", p);
        return err;
    }
    pthread_mutex_lock(&S->lock);
    if (find(m, p, true, &ss, &i, &err)) {
        err = unseal_locked(m, S, ss, i, pd);
    } else {
        S->st.unseal_failures++;
        lle__sec_pend_set(pd, err, -1, 0, p,
                          "unseal of %p: not the start of a live secure block of this manager",
                          p);
    }
    pthread_mutex_unlock(&S->lock);
    return err;
}

lle_result_t lle_unseal(lle_memory_manager_t *m, void *p)
{
    if (!m || !p) return LLE_ERROR_NULL_PARAMETER;
    lle__sec_pend_t pd = {0};
    lle_result_t err = lle__unseal_pd(m, p, &pd);
    lle__sec_pend_flush(m, &pd);
    return err;
}

lle_result_t lle_secure_open(lle_memory_manager_t *m, void *p)
{
    if (!m || !p) return LLE_ERROR_NULL_PARAMETER;
    sec_t *S = atomic_load_explicit(&m->sec, memory_order_acquire);
    lle__sec_pend_t pd = {0};
    sslab_t *ss;
    uint32_t i;
    lle_result_t err = LLE_ERROR_INVALID_POINTER;
    if (S) {
        pthread_mutex_lock(&S->lock);
        sblk_t *b = find(m, p, true, &ss, &i, &err);
        if (b && (b->flags & B_SEALED)) err = unseal_locked(m, S, ss, i, &pd);
        else if (b) b->used_ns = lle__now_coarse_ns();
        pthread_mutex_unlock(&S->lock);
    }
    if (err == LLE_ERROR_INVALID_POINTER || err == LLE_ERROR_DOUBLE_FREE)
        report_bad(&pd, err, p, "secure open");
    lle__sec_pend_flush(m, &pd);
    return err;
}

lle_result_t lle_secure_auto_seal(lle_memory_manager_t *m, void *p, bool on)
{
    if (!m || !p) return LLE_ERROR_NULL_PARAMETER;
    sec_t *S = atomic_load_explicit(&m->sec, memory_order_acquire);
    lle__sec_pend_t pd = {0};
    sslab_t *ss;
    uint32_t i;
    lle_result_t err = LLE_ERROR_INVALID_POINTER;
    if (S) {
        pthread_mutex_lock(&S->lock);
        sblk_t *b = find(m, p, true, &ss, &i, &err);
        if (b && (b->flags & B_OWNED)) {
            err = LLE_ERROR_INVALID_POINTER;   /* the library's own, not the caller's */
            lle__sec_pend_set(&pd, err, b->pool, b->len, p,
                              "secure auto-seal of %p: the block belongs to the library (a "
                              "history entry or a secure buffer's content); nothing changed",
                              p);
        } else if (b && on != !!(b->flags & B_AUTO)) {
            b->flags ^= B_AUTO;
            if (on) S->st.auto_seal_blocks++;
            else S->st.auto_seal_blocks--;
        }
        pthread_mutex_unlock(&S->lock);
    }
    if (err != LLE_SUCCESS) report_bad(&pd, err, p, "secure auto-seal");
    lle__sec_pend_flush(m, &pd);
    return err;
}

bool lle_is_sealed(lle_memory_manager_t *m, const void *p)
{
    if (!m || !p) return false;
    sec_t *S = atomic_load_explicit(&m->sec, memory_order_acquire);
    if (!S) return false;
    sslab_t *ss;
    uint32_t i;
    lle_result_t err;
    pthread_mutex_lock(&S->lock);
    sblk_t *b = find(m, p, true, &ss, &i, &err);
    bool sealed = b && (b->flags & B_SEALED);
    pthread_mutex_unlock(&S->lock);
    return sealed;
}

/* ---- key rotation ------------------------------------------------------------------ */

/* Start a rotation (S->lock held, none under way): new current keys; the
 * old ones are kept, and every seal record goes to the old list. */
static bool rotation_start(lle_memory_manager_t *m, sec_t *S, lle__sec_pend_t *pd)
{
    unsigned char *k = keys_new(m, S, pd);
    if (!k) return false;
    S->old_keys = S->keys;
    S->old_epoch = S->epoch;
    S->keys = k;
    S->epoch = S->st.key_generation;
    S->keys_born_ns = lle__now_coarse_ns();
    S->list_gen++;   /* every record now on the list is old: no walk */
    S->old_list = S->sealed;
    S->sealed = NULL;
    S->rot_work_ns = 0;
    S->rot_done = 0;
    return true;
}

/* Re-seal the first record of the old list under the current keys and
 * move it to S->sealed (S->lock held).  False when it failed
 * authentication: it is then wiped, lost and reported in pd. */
static bool rotation_one(sec_t *S, lle__sec_pend_t *pd)
{
    seal_t *r = S->old_list;
    sblk_t *b = &r->ss->blk[r->idx];
    char *p = block_addr(r->ss, r->idx);
    bool ok = true;
    seal_unlink(S, r);
    if (!(b->flags & B_LOST) && S->old_keys && r->epoch == S->old_epoch) {
        if (open_locked(r->ss, r->idx, S->old_keys, S->old_epoch)) {
            encrypt_block(p, b, r, S->keys, S->epoch);
            S->rot_done++;
            S->st.resealed_blocks++;
        } else {
            b->flags |= B_LOST;
            S->st.tamper_detected++;
            lle__sec_pend_set(pd, LLE_ERROR_CORRUPTION, b->pool, b->len, p,
                              "key rotation: sealed block %p failed authentication (it was "
                              "changed) and cannot be re-sealed; it is wiped and its key is "
                              "gone",
                              (void *)p);
            ok = false;
        }
    }
    seal_push(S, r);
    return ok;
}

/* The old list is empty: wipe the old keys, count the rotation. */
static void rotation_end(lle_memory_manager_t *m, sec_t *S)
{
    if (S->old_keys) keys_free(m, S, S->old_keys);
    S->old_keys = NULL;
    S->st.key_rotations++;
    S->st.last_rotation_ns = S->rot_work_ns;
}

lle_result_t lle_seal_rotate_keys(lle_memory_manager_t *m, size_t *resealed)
{
    if (resealed) *resealed = 0;
    if (!m) return LLE_ERROR_NULL_PARAMETER;
    sec_t *S = get_sec(m);
    if (!S) return LLE_ERROR_INVALID_STATE;
    lle__sec_pend_t pd = {0};
    size_t lost = 0, done = 0;
    lle_result_t err = LLE_SUCCESS;
    pthread_mutex_lock(&S->lock);
    uint64_t t0 = lle__now_ns();
    if (S->old_list || S->old_keys) {   /* one under way (idle): finish it */
        while (S->old_list) lost += !rotation_one(S, &pd);
        S->rot_work_ns += lle__now_ns() - t0;
        rotation_end(m, S);
        t0 = lle__now_ns();
    }
    if (!rotation_start(m, S, &pd)) {
        err = pd.code;
    } else {
        while (S->old_list) lost += !rotation_one(S, &pd);
        done = S->rot_done;
        S->rot_work_ns = lle__now_ns() - t0;
        rotation_end(m, S);
    }
    if (err == LLE_SUCCESS && lost) err = LLE_ERROR_CORRUPTION;
    pthread_mutex_unlock(&S->lock);
    lle__sec_pend_flush(m, &pd);
    if (resealed) *resealed = done;
    return err;
}

/* ---- policy and cold sealing ----------------------------------------------------------- */

static bool policy_covers(const lle_secure_config_t *c, int sens)
{
    return c->encrypt_all_allocations || (c->encrypt_sensitive_data && sens >= (int)c->sensitive_level);
}

bool lle_secure_policy_seals(lle_memory_manager_t *m, lle_sensitivity_t sensitivity)
{
    if (!m) return false;
    sec_t *S = get_sec(m);
    if (!S) return false;
    pthread_mutex_lock(&S->lock);
    bool yes = policy_covers(&S->cfg, (int)sensitivity);
    pthread_mutex_unlock(&S->lock);
    return yes;
}

lle_result_t lle_secure_touch(lle_memory_manager_t *m, const void *p)
{
    if (!m || !p) return LLE_ERROR_NULL_PARAMETER;
    sec_t *S = atomic_load_explicit(&m->sec, memory_order_acquire);
    if (!S) return LLE_ERROR_INVALID_POINTER;
    sslab_t *ss;
    uint32_t i;
    lle_result_t err;
    pthread_mutex_lock(&S->lock);
    sblk_t *b = find(m, p, true, &ss, &i, &err);
    if (b) b->used_ns = lle__now_coarse_ns();
    pthread_mutex_unlock(&S->lock);
    return err;
}

/* The slab lists cold sealing walks, in a fixed order (S->lock held). */
static sslab_t *slab_list(const sec_t *S, int k)
{
    if (k < 2 * NCLASS) return k % 2 ? S->full[k / 2] : S->avail[k / 2];
    return S->large;
}

/* Whether block i of ss is a candidate for cold sealing: live, unsealed,
 * not the keys, covered by the policy, unused since `before`; and, for
 * idle, marked B_AUTO (for lle_secure_seal_cold: not B_OWNED). */
static bool cold_candidate(const sec_t *S, const sslab_t *ss, uint32_t i, uint64_t now,
                           uint64_t age, bool idle)
{
    const sblk_t *b = &ss->blk[i];
    if (!bit_taken(ss, i) || (b->flags & (B_SEALED | B_KEYS))) return false;
    if (idle ? !(b->flags & B_AUTO) : (b->flags & B_OWNED) != 0) return false;
    return policy_covers(&S->cfg, b->sens) && now - b->used_ns >= age;
}

lle_result_t lle_secure_seal_cold(lle_memory_manager_t *m, uint64_t idle_ns, size_t *sealed)
{
    if (sealed) *sealed = 0;
    if (!m) return LLE_ERROR_NULL_PARAMETER;
    sec_t *S = get_sec(m);
    if (!S) return LLE_ERROR_INVALID_STATE;
    lle__sec_pend_t pd = {0};
    lle_result_t err = LLE_SUCCESS;
    size_t n = 0;
    pthread_mutex_lock(&S->lock);
    uint64_t now = lle__now_coarse_ns();
    for (int k = 0; k < 2 * NCLASS + 1 && err == LLE_SUCCESS; k++)
        for (sslab_t *ss = slab_list(S, k); ss && err == LLE_SUCCESS; ss = ss->next)
            for (uint32_t i = 0; i < ss->capacity && err == LLE_SUCCESS; i++) {
                if (!cold_candidate(S, ss, i, now, idle_ns, false)) continue;
                if (!keys_ready(m, S, &pd)) {
                    err = pd.code;
                    break;
                }
                err = seal_locked(m, S, ss, i, &pd);
                if (err == LLE_SUCCESS) n++;
                else S->st.seal_failures++;
            }
    pthread_mutex_unlock(&S->lock);
    lle__sec_pend_flush(m, &pd);
    if (sealed) *sealed = n;
    return err;
}

/* ---- idle upkeep ------------------------------------------------------------------------- */

/* Which per-KiB estimate a block of n bytes (n > 512) uses. */
static int size_band(size_t n)
{
    return n <= 4096 ? 0 : n <= 32768 ? 1 : 2;
}

uint64_t lle__seal_estimate_ns(lle_memory_manager_t *m, size_t n)
{
    sec_t *S = atomic_load_explicit(&m->sec, memory_order_acquire);
    if (!S) return 0;
    uint64_t base = atomic_load_explicit(&S->est_base_ns, memory_order_relaxed);
    if (n <= 512) return base;
    uint64_t kib = atomic_load_explicit(&S->est_kib_ns[size_band(n)], memory_order_relaxed);
    return base + (uint64_t)n * kib / 1024;
}

/* An estimate moved toward a sample: up by half the gap, down by an
 * eighth, so that it stays near the slower steps (an estimate too low
 * overshoots the budget; one too high only leaves a step for the next
 * call).  A sample is capped at 4 times the estimate: one step that lost
 * the CPU does not make every later one look too long. */
static uint64_t follow(uint64_t est, uint64_t sample)
{
    if (sample > 4 * est + 64) sample = 4 * est + 64;
    return sample > est ? est + (sample - est + 1) / 2 : est - (est - sample) / 8;
}

void lle__seal_measured(lle_memory_manager_t *m, size_t n, uint64_t ns)
{
    sec_t *S = atomic_load_explicit(&m->sec, memory_order_acquire);
    if (!S) return;
    /* Small blocks teach the base, larger ones the cost of a KiB beyond
     * it, per size band.  Races between two idle threads lose a sample,
     * nothing more. */
    uint64_t base = atomic_load_explicit(&S->est_base_ns, memory_order_relaxed);
    if (n <= 512) {
        atomic_store_explicit(&S->est_base_ns, follow(base, ns), memory_order_relaxed);
    } else {
        _Atomic uint64_t *est = &S->est_kib_ns[size_band(n)];
        uint64_t kib = atomic_load_explicit(est, memory_order_relaxed);
        uint64_t sample = ns > base ? (ns - base) * 1024 / n : 0;
        atomic_store_explicit(est, follow(kib, sample), memory_order_relaxed);
    }
}

void lle__seal_skipped(lle_memory_manager_t *m, size_t n)
{
    sec_t *S = atomic_load_explicit(&m->sec, memory_order_acquire);
    if (!S) return;
    /* A step not started teaches nothing: shrink the estimate it used a
     * little, so that an estimate too high (a slow moment) cannot stop
     * idle sealing for good; one that is right grows back with the next
     * sample. */
    _Atomic uint64_t *est = n <= 512 ? &S->est_base_ns : &S->est_kib_ns[size_band(n)];
    uint64_t v = atomic_load_explicit(est, memory_order_relaxed);
    atomic_store_explicit(est, v - v / 16, memory_order_relaxed);
}

/* Rotation steps: start one when the keys are older than the interval,
 * then re-seal blocks of the old list while they fit before deadline. */
static void idle_rotation(lle_memory_manager_t *m, sec_t *S, uint64_t deadline, bool *left,
                          lle__sec_pend_t *pd)
{
    pthread_mutex_lock(&S->lock);
    uint64_t interval = S->cfg.rotate_interval_ms * 1000000u;
    if (!S->old_keys && S->keys && interval &&
        lle__now_coarse_ns() - S->keys_born_ns >= interval) {
        uint64_t t = lle__now_ns();
        /* Drawing keys: a block of the key set's size to fill, 1 + pools derivations. */
        if (t + lle__seal_estimate_ns(m, KEYSET_BYTES) * 2 > deadline) {
            *left = true;
            lle__seal_skipped(m, KEYSET_BYTES);
            pthread_mutex_unlock(&S->lock);
            return;
        }
        if (!rotation_start(m, S, pd)) {
            pthread_mutex_unlock(&S->lock);
            return;
        }
        S->st.idle_rotations++;
        S->rot_work_ns += lle__now_ns() - t;
    }
    unsigned batch = 0;
    while (S->old_list) {
        size_t len = S->old_list->ss->blk[S->old_list->idx].len;
        uint64_t t = lle__now_ns();
        if (t + 2 * lle__seal_estimate_ns(m, len) > deadline) {   /* open + seal */
            *left = true;
            lle__seal_skipped(m, len);
            break;
        }
        rotation_one(S, pd);
        uint64_t took = lle__now_ns() - t;
        S->rot_work_ns += took;
        S->st.idle_resealed++;
        lle__seal_measured(m, len, took / 2);
        if (++batch == IDLE_BATCH) {   /* let the program in */
            batch = 0;
            pthread_mutex_unlock(&S->lock);
            pthread_mutex_lock(&S->lock);
        }
    }
    if (S->old_keys && !S->old_list) rotation_end(m, S);
    pthread_mutex_unlock(&S->lock);
}

/* The marked blocks' part of a cold pass (S->lock held); false when it
 * stopped before its end (the cursor in S->cold_list / cold_slab). */
static bool idle_cold_blocks(lle_memory_manager_t *m, sec_t *S, uint64_t age, uint64_t deadline,
                             lle__sec_pend_t *pd)
{
    unsigned batch = 0;
    uint64_t now = lle__now_coarse_ns();
    if (!S->st.auto_seal_blocks) return true;   /* nothing marked: nothing to look at */
    for (; S->cold_list < 2 * NCLASS + 1; S->cold_list++, S->cold_slab = 0) {
    rescan:;
        sslab_t *ss = slab_list(S, S->cold_list);
        for (size_t k = 0; ss && k < S->cold_slab; k++) ss = ss->next;
        for (; ss; ss = ss->next, S->cold_slab++) {
            if (lle__now_ns() >= deadline) return false;
            for (uint32_t i = 0; i < ss->capacity; i++) {
                if (!cold_candidate(S, ss, i, now, age, true)) continue;
                size_t len = ss->blk[i].len;
                uint64_t t = lle__now_ns();
                if (t + lle__seal_estimate_ns(m, len) > deadline) {
                    lle__seal_skipped(m, len);
                    return false;
                }
                if (!keys_ready(m, S, pd) || seal_locked(m, S, ss, i, pd) != LLE_SUCCESS) {
                    S->st.seal_failures++;
                    return true;   /* reported; the next pass tries again */
                }
                S->st.idle_sealed++;
                lle__seal_measured(m, len, lle__now_ns() - t);
                if (++batch == IDLE_BATCH) {
                    /* Let the program in; the slab may be gone after: find
                     * it again by its ordinal (its sealed blocks are skipped). */
                    batch = 0;
                    pthread_mutex_unlock(&S->lock);
                    pthread_mutex_lock(&S->lock);
                    goto rescan;
                }
            }
        }
    }
    return true;
}

/* A cold-sealing pass, resumed or new: the history stores, then the
 * marked blocks.  Runs in one idle call at a time (stores_lock). */
static void idle_cold(lle_memory_manager_t *m, sec_t *S, uint64_t deadline, bool *left,
                      lle__sec_pend_t *pd)
{
    if (pthread_mutex_trylock(&S->stores_lock)) return;   /* another idle call has it */
    pthread_mutex_lock(&S->lock);
    uint64_t age = S->cfg.cold_seal_ms * 1000000u;
    bool want[LLE_SENSITIVITY_COUNT];
    for (int k = 0; k < LLE_SENSITIVITY_COUNT; k++) want[k] = policy_covers(&S->cfg, k);
    uint64_t now = lle__now_coarse_ns();
    bool go = S->cold_running || now >= S->cold_next_ns;
    if (go && !S->cold_running) {
        S->cold_running = true;
        S->cold_store = 0;
        S->cold_list = 0;
        S->cold_slab = 0;
    }
    pthread_mutex_unlock(&S->lock);
    if (!go) goto out;

    lle_history_store_t *h = S->stores;
    for (size_t k = 0; h && k < S->cold_store; k++) h = *lle__history_next(h);
    for (; h; h = *lle__history_next(h)) {
        size_t n = 0;
        bool done = lle__history_idle(h, age, deadline, want, &n, pd);
        pthread_mutex_lock(&S->lock);
        S->st.idle_sealed += n;
        pthread_mutex_unlock(&S->lock);
        if (!done) {
            *left = true;
            goto out;
        }
        S->cold_store++;
    }
    pthread_mutex_lock(&S->lock);
    if (idle_cold_blocks(m, S, age, deadline, pd)) {
        /* The pass is over: the next one when more can have gone cold. */
        uint64_t gap = age / 8 > 1000000u ? age / 8 : 1000000u;
        S->cold_running = false;
        S->cold_next_ns = lle__now_coarse_ns() + gap;
    } else {
        *left = true;
    }
    pthread_mutex_unlock(&S->lock);
out:
    pthread_mutex_unlock(&S->stores_lock);
}

void lle__secure_idle(lle_memory_manager_t *m, uint64_t deadline, bool *work_left)
{
    sec_t *S = atomic_load_explicit(&m->sec, memory_order_acquire);
    if (!S) return;   /* never used: nothing sealed, nothing to seal */
    lle__sec_pend_t pd = {0};
    pthread_mutex_lock(&S->lock);
    bool rotate = S->cfg.rotate_interval_ms || S->old_keys;
    bool cold = S->cfg.cold_seal_ms != 0;
    pthread_mutex_unlock(&S->lock);
    if (rotate) idle_rotation(m, S, deadline, work_left, &pd);
    if (cold) idle_cold(m, S, deadline, work_left, &pd);
    lle__sec_pend_flush(m, &pd);
}

/* ---- history stores ---------------------------------------------------------------------- */

bool lle__sec_store_add(lle_memory_manager_t *m, lle_history_store_t *h)
{
    sec_t *S = get_sec(m);
    if (!S) return false;
    pthread_mutex_lock(&S->stores_lock);
    *lle__history_next(h) = S->stores;
    S->stores = h;
    pthread_mutex_unlock(&S->stores_lock);
    return true;
}

void lle__sec_store_remove(lle_memory_manager_t *m, lle_history_store_t *h)
{
    sec_t *S = atomic_load_explicit(&m->sec, memory_order_acquire);
    if (!S) return;
    pthread_mutex_lock(&S->stores_lock);
    for (lle_history_store_t **pp = &S->stores; *pp; pp = lle__history_next(*pp))
        if (*pp == h) {
            *pp = *lle__history_next(h);
            break;
        }
    pthread_mutex_unlock(&S->stores_lock);
}

/* ---- statistics ------------------------------------------------------------------------- */

lle_result_t lle_secure_get_stats(lle_memory_manager_t *m, lle_secure_stats_t *out)
{
    if (!m || !out) return LLE_ERROR_NULL_PARAMETER;
    memset(out, 0, sizeof *out);
    sec_t *S = atomic_load_explicit(&m->sec, memory_order_acquire);
    if (!S) return LLE_SUCCESS;   /* never used: all zero */
    pthread_mutex_lock(&S->lock);
    *out = S->st;
    out->rotation_pending = S->old_keys != NULL;
    pthread_mutex_unlock(&S->lock);
    out->seal_ns_avg = out->seals ? out->seal_ns_total / out->seals : 0;
    out->unseal_ns_avg = out->unseals ? out->unseal_ns_total / out->unseals : 0;
    return LLE_SUCCESS;
}
