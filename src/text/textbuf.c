/*
 * textbuf.c - the text object: configuration, the edit path (validation,
 * reservation, the structural edit, re-segmentation, row caches, modified
 * lines, undo log), the undo and scratch regions, reading and positions,
 * lines, statistics and the consistency check.
 *
 * An edit replaces [pos, pos + del) by s[0, n).  It descends once to the
 * leaf of pos, or not at all when pos is inside the leaf of the last edit
 * that stayed in one leaf (t->hint: the bytes and newlines before that
 * leaf are kept with it); when the result fits that leaf (a keystroke,
 * almost always) the whole edit works on the leaf (edit_in_leaf).
 * Otherwise, and in both cases for what is not the tree, everything that
 * can fail happens before the text is touched: the checks, the new
 * modified-lines array, room in the undo log, and the tree's reserve for
 * the insertion.
 * The insertion is made at pos + del (so its reserve is computed against
 * the tree as it is) and the old bytes are deleted after it; deletion
 * never needs memory.
 *
 * The undo log (HISTORY pool) is a byte array of records
 *   [size][pos][del][ins][the deleted bytes][size]   (sizes as uint64_t)
 * newest last; undo pops the last one and applies its inverse.  When the
 * log would pass undo_limit its oldest records go.
 */
#include <pthread.h>
#include <string.h>
#include <zstd.h>

#include "text/text_internal.h"

#ifdef LLE__TX_CPU_SETUP
#ifdef LLE__TX_POPCNT_SETUP
bool lle__tx_have_popcnt;
#endif
bool lle__tx_have_ssse3;

static void cpu_setup(void)
{
    __builtin_cpu_init();
#ifdef LLE__TX_POPCNT_SETUP
    lle__tx_have_popcnt = __builtin_cpu_supports("popcnt") != 0;
#endif
    lle__tx_have_ssse3 = __builtin_cpu_supports("ssse3") != 0;
}
#endif

void lle_text_config_default(lle_text_config_t *cfg)
{
    if (!cfg) return;
    memset(cfg, 0, sizeof *cfg);
    cfg->max_size = (size_t)256 << 20;
    cfg->min_region = 4096;
    cfg->growth_factor = 2.0;
    cfg->undo_limit = (size_t)1 << 20;
    cfg->secure = false;
    cfg->compress_threshold = (size_t)64 << 10;
}

lle_result_t lle_text_create(lle_memory_manager_t *m, const lle_text_config_t *cfg,
                             lle_text_t **out)
{
    if (!m || !out) return LLE_ERROR_NULL_PARAMETER;
    lle_text_config_t c;
    if (cfg)
        c = *cfg;
    else
        lle_text_config_default(&c);
#ifdef LLE__TX_CPU_SETUP
    /* before the first text exists: every use is an operation on one */
    static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;
    pthread_once(&cpu_once, cpu_setup);
#endif
    if (c.max_size == 0 || c.max_size > LLE_POOL_MAX_REQUEST || c.min_region < 64 ||
        c.min_region > ((size_t)1 << 30) || !(c.growth_factor >= 1.25 && c.growth_factor <= 4.0))
        return LLE_ERROR_INVALID_ARGUMENT;
    lle_text_t *t = lle_pool_calloc(m, LLE_POOL_BUFFER, 1, sizeof *t);
    if (!t) return LLE_ERROR_OUT_OF_MEMORY;
    t->m = m;
    t->cfg = c;
    t->width = 80;
    lle_result_t r = lle__tx_init_tree(t);
    if (r != LLE_SUCCESS) {
        lle_pool_free(m, t);
        return r;
    }
    *out = t;
    return LLE_SUCCESS;
}

static void region_free(lle_text_t *t, void **p, size_t *cap)
{
    if (!*p) return;
    lle__tx_wipe(t, *p, *cap);
    lle_pool_free(t->m, *p);
    *p = NULL;
    *cap = 0;
}

lle_result_t lle_text_destroy(lle_text_t *t)
{
    if (!t) return LLE_SUCCESS;
    lle_memory_manager_t *m = t->m;
    lle__tx_free_tree(t);
    lle__tx_release_reserve(t);
    region_free(t, (void **)&t->undo, &t->undo_cap);
    region_free(t, (void **)&t->scratch, &t->scratch_cap);
    if (t->z) {
        lle__tx_wipe(t, t->z, t->zlen);
        lle_pool_free(m, t->z);
    }
    if (t->mod) lle_pool_free(m, t->mod);
    lle_pool_free(m, t);
    return LLE_SUCCESS;
}

/* ---- regions ------------------------------------------------------------- */

/* Move region *p (used bytes kept) to a new block of newcap bytes of pool;
 * the old block is wiped (secure) and freed.  False, nothing changed, when
 * there is no memory. */
