/*
 * rec.h - an error callback that keeps the first 16 records whole (code,
 * pool, size, address, sites, thread, time, and a copy of the message),
 * for tests that check every field of a report.
 */
#ifndef LLE_TEST_REC_H
#define LLE_TEST_REC_H

#include "test_util.h"

typedef struct rec {
    int                n;
    lle_memory_error_t e[16];
    char               msg[16][256];
} rec_t;

static inline void rec_fn(void *user, const lle_memory_error_t *e)
{
    rec_t *r = user;
    if (r->n < 16) {
        r->e[r->n] = *e;
        snprintf(r->msg[r->n], sizeof r->msg[0], "%s", e->message);
        r->e[r->n].message = r->msg[r->n];
    }
    r->n++;
}

/* A manager with the tests' configuration whose errors go to r. */
static inline lle_memory_manager_t *rec_manager(rec_t *r)
{
    lle_memory_config_t cfg;
    test_config(&cfg, NULL);
    memset(r, 0, sizeof *r);
    cfg.error_fn = rec_fn;
    cfg.error_user = r;
    lle_memory_manager_t *m = NULL;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);
    return m;
}

/* Read n bytes at p into out whatever the sanitizers think of them: a
 * wipe check looks at freed memory on purpose, which AddressSanitizer
 * (poisoned) and valgrind (no-access, in an LLE_ANNOTATE build) would
 * otherwise report. */
#if defined(__SANITIZE_ADDRESS__)
#define REC_NO_ASAN __attribute__((no_sanitize_address))
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REC_NO_ASAN __attribute__((no_sanitize_address))
#endif
#endif
#ifndef REC_NO_ASAN
#define REC_NO_ASAN
#endif
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define REC_VG_QUIET() VALGRIND_DISABLE_ERROR_REPORTING
#define REC_VG_LOUD() VALGRIND_ENABLE_ERROR_REPORTING
#endif
#endif
#ifndef REC_VG_QUIET
#define REC_VG_QUIET() ((void)0)
#define REC_VG_LOUD() ((void)0)
#endif

REC_NO_ASAN __attribute__((noinline, unused)) static void peek_bytes(unsigned char *out, const void *p, size_t n)
{
    const volatile unsigned char *c = p;
    REC_VG_QUIET();
    for (size_t i = 0; i < n; i++) out[i] = c[i];
    REC_VG_LOUD();
}

/* Whether the n bytes at p are all zero (a wipe happened); p may be freed. */
static inline bool mem_all_zero(const void *p, size_t n)
{
    const unsigned char *c = p;
    unsigned char buf[256];
    for (size_t i = 0; i < n; i += sizeof buf) {
        size_t k = n - i < sizeof buf ? n - i : sizeof buf;
        peek_bytes(buf, c + i, k);
        for (size_t j = 0; j < k; j++)
            if (buf[j]) return false;
    }
    return true;
}

#endif
