/*
 * config.c - defaults, validation and the option-string syntax shared by
 * lle_memory_config_apply_options() and LLE_MEMORY_OPTIONS.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "secure/secure_internal.h"   /* lle__secure_config_check */

static const char *const pool_names[LLE__NPOOLS] = {
    "buffer", "event", "string", "temp", "history", "syntax", "completion", "custom", "secondary",
};

const char *lle_pool_type_name(int pool)
{
    return pool >= 0 && pool < LLE__NPOOLS ? pool_names[pool] : NULL;
}

#define KiB ((size_t)1024)
#define MiB (KiB * 1024)

void lle_memory_config_default(lle_memory_config_t *cfg)
{
    if (!cfg) return;
    memset(cfg, 0, sizeof *cfg);
    /* initial, max, block: see README "Configuration". */
    static const size_t defaults[LLE__NPOOLS][3] = {
        {256 * KiB, 256 * MiB, 256 * KiB}, /* buffer: big slabs, classes up to 32 KiB */
        {64 * KiB, 16 * MiB, 64 * KiB},    /* event */
        {64 * KiB, 64 * MiB, 64 * KiB},    /* string */
        {64 * KiB, 64 * MiB, 64 * KiB},    /* temp */
        {0, 128 * MiB, 64 * KiB},          /* history */
        {0, 32 * MiB, 64 * KiB},           /* syntax */
        {0, 64 * MiB, 64 * KiB},           /* completion */
        {0, 64 * MiB, 64 * KiB},           /* custom */
        {0, SIZE_MAX, 64 * KiB},           /* secondary: bounded by the host only */
    };
    for (int p = 0; p < LLE__NPOOLS; p++) {
        lle_pool_config_t *pc = &cfg->pools[p];
        pc->initial_size = defaults[p][0];
        pc->max_size = defaults[p][1];
        pc->block_size = defaults[p][2];
        pc->alignment = 16;
        pc->growth_factor = 2.0;
        pc->grow_threshold = 0.75;
        pc->shrink_threshold = 0.25;
    }
    cfg->emergency_reserve = 64 * KiB;
    cfg->resize_history = 64;
    cfg->large_cache = 8 * MiB;
    cfg->error_history = 64;
    cfg->audit_entries = 0;
    cfg->host = NULL;
    cfg->read_environment = true;
    lle_secure_config_default(&cfg->secure);
}