static bool region_move(lle_text_t *t, lle_memory_pool_type_t pool, void **p, size_t *cap,
                        size_t used, size_t newcap)
{
    void *q = lle_pool_alloc(t->m, pool, newcap);
    if (!q) return false;
    if (used) memcpy(q, *p, used);
    if (*p) {
        lle__tx_wipe(t, *p, *cap);
        lle_pool_free(t->m, *p);
    }
    *p = q;
    *cap = newcap;
    return true;
}

/* Room for `need` bytes: grow by the growth factor from min_region, up to
 * max (need <= max). */
static bool region_reserve(lle_text_t *t, lle_memory_pool_type_t pool, void **p, size_t *cap,
                           size_t used, size_t need, size_t max)
{
    if (need <= *cap) return true;
    size_t c = *cap ? *cap : t->cfg.min_region;
    while (c < need) {
        double g = (double)c * t->cfg.growth_factor;
        c = g >= (double)max ? max : (size_t)g;
        if (c < need && c == max) break;
    }
    if (c < need) c = need;
    if (!region_move(t, pool, p, cap, used, c)) return false;
    t->region_grows++;
    return true;
}

/* Shrink to half (not below min_region) while a quarter or less is used. */
static void region_trim(lle_text_t *t, lle_memory_pool_type_t pool, void **p, size_t *cap,
                        size_t used)
{
    if (!*p) return;
    if (used == 0 && t->cfg.secure) {
        /* a secure text keeps no old bytes in an idle region */
        region_free(t, p, cap);
        t->region_shrinks++;
        return;
    }
    size_t c = *cap;
    while (c > t->cfg.min_region && used <= c / 4) c /= 2;
    if (c < t->cfg.min_region) c = t->cfg.min_region;
    if (c < *cap && region_move(t, pool, p, cap, used, c)) t->region_shrinks++;
}

/* ---- the undo log ------------------------------------------------------------ */

#define REC_HDR (4 * sizeof(uint64_t))
#define REC_SIZE(del) (REC_HDR + (del) + sizeof(uint64_t))

static uint64_t rd64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}
static void wr64(unsigned char *p, uint64_t v)
{
    memcpy(p, &v, sizeof v);
}

/* Drop the oldest records until `room` more bytes fit undo_limit. */
static void undo_drop_oldest(lle_text_t *t, size_t room)
{
    size_t off = 0;
    size_t steps = t->undo_steps;
    while (t->undo_used - off + room > t->cfg.undo_limit && off < t->undo_used) {
        off += (size_t)rd64(t->undo + off);
        steps--;
    }
    if (!off) return;
    lle__tx_wipe(t, t->undo, off);
    memmove(t->undo, t->undo + off, t->undo_used - off);
    t->undo_used -= off;
    t->undo_steps = steps;
}

/* ---- modified lines ------------------------------------------------------------- */

/* The new range list after an edit at line L that deleted kd and inserted
 * ki newlines, into out (room for nmod + 2). */
static size_t mod_apply(const lle_text_t *t, lle_text_line_range_t *out, size_t L, size_t kd,
                        size_t ki, uint64_t now)
{
    size_t k = 0;
    for (size_t i = 0; i < t->nmod; i++) {
        const lle_text_line_range_t *r = &t->mod[i];
        size_t end = r->first + r->count;
        if (r->first < L) {
            out[k] = *r;
            out[k].count = (end < L ? end : L) - r->first;
            k++;
        }
    }
    out[k++] = (lle_text_line_range_t){L, ki + 1, now};
    for (size_t i = 0; i < t->nmod; i++) {
        const lle_text_line_range_t *r = &t->mod[i];
        size_t end = r->first + r->count, a = r->first > L + kd + 1 ? r->first : L + kd + 1;
        if (end > a) out[k++] = (lle_text_line_range_t){a - kd + ki, end - a, r->time_ns};
    }
    return k;
}

/* ---- the edit path ---------------------------------------------------------------- */

/* What an edit changes besides the text: the undo record (written before
 * the structural change, room reserved), the modified-line marks. */
typedef struct edit_prep {
    lle_text_line_range_t *mod;
    bool                   record;
} edit_prep_t;

/* The memory an edit needs besides the tree's: the new marks array and room
 * in the undo log.  Nothing changes on failure. */
static lle_result_t edit_prepare(lle_text_t *t, size_t del, bool log, edit_prep_t *ep)
{
    ep->mod = lle_pool_alloc(t->m, LLE_POOL_TEMP, (t->nmod + 2) * sizeof *ep->mod);
    if (!ep->mod) return LLE_ERROR_OUT_OF_MEMORY;
    size_t rec = REC_SIZE(del);
    ep->record = log && t->cfg.undo_limit && rec <= t->cfg.undo_limit;
    if (ep->record) {
        size_t need = t->undo_used + rec;
        if (need > t->cfg.undo_limit) need = t->cfg.undo_limit;
        if (!region_reserve(t, LLE_POOL_HISTORY, (void **)&t->undo, &t->undo_cap, t->undo_used,
                            need, t->cfg.undo_limit)) {
            lle_pool_free(t->m, ep->mod);
            return LLE_ERROR_OUT_OF_MEMORY;
        }
    }
    return LLE_SUCCESS;
}

