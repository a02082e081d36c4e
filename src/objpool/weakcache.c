/*
 * weakcache.c - a string-keyed map whose values are weak references.
 *
 * The table is open addressing with linear probing over a power-of-two
 * array of slots; a slot holds the key's hash (so a probe compares keys
 * only when the hashes agree) and a pointer to the entry, one block of the
 * manager with the weak reference and a copy of the key.  Deletion shifts
 * the following entries of the probe run back (no tombstones), so a table
 * that only sees puts and removals never fills with debris.
 *
 * Objects die without telling the cache (lle/ref.h has no death callback),
 * so dead entries are found by looking:
 *   - a get, put or remove of a key checks that key's entry;
 *   - every get, put and remove also checks the next SWEEP slots of a
 *     cursor that walks round the table, so a dead entry nobody asks for
 *     goes within about capacity / SWEEP operations, at O(1) per operation;
 *   - purge and count check every entry;
 *   - when the table reaches 3/4 full it first drops every dead entry and
 *     grows (doubles) only if it is still more than half full: the scan is
 *     paid for by the inserts (or deaths) that filled the table.
 * An explicit purge that leaves the table less than 1/8 full shrinks it.
 *
 * One mutex guards the table and the counters.  Under it the cache calls
 * only lle_weak_alive and lle_weak_get (which take no lock of ours and run
 * no callback) and the pools; weak references and entries that leave the
 * table are freed after it is released.
 */
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "lle/objpool.h"
#include "lle/pool.h"
#include "lle/ref.h"

#define SWEEP        2                      /* slots checked per operation */
#define MIN_SLOTS    ((size_t)8)
#define MAX_INITIAL  ((size_t)1 << 32)

typedef struct entry {
    struct entry *next;      /* on a list of entries to free */
    lle_weak_t   *weak;
    size_t        len;
    char          key[];
} entry_t;

typedef struct slot {
    uint64_t hash;
    entry_t *e;              /* NULL: empty */
} slot_t;

struct lle_weak_cache {
    pthread_mutex_t       lock;
    lle_memory_manager_t *m;
    slot_t               *slots;
    size_t                cap;       /* a power of two */
    size_t                count;     /* entries held, dead or alive */
    size_t                min_cap;   /* what it started with; never shrinks below */
    size_t                cursor;    /* next slot the sweep checks */
    uint64_t              hits, misses, puts, replaced, removed, dead_purged;
    int                   pool;
};

void lle_weak_cache_config_default(lle_weak_cache_config_t *cfg)
{
    if (!cfg) return;
    cfg->pool = LLE_POOL_CUSTOM;
    cfg->initial_capacity = 16;
}

/* FNV-1a over the bytes, then a 64-bit finaliser so that the low bits
 * (the ones the table uses) depend on every byte. */
static uint64_t hash_key(const char *key, size_t *len)
{
    uint64_t h = 0xcbf29ce484222325ull;
    const unsigned char *s = (const unsigned char *)key;
    size_t n = 0;
    for (; s[n]; n++) h = (h ^ s[n]) * 0x100000001b3ull;
    *len = n;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

/* ---- the table (lock held) ------------------------------------------------ */

static size_t find(const lle_weak_cache_t *c, uint64_t h, const char *key, size_t len)
{
    size_t mask = c->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const entry_t *e = c->slots[i].e;
        if (!e) return SIZE_MAX;
        if (c->slots[i].hash == h && e->len == len && memcmp(e->key, key, len) == 0) return i;
    }
}

static void place(slot_t *slots, size_t cap, uint64_t h, entry_t *e)
{
    size_t mask = cap - 1, i = h & mask;
    while (slots[i].e) i = (i + 1) & mask;
    slots[i].hash = h;
    slots[i].e = e;
}

