/*
 * lle/secure.h - memory for secrets: the secure pool, sealing (authenticated
 * encryption at rest, with key rotation) and a growable buffer for typed
 * passwords.
 *
 * Secure blocks come from slabs the library maps itself: an inaccessible
 * guard page at each end, the data pages locked in RAM (mlock), kept out
 * of core dumps (MADV_DONTDUMP) and zero-filled in forked children
 * (MADV_WIPEONFORK; MADV_DONTFORK where that is missing).  Many small
 * blocks share one slab (size classes 32 B to 2 KiB in 16 KiB slabs), so
 * an allocation is a bitmap operation under a lock, not a system call;
 * larger blocks get a mapping of their own, with the same guard pages.
 * Every block is handed out zero-filled and wiped when freed; a block that
 * grows leaves its old copy wiped.  Secure blocks are blocks of their
 * manager like any other: lle_pool_free, lle_pool_realloc (which keeps
 * them secure), lle_pool_usable_size, lle_block_query and
 * lle_memory_check_bounds know them.
 *
 * When the lock limit (RLIMIT_MEMLOCK) refuses a slab, the lock policy
 * decides: LLE_SECURE_LOCK_REPORT keeps the slab unlocked, counts it and
 * reports LLE_ERROR_LOCK_LIMIT to the error callback (each such slab);
 * LLE_SECURE_LOCK_REQUIRED fails the allocation with the same report.
 *
 * Sealing encrypts a secure block in place with XChaCha20-Poly1305
 * (libsodium): a fresh random nonce per seal, nonce and tag kept outside
 * the block, the block's address, length and pool bound in as associated
 * data.  Keys: a random master key in secure memory, one key per pool type
 * derived from it (crypto_kdf); rotation draws a new master key and
 * re-seals every sealed block.  A sealed block must not be read or written
 * until unsealed (it holds ciphertext); a write is caught as tampering.
 *
 * Upkeep (lle_secure_config_t.cold_seal_ms and rotate_interval_ms, off by
 * default): lle_memory_idle seals cold history entries and cold blocks
 * marked with lle_secure_auto_seal, and rotates the keys when they are
 * older than the interval, re-sealing the sealed blocks a few at a time;
 * until the last is done the old keys are kept and open the blocks not
 * yet re-sealed.  Each step is started only when its measured cost fits
 * the time left of the idle budget.
 *
 * Sanitizers: secure blocks not handed out are poisoned for
 * AddressSanitizer and no-access for valgrind (an LLE_ANNOTATE build), so
 * a use after free of a secure block is reported by either tool.
 *
 * All calls are thread-safe (one lock per manager for the secure pool).
 */
#ifndef LLE_SECURE_H
#define LLE_SECURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lle/config.h"
#include "lle/manager.h"
#include "lle/result.h"