/* The undo record of replacing [pos, pos + del) by n bytes; the deleted
 * bytes from old (when not NULL) or read from the text. */
static void edit_record(lle_text_t *t, const edit_prep_t *ep, bool log, size_t pos, size_t del,
                        size_t n, const char *old)
{
    if (ep->record) {
        size_t rec = REC_SIZE(del);
        undo_drop_oldest(t, rec);
        unsigned char *p = t->undo + t->undo_used;
        wr64(p, rec);
        wr64(p + 8, pos);
        wr64(p + 16, del);
        wr64(p + 24, n);
        if (old)
            memcpy(p + REC_HDR, old, del);
        else
            lle__tx_copy_out(t, pos, del, (char *)p + REC_HDR);
        wr64(p + REC_HDR + del, rec);
        t->undo_used += rec;
        t->undo_steps++;
    } else if (log && t->cfg.undo_limit) {
        /* too large to keep: older steps cannot be undone past it */
        lle__tx_wipe(t, t->undo, t->undo_used);
        t->undo_used = 0;
        t->undo_steps = 0;
    }
}

/* The marks after an edit at line `line` that deleted kd and inserted ki
 * newlines. */
static void edit_mark(lle_text_t *t, edit_prep_t *ep, size_t line, size_t kd, size_t ki)
{
    size_t k = mod_apply(t, ep->mod, line, kd, ki, lle__now_ns());
    lle_pool_free(t->m, t->mod);
    t->mod = ep->mod;
    t->nmod = k;
    t->capmod = k;
    t->mod_count += ki + 1;
}

/* An edit that stays inside leaf L (pos at offset o, `before` the sums of
 * the text before L): one descent (the caller's), the gap moved to o, and
 * no reserve.  The common case: a keystroke. */
static lle_result_t edit_in_leaf(lle_text_t *t, lle__tx_leaf_t *L, size_t o,
                                 const lle__tx_sum_t *before, size_t pos, size_t del,
                                 const char *s, size_t n, size_t ki, bool log)
{
    lle__tx_leaf_seek(t, L, o);
    size_t nlb = L->h.nlg, kd = 0;
    const char *dp = L->data + L->h.ge;
    for (size_t i = 0; i < del; i++) kd += dp[i] == '\n';
    size_t line = (size_t)before->v[F_NLS] + nlb;
    size_t nls = (size_t)L->h.sum.v[F_NLS] - kd + ki;
    if (nls > L->lines_cap && !lle__tx_rows_reserve(t, L, nls)) return LLE_ERROR_OUT_OF_MEMORY;
    edit_prep_t ep;
    lle_result_t r = edit_prepare(t, del, log, &ep);
    if (r != LLE_SUCCESS) return r;

    /* nothing fails from here on */
    edit_record(t, &ep, log, pos, del, n, dp);
    /* L's ancestors change once, by the bytes and by the clusters */
    lle__tx_sum_t up;
    lle__tx_leaf_replace(t, L, del, s, n, &up);
    lle__tx_resegment_at(t, L, o, (size_t)before->v[F_BYTES], pos + n, &up);
    lle__tx_propagate_up(&L->h, &up);
    if (line == 0)
        lle__tx_rows_stale(t, 0);
    else if (nlb)
        lle__tx_rows_stale_entry(t, L, nlb - 1);
    else
        lle__tx_rows_stale(t, line);
    /* the next edit inside L finds it here (the text before L has not
     * changed); a settle drops it */
    t->hint = L;
    t->hint_bytes = before->v[F_BYTES];
    t->hint_nls = before->v[F_NLS];
    if (del && TX_LEN(L) < TX_CAP / 4) lle__tx_settle_at(t, pos);
    edit_mark(t, &ep, line, kd, ki);
    return LLE_SUCCESS;
}

/* Replace [pos, pos + del) by s[0, n).  check: make the checks of a public
 * edit (positions on codepoints, s UTF-8); else the caller knows them true.
 * log: record it in the undo log. */
