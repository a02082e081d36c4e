/*
 * history.c - the compressed, sealable history store (lle/history.h).
 *
 * A chained hash table (FNV-1a of the key, power-of-two buckets, doubled
 * when entries outnumber buckets) of entries allocated from the HISTORY
 * pool, each with its key inline.  Content lives in its own block: an
 * ordinary HISTORY block, or a secure block when the entry's sensitivity
 * asks for it (see lle/history.h).  Compressed content is kept as one zstd
 * frame; the temporary buffer a compression needs is a secure block for a
 * secure entry (wiped on free), so no derivative of a secret is left in
 * ordinary memory.
 *
 * The store's lock is held across the calls into the secure pool, which
 * leave their reports in a pending record (lle__sec_pend_t) delivered once
 * the lock is released: an error callback may call into the same store.
 *
 * The store is registered with its manager's secure state, so that
 * lle_memory_idle can seal its cold entries (lle__history_idle, under the
 * store's lock, from a bucket cursor kept here).  unsealed[] counts the
 * entries not sealed by sensitivity, so that a store holding nothing the
 * policy covers costs idle nothing.
 */
#include <pthread.h>
#include <string.h>
#include <zstd.h>

#include "secure/secure_internal.h"

typedef struct hent {
    struct hent *next;
    uint64_t     hash;
    uint64_t     used_ns;      /* last put or read (coarse clock) */
    void        *data;         /* content as kept */
    size_t       stored, orig; /* bytes kept, bytes put */
    uint8_t      compressed, secure, sealed, sens;
    size_t       keylen;
    char         key[];
} hent_t;

struct lle_history_store {
    lle_memory_manager_t *m;
    pthread_mutex_t       lock;
    hent_t              **buckets;
    size_t                nbuckets;   /* a power of two */
    lle_history_stats_t   st;
    size_t                unsealed[LLE_SENSITIVITY_COUNT];
    size_t                cold_bucket;   /* where the next idle step goes on */
    lle_history_store_t  *next_store;    /* the secure state's list */
};

lle_history_store_t **lle__history_next(lle_history_store_t *h)
{
    return &h->next_store;
}

static uint64_t hash_key(const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)k[i];
        h *= 1099511628211ull;
    }
    return h;
}

lle_result_t lle_history_create(lle_memory_manager_t *m, lle_history_store_t **out)
{
    if (!m || !out) return LLE_ERROR_NULL_PARAMETER;
    *out = NULL;
    lle_history_store_t *h = lle_pool_calloc(m, LLE_POOL_HISTORY, 1, sizeof *h);
    if (!h) return LLE_ERROR_OUT_OF_MEMORY;
    h->m = m;
    h->nbuckets = 64;
    h->buckets = lle_pool_calloc(m, LLE_POOL_HISTORY, h->nbuckets, sizeof *h->buckets);
    if (!h->buckets) {
        lle_pool_free(m, h);
        return LLE_ERROR_OUT_OF_MEMORY;
    }
    pthread_mutex_init(&h->lock, NULL);
    if (!lle__sec_store_add(m, h)) {   /* reported */
        pthread_mutex_destroy(&h->lock);
        lle_pool_free(m, h->buckets);
        lle_pool_free(m, h);
        return LLE_ERROR_INVALID_STATE;
    }
    *out = h;
    return LLE_SUCCESS;
}

/* Forget an entry's content and counts (lock held; e unlinked by the caller). */
static void ent_free(lle_history_store_t *h, hent_t *e, lle__sec_pend_t *pd)
{
    lle_history_stats_t *st = &h->st;
    st->entries--;
    st->original_bytes -= e->orig;
    st->stored_bytes -= e->stored;
    if (e->compressed) st->compressed_entries--;
    if (e->secure) st->secure_entries--;
    if (e->sealed) st->sealed_entries--;
    else h->unsealed[e->sens]--;
    if (e->secure) lle__secure_free_pd(h->m, e->data, pd);   /* wipes */
    else lle_pool_free(h->m, e->data);
    lle_pool_free(h->m, e);
}

lle_result_t lle_history_destroy(lle_history_store_t *h)
{
    if (!h) return LLE_SUCCESS;
    lle_memory_manager_t *m = h->m;
    lle__sec_pend_t pd = {0};
    lle__sec_store_remove(m, h);   /* idle no longer sees it (waits for a step on it) */
    for (size_t b = 0; b < h->nbuckets; b++)
        for (hent_t *e = h->buckets[b], *next; e; e = next) {
            next = e->next;
            ent_free(h, e, &pd);
        }
    pthread_mutex_destroy(&h->lock);
    lle_pool_free(m, h->buckets);
    lle_pool_free(m, h);
    lle__sec_pend_flush(m, &pd);
    return LLE_SUCCESS;
}

