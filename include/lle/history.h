/*
 * lle/history.h - a compressed, sealable store of history entries.
 *
 * Entries are keyed by string (a command's text, a timestamp, an id).
 * Content over 1 KiB is compressed with zstd when that saves at least 20 %
 * (the rule of the strategies document's compressed index) and
 * decompressed on read; other content is stored as it is.  An entry of a
 * sensitivity the sealing policy covers (lle_secure_policy_seals), or of
 * LLE_SENSITIVITY_HIGH and above, is kept in a secure block (lle/secure.h)
 * and may be sealed: explicitly (lle_history_seal) or when it goes cold
 * (lle_history_seal_cold).  Reading a sealed entry opens it, copies it out
 * and seals it again under a fresh nonce.  Sealing an ordinary entry first
 * moves it into a secure block (the old copy is wiped).
 *
 * The store's memory comes from its manager's HISTORY pool.  All calls are
 * thread-safe (one lock per store).
 */
#ifndef LLE_HISTORY_H
#define LLE_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "lle/manager.h"
#include "lle/result.h"
#include "lle/secure.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lle_history_store lle_history_store_t;

/* Content longer than this is a candidate for compression. */
#define LLE_HISTORY_COMPRESS_MIN 1024

typedef struct lle_history_stats {
    size_t   entries;
    size_t   compressed_entries;
    size_t   secure_entries;      /* kept in secure blocks */
    size_t   sealed_entries;
    size_t   original_bytes;      /* content as put */
    size_t   stored_bytes;        /* content as kept (compressed or not) */
    size_t   bytes_saved;         /* original_bytes - stored_bytes */
    double   compression_ratio;   /* original_bytes / stored_bytes (1 when empty) */
    uint64_t puts, reads, misses, decompressions;
    uint64_t compress_attempts, compress_rejected;   /* rejected: saved < 20 % */
} lle_history_stats_t;

lle_result_t lle_history_create(lle_memory_manager_t *m, lle_history_store_t **out);
/* Frees every entry (secure ones wiped) and the store. */
lle_result_t lle_history_destroy(lle_history_store_t *h);

/* Store a copy of data[0, len) under key (replacing what was there, which
 * is wiped when it was secure).  key: NUL-terminated, not empty. */
lle_result_t lle_history_put(lle_history_store_t *h, const char *key, const void *data, size_t len,
                             lle_sensitivity_t sensitivity);
/* Copy the content of key into buf[0, cap); its length in *len.
 * LLE_ERROR_NOT_FOUND, LLE_ERROR_BUFFER_TOO_SMALL (nothing copied, *len
 * set), LLE_ERROR_CORRUPTION when a sealed entry fails authentication or
 * compressed content does not decompress. */
lle_result_t lle_history_get(lle_history_store_t *h, const char *key, void *buf, size_t cap,
                             size_t *len);
lle_result_t lle_history_remove(lle_history_store_t *h, const char *key);
/* Seal / open one entry in place.  LLE_ERROR_NOT_FOUND; lle_history_seal
 * of a sealed entry and lle_history_unseal of an unsealed one succeed with
 * nothing to do. */
lle_result_t lle_history_seal(lle_history_store_t *h, const char *key);
lle_result_t lle_history_unseal(lle_history_store_t *h, const char *key);
/* Seal every unsealed entry the sealing policy covers that was not put or
 * read for idle_ns nanoseconds; *sealed (if not NULL): how many. */
lle_result_t lle_history_seal_cold(lle_history_store_t *h, uint64_t idle_ns, size_t *sealed);

lle_result_t lle_history_get_stats(lle_history_store_t *h, lle_history_stats_t *out);

#ifdef __cplusplus
}
#endif
#endif