static lle_result_t edit(lle_text_t *t, size_t pos, size_t del, const char *s, size_t n, bool log,
                         bool check)
{
    size_t total = (size_t)lle__tx_total(t, F_BYTES);
    if (check && (pos > total || del > total - pos)) return LLE_ERROR_INVALID_POSITION;

    /* one descent: when the edit stays inside the leaf of pos, everything
     * else works on that leaf.  None when pos is inside the leaf of the
     * last edit (typing goes on where it was): a descent of a 10 MB text
     * (4 inner levels) is most of what a deletion next to the insertion
     * before it costs. */
    uint64_t o64;
    lle__tx_sum_t before;
    lle__tx_leaf_t *Lf = t->hint;
    if (Lf && pos >= t->hint_bytes && pos - t->hint_bytes < TX_LEN(Lf)) {
        memset(&before, 0, sizeof before);
        before.v[F_BYTES] = t->hint_bytes;
        before.v[F_NLS] = t->hint_nls;
        o64 = pos - t->hint_bytes;
    } else {
        Lf = lle__tx_find(t, F_BYTES, pos, &o64, &before, TX_NEED(F_BYTES) | TX_NEED(F_NLS));
    }
    size_t o = (size_t)o64, len = TX_LEN(Lf);
    bool local = o + del <= len && len - del + n <= TX_CAP && (len - del + n || t->leaves == 1);
    if (check) {
        if (local) {
            /* a leaf starts at a codepoint; the byte after it does too */
            if ((o < len && (lle__tx_byte(Lf, o) & 0xC0) == 0x80) ||
                (o + del < len && (lle__tx_byte(Lf, o + del) & 0xC0) == 0x80))
                return LLE_ERROR_INVALID_POSITION;
        } else if (!lle__tx_is_cp_start(t, pos) || !lle__tx_is_cp_start(t, pos + del)) {
            return LLE_ERROR_INVALID_POSITION;
        }
        if (n && lle__tx_utf8_valid(s, n) != n) return LLE_ERROR_INVALID_ENCODING;
    }
    if (n > t->cfg.max_size || total - del > t->cfg.max_size - n) return LLE_ERROR_SIZE_LIMIT;
    if (!del && !n) return LLE_SUCCESS;
    size_t ki = 0;
    if (n < 16)
        for (size_t i = 0; i < n; i++) ki += s[i] == '\n';
    else
        ki = lle__tx_count_nl(s, n);
    if (lle_likely(local)) return edit_in_leaf(t, Lf, o, &before, pos, del, s, n, ki, log);

    size_t line = (size_t)before.v[F_NLS] + lle__tx_leaf_nl_before(Lf, o);
    size_t kd = del ? lle__tx_line_of(t, pos + del) - line : 0;
    edit_prep_t ep;
    lle_result_t r = edit_prepare(t, del, log, &ep);
    if (r != LLE_SUCCESS) return r;
    if (n) {
        r = lle__tx_reserve_insert(t, pos + del, s, n);
        if (r != LLE_SUCCESS) {
            lle_pool_free(t->m, ep.mod);
            return r;
        }
    }

    /* nothing fails from here on */
    edit_record(t, &ep, log, pos, del, n, NULL);
    if (n) lle__tx_insert_raw(t, pos + del, s, n);
    if (del) lle__tx_delete_raw(t, pos, del);
    lle__tx_resegment(t, pos, pos + n);
    lle__tx_rows_stale(t, line);
    edit_mark(t, &ep, line, kd, ki);
    return LLE_SUCCESS;
}

lle_result_t lle_text_replace(lle_text_t *t, size_t pos, size_t del, const char *s, size_t n)
{
    if (!t || (!s && n)) return LLE_ERROR_NULL_PARAMETER;
    lle_result_t r = lle__tx_load(t);
    if (r == LLE_SUCCESS) r = edit(t, pos, del, s, n, true, true);
    return r;
}

lle_result_t lle_text_insert(lle_text_t *t, size_t pos, const char *s, size_t n)
{
    return lle_text_replace(t, pos, 0, s, n);
}

lle_result_t lle_text_delete(lle_text_t *t, size_t pos, size_t n)
{
    return lle_text_replace(t, pos, n, NULL, 0);
}

lle_result_t lle_text_undo(lle_text_t *t)
{
    if (!t) return LLE_ERROR_NULL_PARAMETER;
    lle_result_t r = lle__tx_load(t);
    if (r != LLE_SUCCESS) return r;
    if (!t->undo_steps) return LLE_ERROR_INVALID_STATE;
    size_t rec = (size_t)rd64(t->undo + t->undo_used - 8);
    unsigned char *p = t->undo + t->undo_used - rec;
    size_t pos = (size_t)rd64(p + 8), del = (size_t)rd64(p + 16), ins = (size_t)rd64(p + 24);
    r = edit(t, pos, ins, (const char *)p + REC_HDR, del, false, false);
    if (r != LLE_SUCCESS) return r;
    lle__tx_wipe(t, p, rec);
    t->undo_used -= rec;
    t->undo_steps--;
    region_trim(t, LLE_POOL_HISTORY, (void **)&t->undo, &t->undo_cap, t->undo_used);
    return LLE_SUCCESS;
}

/* ---- compression ------------------------------------------------------------------- */

