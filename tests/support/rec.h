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

#endif
