/*
 * secure_internal.h - what the files of src/secure share.
 */
#ifndef LLE_SECURE_INTERNAL_H
#define LLE_SECURE_INTERNAL_H

#include "internal.h"
#include "lle/secure.h"

/* A report prepared under the secure pool's lock and delivered after it
 * is released (the error channel is never called with a lock held). */
typedef struct lle__sec_pend {
    lle_result_t code;   /* LLE_SUCCESS: nothing to report */
    int          pool;
    size_t       size;
    const void  *addr;
    char         msg[200];
} lle__sec_pend_t;

LLE__HIDDEN void lle__sec_pend_set(lle__sec_pend_t *pd, lle_result_t code, int pool, size_t size,
                                   const void *addr, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
LLE__HIDDEN void lle__sec_pend_flush(lle_memory_manager_t *m, lle__sec_pend_t *pd);

#endif
