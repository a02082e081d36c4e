/*
 * report.c - what the site table tells: live blocks per call site, leak
 * reports, snapshots and their diff, and the bounds check.
 */
#include <stdlib.h>
#include <string.h>

#include "debug/debug_internal.h"

/* ---- usage per site ------------------------------------------------------------- */

typedef struct row {
    uint32_t id;
    size_t   blocks, bytes;
    uint64_t allocs;
} row_t;

static int by_bytes(const void *a, const void *b)
{
    const row_t *x = a, *y = b;
    if (x->bytes != y->bytes) return x->bytes < y->bytes ? 1 : -1;
    if (x->blocks != y->blocks) return x->blocks < y->blocks ? 1 : -1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* The sites with live blocks: a host array of *n rows sorted by id
 * (capacity *cap), or NULL (with *n 0) when none or out of memory (*oom). */
static row_t *live_rows(lle_memory_manager_t *m, size_t *n, size_t *cap, bool *oom)
{
    size_t ns, k = 0;
    *n = *cap = 0;
    lle__dcount_t *t = lle__dbg_totals(m, &ns, oom);
    if (!t) return NULL;
    for (size_t i = 0; i < ns; i++)
        if (t[i].blocks) k++;
    row_t *r = k ? lle__host_alloc(m, k * sizeof *r, 16, true) : NULL;
    if (k && !r) *oom = true;
    if (r) {
        *cap = k;
        for (size_t i = 0; i < ns; i++)
            if (t[i].blocks) r[(*n)++] = (row_t){(uint32_t)(i + 1), t[i].blocks, t[i].bytes,
                                                 t[i].allocs};
    }
    lle__dbg_totals_free(m, t, ns);
    return r;
}

static void fill_usage(const lle__dbg_t *d, const row_t *r, lle_site_usage_t *u)
{
    const lle__dsite_t *e = lle__dsite_get(d, r->id);
    memset(u, 0, sizeof *u);
    u->site = e->site;
    u->frames = e->nframes;
    if (e->nframes) memcpy(u->backtrace, e->frames, e->nframes * sizeof *e->frames);
    u->blocks = r->blocks;
    u->bytes = r->bytes;
    u->allocations = r->allocs;
}

lle_result_t lle_track_usage(lle_memory_manager_t *m, lle_site_usage_t *out, size_t cap,
                             size_t *count)
{
    if (!m || !count || (cap && !out)) return LLE_ERROR_NULL_PARAMETER;
    lle__dbg_t *d = m->dbg;
    *count = 0;
    if (!d) return LLE_SUCCESS;
    size_t n, rcap;
    bool oom;
    row_t *r = live_rows(m, &n, &rcap, &oom);
    if (r) {
        qsort(r, n, sizeof *r, by_bytes);
        for (size_t i = 0; i < n && i < cap; i++) fill_usage(d, &r[i], &out[i]);
        lle__host_free(m, r, rcap * sizeof *r, true);
    }
    if (oom) return LLE_ERROR_OUT_OF_MEMORY;
    *count = n;
    return n > cap ? LLE_ERROR_BUFFER_TOO_SMALL : LLE_SUCCESS;
}

static void site_json(lle__sbuf_t *b, const lle_site_t *s)
{
    lle__sbuf_add(b, "\"file\":");
    lle__sbuf_json_str(b, s->file);
    lle__sbuf_add(b, ",\"line\":%d,\"function\":", s->line);
    lle__sbuf_json_str(b, s->func);
    if (s->pc) lle__sbuf_add(b, ",\"pc\":\"%p\"", s->pc);
    else lle__sbuf_add(b, ",\"pc\":null");
}

static bool report_format_ok(lle_format_t f)
{
    return f == LLE_FORMAT_TEXT || f == LLE_FORMAT_JSON;
}

lle_result_t lle_leak_report(lle_memory_manager_t *m, lle_format_t format, lle_text_fn fn,
                             void *user)
{
    if (!m || !fn) return LLE_ERROR_NULL_PARAMETER;
    if (!report_format_ok(format)) return LLE_ERROR_INVALID_ARGUMENT;
    lle__dbg_t *d = m->dbg;
    lle__sbuf_t b = {.m = m};
    bool json = format == LLE_FORMAT_JSON;
    size_t n = 0, rcap = 0, tblocks = 0, tbytes = 0;
    bool oom = false;
    row_t *r = NULL;
    if (d) r = live_rows(m, &n, &rcap, &oom);
    if (r) qsort(r, n, sizeof *r, by_bytes);
    for (size_t i = 0; i < n; i++) {
        tblocks += r[i].blocks;
        tbytes += r[i].bytes;
    }
    if (json) lle__sbuf_add(&b, "{\"blocks\":%zu,\"bytes\":%zu,\"sites\":[", tblocks, tbytes);
    for (size_t i = 0; i < n; i++) {
        const lle__dsite_t *e = lle__dsite_get(d, r[i].id);
        if (json) {
            lle__sbuf_add(&b, "%s{", i ? "," : "");
            site_json(&b, &e->site);
            lle__sbuf_add(&b, ",\"blocks\":%zu,\"bytes\":%zu,\"allocations\":%llu,\"backtrace\":[",
                          r[i].blocks, r[i].bytes, (unsigned long long)r[i].allocs);
            for (uint32_t f = 0; f < e->nframes; f++)
                lle__sbuf_add(&b, "%s\"%p\"", f ? "," : "", e->frames[f]);
            lle__sbuf_add(&b, "]}");
        } else {
            char where[200];
            lle__site_describe(&e->site, where, sizeof where);
            lle__sbuf_add(&b, "%10zu bytes in %6zu blocks at %s (%llu allocations there)\n",
                          r[i].bytes, r[i].blocks, where, (unsigned long long)r[i].allocs);
            for (uint32_t f = 0; f < e->nframes; f++) {
                lle_site_t fs = {.pc = e->frames[f]};
                lle__site_describe(&fs, where, sizeof where);
                lle__sbuf_add(&b, "        #%u %s\n", f, where);
            }
        }
    }
    if (r) lle__host_free(m, r, rcap * sizeof *r, true);
    if (oom) b.oom = true;
    if (json) lle__sbuf_add(&b, "]}");
    else lle__sbuf_add(&b, "%zu bytes in %zu live tracked blocks at %zu call sites\n", tbytes,
                       tblocks, n);
    return lle__sbuf_deliver(&b, fn, user);
}

lle_result_t lle_memory_set_leak_report(lle_memory_manager_t *m, lle_format_t format,
                                        lle_text_fn fn, void *user)
{
    if (!m) return LLE_ERROR_NULL_PARAMETER;
    if (!report_format_ok(format)) return LLE_ERROR_INVALID_ARGUMENT;
    if (!m->dbg) return LLE_ERROR_INVALID_STATE;
    pthread_mutex_lock(&m->dbg->lock);
    m->dbg->leak_format = format;
    m->dbg->leak_fn = fn;
    m->dbg->leak_user = user;
    pthread_mutex_unlock(&m->dbg->lock);
    return LLE_SUCCESS;
}

bool lle__dbg_top_site(lle_memory_manager_t *m, lle_site_t *site, size_t *blocks, size_t *bytes)
{
    size_t n, rcap;
    bool oom;
    if (!m->dbg) return false;
    row_t *r = live_rows(m, &n, &rcap, &oom);
    if (!r) return false;
    const row_t *top = &r[0];
    for (size_t i = 1; i < n; i++)
        if (r[i].bytes > top->bytes || (r[i].bytes == top->bytes && r[i].id < top->id)) top = &r[i];
    *site = lle__dsite_site(m->dbg, top->id);
    *blocks = top->blocks;
    *bytes = top->bytes;
    lle__host_free(m, r, rcap * sizeof *r, true);
    return true;
}

void lle__dbg_destroy_report(lle_memory_manager_t *m)
{
    lle__dbg_t *d = m->dbg;
    if (!d || !d->leak_fn || !lle__dbg_tracked_live(m)) return;
    lle_leak_report(m, d->leak_format, d->leak_fn, d->leak_user);
}

/* ---- snapshots -------------------------------------------------------------------- */

struct lle_snapshot {
    lle_memory_manager_t *m;
    size_t                n, cap;
    row_t                 rows[];   /* sorted by site id */
};

lle_result_t lle_snapshot_take(lle_memory_manager_t *m, lle_snapshot_t **out)
{
    if (!m || !out) return LLE_ERROR_NULL_PARAMETER;
    *out = NULL;
    if (!m->dbg) return LLE_ERROR_INVALID_STATE;
    size_t n, rcap;
    bool oom;
    row_t *r = live_rows(m, &n, &rcap, &oom);
    if (oom) return LLE_ERROR_OUT_OF_MEMORY;
    lle_snapshot_t *s = lle__host_alloc(m, sizeof *s + n * sizeof(row_t), 16, true);
    if (s) {
        s->m = m;
        s->n = s->cap = n;
        if (n) memcpy(s->rows, r, n * sizeof *r);
    }
    if (r) lle__host_free(m, r, rcap * sizeof *r, true);
    if (!s) return LLE_ERROR_OUT_OF_MEMORY;
    *out = s;
    return LLE_SUCCESS;
}

void lle_snapshot_free(lle_snapshot_t *s)
{
    if (s) lle__host_free(s->m, s, sizeof *s + s->cap * sizeof(row_t), true);
}

typedef struct change {
    uint32_t        id;
    lle_diff_kind_t kind;
    long long       dblocks, dbytes;
    size_t          blocks, bytes;
} change_t;

static int by_change(const void *a, const void *b)
{
    const change_t *x = a, *y = b;
    long long ax = llabs(x->dbytes), ay = llabs(y->dbytes);
    if (ax != ay) return ax < ay ? 1 : -1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* The changes from a to b, sorted: a host array of *n (capacity *cap). */
static lle_result_t diff(const lle_snapshot_t *a, const lle_snapshot_t *b, change_t **out,
                         size_t *n, size_t *cap)
{
    *out = NULL;
    *n = 0;
    *cap = a->n + b->n;
    if (!*cap) return LLE_SUCCESS;
    change_t *c = lle__host_alloc(a->m, *cap * sizeof *c, 16, true);
    if (!c) return LLE_ERROR_OUT_OF_MEMORY;
    size_t i = 0, j = 0, k = 0;
    while (i < a->n || j < b->n) {
        const row_t *x = i < a->n ? &a->rows[i] : NULL, *y = j < b->n ? &b->rows[j] : NULL;
        change_t ch = {0};
        if (x && (!y || x->id < y->id)) {           /* gone */
            ch = (change_t){x->id, LLE_DIFF_GONE, -(long long)x->blocks, -(long long)x->bytes, 0, 0};
            i++;
        } else if (y && (!x || y->id < x->id)) {    /* appeared */
            ch = (change_t){y->id, LLE_DIFF_APPEARED, (long long)y->blocks, (long long)y->bytes,
                            y->blocks, y->bytes};
            j++;
        } else {
            i++;
            j++;
            if (x->blocks == y->blocks && x->bytes == y->bytes) continue;
            ch = (change_t){y->id, 0, (long long)y->blocks - (long long)x->blocks,
                            (long long)y->bytes - (long long)x->bytes, y->blocks, y->bytes};
            ch.kind = ch.dbytes > 0 || (ch.dbytes == 0 && ch.dblocks > 0) ? LLE_DIFF_GREW
                                                                           : LLE_DIFF_SHRANK;
        }
        c[k++] = ch;
    }
    qsort(c, k, sizeof *c, by_change);
    *out = c;
    *n = k;
    return LLE_SUCCESS;
}

static lle_result_t diff_args(const lle_snapshot_t *a, const lle_snapshot_t *b)
{
    if (!a || !b) return LLE_ERROR_NULL_PARAMETER;
    if (a->m != b->m || !a->m->dbg) return LLE_ERROR_INVALID_ARGUMENT;
    return LLE_SUCCESS;
}

lle_result_t lle_snapshot_diff(const lle_snapshot_t *before, const lle_snapshot_t *after,
                               lle_snapshot_change_t *out, size_t cap, size_t *count)
{
    if (!count || (cap && !out)) return LLE_ERROR_NULL_PARAMETER;
    *count = 0;
    lle_result_t r = diff_args(before, after);
    if (r != LLE_SUCCESS) return r;
    change_t *c;
    size_t n, ccap;
    r = diff(before, after, &c, &n, &ccap);
    if (r != LLE_SUCCESS) return r;
    lle__dbg_t *d = before->m->dbg;
    for (size_t i = 0; i < n && i < cap; i++)
        out[i] = (lle_snapshot_change_t){lle__dsite_site(d, c[i].id), c[i].kind, c[i].dblocks,
                                         c[i].dbytes, c[i].blocks, c[i].bytes};
    if (c) lle__host_free(before->m, c, ccap * sizeof *c, true);
    *count = n;
    return n > cap ? LLE_ERROR_BUFFER_TOO_SMALL : LLE_SUCCESS;
}

static const char *const kind_names[] = {"?", "appeared", "grew", "shrank", "gone"};

lle_result_t lle_snapshot_diff_report(const lle_snapshot_t *before, const lle_snapshot_t *after,
                                      lle_format_t format, lle_text_fn fn, void *user)
{
    if (!fn) return LLE_ERROR_NULL_PARAMETER;
    lle_result_t r = diff_args(before, after);
    if (r != LLE_SUCCESS) return r;
    if (!report_format_ok(format)) return LLE_ERROR_INVALID_ARGUMENT;
    lle_memory_manager_t *m = before->m;
    change_t *c;
    size_t n, ccap;
    r = diff(before, after, &c, &n, &ccap);
    if (r != LLE_SUCCESS) return r;
    lle__sbuf_t b = {.m = m};
    bool json = format == LLE_FORMAT_JSON;
    long long tb = 0, tn = 0;
    if (json) lle__sbuf_add(&b, "{\"changes\":[");
    lle__dbg_t *d = m->dbg;
    for (size_t i = 0; i < n; i++) {
        lle_site_t s = lle__dsite_site(d, c[i].id);
        tb += c[i].dbytes;
        tn += c[i].dblocks;
        if (json) {
            lle__sbuf_add(&b, "%s{", i ? "," : "");
            site_json(&b, &s);
            lle__sbuf_add(&b,
                          ",\"kind\":\"%s\",\"blocks_delta\":%lld,\"bytes_delta\":%lld,"
                          "\"blocks\":%zu,\"bytes\":%zu}",
                          kind_names[c[i].kind], c[i].dblocks, c[i].dbytes, c[i].blocks,
                          c[i].bytes);
        } else {
            char where[200];
            lle__site_describe(&s, where, sizeof where);
            lle__sbuf_add(&b, "%+11lld bytes %+7lld blocks %-8s %s (now %zu bytes in %zu)\n",
                          c[i].dbytes, c[i].dblocks, kind_names[c[i].kind], where, c[i].bytes,
                          c[i].blocks);
        }
    }
    if (c) lle__host_free(m, c, ccap * sizeof *c, true);
    if (json) lle__sbuf_add(&b, "]}");
    else lle__sbuf_add(&b, "%+lld bytes, %+lld blocks at %zu call sites\n", tb, tn, n);
    return lle__sbuf_deliver(&b, fn, user);
}

/* ---- bounds ---------------------------------------------------------------------------- */

lle_result_t lle_memory_check_bounds(lle_memory_manager_t *m, const void *p, size_t len,
                                     lle_block_info_t *out)
{
    lle_block_info_t tmp, *info = out ? out : &tmp;
    if (!m || !p) return LLE_ERROR_NULL_PARAMETER;
    lle_result_t r = lle_block_query(m, p, info);
    if (r != LLE_SUCCESS) return r;
    const char *s = info->start, *q = p;
    if (q >= s && (size_t)(q - s) <= info->size && len <= info->size - (size_t)(q - s))
        return LLE_SUCCESS;
    lle__report_sites(m, LLE_ERROR_BOUNDS_VIOLATION, info->pool, len, p, &info->alloc_site, NULL,
                      "bounds check: [%p, %p + %zu) is not inside block %p of %zu bytes (it %s "
                      "%zu bytes %s)",
                      p, p, len, info->start, info->size, q < s ? "starts" : "runs",
                      q < s ? (size_t)(s - q) : (size_t)(q - s) + len - info->size,
                      q < s ? "before it" : "past its end");
    return LLE_ERROR_BOUNDS_VIOLATION;
}
