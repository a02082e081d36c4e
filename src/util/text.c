/*
 * text.c - the bounded text writer behind every call that formats into a
 * caller's buffer (statistics as JSON, the arena tree), the growing text
 * of reports, the growing host arrays of the collector and the site
 * table, and the text of a call site.
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

void lle__text_add(lle__text_t *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = t->len < t->cap ? t->cap - t->len : 0;
    int n = vsnprintf(room ? t->buf + t->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0) t->len += (size_t)n;
}

lle_result_t lle__text_done(const lle__text_t *t, size_t *needed)
{
    if (needed) *needed = t->len;
    return t->len < t->cap ? LLE_SUCCESS : LLE_ERROR_BUFFER_TOO_SMALL;
}

/* ---- growing text (reports) ---------------------------------------------- */

static bool sbuf_reserve(lle__sbuf_t *b, size_t more)
{
    if (b->oom) return false;
    if (b->len + more < b->cap) return true;
    size_t nc = b->cap ? b->cap : 1024;
    while (nc <= b->len + more) nc *= 2;
    char *n = lle__host_alloc(b->m, nc, 16, true);
    if (!n) {
        b->oom = true;
        return false;
    }
    if (b->buf) {
        memcpy(n, b->buf, b->len + 1);
        lle__host_free(b->m, b->buf, b->cap, true);
    } else {
        n[0] = 0;
    }
    b->buf = n;
    b->cap = nc;
    return true;
}

void lle__sbuf_add(lle__sbuf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !sbuf_reserve(b, (size_t)n + 1)) return;
    va_start(ap, fmt);
    vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void lle__sbuf_json_str(lle__sbuf_t *b, const char *s)
{
    if (!s) {
        lle__sbuf_add(b, "null");
        return;
    }
    lle__sbuf_add(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') lle__sbuf_add(b, "\\%c", c);
        else if (c < 0x20) lle__sbuf_add(b, "\\u%04x", c);
        else lle__sbuf_add(b, "%c", c);
    }
    lle__sbuf_add(b, "\"");
}

lle_result_t lle__sbuf_deliver(lle__sbuf_t *b, lle_text_fn fn, void *user)
{
    lle_result_t r = LLE_SUCCESS;
    if (b->oom || !sbuf_reserve(b, 1)) r = LLE_ERROR_OUT_OF_MEMORY;
    else fn(user, b->buf, b->len);
    if (b->buf) lle__host_free(b->m, b->buf, b->cap, true);
    b->buf = NULL;
    b->cap = b->len = 0;
    return r;
}

/* ---- growing arrays -------------------------------------------------------- */

bool lle__array_grow(lle_memory_manager_t *m, void **arr, size_t *cap, size_t need, size_t elem,
                     size_t first)
{
    if (need <= *cap) return true;
    size_t nc = *cap ? *cap : first;
    while (nc < need) nc *= 2;
    void *n = lle__host_alloc(m, nc * elem, 16, true);
    if (!n) return false;
    if (*arr) {
        memcpy(n, *arr, *cap * elem);
        lle__host_free(m, *arr, *cap * elem, true);
    }
    *arr = n;
    *cap = nc;
    return true;
}

void lle__array_free(lle_memory_manager_t *m, void **arr, size_t *cap, size_t elem)
{
    if (*arr) lle__host_free(m, *arr, *cap * elem, true);
    *arr = NULL;
    *cap = 0;
}

void lle__site_describe(const lle_site_t *s, char *buf, size_t len)
{
    if (s->file) {
        snprintf(buf, len, "%s:%d (%s)", s->file, s->line, s->func ? s->func : "?");
        return;
    }
    if (!s->pc) {
        snprintf(buf, len, "an unknown site");
        return;
    }
    Dl_info info;
    if (dladdr(s->pc, &info) && info.dli_sname)
        snprintf(buf, len, "%p (%s+0x%lx)", s->pc, info.dli_sname,
                 (unsigned long)((const char *)s->pc - (const char *)info.dli_saddr));
    else if (dladdr(s->pc, &info) && info.dli_fname)
        snprintf(buf, len, "%p (%s+0x%lx)", s->pc, info.dli_fname,
                 (unsigned long)((const char *)s->pc - (const char *)info.dli_fbase));
    else
        snprintf(buf, len, "%p", s->pc);
}
