/*
 * text.c - the bounded text writer behind every call that formats into a
 * caller's buffer (statistics as JSON, the arena tree).
 */
#include <stdarg.h>
#include <stdio.h>

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
