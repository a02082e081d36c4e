/*
 * secbuf.c - a growable buffer for typed secrets.
 *
 * The bytes live in one secure block of pool BUFFER, sensitivity CRITICAL,
 * always NUL-terminated.  Growth goes through lle_secure_realloc, which
 * either keeps the block (same size class) or moves the content to a new
 * block and wipes the old one: at no moment is a copy left outside the
 * current block.  The descriptor (pointer, length, capacity) is not
 * secret and lives in host memory.
 *
 * Deleting the last character deletes the last extended grapheme cluster,
 * found by walking the content from its start with utf8proc's stateful
 * break rules (a password is short; the walk is what makes an emoji
 * sequence or a letter with combining marks go in one keystroke).
 */
#include <string.h>
#include <utf8proc.h>

#include "secure/secure_internal.h"

struct lle_secbuf {
    lle_memory_manager_t *m;
    char                 *data;   /* secure block of `cap` bytes */
    size_t                len, cap;
};

lle_result_t lle_secbuf_create(lle_memory_manager_t *m, size_t initial, lle_secbuf_t **out)
{
    if (!m || !out) return LLE_ERROR_NULL_PARAMETER;
    *out = NULL;
    if (initial >= ((size_t)1 << 31)) return LLE_ERROR_INVALID_ARGUMENT;
    lle_secbuf_t *b = lle__host_alloc(m, sizeof *b, 16, true);
    if (!b) return LLE_ERROR_OUT_OF_MEMORY;
    b->m = m;
    b->len = 0;
    b->cap = initial + 1 < 32 ? 32 : initial + 1;
    /* Owned: cold sealing leaves it alone (the buffer is read and written
     * directly). */
    lle__sec_pend_t pd = {0};
    b->data = lle__secure_alloc_pd(m, LLE_POOL_BUFFER, b->cap, LLE_SENSITIVITY_CRITICAL, true, &pd);
    lle__sec_pend_flush(m, &pd);
    if (!b->data) {
        lle__host_free(m, b, sizeof *b, true);
        return LLE_ERROR_OUT_OF_MEMORY;
    }
    *out = b;
    return LLE_SUCCESS;
}

lle_result_t lle_secbuf_destroy(lle_secbuf_t *b)
{
    if (!b) return LLE_SUCCESS;
    lle_memory_manager_t *m = b->m;
    lle_result_t r = lle_secure_free(m, b->data);
    lle__host_free(m, b, sizeof *b, true);
    return r;
}

lle_result_t lle_secbuf_append(lle_secbuf_t *b, const char *s, size_t n)
{
    if (!b || (!s && n)) return LLE_ERROR_NULL_PARAMETER;
    if (n >= ((size_t)1 << 31) - b->len) return LLE_ERROR_INVALID_ARGUMENT;
    size_t need = b->len + n + 1;
    if (need > b->cap) {
        size_t cap = b->cap * 2 > need ? b->cap * 2 : need;
        void *p = b->data;
        lle_result_t r = lle_secure_realloc(b->m, &p, cap);
        if (r != LLE_SUCCESS) return r;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return LLE_SUCCESS;
}

lle_result_t lle_secbuf_delete_grapheme(lle_secbuf_t *b, size_t *removed)
{
    if (removed) *removed = 0;
    if (!b) return LLE_ERROR_NULL_PARAMETER;
    const utf8proc_uint8_t *d = (const utf8proc_uint8_t *)b->data;
    size_t i = 0, last = 0;
    utf8proc_int32_t prev = -1, state = 0;
    while (i < b->len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(d + i, (utf8proc_ssize_t)(b->len - i), &cp);
        if (k <= 0) {   /* a byte that is not UTF-8: a cluster of its own */
            last = i++;
            prev = -1;
            state = 0;
            continue;
        }
        if (prev < 0 || utf8proc_grapheme_break_stateful(prev, cp, &state)) last = i;
        prev = cp;
        i += (size_t)k;
    }
    lle_secure_wipe(b->data + last, b->len - last);
    if (removed) *removed = b->len - last;
    b->len = last;
    return LLE_SUCCESS;
}

void lle_secbuf_clear(lle_secbuf_t *b)
{
    if (!b) return;
    lle_secure_wipe(b->data, b->len);
    b->len = 0;
}

const char *lle_secbuf_data(const lle_secbuf_t *b, size_t *len)
{
    if (len) *len = b ? b->len : 0;
    return b ? b->data : NULL;
}

size_t lle_secbuf_length(const lle_secbuf_t *b)
{
    return b ? b->len : 0;
}

lle_result_t lle_secbuf_read(const lle_secbuf_t *b, char *out, size_t cap, size_t *len)
{
    if (!b) return LLE_ERROR_NULL_PARAMETER;
    if (len) *len = b->len;
    if (!out || cap <= b->len) return LLE_ERROR_BUFFER_TOO_SMALL;
    memcpy(out, b->data, b->len + 1);
    return LLE_SUCCESS;
}