lle_result_t lle_text_compress(lle_text_t *t, bool *kept)
{
    if (!t) return LLE_ERROR_NULL_PARAMETER;
    if (kept) *kept = t->z != NULL;
    if (t->z) return LLE_SUCCESS;
    size_t total = (size_t)lle__tx_total(t, F_BYTES);
    if (total < t->cfg.compress_threshold || total == 0) return LLE_SUCCESS;
    if (!region_reserve(t, LLE_POOL_TEMP, (void **)&t->scratch, &t->scratch_cap, 0, total,
                        t->cfg.max_size))
        return LLE_ERROR_OUT_OF_MEMORY;
    lle__tx_copy_out(t, 0, total, t->scratch);
    size_t bound = ZSTD_compressBound(total);
    void *z = lle_pool_alloc(t->m, LLE_POOL_BUFFER, bound);
    if (!z) {
        region_trim(t, LLE_POOL_TEMP, (void **)&t->scratch, &t->scratch_cap, 0);
        return LLE_ERROR_OUT_OF_MEMORY;
    }
    size_t zlen = ZSTD_compress(z, bound, t->scratch, total, 3);
    lle__tx_wipe(t, t->scratch, total);
    region_trim(t, LLE_POOL_TEMP, (void **)&t->scratch, &t->scratch_cap, 0);
    t->compressions++;
    if (ZSTD_isError(zlen)) {
        lle_pool_free(t->m, z);
        return LLE_ERROR_OUT_OF_MEMORY;
    }
    t->zratio = (double)zlen / (double)total;
    if ((double)zlen > 0.8 * (double)total) {
        lle__tx_wipe(t, z, zlen);
        lle_pool_free(t->m, z);
        return LLE_SUCCESS;
    }
    void *small = lle_pool_realloc(t->m, z, zlen);
    if (small) z = small;
    t->z = z;
    t->zlen = zlen;
    t->zsum = t->root->sum;
    t->zsaved = total - zlen;
    t->compressions_kept++;
    lle__tx_free_tree(t);
    if (kept) *kept = true;
    return LLE_SUCCESS;
}

bool lle_text_is_compressed(const lle_text_t *t)
{
    return t && t->z;
}

lle_result_t lle__tx_load(lle_text_t *t)
{
    if (!t->z) return LLE_SUCCESS;
    size_t n = (size_t)t->zsum.v[F_BYTES];
    if (!region_reserve(t, LLE_POOL_TEMP, (void **)&t->scratch, &t->scratch_cap, 0, n,
                        t->cfg.max_size))
        return LLE_ERROR_OUT_OF_MEMORY;
    size_t got = ZSTD_decompress(t->scratch, n, t->z, t->zlen);
    if (ZSTD_isError(got) || got != n) {
        region_trim(t, LLE_POOL_TEMP, (void **)&t->scratch, &t->scratch_cap, 0);
        return LLE_ERROR_CORRUPTION;
    }
    lle_result_t r = lle__tx_init_tree(t);
    if (r == LLE_SUCCESS) {
        r = lle__tx_reserve_insert(t, 0, t->scratch, n);
        if (r != LLE_SUCCESS) lle__tx_free_tree(t);
    }
    if (r == LLE_SUCCESS) {
        lle__tx_insert_raw(t, 0, t->scratch, n);
        lle__tx_resegment(t, 0, n);
        t->line0 = (lle__tx_line_t){0, 0};
        lle__tx_wipe(t, t->z, t->zlen);
        lle_pool_free(t->m, t->z);
        t->z = NULL;
        t->zlen = 0;
        t->decompressions++;
    }
    lle__tx_wipe(t, t->scratch, n);
    region_trim(t, LLE_POOL_TEMP, (void **)&t->scratch, &t->scratch_cap, 0);
    return r;
}

/* ---- reading ---------------------------------------------------------------------- */

size_t lle_text_length(lle_text_t *t)
{
    if (!t) return 0;
    return t->z ? (size_t)t->zsum.v[F_BYTES] : (size_t)lle__tx_total(t, F_BYTES);
}

lle_result_t lle_text_counts(lle_text_t *t, lle_text_counts_t *out)
{
    if (!t || !out) return LLE_ERROR_NULL_PARAMETER;
    const lle__tx_sum_t *s = t->z ? &t->zsum : &t->root->sum;
    out->bytes = (size_t)s->v[F_BYTES];
    out->codepoints = (size_t)s->v[F_CPS];
    out->graphemes = (size_t)s->v[F_GBS];
    out->lines = (size_t)s->v[F_NLS] + 1;
    return LLE_SUCCESS;
}

lle_result_t lle_text_read(lle_text_t *t, size_t pos, size_t n, char *buf)
{
    if (!t || (!buf && n)) return LLE_ERROR_NULL_PARAMETER;
    lle_result_t r = lle__tx_load(t);
    if (r != LLE_SUCCESS) return r;
    size_t total = (size_t)lle__tx_total(t, F_BYTES);
    if (pos > total || n > total - pos) return LLE_ERROR_INVALID_POSITION;
    if (n) lle__tx_copy_out(t, pos, n, buf);
    return LLE_SUCCESS;
}

#define LOAD_OR_RETURN(t, p)                          \
    do {                                              \
        if (!(t) || !(p)) return LLE_ERROR_NULL_PARAMETER; \
        lle_result_t lr_ = lle__tx_load(t);           \
        if (lr_ != LLE_SUCCESS) return lr_;           \
    } while (0)

lle_result_t lle_text_byte_to_codepoint(lle_text_t *t, size_t pos, size_t *cp)
{
    LOAD_OR_RETURN(t, cp);
    return lle__tx_byte_to_cp(t, pos, cp);
}

