/*
 * errors.c - the one error channel, the error history, recovery strategies
 * and the audit trail.
 *
 * Every error of the library goes through report(): it is counted per code
 * (atomics, always), kept in the history ring and the audit trail (under
 * err_lock, a leaf lock), passed to the error callback unless its strategy
 * is IGNORE, and with ABORT handed to the abort handler and then abort().
 * The callback runs with no lock of the library held.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

lle_result_t lle__errors_init(lle_memory_manager_t *m)
{
    pthread_mutex_init(&m->err_lock, NULL);
    m->err_cap = m->cfg.error_history;
    m->audit_cap = m->cfg.audit_entries;
    if (m->err_cap) {
        m->err_hist = lle__host_alloc(m, m->err_cap * sizeof *m->err_hist, 16, true);
        if (!m->err_hist) return LLE_ERROR_OUT_OF_MEMORY;
    }
    if (m->audit_cap) {
        m->audit = lle__host_alloc(m, m->audit_cap * sizeof *m->audit, 16, true);
        if (!m->audit) return LLE_ERROR_OUT_OF_MEMORY;
    }
    return LLE_SUCCESS;
}

void lle__errors_release(lle_memory_manager_t *m)
{
    if (m->err_hist) lle__host_free(m, m->err_hist, m->err_cap * sizeof *m->err_hist, true);
    if (m->audit) lle__host_free(m, m->audit, m->audit_cap * sizeof *m->audit, true);
    m->err_hist = NULL;
    m->audit = NULL;
    pthread_mutex_destroy(&m->err_lock);
}

/* Append e to the audit ring (err_lock held). */
static void audit_put(lle_memory_manager_t *m, const lle_audit_entry_t *e)
{
    m->audit[m->audit_next] = *e;
    m->audit_next = (m->audit_next + 1) % m->audit_cap;
    if (m->audit_len < m->audit_cap) m->audit_len++;
}

void lle__audit(lle_memory_manager_t *m, lle_audit_op_t op, lle_result_t code, const void *addr,
                size_t size, int pool, const lle_site_t *site)
{
    if (!m->audit_cap) return;
    lle_audit_entry_t e = {op, code, addr, size, pool, {0}, lle__thread_id(), lle__now_ns()};
    if (site) e.site = *site;
    pthread_mutex_lock(&m->err_lock);
    audit_put(m, &e);
    pthread_mutex_unlock(&m->err_lock);
}

/* Count e (message msg), keep it in the history and the audit trail, and
 * return its code's strategy.  wait false (the fault handler, whose thread
 * may hold err_lock): the rings are skipped when the lock is taken. */
static lle_recovery_t record(lle_memory_manager_t *m, lle_memory_error_t *e, const char *msg,
                             bool wait)
{
    e->thread = lle__thread_id();
    e->time_ns = lle__now_ns();
    unsigned code = (unsigned)e->code;
    lle_recovery_t how = LLE_RECOVER_REPORT;
    if (code < LLE_RESULT_COUNT_) {
        atomic_fetch_add_explicit(&m->err_counts[code], 1, memory_order_relaxed);
        how = (lle_recovery_t)atomic_load_explicit(&m->recovery[code], memory_order_relaxed);
    }
    if (!m->err_cap && !m->audit_cap) return how;
    if (wait) pthread_mutex_lock(&m->err_lock);
    else if (pthread_mutex_trylock(&m->err_lock) != 0) return how;
    if (m->err_cap) {
        lle_error_record_t *r = &m->err_hist[m->err_next];
        r->error = *e;
        size_t k = 0;   /* msg may be shorter than text: copied up to its NUL */
        for (; msg[k] && k + 1 < sizeof r->text; k++) r->text[k] = msg[k];
        r->text[k] = 0;
        r->error.message = NULL;   /* pointed at r->text when copied out */
        m->err_next = (m->err_next + 1) % m->err_cap;
        if (m->err_len < m->err_cap) m->err_len++;
    }
    if (m->audit_cap) {
        lle_audit_entry_t a = {LLE_AUDIT_ERROR, e->code,   e->address,   e->size,
                               e->pool,         e->alloc_site, e->thread, e->time_ns};
        audit_put(m, &a);
    }
    pthread_mutex_unlock(&m->err_lock);
    return how;
}