/* Empty slot i and shift back the entries after it that probed past it. */
static void remove_at(lle_weak_cache_t *c, size_t i)
{
    size_t mask = c->cap - 1;
    c->slots[i].e = NULL;
    for (size_t j = (i + 1) & mask; c->slots[j].e; j = (j + 1) & mask) {
        size_t home = c->slots[j].hash & mask;
        /* j's entry may move to i unless its home lies cyclically in (i, j]. */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays) continue;
        c->slots[i] = c->slots[j];
        c->slots[j].e = NULL;
        i = j;
    }
    c->count--;
}

/* Take slot i's entry out of the table onto *gone (freed after unlock). */
static void take_at(lle_weak_cache_t *c, size_t i, entry_t **gone)
{
    entry_t *e = c->slots[i].e;
    remove_at(c, i);
    e->next = *gone;
    *gone = e;
}

static inline bool dead_at(const lle_weak_cache_t *c, size_t i)
{
    return c->slots[i].e && !lle_weak_alive(c->slots[i].e->weak);
}

/* The amortised part of the dead-entry hunt: SWEEP slots at the cursor. */
static void sweep_step(lle_weak_cache_t *c, entry_t **gone)
{
    for (int k = 0; k < SWEEP && c->count; k++) {
        size_t i = c->cursor & (c->cap - 1);
        if (dead_at(c, i)) {           /* slot i now holds a shifted entry: check it next */
            take_at(c, i, gone);
            c->dead_purged++;
        } else {
            c->cursor = i + 1;
        }
    }
}

/* Every dead entry out; returns how many.  A removal at i can shift an
 * entry into i (checked again) or, at the wrap, from the start of the
 * table to its end (still ahead of the scan). */
static size_t purge_all(lle_weak_cache_t *c, entry_t **gone)
{
    size_t n = 0;
    for (size_t i = 0; i < c->cap; i++) {
        while (dead_at(c, i)) {
            take_at(c, i, gone);
            n++;
        }
    }
    c->dead_purged += n;
    return n;
}

/* Move the entries to a table of new_cap slots; false (nothing changed)
 * when there is no memory for it. */
static bool rehash(lle_weak_cache_t *c, size_t new_cap)
{
    slot_t *s = lle_pool_calloc(c->m, (lle_memory_pool_type_t)c->pool, new_cap, sizeof *s);
    if (!s) return false;
    for (size_t i = 0; i < c->cap; i++)
        if (c->slots[i].e) place(s, new_cap, c->slots[i].hash, c->slots[i].e);
    lle_pool_free(c->m, c->slots);
    c->slots = s;
    c->cap = new_cap;
    c->cursor = 0;
    return true;
}

/* Room for one more entry: at 3/4 full, drop the dead, then double when
 * still more than half full. */
static bool make_room(lle_weak_cache_t *c, entry_t **gone)
{
    if ((c->count + 1) * 4 <= c->cap * 3) return true;
    purge_all(c, gone);
    if ((c->count + 1) * 2 <= c->cap) return true;
    if (c->cap > SIZE_MAX / 2 / sizeof(slot_t)) return false;
    return rehash(c, c->cap * 2);
}

/* After a full purge: a table less than 1/8 full halves until it is at
 * least 1/4 full (never below its first size). */
static void maybe_shrink(lle_weak_cache_t *c)
{
    size_t cap = c->cap;
    while (cap > c->min_cap && c->count * 8 < cap) cap /= 2;
    if (cap != c->cap) (void)rehash(c, cap);   /* no memory: stay as large */
}

static void free_entries(lle_weak_cache_t *c, entry_t *gone)
{
    while (gone) {
        entry_t *e = gone;
        gone = e->next;
        lle_weak_free(e->weak);
        lle_pool_free(c->m, e);
    }
}

/* ---- the calls ------------------------------------------------------------ */