static lle_result_t fail(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static lle_result_t fail(char *errbuf, size_t errlen, const char *fmt, ...)
{
    if (errbuf && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return LLE_ERROR_INVALID_OPTION;
}

static bool is_pow2(size_t v)
{
    return v && !(v & (v - 1));
}

lle_result_t lle_memory_config_validate(const lle_memory_config_t *cfg, char *errbuf, size_t errlen)
{
    if (!cfg) return LLE_ERROR_NULL_PARAMETER;
    for (int p = 0; p < LLE__NPOOLS; p++) {
        const lle_pool_config_t *pc = &cfg->pools[p];
        const char *n = pool_names[p];
        if (!is_pow2(pc->block_size) || pc->block_size < LLE__MIN_SLAB ||
            pc->block_size > LLE__MAX_SLAB)
            return fail(errbuf, errlen,
                        "pool.%s.block=%zu: must be a power of two from 64k to 512k", n,
                        pc->block_size);
        if (!is_pow2(pc->alignment) || pc->alignment < 16 || pc->alignment > LLE__PAGE)
            return fail(errbuf, errlen,
                        "pool.%s.align=%zu: must be a power of two from 16 to 4096", n,
                        pc->alignment);
        if (!(pc->growth_factor > 1.0 && pc->growth_factor <= 4.0))
            return fail(errbuf, errlen, "pool.%s.growth=%g: must be above 1 and at most 4", n,
                        pc->growth_factor);
        if (!(pc->shrink_threshold > 0.0 && pc->shrink_threshold < pc->grow_threshold &&
              pc->grow_threshold <= 1.0))
            return fail(errbuf, errlen,
                        "pool.%s: thresholds must satisfy 0 < shrink_threshold (%g) < "
                        "grow_threshold (%g) <= 1",
                        n, pc->shrink_threshold, pc->grow_threshold);
        if (pc->debug.backtrace > 32)
            return fail(errbuf, errlen, "pool.%s.backtrace=%u: at most 32 frames", n,
                        pc->debug.backtrace);
        if (p == LLE_POOL_SECONDARY &&
            (pc->debug.track || pc->debug.canary || pc->debug.poison || pc->debug.quarantine ||
             pc->debug.guard))
            return fail(errbuf, errlen,
                        "pool.secondary.debug: debugging applies to the typed pools only");
        if (pc->initial_size > pc->max_size)
            return fail(errbuf, errlen, "pool.%s.initial=%zu: larger than pool.%s.max=%zu", n,
                        pc->initial_size, n, pc->max_size);
    }
    if (cfg->emergency_reserve > 64 * MiB)
        return fail(errbuf, errlen, "emergency_reserve=%zu: at most 64m",
                    cfg->emergency_reserve);
    if (cfg->large_cache > 64 * MiB)
        return fail(errbuf, errlen, "large_cache=%zu: at most 64m", cfg->large_cache);
    if (cfg->audit_entries > 1048576)
        return fail(errbuf, errlen, "audit=%zu: at most 1048576", cfg->audit_entries);
    if (cfg->error_history > 65536)
        return fail(errbuf, errlen, "error_history=%zu: at most 65536", cfg->error_history);
    if (cfg->resize_history > 65536)
        return fail(errbuf, errlen, "resize_history=%zu: at most 65536", cfg->resize_history);
    return lle__secure_config_check(&cfg->secure, errbuf, errlen);
}

/* The secure pool's part (also checked by lle_secure_configure). */
lle_result_t lle__secure_config_check(const lle_secure_config_t *sc, char *errbuf, size_t errlen)
{
    if ((unsigned)sc->lock_policy > LLE_SECURE_LOCK_REQUIRED)
        return fail(errbuf, errlen, "secure.lock=%d: must be report (0) or required (1)",
                    (int)sc->lock_policy);
    if ((unsigned)sc->sensitive_level >= LLE_SENSITIVITY_COUNT)
        return fail(errbuf, errlen, "secure.level=%d: must be low, medium, high or critical (0-3)",
                    (int)sc->sensitive_level);
    if (sc->cold_seal_ms > LLE_SECURE_COLD_SEAL_MAX_MS)
        return fail(errbuf, errlen, "secure.cold_seal=%llums: at most 30 days",
                    (unsigned long long)sc->cold_seal_ms);
    if (sc->rotate_interval_ms > LLE_SECURE_ROTATE_MAX_MS)
        return fail(errbuf, errlen, "secure.rotate=%llums: at most 365 days",
                    (unsigned long long)sc->rotate_interval_ms);
    return LLE_SUCCESS;
}

/* Parse a size with an optional k/m/g suffix. */
static bool parse_size(const char *s, size_t len, size_t *out)
{
    if (len == 0 || !isdigit((unsigned char)s[0])) return false;
    size_t v = 0, i = 0;
    for (; i < len && isdigit((unsigned char)s[i]); i++) {
        size_t d = (size_t)(s[i] - '0');
        if (v > (SIZE_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    size_t mul = 1;
    if (i < len) {
        switch (tolower((unsigned char)s[i])) {
        case 'k': mul = KiB; break;
        case 'm': mul = MiB; break;
        case 'g': mul = MiB * 1024; break;
        default: return false;
        }
        if (++i < len && tolower((unsigned char)s[i]) == 'b') i++;  /* "64kb" */
        if (i != len) return false;
    }
    if (v > SIZE_MAX / mul) return false;
    *out = v * mul;
    return true;
}

static bool parse_real(const char *s, size_t len, double *out)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf) return false;
    memcpy(buf, s, len);
    buf[len] = 0;
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (errno || *end || v != v) return false;
    *out = v;
    return true;
}

static bool word_is(const char *s, size_t len, const char *w)
{
    return strlen(w) == len && memcmp(s, w, len) == 0;
}

/* "off", "0", or a number with a unit (ms, s, min, h, d), in milliseconds.
 * *unitless: a bare number other than 0 (told apart for the message). */
static bool parse_duration_ms(const char *s, size_t len, uint64_t *out, bool *unitless)
{
    *unitless = false;
    if (word_is(s, len, "off")) {
        *out = 0;
        return true;
    }
    if (len == 0 || !isdigit((unsigned char)s[0])) return false;
    uint64_t v = 0;
    size_t i = 0;
    for (; i < len && isdigit((unsigned char)s[i]); i++) {
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    static const struct { const char *unit; uint64_t ms; } units[] = {
        {"ms", 1}, {"s", 1000}, {"min", 60000}, {"h", 3600000}, {"d", 86400000},
    };
    if (i == len) {
        *out = 0;
        *unitless = v != 0;
        return v == 0;
    }
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++)
        if (word_is(s + i, len - i, units[u].unit)) {
            if (v > UINT64_MAX / units[u].ms) return false;
            *out = v * units[u].ms;
            return true;
        }
    return false;
}

static bool parse_onoff(const char *s, size_t len, bool *out)
{
    if (word_is(s, len, "on") || word_is(s, len, "yes") || word_is(s, len, "true") ||
        word_is(s, len, "1"))
        *out = true;
    else if (word_is(s, len, "off") || word_is(s, len, "no") || word_is(s, len, "false") ||
             word_is(s, len, "0"))
        *out = false;
    else
        return false;
    return true;
}

/* "off", "full", or features joined by '+'. */
static bool parse_debug(const char *s, size_t len, lle_debug_config_t *d)
{
    lle_debug_config_t r = *d;
    if (!len) return false;
    if (word_is(s, len, "off")) {
        r.track = r.canary = r.poison = false;
        r.quarantine = 0;
        *d = r;
        return true;
    }
    if (word_is(s, len, "full")) {
        r.track = r.canary = r.poison = true;
        if (!r.quarantine) r.quarantine = MiB;
        *d = r;
        return true;
    }
    r.track = r.canary = r.poison = false;
    size_t q = r.quarantine;
    r.quarantine = 0;
    while (len) {
        const char *plus = memchr(s, '+', len);
        size_t w = plus ? (size_t)(plus - s) : len;
        if (word_is(s, w, "track")) r.track = true;
        else if (word_is(s, w, "canary")) r.canary = true;
        else if (word_is(s, w, "poison")) r.poison = true;
        else if (word_is(s, w, "quarantine")) r.quarantine = q ? q : MiB;
        else return false;
        if (!plus) break;
        s += w + 1;
        len -= w + 1;
        if (!len) return false;
    }
    *d = r;
    return true;
}

/* Apply one "key=value" entry to cfg. */
static lle_result_t apply_one(lle_memory_config_t *cfg, const char *e, size_t len, char *errbuf,
                              size_t errlen)
{
    const char *eq = memchr(e, '=', len);
    if (!eq)
        return fail(errbuf, errlen, "option '%.*s': expected key=value", (int)len, e);
    const char *key = e, *val = eq + 1;
    size_t klen = (size_t)(eq - e), vlen = len - klen - 1;
    while (klen && isspace((unsigned char)key[klen - 1])) klen--;
    while (vlen && isspace((unsigned char)*val)) val++, vlen--;
    size_t sz;
    double real;

    if (word_is(key, klen, "emergency_reserve")) {
        if (!parse_size(val, vlen, &sz)) goto bad_value;
        cfg->emergency_reserve = sz;
        return LLE_SUCCESS;
    }
    if (word_is(key, klen, "large_cache")) {
        if (!parse_size(val, vlen, &sz)) goto bad_value;
        cfg->large_cache = sz;
        return LLE_SUCCESS;
    }
    if (word_is(key, klen, "audit")) {
        if (!parse_size(val, vlen, &sz)) goto bad_value;
        cfg->audit_entries = sz;
        return LLE_SUCCESS;
    }
    if (word_is(key, klen, "error_history")) {
        if (!parse_size(val, vlen, &sz)) goto bad_value;
        cfg->error_history = sz;
        return LLE_SUCCESS;
    }
    if (word_is(key, klen, "resize_history")) {
        if (!parse_size(val, vlen, &sz)) goto bad_value;
        cfg->resize_history = sz;
        return LLE_SUCCESS;
    }
    if (klen > 7 && memcmp(key, "secure.", 7) == 0) {
        lle_secure_config_t *sc = &cfg->secure;
        const char *f = key + 7;
        size_t fl = klen - 7;
        bool on, unitless;
        uint64_t ms;
        if (word_is(f, fl, "lock")) {
            if (word_is(val, vlen, "report")) sc->lock_policy = LLE_SECURE_LOCK_REPORT;
            else if (word_is(val, vlen, "required")) sc->lock_policy = LLE_SECURE_LOCK_REQUIRED;
            else goto bad_value;
            return LLE_SUCCESS;
        }
        if (word_is(f, fl, "level")) {
            static const char *const levels[] = {"low", "medium", "high", "critical"};
            for (int i = 0; i < LLE_SENSITIVITY_COUNT; i++)
                if (word_is(val, vlen, levels[i])) {
                    sc->sensitive_level = (lle_sensitivity_t)i;
                    return LLE_SUCCESS;
                }
            goto bad_value;
        }
        if (word_is(f, fl, "encrypt_sensitive") || word_is(f, fl, "encrypt_all")) {
            if (!parse_onoff(val, vlen, &on)) goto bad_value;
            if (word_is(f, fl, "encrypt_all")) sc->encrypt_all_allocations = on;
            else sc->encrypt_sensitive_data = on;
            return LLE_SUCCESS;
        }
        if (word_is(f, fl, "max")) {
            if (!parse_size(val, vlen, &sz)) goto bad_value;
            sc->max_bytes = sz;
            return LLE_SUCCESS;
        }
        if (word_is(f, fl, "cold_seal") || word_is(f, fl, "rotate")) {
            if (!parse_duration_ms(val, vlen, &ms, &unitless)) {
                if (unitless)
                    return fail(errbuf, errlen,
                                "option '%.*s': a duration needs a unit (ms, s, min, h, d)",
                                (int)len, e);
                goto bad_value;
            }
            if (word_is(f, fl, "cold_seal")) sc->cold_seal_ms = ms;
            else sc->rotate_interval_ms = ms;
            return LLE_SUCCESS;
        }
        goto unknown;
    }
    if (klen > 5 && memcmp(key, "pool.", 5) == 0) {
        const char *name = key + 5;
        const char *dot = memchr(name, '.', klen - 5);
        if (!dot) goto unknown;
        size_t nlen = (size_t)(dot - name);
        int p = -1;
        for (int i = 0; i < LLE__NPOOLS; i++)
            if (word_is(name, nlen, pool_names[i])) p = i;
        const char *field = dot + 1;
        size_t flen = klen - 5 - nlen - 1;
        if (p < 0 && word_is(name, nlen, "all")) {
            /* Every typed pool (debug fields) or every pool (the others). */
            bool dbg = word_is(field, flen, "debug") || word_is(field, flen, "quarantine") ||
                       word_is(field, flen, "backtrace") || word_is(field, flen, "guard") ||
                       word_is(field, flen, "guard_side") || word_is(field, flen, "guard_freed");
            int count = dbg ? LLE_POOL_COUNT : LLE__NPOOLS;
            for (int i = 0; i < count; i++) {
                char one[160];
                int k = snprintf(one, sizeof one, "pool.%s.%.*s=%.*s", pool_names[i], (int)flen,
                                 field, (int)vlen, val);
                if (k < 0 || (size_t)k >= sizeof one) goto bad_value;
                lle_result_t r = apply_one(cfg, one, (size_t)k, errbuf, errlen);
                if (r != LLE_SUCCESS) return r;
            }
            return LLE_SUCCESS;
        }
        if (p < 0)
            return fail(errbuf, errlen, "option '%.*s': unknown pool '%.*s'", (int)len, e,
                        (int)nlen, name);
        lle_pool_config_t *pc = &cfg->pools[p];
        if (word_is(field, flen, "debug")) {
            if (!parse_debug(val, vlen, &pc->debug)) goto bad_value;
            return LLE_SUCCESS;
        }
        if (word_is(field, flen, "quarantine")) {
            if (!parse_size(val, vlen, &sz)) goto bad_value;
            pc->debug.quarantine = sz;
            return LLE_SUCCESS;
        }
        if (word_is(field, flen, "backtrace")) {
            if (!parse_size(val, vlen, &sz) || sz > 32) goto bad_value;
            pc->debug.backtrace = (unsigned)sz;
            return LLE_SUCCESS;
        }
        if (word_is(field, flen, "guard")) {
            /* off, all, or N: one allocation in N. */
            if (word_is(val, vlen, "off")) sz = 0;
            else if (word_is(val, vlen, "all")) sz = 1;
            else if (!parse_size(val, vlen, &sz) || sz > UINT32_MAX) goto bad_value;
            pc->debug.guard = (unsigned)sz;
            return LLE_SUCCESS;
        }
        if (word_is(field, flen, "guard_freed")) {
            if (word_is(val, vlen, "auto")) pc->debug.guard_freed = LLE_GUARD_FREED_AUTO;
            else if (word_is(val, vlen, "fault")) pc->debug.guard_freed = LLE_GUARD_FREED_FAULT;
            else if (word_is(val, vlen, "poison")) pc->debug.guard_freed = LLE_GUARD_FREED_POISON;
            else goto bad_value;
            return LLE_SUCCESS;
        }
        if (word_is(field, flen, "guard_side")) {
            if (word_is(val, vlen, "end")) pc->debug.guard_start = false;
            else if (word_is(val, vlen, "start")) pc->debug.guard_start = true;
            else goto bad_value;
            return LLE_SUCCESS;
        }
        size_t *szf = NULL;
        double *rf = NULL;
        if (word_is(field, flen, "initial")) szf = &pc->initial_size;
        else if (word_is(field, flen, "max")) szf = &pc->max_size;
        else if (word_is(field, flen, "block")) szf = &pc->block_size;
        else if (word_is(field, flen, "align")) szf = &pc->alignment;
        else if (word_is(field, flen, "growth")) rf = &pc->growth_factor;
        else if (word_is(field, flen, "grow_threshold")) rf = &pc->grow_threshold;
        else if (word_is(field, flen, "shrink_threshold")) rf = &pc->shrink_threshold;
        else goto unknown;
        if (szf) {
            if (!parse_size(val, vlen, &sz)) goto bad_value;
            *szf = sz;
        } else {
            if (!parse_real(val, vlen, &real)) goto bad_value;
            *rf = real;
        }
        return LLE_SUCCESS;
    }
unknown:
    return fail(errbuf, errlen, "option '%.*s': unknown option '%.*s'", (int)len, e, (int)klen,
                key);
bad_value:
    return fail(errbuf, errlen, "option '%.*s': bad value '%.*s'", (int)len, e, (int)vlen, val);
}

lle_result_t lle_memory_config_apply_options(lle_memory_config_t *cfg, const char *options,
                                             char *errbuf, size_t errlen)
{
    if (!cfg) return LLE_ERROR_NULL_PARAMETER;
    if (errbuf && errlen) errbuf[0] = 0;
    if (!options) return LLE_SUCCESS;
    lle_memory_config_t tmp = *cfg;
    const char *s = options;
    while (*s) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        const char *e = s;
        while (len && isspace((unsigned char)*e)) e++, len--;
        while (len && isspace((unsigned char)e[len - 1])) len--;
        if (len) {
            lle_result_t r = apply_one(&tmp, e, len, errbuf, errlen);
            if (r != LLE_SUCCESS) return r;
        } else if (end) {
            return fail(errbuf, errlen, "empty option in '%s'", options);
        }
        if (!end) break;
        s = end + 1;
    }
    lle_result_t r = lle_memory_config_validate(&tmp, errbuf, errlen);
    if (r != LLE_SUCCESS) return r;
    *cfg = tmp;
    return LLE_SUCCESS;
}