lle_result_t lle_text_codepoint_to_byte(lle_text_t *t, size_t cp, size_t *pos)
{
    LOAD_OR_RETURN(t, pos);
    return lle__tx_cp_to_byte(t, cp, pos);
}

lle_result_t lle_text_byte_to_grapheme(lle_text_t *t, size_t pos, size_t *g)
{
    LOAD_OR_RETURN(t, g);
    return lle__tx_byte_to_g(t, pos, g);
}

lle_result_t lle_text_grapheme_to_byte(lle_text_t *t, size_t g, size_t *pos)
{
    LOAD_OR_RETURN(t, pos);
    return lle__tx_g_to_byte(t, g, pos);
}

lle_result_t lle_text_next_grapheme(lle_text_t *t, size_t pos, size_t *next)
{
    LOAD_OR_RETURN(t, next);
    return lle__tx_step_g(t, pos, 1, next);
}

lle_result_t lle_text_prev_grapheme(lle_text_t *t, size_t pos, size_t *prev)
{
    LOAD_OR_RETURN(t, prev);
    return lle__tx_step_g(t, pos, -1, prev);
}

lle_result_t lle_text_byte_to_line_col(lle_text_t *t, size_t pos, size_t *line, size_t *col)
{
    LOAD_OR_RETURN(t, line);
    if (!col) return LLE_ERROR_NULL_PARAMETER;
    lle__tx_where_t w;
    lle_result_t r = lle__tx_locate(t, pos, &w);
    if (r != LLE_SUCCESS) return r;
    *line = w.line;
    *col = w.g - w.line_g;
    return LLE_SUCCESS;
}

/* Where line `line` ends (its '\n', or the end of the text). */
static size_t line_end(const lle_text_t *t, size_t line)
{
    if (line == lle__tx_total(t, F_NLS)) return (size_t)lle__tx_total(t, F_BYTES);
    return lle__tx_line_start(t, line + 1) - 1;
}

lle_result_t lle_text_line_col_to_byte(lle_text_t *t, size_t line, size_t col, size_t *pos)
{
    LOAD_OR_RETURN(t, pos);
    return lle__tx_line_col_to_byte(t, line, col, pos);
}

/* ---- lines -------------------------------------------------------------------------------- */

size_t lle_text_line_count(lle_text_t *t)
{
    if (!t) return 0;
    return 1 + (size_t)(t->z ? t->zsum.v[F_NLS] : lle__tx_total(t, F_NLS));
}

lle_result_t lle_text_line_span(lle_text_t *t, size_t line, size_t *start, size_t *len)
{
    LOAD_OR_RETURN(t, start);
    if (!len) return LLE_ERROR_NULL_PARAMETER;
    if (line > lle__tx_total(t, F_NLS)) return LLE_ERROR_INVALID_LINE_INDEX;
    size_t s = lle__tx_line_start(t, line);
    *start = s;
    *len = line_end(t, line) - s;
    return LLE_SUCCESS;
}

static lle_result_t check_line_text(const char *s, size_t n)
{
    if (n && memchr(s, '\n', n)) return LLE_ERROR_INVALID_ARGUMENT;
    if (n && lle__tx_utf8_valid(s, n) != n) return LLE_ERROR_INVALID_ENCODING;
    return LLE_SUCCESS;
}

lle_result_t lle_insert_line(lle_text_t *t, size_t line, const char *s, size_t n)
{
    if (!t || (!s && n)) return LLE_ERROR_NULL_PARAMETER;
    lle_result_t r = lle__tx_load(t);
    if (r != LLE_SUCCESS) return r;
    size_t nls = (size_t)lle__tx_total(t, F_NLS);
    if (line > nls + 1) return LLE_ERROR_INVALID_LINE_INDEX;
    if ((r = check_line_text(s, n)) != LLE_SUCCESS) return r;
    /* the line and a newline, as one edit: before line `line` as "s\n",
     * after the last line as "\ns" */
    char stackbuf[256];
    char *buf = n + 1 <= sizeof stackbuf ? stackbuf : lle_pool_alloc(t->m, LLE_POOL_TEMP, n + 1);
    if (!buf) return LLE_ERROR_OUT_OF_MEMORY;
    size_t pos;
    if (line <= nls) {
        pos = lle__tx_line_start(t, line);
        memcpy(buf, s, n);
        buf[n] = '\n';
    } else {
        pos = (size_t)lle__tx_total(t, F_BYTES);
        buf[0] = '\n';
        memcpy(buf + 1, s, n);
    }
    r = edit(t, pos, 0, buf, n + 1, true, false);
    lle__tx_wipe(t, buf, n + 1);
    if (buf != stackbuf) lle_pool_free(t->m, buf);
    return r;
}