lle_result_t lle_weak_cache_create(lle_memory_manager_t *m, const lle_weak_cache_config_t *cfg,
                                   lle_weak_cache_t **out)
{
    if (out) *out = NULL;
    if (!m || !out) return LLE_ERROR_NULL_PARAMETER;
    lle_weak_cache_config_t k;
    if (cfg) k = *cfg;
    else lle_weak_cache_config_default(&k);
    if ((unsigned)k.pool >= LLE_POOL_COUNT || k.initial_capacity == 0 ||
        k.initial_capacity > MAX_INITIAL) {
        lle__report(m, LLE_ERROR_INVALID_ARGUMENT, -1, k.initial_capacity, NULL,
                    "weak cache: bad configuration (pool %d, initial capacity %zu)", (int)k.pool,
                    k.initial_capacity);
        return LLE_ERROR_INVALID_ARGUMENT;
    }
    /* Twice the entries asked for, so that they fit below the 3/4 mark. */
    size_t cap = MIN_SLOTS;
    while (cap < k.initial_capacity * 2) cap *= 2;
    lle_weak_cache_t *c = lle_pool_alloc(m, k.pool, sizeof *c);
    if (!c) return LLE_ERROR_OUT_OF_MEMORY;
    memset(c, 0, sizeof *c);
    c->m = m;
    c->pool = (int)k.pool;
    c->slots = lle_pool_calloc(m, k.pool, cap, sizeof *c->slots);
    if (!c->slots) {                           /* reported by the pool */
        lle_pool_free(m, c);
        return LLE_ERROR_OUT_OF_MEMORY;
    }
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        lle_pool_free(m, c->slots);
        lle_pool_free(m, c);
        lle__report(m, LLE_ERROR_OUT_OF_MEMORY, (int)k.pool, 0, NULL,
                    "weak cache: no mutex could be made");
        return LLE_ERROR_OUT_OF_MEMORY;
    }
    c->cap = c->min_cap = cap;
    *out = c;
    return LLE_SUCCESS;
}

static lle_result_t null_arg(lle_weak_cache_t *c, const char *what)
{
    if (c) lle__report(c->m, LLE_ERROR_NULL_PARAMETER, c->pool, 0, NULL, "weak cache: %s", what);
    return LLE_ERROR_NULL_PARAMETER;
}

lle_result_t lle_weak_cache_put(lle_weak_cache_t *c, const char *key, void *obj)
{
    if (!c || !key || !obj) return null_arg(c, "put without a key or an object");
    size_t len;
    uint64_t h = hash_key(key, &len);
    lle_weak_t *w = lle_weak_new(obj);
    if (!w) {
        lle_result_t rc = lle_ref_count(obj) == 0 ? LLE_ERROR_DEAD_OBJECT : LLE_ERROR_OUT_OF_MEMORY;
        lle__report(c->m, rc, c->pool, 0, obj, "weak cache: put of '%.64s' failed: %s", key,
                    rc == LLE_ERROR_DEAD_OBJECT ? "the object is not alive"
                                                : "no memory for a weak reference");
        return rc;
    }
    entry_t *e = lle_pool_alloc(c->m, (lle_memory_pool_type_t)c->pool, sizeof *e + len + 1);
    if (!e) {
        lle_weak_free(w);
        return LLE_ERROR_OUT_OF_MEMORY;   /* reported by the pool */
    }
    e->next = NULL;
    e->weak = w;
    e->len = len;
    memcpy(e->key, key, len + 1);

    entry_t *gone = NULL;
    lle_result_t rc = LLE_SUCCESS;
    pthread_mutex_lock(&c->lock);
    sweep_step(c, &gone);
    size_t i = find(c, h, key, len);
    if (i != SIZE_MAX) {
        if (lle_weak_alive(c->slots[i].e->weak)) c->replaced++;
        else c->dead_purged++;
        c->slots[i].e->next = gone;
        gone = c->slots[i].e;
        c->slots[i].e = e;
        c->puts++;
    } else if (make_room(c, &gone)) {
        place(c->slots, c->cap, h, e);
        c->count++;
        c->puts++;
    } else {
        rc = LLE_ERROR_OUT_OF_MEMORY;
        e->next = gone;
        gone = e;
    }
    pthread_mutex_unlock(&c->lock);
    free_entries(c, gone);
    if (rc != LLE_SUCCESS)
        lle__report(c->m, rc, c->pool, 0, NULL, "weak cache: no memory to grow the table for '%.64s'",
                    key);
    return rc;
}