static hent_t **slot_of(lle_history_store_t *h, const char *key, size_t n, uint64_t hash)
{
    hent_t **pp = &h->buckets[hash & (h->nbuckets - 1)];
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->hash == hash && (*pp)->keylen == n && memcmp((*pp)->key, key, n) == 0) break;
    return pp;
}

/* Double the buckets of a table that had `from` of them (called without
 * the lock: the new table is allocated before it is taken, and the old one
 * freed after, so that no report of the pools comes with it held). */
static void grow(lle_history_store_t *h, size_t from)
{
    size_t nb = from * 2;
    hent_t **b = lle_pool_calloc(h->m, LLE_POOL_HISTORY, nb, sizeof *b);
    if (!b) return;   /* longer chains, still correct */
    pthread_mutex_lock(&h->lock);
    hent_t **old = b;
    if (h->nbuckets == from) {   /* nobody grew it meanwhile */
        for (size_t i = 0; i < h->nbuckets; i++)
            for (hent_t *e = h->buckets[i], *next; e; e = next) {
                next = e->next;
                e->next = b[e->hash & (nb - 1)];
                b[e->hash & (nb - 1)] = e;
            }
        old = h->buckets;
        h->buckets = b;
        h->nbuckets = nb;
        h->cold_bucket = 0;
    }
    pthread_mutex_unlock(&h->lock);
    lle_pool_free(h->m, old);
}

static void *block_new(lle_history_store_t *h, bool secure, size_t n, int sens,
                       lle__sec_pend_t *pd)
{
    return secure ? lle__secure_alloc_pd(h->m, LLE_POOL_HISTORY, n, sens, true, pd)
                  : lle_pool_alloc(h->m, LLE_POOL_HISTORY, n);
}

static void block_free(lle_history_store_t *h, bool secure, void *p, lle__sec_pend_t *pd)
{
    if (secure) lle__secure_free_pd(h->m, p, pd);
    else lle_pool_free(h->m, p);
}

lle_result_t lle_history_put(lle_history_store_t *h, const char *key, const void *data, size_t len,
                             lle_sensitivity_t sens)
{
    if (!h || !key || (!data && len)) return LLE_ERROR_NULL_PARAMETER;
    size_t kn = strlen(key);
    if (!kn || (unsigned)sens >= LLE_SENSITIVITY_COUNT || len >= ((size_t)1 << 32))
        return LLE_ERROR_INVALID_ARGUMENT;
    bool secure = sens >= LLE_SENSITIVITY_HIGH || lle_secure_policy_seals(h->m, sens);
    lle__sec_pend_t pd = {0};   /* no lock is held until the entry goes in, but one record */
    /* The content as it will be kept, compressed when that saves 20 %. */
    const void *keep = data;
    size_t stored = len;
    void *tmp = NULL;
    bool compressed = false, tried = false;
    if (len > LLE_HISTORY_COMPRESS_MIN) {
        size_t bound = ZSTD_compressBound(len);
        tmp = block_new(h, secure, bound, sens, &pd);
        if (tmp) {
            tried = true;
            size_t c = ZSTD_compress(tmp, bound, data, len, 3);
            if (!ZSTD_isError(c) && c * 5 <= len * 4) {
                keep = tmp;
                stored = c;
                compressed = true;
            }
        }
    }
    hent_t *e = lle_pool_alloc(h->m, LLE_POOL_HISTORY, sizeof *e + kn + 1);
    void *blk = e ? block_new(h, secure, stored, sens, &pd) : NULL;
    if (!blk) {
        if (e) lle_pool_free(h->m, e);
        if (tmp) block_free(h, secure, tmp, &pd);
        lle__sec_pend_flush(h->m, &pd);
        return LLE_ERROR_OUT_OF_MEMORY;
    }
    if (stored) memcpy(blk, keep, stored);
    if (tmp) block_free(h, secure, tmp, &pd);
    memset(e, 0, sizeof *e);
    e->hash = hash_key(key, kn);
    e->keylen = kn;
    memcpy(e->key, key, kn + 1);
    e->data = blk;
    e->stored = stored;
    e->orig = len;
    e->compressed = compressed;
    e->secure = secure;
    e->sens = (uint8_t)sens;
    e->used_ns = lle__now_coarse_ns();

    pthread_mutex_lock(&h->lock);
    lle_history_stats_t *st = &h->st;
    hent_t **pp = slot_of(h, key, kn, e->hash);
    if (*pp) {
        hent_t *old = *pp;
        *pp = old->next;
        ent_free(h, old, &pd);
    }
    e->next = h->buckets[e->hash & (h->nbuckets - 1)];
    h->buckets[e->hash & (h->nbuckets - 1)] = e;
    st->entries++;
    st->puts++;
    st->original_bytes += len;
    st->stored_bytes += stored;
    if (compressed) st->compressed_entries++;
    if (secure) st->secure_entries++;
    if (tried) st->compress_attempts++;
    if (tried && !compressed) st->compress_rejected++;
    h->unsealed[sens]++;
    size_t nb = st->entries > h->nbuckets ? h->nbuckets : 0;
    pthread_mutex_unlock(&h->lock);
    if (nb) grow(h, nb);
    lle__sec_pend_flush(h->m, &pd);
    return LLE_SUCCESS;
}