static lle_recovery_t vreport(lle_memory_manager_t *m, lle_memory_error_t *e, const char *fmt,
                              va_list ap) __attribute__((format(printf, 3, 0)));
static lle_recovery_t vreport(lle_memory_manager_t *m, lle_memory_error_t *e, const char *fmt,
                              va_list ap)
{
    char msg[512];   /* the callback gets it whole; the history keeps 255 bytes */
    vsnprintf(msg, sizeof msg, fmt, ap);
    e->message = msg;
    lle_recovery_t how = record(m, e, msg, true);
    lle_memory_error_fn fn = m->error_fn;
    if (fn && how != LLE_RECOVER_IGNORE) fn(m->error_user, e);
    if (how == LLE_RECOVER_ABORT) {
        pthread_mutex_lock(&m->err_lock);
        lle_abort_fn afn = m->abort_fn;
        void *auser = m->abort_user;
        pthread_mutex_unlock(&m->err_lock);
        if (afn) afn(auser, e);
        abort();
    }
    return how;
}

void lle__report(lle_memory_manager_t *m, lle_result_t code, int pool, size_t size,
                 const void *addr, const char *fmt, ...)
{
    lle_memory_error_t e = {.code = code, .pool = pool, .size = size, .address = addr};
    va_list ap;
    va_start(ap, fmt);
    vreport(m, &e, fmt, ap);
    va_end(ap);
}

lle_recovery_t lle__report_sites(lle_memory_manager_t *m, lle_result_t code, int pool, size_t size,
                                 const void *addr, const lle_site_t *alloc_site,
                                 const lle_site_t *free_site, const char *fmt, ...)
{
    lle_memory_error_t e = {.code = code, .pool = pool, .size = size, .address = addr};
    if (alloc_site) e.alloc_site = *alloc_site;
    if (free_site) e.free_site = *free_site;
    va_list ap;
    va_start(ap, fmt);
    lle_recovery_t how = vreport(m, &e, fmt, ap);
    va_end(ap);
    return how;
}

void lle__report_fault(lle_memory_manager_t *m, lle_memory_error_t *e)
{
    lle_recovery_t how = record(m, e, e->message, false);
    lle_memory_error_fn fn = m->error_fn;
    if (fn && how != LLE_RECOVER_IGNORE) fn(m->error_user, e);
    /* The process is about to die: let the program restore its terminal. */
    lle_abort_fn afn = m->abort_fn;
    if (afn) afn(m->abort_user, e);
}

/* ---- public ---------------------------------------------------------------- */

lle_result_t lle_memory_set_recovery(lle_memory_manager_t *m, lle_result_t code,
                                     lle_recovery_t strategy)
{
    if (!m) return LLE_ERROR_NULL_PARAMETER;
    if ((unsigned)code >= LLE_RESULT_COUNT_ || code == LLE_SUCCESS ||
        (unsigned)strategy > LLE_RECOVER_IGNORE)
        return LLE_ERROR_INVALID_ARGUMENT;
    atomic_store_explicit(&m->recovery[code], (unsigned char)strategy, memory_order_relaxed);
    return LLE_SUCCESS;
}

lle_result_t lle_memory_set_abort_handler(lle_memory_manager_t *m, lle_abort_fn fn, void *user)
{
    if (!m) return LLE_ERROR_NULL_PARAMETER;
    pthread_mutex_lock(&m->err_lock);
    m->abort_fn = fn;
    m->abort_user = user;
    pthread_mutex_unlock(&m->err_lock);
    return LLE_SUCCESS;
}

lle_result_t lle_memory_get_errors(lle_memory_manager_t *m, lle_error_record_t *out, size_t cap,
                                   size_t *count)
{
    if (!m || !count || (cap && !out)) return LLE_ERROR_NULL_PARAMETER;
    pthread_mutex_lock(&m->err_lock);
    size_t n = m->err_len, first = (m->err_next + m->err_cap - n) % (m->err_cap ? m->err_cap : 1);
    for (size_t i = 0; i < n && i < cap; i++) {
        out[i] = m->err_hist[(first + i) % m->err_cap];
        out[i].error.message = out[i].text;
    }
    pthread_mutex_unlock(&m->err_lock);
    *count = n;
    return n > cap ? LLE_ERROR_BUFFER_TOO_SMALL : LLE_SUCCESS;
}