lle_result_t lle_text_delete_line(lle_text_t *t, size_t line)
{
    if (!t) return LLE_ERROR_NULL_PARAMETER;
    lle_result_t r = lle__tx_load(t);
    if (r != LLE_SUCCESS) return r;
    size_t nls = (size_t)lle__tx_total(t, F_NLS);
    if (line > nls) return LLE_ERROR_INVALID_LINE_INDEX;
    size_t start = lle__tx_line_start(t, line), end = line_end(t, line);
    if (line < nls) return edit(t, start, end + 1 - start, NULL, 0, true, false);
    if (line > 0) return edit(t, start - 1, end - start + 1, NULL, 0, true, false);
    return edit(t, start, end - start, NULL, 0, true, false);
}

lle_result_t lle_text_replace_line(lle_text_t *t, size_t line, const char *s, size_t n)
{
    if (!t || (!s && n)) return LLE_ERROR_NULL_PARAMETER;
    lle_result_t r = lle__tx_load(t);
    if (r != LLE_SUCCESS) return r;
    if (line > lle__tx_total(t, F_NLS)) return LLE_ERROR_INVALID_LINE_INDEX;
    if ((r = check_line_text(s, n)) != LLE_SUCCESS) return r;
    size_t start = lle__tx_line_start(t, line);
    return edit(t, start, line_end(t, line) - start, s, n, true, false);
}

/* ---- modified lines ---------------------------------------------------------------------- */

lle_result_t lle_text_modified_lines(lle_text_t *t, lle_text_line_range_t *out, size_t cap,
                                     size_t *count)
{
    if (!t || !count || (!out && cap)) return LLE_ERROR_NULL_PARAMETER;
    *count = t->nmod;
    size_t k = t->nmod < cap ? t->nmod : cap;
    if (k) memcpy(out, t->mod, k * sizeof *out);
    return t->nmod > cap ? LLE_ERROR_BUFFER_TOO_SMALL : LLE_SUCCESS;
}

bool lle_text_line_modified(lle_text_t *t, size_t line, uint64_t *time_ns)
{
    if (!t) return false;
    size_t lo = 0, hi = t->nmod;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const lle_text_line_range_t *r = &t->mod[mid];
        if (line < r->first)
            hi = mid;
        else if (line >= r->first + r->count)
            lo = mid + 1;
        else {
            if (time_ns) *time_ns = r->time_ns;
            return true;
        }
    }
    return false;
}

void lle_text_clear_modified(lle_text_t *t)
{
    if (!t) return;
    if (t->mod) lle_pool_free(t->m, t->mod);
    t->mod = NULL;
    t->nmod = t->capmod = 0;
}

uint64_t lle_text_modification_count(lle_text_t *t)
{
    return t ? t->mod_count : 0;
}

/* ---- statistics and the check -------------------------------------------------------------- */

lle_result_t lle_text_get_stats(lle_text_t *t, lle_text_stats_t *out)
{
    if (!t || !out) return LLE_ERROR_NULL_PARAMETER;
    memset(out, 0, sizeof *out);
    lle_text_counts_t c;
    lle_text_counts(t, &c);
    out->bytes = c.bytes;
    out->codepoints = c.codepoints;
    out->graphemes = c.graphemes;
    out->lines = c.lines;
    out->leaves = t->root ? t->leaves : 0;
    out->nodes = t->root ? t->inners : 0;
    out->depth = t->depth;
    out->primary_bytes = out->leaves * TX_CAP;
    out->gap_bytes = t->root ? out->primary_bytes - c.bytes : 0;
    out->index_bytes = sizeof *t + out->leaves * (sizeof(lle__tx_leaf_t) - TX_CAP) +
                       out->nodes * sizeof(lle__tx_inner_t) +
                       (t->root ? t->lines_cap_total : 0) * sizeof(lle__tx_line_t) +
                       t->nmod * sizeof(lle_text_line_range_t) + t->wtab_bytes;
    out->undo_bytes = t->undo_cap;
    out->undo_used = t->undo_used;
    out->undo_steps = t->undo_steps;
    out->scratch_bytes = t->scratch_cap;
    out->region_grows = t->region_grows;
    out->region_shrinks = t->region_shrinks;
    out->wiped_bytes = t->wiped;
    out->compressed_bytes = t->z ? t->zlen : 0;
    out->compressions = t->compressions;
    out->compressions_kept = t->compressions_kept;
    out->decompressions = t->decompressions;
    out->compression_ratio = t->zratio;
    out->compression_saved = t->compressions_kept ? t->zsaved : 0;
    out->stale_rows = t->root && !t->rows_all_stale
                          ? (size_t)lle__tx_total(t, F_STALE) + (t->line0.rows == 0)
                          : out->lines;
    out->wrap_scanned_bytes = t->wrap_scanned;
    return LLE_SUCCESS;
}