static hent_t *lookup(lle_history_store_t *h, const char *key)
{
    size_t kn = strlen(key);
    return *slot_of(h, key, kn, hash_key(key, kn));
}

lle_result_t lle_history_get(lle_history_store_t *h, const char *key, void *buf, size_t cap,
                             size_t *len)
{
    if (len) *len = 0;
    if (!h || !key || (!buf && cap)) return LLE_ERROR_NULL_PARAMETER;
    lle_result_t r = LLE_SUCCESS;
    lle__sec_pend_t pd = {0};
    pthread_mutex_lock(&h->lock);
    hent_t *e = lookup(h, key);
    if (!e) {
        h->st.misses++;
        r = LLE_ERROR_NOT_FOUND;
        goto out;
    }
    if (len) *len = e->orig;
    if (cap < e->orig) {
        r = LLE_ERROR_BUFFER_TOO_SMALL;
        goto out;
    }
    if (e->sealed && (r = lle__unseal_pd(h->m, e->data, &pd)) != LLE_SUCCESS) goto out;
    if (e->compressed) {
        size_t got = ZSTD_decompress(buf, cap, e->data, e->stored);
        h->st.decompressions++;
        if (ZSTD_isError(got) || got != e->orig) {
            lle_secure_wipe(buf, cap);
            r = LLE_ERROR_CORRUPTION;
        }
    } else if (e->orig) {
        memcpy(buf, e->data, e->orig);
    }
    if (e->sealed) {
        lle_result_t s = lle__seal_pd(h->m, e->data, &pd);   /* a fresh nonce */
        if (s != LLE_SUCCESS) {
            e->sealed = 0;
            h->st.sealed_entries--;
            h->unsealed[e->sens]++;
            if (r == LLE_SUCCESS) r = s;
        }
    }
    h->st.reads++;
    e->used_ns = lle__now_coarse_ns();
out:
    pthread_mutex_unlock(&h->lock);
    lle__sec_pend_flush(h->m, &pd);
    return r;
}

lle_result_t lle_history_remove(lle_history_store_t *h, const char *key)
{
    if (!h || !key) return LLE_ERROR_NULL_PARAMETER;
    size_t kn = strlen(key);
    lle__sec_pend_t pd = {0};
    pthread_mutex_lock(&h->lock);
    hent_t **pp = slot_of(h, key, kn, hash_key(key, kn));
    hent_t *e = *pp;
    if (e) {
        *pp = e->next;
        ent_free(h, e, &pd);
    }
    pthread_mutex_unlock(&h->lock);
    lle__sec_pend_flush(h->m, &pd);
    return e ? LLE_SUCCESS : LLE_ERROR_NOT_FOUND;
}

/* Seal entry e (lock held): moved into a secure block first if needed. */
static lle_result_t seal_entry(lle_history_store_t *h, hent_t *e, lle__sec_pend_t *pd)
{
    if (e->sealed) return LLE_SUCCESS;
    if (!e->secure) {
        void *q = lle__secure_alloc_pd(h->m, LLE_POOL_HISTORY, e->stored, e->sens, true, pd);
        if (!q) return LLE_ERROR_OUT_OF_MEMORY;
        if (e->stored) memcpy(q, e->data, e->stored);
        lle_secure_wipe(e->data, e->stored);
        lle_pool_free(h->m, e->data);
        e->data = q;
        e->secure = 1;
        h->st.secure_entries++;
    }
    lle_result_t r = lle__seal_pd(h->m, e->data, pd);
    if (r == LLE_SUCCESS) {
        e->sealed = 1;
        h->st.sealed_entries++;
        h->unsealed[e->sens]--;
    }
    return r;
}

lle_result_t lle_history_seal(lle_history_store_t *h, const char *key)
{
    if (!h || !key) return LLE_ERROR_NULL_PARAMETER;
    lle__sec_pend_t pd = {0};
    pthread_mutex_lock(&h->lock);
    hent_t *e = lookup(h, key);
    lle_result_t r = e ? seal_entry(h, e, &pd) : LLE_ERROR_NOT_FOUND;
    pthread_mutex_unlock(&h->lock);
    lle__sec_pend_flush(h->m, &pd);
    return r;
}

