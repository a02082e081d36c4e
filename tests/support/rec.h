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

/* Whether the n bytes at p are all zero (a wipe happened). */
static inline bool mem_all_zero(const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i]) return false;
    return true;
}

#endif