void *lle_weak_cache_get(lle_weak_cache_t *c, const char *key)
{
    if (!c || !key) {
        null_arg(c, "get without a key");
        return NULL;
    }
    size_t len;
    uint64_t h = hash_key(key, &len);
    entry_t *gone = NULL;
    void *obj = NULL;
    pthread_mutex_lock(&c->lock);
    sweep_step(c, &gone);
    size_t i = find(c, h, key, len);
    if (i != SIZE_MAX) {
        obj = lle_weak_get(c->slots[i].e->weak);
        if (!obj) {
            take_at(c, i, &gone);
            c->dead_purged++;
        }
    }
    if (obj) c->hits++;
    else c->misses++;
    pthread_mutex_unlock(&c->lock);
    free_entries(c, gone);
    return obj;
}

lle_result_t lle_weak_cache_remove(lle_weak_cache_t *c, const char *key, bool *removed)
{
    if (removed) *removed = false;
    if (!c || !key) return null_arg(c, "remove without a key");
    size_t len;
    uint64_t h = hash_key(key, &len);
    entry_t *gone = NULL;
    bool live = false;
    pthread_mutex_lock(&c->lock);
    sweep_step(c, &gone);
    size_t i = find(c, h, key, len);
    if (i != SIZE_MAX) {
        live = lle_weak_alive(c->slots[i].e->weak);
        if (live) c->removed++;
        else c->dead_purged++;
        take_at(c, i, &gone);
    }
    pthread_mutex_unlock(&c->lock);
    free_entries(c, gone);
    if (removed) *removed = live;
    return LLE_SUCCESS;
}

size_t lle_weak_cache_purge(lle_weak_cache_t *c)
{
    if (!c) return 0;
    entry_t *gone = NULL;
    pthread_mutex_lock(&c->lock);
    size_t n = purge_all(c, &gone);
    maybe_shrink(c);
    pthread_mutex_unlock(&c->lock);
    free_entries(c, gone);
    return n;
}

size_t lle_weak_cache_count(lle_weak_cache_t *c)
{
    if (!c) return 0;
    entry_t *gone = NULL;
    pthread_mutex_lock(&c->lock);
    purge_all(c, &gone);
    size_t n = c->count;
    pthread_mutex_unlock(&c->lock);
    free_entries(c, gone);
    return n;
}

lle_result_t lle_weak_cache_destroy(lle_weak_cache_t *c)
{
    if (!c) return LLE_SUCCESS;
    entry_t *gone = NULL;
    for (size_t i = 0; i < c->cap; i++) {
        entry_t *e = c->slots[i].e;
        if (!e) continue;
        e->next = gone;
        gone = e;
    }
    free_entries(c, gone);
    lle_memory_manager_t *m = c->m;
    lle_pool_free(m, c->slots);
    pthread_mutex_destroy(&c->lock);
    lle_pool_free(m, c);
    return LLE_SUCCESS;
}

lle_result_t lle_weak_cache_get_stats(lle_weak_cache_t *c, lle_weak_cache_stats_t *out)
{
    if (!c || !out) return LLE_ERROR_NULL_PARAMETER;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&c->lock);
    out->hits = c->hits;
    out->misses = c->misses;
    out->puts = c->puts;
    out->replaced = c->replaced;
    out->removed = c->removed;
    out->dead_purged = c->dead_purged;
    out->entries = c->count;
    out->capacity = c->cap;
    pthread_mutex_unlock(&c->lock);
    return LLE_SUCCESS;
}