lle_result_t lle_history_unseal(lle_history_store_t *h, const char *key)
{
    if (!h || !key) return LLE_ERROR_NULL_PARAMETER;
    lle__sec_pend_t pd = {0};
    pthread_mutex_lock(&h->lock);
    hent_t *e = lookup(h, key);
    lle_result_t r = e ? LLE_SUCCESS : LLE_ERROR_NOT_FOUND;
    if (e && e->sealed) {
        r = lle__unseal_pd(h->m, e->data, &pd);
        if (r == LLE_SUCCESS) {
            e->sealed = 0;
            h->st.sealed_entries--;
            h->unsealed[e->sens]++;
            e->used_ns = lle__now_coarse_ns();
        }
    }
    pthread_mutex_unlock(&h->lock);
    lle__sec_pend_flush(h->m, &pd);
    return r;
}

lle_result_t lle_history_seal_cold(lle_history_store_t *h, uint64_t idle_ns, size_t *sealed)
{
    if (sealed) *sealed = 0;
    if (!h) return LLE_ERROR_NULL_PARAMETER;
    bool want[LLE_SENSITIVITY_COUNT];
    for (int s = 0; s < LLE_SENSITIVITY_COUNT; s++)
        want[s] = lle_secure_policy_seals(h->m, (lle_sensitivity_t)s);
    lle_result_t r = LLE_SUCCESS;
    size_t n = 0;
    lle__sec_pend_t pd = {0};
    pthread_mutex_lock(&h->lock);
    uint64_t now = lle__now_coarse_ns();
    for (size_t b = 0; b < h->nbuckets && r == LLE_SUCCESS; b++)
        for (hent_t *e = h->buckets[b]; e && r == LLE_SUCCESS; e = e->next) {
            if (e->sealed || !want[e->sens] || now - e->used_ns < idle_ns) continue;
            r = seal_entry(h, e, &pd);
            if (r == LLE_SUCCESS) n++;
        }
    pthread_mutex_unlock(&h->lock);
    lle__sec_pend_flush(h->m, &pd);
    if (sealed) *sealed = n;
    return r;
}

bool lle__history_idle(lle_history_store_t *h, uint64_t age_ns, uint64_t deadline,
                       const bool want[LLE_SENSITIVITY_COUNT], size_t *sealed,
                       lle__sec_pend_t *pd)
{
    *sealed = 0;
    pthread_mutex_lock(&h->lock);
    size_t candidates = 0;
    for (int s = 0; s < LLE_SENSITIVITY_COUNT; s++)
        if (want[s]) candidates += h->unsealed[s];
    if (!candidates) {   /* nothing the policy covers is open */
        h->cold_bucket = 0;
        pthread_mutex_unlock(&h->lock);
        return true;
    }
    uint64_t now = lle__now_coarse_ns();
    size_t b = h->cold_bucket < h->nbuckets ? h->cold_bucket : 0;
    bool done = true;
    for (; b < h->nbuckets; b++) {
        for (hent_t *e = h->buckets[b]; e; e = e->next) {
            if (e->sealed || !want[e->sens] || now - e->used_ns < age_ns) continue;
            uint64_t t = lle__now_ns();
            /* An ordinary entry is copied into a secure block first: about
             * what sealing it costs again. */
            uint64_t parts = e->secure ? 1 : 2;
            uint64_t est = lle__seal_estimate_ns(h->m, e->stored) * parts;
            if (t + est > deadline) {
                lle__seal_skipped(h->m, e->stored);
                done = false;   /* this bucket again next time */
                goto stop;
            }
            if (seal_entry(h, e, pd) != LLE_SUCCESS) goto stop;   /* reported; next pass */
            lle__seal_measured(h->m, e->stored, (lle__now_ns() - t) / parts);
            ++*sealed;
        }
        if (lle__now_ns() >= deadline && b + 1 < h->nbuckets) {
            b++;
            done = false;
            goto stop;
        }
    }
stop:
    h->cold_bucket = done ? 0 : b;
    pthread_mutex_unlock(&h->lock);
    return done;
}

lle_result_t lle_history_get_stats(lle_history_store_t *h, lle_history_stats_t *out)
{
    if (!h || !out) return LLE_ERROR_NULL_PARAMETER;
    pthread_mutex_lock(&h->lock);
    *out = h->st;
    pthread_mutex_unlock(&h->lock);
    out->bytes_saved = out->original_bytes - out->stored_bytes;
    out->compression_ratio =
        out->stored_bytes ? (double)out->original_bytes / (double)out->stored_bytes : 1.0;
    return LLE_SUCCESS;
}
