/*
 * secure_internal.h - what the files of src/secure share.
 */
#ifndef LLE_SECURE_INTERNAL_H
#define LLE_SECURE_INTERNAL_H

#include "internal.h"
#include "lle/history.h"
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

/* ---- what the rest of the library asks of the secure pool ------------------ */

/* The checks of a secure configuration (src/manager/config.c), with the
 * messages of lle_memory_config_validate: LLE_ERROR_INVALID_OPTION. */
LLE__HIDDEN lle_result_t lle__secure_config_check(const lle_secure_config_t *sc, char *errbuf,
                                                  size_t errlen);

/* lle_memory_idle's secure upkeep: steps of key rotation and cold sealing
 * that fit before `deadline` (lle__now_ns).  *work_left is set when
 * something due did not fit. */
LLE__HIDDEN void lle__secure_idle(lle_memory_manager_t *m, uint64_t deadline, bool *work_left);

/* ---- what src/secure's files share ------------------------------------------ */

/* The calls of lle/secure.h with their report left in pd (to be flushed
 * by the caller once its own lock is released).  owned: a block the
 * library keeps for itself (history entry, secbuf content): cold sealing
 * by lle_secure_seal_cold leaves it to its owner. */
LLE__HIDDEN void *lle__secure_alloc_pd(lle_memory_manager_t *m, int pool, size_t n, int sens,
                                       bool owned, lle__sec_pend_t *pd);
LLE__HIDDEN lle_result_t lle__secure_free_pd(lle_memory_manager_t *m, void *p,
                                             lle__sec_pend_t *pd);
LLE__HIDDEN lle_result_t lle__seal_pd(lle_memory_manager_t *m, void *p, lle__sec_pend_t *pd);
LLE__HIDDEN lle_result_t lle__unseal_pd(lle_memory_manager_t *m, void *p, lle__sec_pend_t *pd);

/* Cost model of sealing, measured by the idle steps: the expected time of
 * sealing n bytes (opening costs the same), and a measured sample. */
LLE__HIDDEN uint64_t lle__seal_estimate_ns(lle_memory_manager_t *m, size_t n);
LLE__HIDDEN void lle__seal_measured(lle_memory_manager_t *m, size_t n, uint64_t ns);
/* A step of n bytes was not started for want of time: the estimate it
 * used shrinks a little. */
LLE__HIDDEN void lle__seal_skipped(lle_memory_manager_t *m, size_t n);

/* History stores known to lle_memory_idle (registered at creation,
 * removed at destruction; false when the secure state cannot be made). */
LLE__HIDDEN bool lle__sec_store_add(lle_memory_manager_t *m, lle_history_store_t *h);
LLE__HIDDEN void lle__sec_store_remove(lle_memory_manager_t *m, lle_history_store_t *h);
/* One idle step over store h (src/secure/history.c): from its cursor,
 * seal the entries of the sensitivities in want[] unused for age_ns while
 * their estimated cost fits before deadline.  True when the store was
 * gone through to its end (the cursor is back at its start).  *sealed:
 * entries sealed. */
LLE__HIDDEN bool lle__history_idle(lle_history_store_t *h, uint64_t age_ns, uint64_t deadline,
                                   const bool want[LLE_SENSITIVITY_COUNT], size_t *sealed,
                                   lle__sec_pend_t *pd);
/* The store list's link fields, kept in the store (history.c). */
LLE__HIDDEN lle_history_store_t **lle__history_next(lle_history_store_t *h);

#endif