/* Sums, links and counts of the subtree n against its contents. */
static lle_result_t check_node(const lle_text_t *t, const lle__tx_node_t *n,
                               const lle__tx_leaf_t **expect, size_t level, size_t *leaves,
                               size_t *inners)
{
    if (n->leaf) {
        const lle__tx_leaf_t *L = (const lle__tx_leaf_t *)n;
        if (L != *expect || level != t->depth) return LLE_ERROR_CORRUPTION;
        *expect = L->next;
        if (L->next && L->next->prev != L) return LLE_ERROR_CORRUPTION;
        size_t len = TX_LEN(L);
        if (L->h.gs > L->h.ge || L->h.ge > TX_CAP || len != TX_CAP - (size_t)(L->h.ge - L->h.gs))
            return LLE_ERROR_CORRUPTION;
        uint64_t cps = 0, nls = 0, gbs = 0;
        for (size_t i = 0; i < len; i++) {
            unsigned char c = lle__tx_byte(L, i);
            cps += (c & 0xC0) != 0x80;
            nls += c == '\n';
        }
        uint64_t nlg = 0;
        for (size_t i = 0; i < L->h.gs; i++) nlg += L->data[i] == '\n';
        for (size_t p = 0; p < TX_WORDS * 64; p++) {
            bool b = (L->gb[p >> 6] >> (p & 63)) & 1u;
            if (b && ((p >= L->h.gs && p < L->h.ge) || p >= TX_CAP)) return LLE_ERROR_CORRUPTION;
            gbs += b;
        }
        if (cps != L->h.sum.v[F_CPS] || nls != L->h.sum.v[F_NLS] || gbs != L->h.sum.v[F_GBS] ||
            nlg != L->h.nlg ||
            nls > L->lines_cap || (len && (lle__tx_byte(L, 0) & 0xC0) == 0x80) ||
            (!len && t->leaves > 1))
            return LLE_ERROR_CORRUPTION;
        (*leaves)++;
        return LLE_SUCCESS;
    }
    const lle__tx_inner_t *I = (const lle__tx_inner_t *)n;
    if (I->h.n < 1 || I->h.n > TX_FANOUT) return LLE_ERROR_CORRUPTION;
    lle__tx_sum_t s = {{0}};
    for (unsigned i = 0; i < I->h.n; i++) {
        if (I->child[i]->parent != n || I->child[i]->slot != i) return LLE_ERROR_CORRUPTION;
        lle_result_t r = check_node(t, I->child[i], expect, level + 1, leaves, inners);
        if (r != LLE_SUCCESS) return r;
        for (int f = 0; f < F_N; f++) {
            s.v[f] += I->child[i]->sum.v[f];
            if (I->cs[f][i] != I->child[i]->sum.v[f] && (f <= F_GBS || !t->rows_all_stale))
                return LLE_ERROR_CORRUPTION;
        }
    }
    if (!t->rows_all_stale) {
        if (memcmp(&s, &n->sum, sizeof s)) return LLE_ERROR_CORRUPTION;
    } else {
        for (int f = F_BYTES; f <= F_GBS; f++)
            if (s.v[f] != n->sum.v[f]) return LLE_ERROR_CORRUPTION;
    }
    (*inners)++;
    return LLE_SUCCESS;
}

lle_result_t lle_text_check(lle_text_t *t)
{
    if (!t) return LLE_ERROR_NULL_PARAMETER;
    if (t->z) return LLE_SUCCESS;
    const lle__tx_leaf_t *expect = t->first;
    size_t leaves = 0, inners = 0;
    if (t->root->parent || t->first->prev) return LLE_ERROR_CORRUPTION;
    lle_result_t r = check_node(t, t->root, &expect, 1, &leaves, &inners);
    if (r != LLE_SUCCESS) return r;
    if (expect || leaves != t->leaves || inners != t->inners) return LLE_ERROR_CORRUPTION;
    if (t->hint) {
        /* the edit hint: a leaf of the tree, starting where it says */
        uint64_t o;
        lle__tx_sum_t b;
        lle__tx_leaf_t *L = lle__tx_find(t, F_BYTES, t->hint_bytes, &o, &b, TX_NEED(F_NLS));
        if (TX_LEN(t->hint) && (L != t->hint || o != 0)) return LLE_ERROR_CORRUPTION;
        if (!TX_LEN(t->hint) && (t->leaves != 1 || t->hint != t->first || t->hint_bytes))
            return LLE_ERROR_CORRUPTION;
        if (b.v[F_NLS] != t->hint_nls) return LLE_ERROR_CORRUPTION;
    }
    r = lle__tx_check_graphemes(t);
    if (r != LLE_SUCCESS) return r;
    r = lle__tx_rows_check(t);
    if (r != LLE_SUCCESS) return r;
    /* the modified ranges: sorted, disjoint, non-empty, inside the text */
    for (size_t i = 0; i < t->nmod; i++) {
        if (!t->mod[i].count) return LLE_ERROR_CORRUPTION;
        if (i && t->mod[i].first < t->mod[i - 1].first + t->mod[i - 1].count)
            return LLE_ERROR_CORRUPTION;
    }
    if (t->nmod && t->mod[t->nmod - 1].first + t->mod[t->nmod - 1].count >
                       lle__tx_total(t, F_NLS) + 1)
        return LLE_ERROR_CORRUPTION;
    return LLE_SUCCESS;
}