#ifdef __cplusplus
extern "C" {
#endif

/* lle_sensitivity_t, lle_secure_lock_policy_t and lle_secure_config_t are
 * in lle/config.h (the manager's configuration holds the secure pool's). */

void lle_secure_config_default(lle_secure_config_t *cfg);
/* Set the secure pool's configuration; it applies to the slabs mapped
 * from now on and to the next sealing decisions.  LLE_ERROR_INVALID_ARGUMENT
 * for an unknown policy or level. */
lle_result_t lle_secure_configure(lle_memory_manager_t *m, const lle_secure_config_t *cfg);
lle_result_t lle_secure_get_config(lle_memory_manager_t *m, lle_secure_config_t *out);

/* A zero-filled secure block of n bytes (n == 0: a unique block), tagged
 * with pool type `pool` (whose sealing key it uses) and a sensitivity.
 * NULL when it cannot be had; the reason goes to the error callback
 * (LLE_ERROR_LOCK_LIMIT, LLE_ERROR_POOL_LIMIT for max_bytes,
 * LLE_ERROR_INVALID_ARGUMENT, LLE_ERROR_OUT_OF_MEMORY). */
void *lle_secure_alloc_ex(lle_memory_manager_t *m, lle_memory_pool_type_t pool, size_t n,
                          lle_sensitivity_t sensitivity);
/* Pool LLE_POOL_CUSTOM, sensitivity LLE_SENSITIVITY_HIGH. */
void *lle_secure_alloc(lle_memory_manager_t *m, size_t n);

/* Wipe and free a secure block (sealed or not).  NULL: LLE_SUCCESS.  A
 * pointer that is not a live secure block of m: LLE_ERROR_INVALID_POINTER
 * (LLE_ERROR_DOUBLE_FREE for a freed one), reported, nothing changed. */
lle_result_t lle_secure_free(lle_memory_manager_t *m, void *p);

/* Resize *p to n bytes.  In place when the block's size class still fits
 * (the bytes past n are wiped when it shrinks); otherwise a new secure
 * block of the same pool and sensitivity gets the content and the old one
 * is wiped and freed.  Bytes past the old length read zero.  *p NULL:
 * allocates.  Errors leave *p and its content as they were:
 * LLE_ERROR_INVALID_ARGUMENT for n == 0 (free with lle_secure_free),
 * LLE_ERROR_INVALID_STATE for a sealed block, LLE_ERROR_INVALID_POINTER,
 * or the allocation's error. */
lle_result_t lle_secure_realloc(lle_memory_manager_t *m, void **p, size_t n);

/* The bytes asked for at the last allocation or realloc of a live secure
 * block; 0 for anything else. */
size_t lle_secure_length(lle_memory_manager_t *m, const void *p);

/* Whether p is (inside) a live secure block of m. */
bool lle_secure_owns(lle_memory_manager_t *m, const void *p);

/* Overwrite n bytes at p with zeros, in a way the compiler cannot remove
 * (libsodium's sodium_memzero). */
void lle_secure_wipe(void *p, size_t n);

/* ---- sealing ------------------------------------------------------------- */

/* Encrypt the block's length (lle_secure_length) in place.  Errors:
 * LLE_ERROR_INVALID_POINTER for anything but the start of a live secure
 * block of m (an ordinary block, another manager's), LLE_ERROR_INVALID_STATE
 * when already sealed, LLE_ERROR_LOCK_LIMIT when the keys cannot be placed
 * in secure memory under LLE_SECURE_LOCK_REQUIRED.  Nothing changes on
 * error. */
lle_result_t lle_seal(lle_memory_manager_t *m, void *p);
/* Decrypt in place.  LLE_ERROR_NOT_SEALED for a block that is not sealed;
 * LLE_ERROR_CORRUPTION when authentication fails (the block, its nonce or
 * tag was changed): no byte of plaintext is written, the block is wiped
 * and stays sealed (every later unseal fails too); LLE_ERROR_KEY_ROTATED when its key was
 * rotated away (a block that could not be re-sealed at a rotation; its
 * content is wiped). */
lle_result_t lle_unseal(lle_memory_manager_t *m, void *p);
bool lle_is_sealed(lle_memory_manager_t *m, const void *p);

/* Draw a new master key, derive new pool keys, re-seal every sealed block
 * with them and wipe the old keys (a rotation lle_memory_idle has under
 * way is finished first).  *resealed (if not NULL): the blocks
 * re-sealed.  A sealed block that fails authentication cannot be re-sealed:
 * it is counted, reported (LLE_ERROR_CORRUPTION), wiped, and unseals with
 * LLE_ERROR_KEY_ROTATED from then on; the call then returns
 * LLE_ERROR_CORRUPTION after finishing the others. */
lle_result_t lle_seal_rotate_keys(lle_memory_manager_t *m, size_t *resealed);

/* Whether the sealing policy wants content of this sensitivity sealed
 * when it goes cold (spec 10.2's decision). */
bool lle_secure_policy_seals(lle_memory_manager_t *m, lle_sensitivity_t sensitivity);
/* Mark a secure block as used now (allocation and unseal do it too). */
lle_result_t lle_secure_touch(lle_memory_manager_t *m, const void *p);
/* Seal every unsealed secure block that the policy wants sealed and that
 * was not used (allocated, unsealed, touched) for idle_ns nanoseconds.
 * Blocks the library keeps for itself (history entries, lle_secbuf
 * content) are left to their owner.  *sealed (if not NULL): how many
 * were sealed. */
lle_result_t lle_secure_seal_cold(lle_memory_manager_t *m, uint64_t idle_ns, size_t *sealed);

/* Let lle_memory_idle seal this block (on) when the policy covers it and
 * it has not been used for lle_secure_config_t.cold_seal_ms, or not (off,
 * every block's default).  A block marked so may turn sealed at any idle
 * call, from any thread (the background thread of lle/gc.h): its owner
 * opens it with lle_secure_open before each use, which also marks it used,
 * and finishes that use within cold_seal_ms (or touches it again).
 * LLE_ERROR_INVALID_POINTER for anything but the start of a live secure
 * block of m that is the caller's. */
lle_result_t lle_secure_auto_seal(lle_memory_manager_t *m, void *p, bool on);
/* Make the block usable now: unseal it if it is sealed, and mark it used
 * (one step under the pool's lock, so cold sealing cannot come between).
 * LLE_SUCCESS when it is open; otherwise lle_unseal's errors. */
lle_result_t lle_secure_open(lle_memory_manager_t *m, void *p);

/* ---- statistics ---------------------------------------------------------- */

typedef struct lle_secure_stats {
    /* Mappings. */
    size_t   slabs;            /* shared slabs (size classes) */
    size_t   large_regions;    /* one-block mappings */
    size_t   mapped_bytes;     /* address space, guard pages included */
    size_t   data_bytes;       /* accessible pages */
    size_t   locked_bytes;     /* of data_bytes, locked in RAM */
    size_t   unlocked_bytes;   /* of data_bytes, not locked (lock limit) */
    size_t   guard_pages;      /* inaccessible pages around data */
    size_t   nodump_bytes;     /* of data_bytes, excluded from core dumps */
    size_t   nofork_bytes;     /* of data_bytes, wiped or absent in children */
    /* Blocks (the keys' own block not counted). */
    size_t   live_blocks;
    size_t   live_bytes;       /* bytes asked for */
    size_t   in_use_bytes;     /* bytes of the live blocks (their size class, or pages) */
    size_t   peak_mapped_bytes;   /* the largest mapped_bytes seen */
    uint64_t allocs, frees, reallocs, failed_allocs;
    uint64_t requested_bytes, granted_bytes;   /* summed over every allocation */
    uint64_t wiped_bytes;      /* bytes wiped by free, realloc and shrinking */
    uint64_t lock_failures;    /* slabs the lock limit refused */
    /* Sealing. */
    size_t   sealed_blocks, sealed_bytes;
    uint64_t seals, unseals;
    uint64_t seal_failures, unseal_failures;   /* any error of lle_seal / lle_unseal */
    uint64_t tamper_detected;                  /* authentication failures */
    uint64_t key_rotations, resealed_blocks, key_generation;
    uint64_t seal_ns_total, unseal_ns_total;   /* measured, CLOCK_MONOTONIC */
    uint64_t seal_ns_avg, unseal_ns_avg;       /* total / count (0 when none) */
    uint64_t last_rotation_ns;                 /* work time of the last rotation */
    /* Upkeep by lle_memory_idle (secure.cold_seal, secure.rotate). */
    size_t   auto_seal_blocks;     /* live blocks marked with lle_secure_auto_seal */
    uint64_t idle_sealed;          /* blocks and history entries it sealed */
    uint64_t idle_rotations;       /* rotations it started */
    uint64_t idle_resealed;        /* blocks it re-sealed under new keys */
    bool     rotation_pending;     /* a rotation is under way (old keys kept) */
} lle_secure_stats_t;

lle_result_t lle_secure_get_stats(lle_memory_manager_t *m, lle_secure_stats_t *out);

/* ---- a growable buffer for typed secrets --------------------------------------- */

/* A password as it is typed: its bytes live in one secure block, which
 * grows by lle_secure_realloc (so no copy is left behind).  Not
 * thread-safe by itself (one prompt, one thread). */
typedef struct lle_secbuf lle_secbuf_t;

lle_result_t lle_secbuf_create(lle_memory_manager_t *m, size_t initial, lle_secbuf_t **out);
/* Wipes and frees the content and the buffer. */
lle_result_t lle_secbuf_destroy(lle_secbuf_t *b);
/* Append n bytes (UTF-8 expected, not required). */
lle_result_t lle_secbuf_append(lle_secbuf_t *b, const char *s, size_t n);
/* Remove the last extended grapheme cluster (utf8proc's rules: a base
 * character with its combining marks, an emoji sequence, CR LF); a byte
 * that is not valid UTF-8 counts as one.  The removed bytes are wiped.
 * *removed (if not NULL): bytes removed.  Empty: LLE_SUCCESS, 0 removed. */
lle_result_t lle_secbuf_delete_grapheme(lle_secbuf_t *b, size_t *removed);
/* Wipe the content; the capacity stays. */
void lle_secbuf_clear(lle_secbuf_t *b);
/* The content, NUL-terminated, valid until the next change; its length in
 * *len.  Lives in secure memory: do not copy it elsewhere. */
const char *lle_secbuf_data(const lle_secbuf_t *b, size_t *len);
size_t lle_secbuf_length(const lle_secbuf_t *b);
/* Copy the content to out[0, cap) (NUL-terminated); the length needed in
 * *len.  LLE_ERROR_BUFFER_TOO_SMALL when it does not fit (nothing copied). */
lle_result_t lle_secbuf_read(const lle_secbuf_t *b, char *out, size_t cap, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