lle_result_t lle_memory_error_counts(lle_memory_manager_t *m, uint64_t *counts, size_t n)
{
    if (!m || (n && !counts)) return LLE_ERROR_NULL_PARAMETER;
    for (size_t i = 0; i < n; i++)
        counts[i] = i < LLE_RESULT_COUNT_
                        ? atomic_load_explicit(&m->err_counts[i], memory_order_relaxed)
                        : 0;
    return LLE_SUCCESS;
}

lle_result_t lle_audit_get(lle_memory_manager_t *m, lle_audit_entry_t *out, size_t cap,
                           size_t *count)
{
    if (!m || !count || (cap && !out)) return LLE_ERROR_NULL_PARAMETER;
    pthread_mutex_lock(&m->err_lock);
    size_t n = m->audit_len;
    size_t first = m->audit_cap ? (m->audit_next + m->audit_cap - n) % m->audit_cap : 0;
    for (size_t i = 0; i < n && i < cap; i++) out[i] = m->audit[(first + i) % m->audit_cap];
    pthread_mutex_unlock(&m->err_lock);
    *count = n;
    return n > cap ? LLE_ERROR_BUFFER_TOO_SMALL : LLE_SUCCESS;
}

static const char *const op_names[] = {"?", "alloc", "free", "realloc", "error"};

lle_result_t lle_audit_dump(lle_memory_manager_t *m, lle_format_t format, lle_text_fn fn,
                            void *user)
{
    if (!m || !fn) return LLE_ERROR_NULL_PARAMETER;
    if (format != LLE_FORMAT_TEXT && format != LLE_FORMAT_JSON) return LLE_ERROR_INVALID_ARGUMENT;
    size_t cap = 0, n = 0;
    lle_audit_get(m, NULL, 0, &cap);
    lle_audit_entry_t *e = NULL;
    if (cap) {
        e = lle__host_alloc(m, cap * sizeof *e, 16, true);
        if (!e) return LLE_ERROR_OUT_OF_MEMORY;
        lle_audit_get(m, e, cap, &n);
        if (n > cap) n = cap;   /* the trail grew meanwhile: the oldest cap entries */
    }
    lle__sbuf_t b = {.m = m};
    bool json = format == LLE_FORMAT_JSON;
    if (json) lle__sbuf_add(&b, "{\"entries\":[");
    for (size_t i = 0; i < n; i++) {
        const lle_audit_entry_t *a = &e[i];
        const char *op = (unsigned)a->op < 5 ? op_names[a->op] : "?";
        const char *pool = lle_pool_type_name(a->pool);
        if (json) {
            lle__sbuf_add(&b,
                          "%s{\"op\":\"%s\",\"code\":%d,\"address\":\"%p\",\"size\":%zu,"
                          "\"pool\":",
                          i ? "," : "", op, (int)a->code, a->address, a->size);
            lle__sbuf_json_str(&b, pool);
            lle__sbuf_add(&b, ",\"file\":");
            lle__sbuf_json_str(&b, a->site.file);
            lle__sbuf_add(&b, ",\"line\":%d,\"function\":", a->site.line);
            lle__sbuf_json_str(&b, a->site.func);
            lle__sbuf_add(&b, ",\"thread\":%lu,\"time_ns\":%llu}", a->thread, a->time_ns);
        } else {
            lle__sbuf_add(&b, "%llu.%09llu %-7s %p %zu %s", a->time_ns / 1000000000ull,
                          a->time_ns % 1000000000ull, op, a->address, a->size,
                          pool ? pool : "-");
            if (a->site.file) lle__sbuf_add(&b, " %s:%d", a->site.file, a->site.line);
            else if (a->site.pc) lle__sbuf_add(&b, " pc=%p", a->site.pc);
            if (a->code != LLE_SUCCESS) lle__sbuf_add(&b, " [%s]", lle_result_string(a->code));
            lle__sbuf_add(&b, " thread %lu\n", a->thread);
        }
    }
    if (json) lle__sbuf_add(&b, "]}");
    if (e) lle__host_free(m, e, cap * sizeof *e, true);
    return lle__sbuf_deliver(&b, fn, user);
}
