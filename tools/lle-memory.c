/*
 * lle-memory - the command of lle-memory.
 *
 *   lle-memory selftest [--quick] [--iterations N] [--threads N] [--seed N]
 *                       [--only RUN[,RUN...]] [--json]
 *   lle-memory stats
 *   lle-memory options
 *   lle-memory --help
 *
 * Exit status: 0 success (selftest: every run passed), 1 failure (a run
 * failed, a manager could not be created), 2 usage error or a bad
 * LLE_MEMORY_OPTIONS for `options`/`stats`.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lle/memory.h"

#define QUICK_ITERATIONS 20000

static const char *prog = "lle-memory";

static void usage(FILE *f)
{
    fprintf(f,
            "usage: %s COMMAND [OPTIONS]\n"
            "\n"
            "commands:\n"
            "  selftest   run the self-test on the real library and print the spec 14 targets\n"
            "             --quick          fewer operations (%d per run)\n"
            "             --iterations N   operations per stress/performance/concurrency run\n"
            "             --threads N      threads of the concurrency run (2..256, default 4)\n"
            "             --seed N         random seed (runs are reproducible)\n"
            "             --only LIST      comma-separated runs: basic, stress, leak,\n"
            "                              performance, concurrency\n"
            "             --json           print the result as one JSON object\n"
            "             exit status 0 only when every run passed\n"
            "  stats      create a manager, run a small workload, print its statistics as JSON\n"
            "  options    check $LLE_MEMORY_OPTIONS and print the effective configuration\n"
            "             (exit status 2 and the error when an option is bad)\n"
            "  --help     this text\n",
            prog, QUICK_ITERATIONS);
}

/* A decimal (or 0x hexadecimal) unsigned number, the whole string. */
static bool parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+') return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end) return false;
    *out = (uint64_t)v;
    return true;
}

/* The message of a bad LLE_MEMORY_OPTIONS, or "" when it is valid or unset. */
static bool env_options_ok(char *err, size_t len)
{
    lle_memory_config_t c;
    lle_memory_config_default(&c);
    err[0] = 0;
    return lle_memory_config_apply_options(&c, getenv("LLE_MEMORY_OPTIONS"), err, len) ==
           LLE_SUCCESS;
}

/* ---- selftest ----------------------------------------------------------- */

static void json_string(const char *s)
{
    putchar('"');
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') printf("\\%c", ch);
        else if (ch < 0x20) printf("\\u%04x", ch);
        else putchar(ch);
    }
    putchar('"');
}

static void json_number(double v)
{
    if (v != v || v > 1e300 || v < -1e300) printf("null");
    else printf("%.10g", v);
}

static void print_json(const lle_selftest_config_t *cfg, const lle_selftest_result_t *r)
{
    printf("{\"seed\":%" PRIu64 ",\"iterations\":%zu,\"threads\":%zu,\"runs\":[", cfg->seed,
           cfg->iterations, cfg->threads);
    bool first = true;
    for (int i = 0; i < LLE_SELFTEST_RUN_COUNT; i++) {
        const lle_selftest_run_result_t *rr = &r->runs[i];
        if (!rr->ran) continue;
        printf("%s{\"name\":", first ? "" : ",");
        first = false;
        json_string(lle_selftest_run_name((lle_selftest_run_t)i));
        printf(",\"passed\":%s,\"result\":", rr->passed ? "true" : "false");
        json_string(lle_result_string(rr->result));
        printf(",\"operations\":%" PRIu64 ",\"failures\":%" PRIu64 ",\"seconds\":", rr->operations,
               rr->failures);
        json_number(rr->seconds);
        printf(",\"detail\":");
        json_string(rr->detail);
        putchar('}');
    }
    printf("],\"targets\":[");
    for (size_t i = 0; i < r->target_count; i++) {
        const lle_selftest_target_t *t = &r->targets[i];
        printf("%s{\"name\":", i ? "," : "");
        json_string(t->name);
        printf(",\"unit\":");
        json_string(t->unit);
        printf(",\"relation\":");
        json_string(t->relation);
        printf(",\"target\":");
        json_number(t->target);
        printf(",\"status\":");
        json_string(!t->built ? "not built yet" : !t->measured_valid ? "not measured"
                                                  : t->met           ? "met"
                                                                     : "not met");
        printf(",\"measured\":");
        if (t->measured_valid) json_number(t->measured);
        else printf("null");
        printf(",\"note\":");
        json_string(t->note);
        putchar('}');
    }
    printf("],\"statistics\":{\"total_allocations\":%" PRIu64 ",\"successful_allocations\":%" PRIu64
           ",\"failed_allocations\":%" PRIu64 ",\"leaks_detected\":%" PRIu64
           ",\"leaks_injected\":%" PRIu64 ",\"corruption_events\":%" PRIu64
           ",\"double_frees_attempted\":%" PRIu64 ",\"double_frees_detected\":%" PRIu64
           ",\"timed_allocations\":%" PRIu64,
           r->total_allocations, r->successful_allocations, r->failed_allocations,
           r->leaks_detected, r->leaks_injected, r->corruption_events, r->double_frees_attempted,
           r->double_frees_detected, r->timed_allocations);
    if (r->timed_allocations) {
        printf(",\"fastest_alloc_ns\":");
        json_number(r->fastest_alloc_ns);
        printf(",\"slowest_alloc_ns\":");
        json_number(r->slowest_alloc_ns);
        printf(",\"mean_alloc_ns\":");
        json_number(r->mean_alloc_ns);
        printf(",\"p99_alloc_ns\":");
        json_number(r->p99_alloc_ns);
        printf(",\"timer_overhead_ns\":");
        json_number(r->timer_overhead_ns);
        printf(",\"allocations_per_second\":");
        json_number(r->allocations_per_second);
    }
    printf(",\"peak_host_bytes\":%zu},\"passed\":%zu,\"failed\":%zu,\"all_passed\":%s}\n",
           r->peak_host_bytes, r->passed_count, r->failed_count, r->all_passed ? "true" : "false");
}

static void format_measured(char *buf, size_t len, const lle_selftest_target_t *t)
{
    if (!t->built) snprintf(buf, len, "-");
    else if (!t->measured_valid) snprintf(buf, len, "-");
    else if (t->measured >= 100 || t->measured == 0) snprintf(buf, len, "%.0f %s", t->measured, t->unit);
    else snprintf(buf, len, "%.2f %s", t->measured, t->unit);
}

static void print_report(const lle_selftest_config_t *cfg, const lle_selftest_result_t *r)
{
    printf("lle-memory selftest: seed %" PRIu64 ", %zu iterations, %zu threads\n\n", cfg->seed,
           cfg->iterations, cfg->threads);
    printf("%-12s %-6s %12s %9s  %s\n", "run", "result", "operations", "seconds", "detail");
    for (int i = 0; i < LLE_SELFTEST_RUN_COUNT; i++) {
        const lle_selftest_run_result_t *rr = &r->runs[i];
        if (!rr->ran) {
            printf("%-12s %-6s %12s %9s  %s\n", lle_selftest_run_name((lle_selftest_run_t)i), "skip",
                   "-", "-", "not enabled");
            continue;
        }
        printf("%-12s %-6s %12" PRIu64 " %9.3f  ", lle_selftest_run_name((lle_selftest_run_t)i),
               rr->passed ? "PASS" : "FAIL", rr->operations, rr->seconds);
        if (rr->passed) printf("%s\n", rr->detail);
        else
            printf("%" PRIu64 " failed check%s; first: %s\n", rr->failures,
                   rr->failures == 1 ? "" : "s", rr->detail);
    }

    printf("\n%-31s %-14s %-14s %s\n", "target (spec 14)", "bound", "measured", "result");
    for (size_t i = 0; i < r->target_count; i++) {
        const lle_selftest_target_t *t = &r->targets[i];
        char bound[40], meas[40];
        snprintf(bound, sizeof bound, "%s %g %s", t->relation, t->target, t->unit);
        format_measured(meas, sizeof meas, t);
        const char *res = !t->built ? "not built yet"
                          : !t->measured_valid ? "not measured (run disabled or failed)"
                          : t->met ? "met"
                                   : "not met";
        printf("%-31s %-14s %-14s %s\n", t->name, bound, meas, res);
    }
    printf("\nnotes:\n");
    for (size_t i = 0; i < r->target_count; i++)
        if (r->targets[i].built) printf("  %-29s %s\n", r->targets[i].name, r->targets[i].note);

    printf("\nstatistics (spec 12.1):\n");
    printf("  allocations         %" PRIu64 " requested, %" PRIu64 " succeeded, %" PRIu64
           " failed\n",
           r->total_allocations, r->successful_allocations, r->failed_allocations);
    printf("  leaks detected      %" PRIu64 " (of %" PRIu64 " left live on purpose)\n",
           r->leaks_detected, r->leaks_injected);
    printf("  double frees        %" PRIu64 " detected of %" PRIu64 " injected\n",
           r->double_frees_detected, r->double_frees_attempted);
    printf("  corruption events   %" PRIu64 "\n", r->corruption_events);
    if (r->timed_allocations) {
        printf("  allocation time     fastest %.0f ns, mean %.1f ns, p99 %.0f ns, slowest %.0f ns\n"
               "                      (%" PRIu64 " timed allocations; timer overhead %.0f ns "
               "subtracted, floor 0)\n",
               r->fastest_alloc_ns, r->mean_alloc_ns, r->p99_alloc_ns, r->slowest_alloc_ns,
               r->timed_allocations, r->timer_overhead_ns);
        printf("  allocation rate     %.0f allocations/s (untimed churn, free + alloc per op)\n",
               r->allocations_per_second);
    } else {
        printf("  allocation time     not measured\n");
    }
    printf("  peak host memory    %zu bytes\n", r->peak_host_bytes);
    printf("\nselftest: %s (%zu passed, %zu failed)\n", r->all_passed ? "PASSED" : "FAILED",
           r->passed_count, r->failed_count);
}

static int parse_only(const char *list, lle_selftest_config_t *cfg)
{
    for (int i = 0; i < LLE_SELFTEST_RUN_COUNT; i++) cfg->enable[i] = false;
    const char *s = list;
    while (*s) {
        size_t len = strcspn(s, ",");
        int found = -1;
        for (int i = 0; i < LLE_SELFTEST_RUN_COUNT; i++) {
            const char *n = lle_selftest_run_name((lle_selftest_run_t)i);
            if (strlen(n) == len && strncmp(n, s, len) == 0) found = i;
        }
        if (found < 0) {
            fprintf(stderr, "%s: --only: unknown run '%.*s'\n", prog, (int)len, s);
            return -1;
        }
        cfg->enable[found] = true;
        s += len;
        if (*s == ',') s++;
    }
    return 0;
}

static int cmd_selftest(int argc, char **argv)
{
    lle_selftest_config_t cfg;
    lle_selftest_config_default(&cfg);
    bool json = false, quick = false, iter_set = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        uint64_t v;
        if (strcmp(a, "--quick") == 0) {
            quick = true;
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (strcmp(a, "--iterations") == 0 || strcmp(a, "--threads") == 0 ||
                   strcmp(a, "--seed") == 0 || strcmp(a, "--only") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "%s: %s needs a value\n", prog, a);
                return 2;
            }
            const char *val = argv[++i];
            if (strcmp(a, "--only") == 0) {
                if (parse_only(val, &cfg) != 0) return 2;
                continue;
            }
            if (!parse_u64(val, &v)) {
                fprintf(stderr, "%s: %s: '%s' is not a number\n", prog, a, val);
                return 2;
            }
            if (strcmp(a, "--iterations") == 0) {
                if (v == 0 || v > (uint64_t)1 << 32) {
                    fprintf(stderr, "%s: --iterations must be from 1 to 4294967296\n", prog);
                    return 2;
                }
                cfg.iterations = (size_t)v;
                iter_set = true;
            } else if (strcmp(a, "--threads") == 0) {
                if (v < 2 || v > 256) {
                    fprintf(stderr, "%s: --threads must be from 2 to 256\n", prog);
                    return 2;
                }
                cfg.threads = (size_t)v;
            } else {
                cfg.seed = v;
            }
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "%s selftest: unknown option '%s'\n", prog, a);
            usage(stderr);
            return 2;
        }
    }
    if (quick && !iter_set) cfg.iterations = QUICK_ITERATIONS;

    /* The runs will fail on a bad LLE_MEMORY_OPTIONS; say why in full. */
    char err[256];
    if (!env_options_ok(err, sizeof err))
        fprintf(stderr, "%s: LLE_MEMORY_OPTIONS: %s\n", prog, err);

    lle_selftest_result_t res;
    lle_result_t rc = lle_memory_run_self_tests(&cfg, &res);
    if (rc != LLE_SUCCESS && rc != LLE_ERROR_SELFTEST_FAILED) {
        fprintf(stderr, "%s: selftest: %s\n", prog, lle_result_string(rc));
        return 2;
    }
    if (json) print_json(&cfg, &res);
    else print_report(&cfg, &res);
    return rc == LLE_SUCCESS && res.all_passed ? 0 : 1;
}

/* ---- stats -------------------------------------------------------------- */

typedef struct capture {
    char msg[256];
} capture_t;

static void on_error(void *user, const lle_memory_error_t *e)
{
    capture_t *c = user;
    if (!c->msg[0] && e->message) snprintf(c->msg, sizeof c->msg, "%s", e->message);
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static int cmd_stats(int argc, char **argv)
{
    (void)argv;
    if (argc > 0) {
        fprintf(stderr, "%s stats: takes no options\n", prog);
        return 2;
    }
    capture_t cap = {{0}};
    lle_memory_config_t cfg;
    lle_memory_config_default(&cfg);
    cfg.error_fn = on_error;
    cfg.error_user = &cap;
    lle_memory_manager_t *m = NULL;
    lle_result_t rc = lle_memory_manager_create(&cfg, &m);
    if (rc != LLE_SUCCESS) {
        fprintf(stderr, "%s: cannot create a manager: %s%s%s\n", prog, lle_result_string(rc),
                cap.msg[0] ? ": " : "", cap.msg);
        return rc == LLE_ERROR_INVALID_OPTION ? 2 : 1;
    }
    /* A small workload: 4000 blocks of the line-editor mix over the typed
     * pools, a third of them freed, so the statistics show live blocks. */
    enum { N = 4000 };
    static void *blk[N];
    uint64_t rng = UINT64_C(0x2545F4914F6CDD1D);
    int status = 0;
    for (size_t i = 0; i < N; i++) {
        uint64_t r = rng_next(&rng);
        unsigned pct = (unsigned)(r % 100);
        size_t n = pct < 60 ? 16 + (r >> 8) % 49
                   : pct < 90 ? 65 + (r >> 8) % 448
                   : pct < 99 ? 513 + (r >> 8) % 3584
                              : 4097 + (r >> 8) % 61440;
        blk[i] = lle_pool_alloc(m, (lle_memory_pool_type_t)(i % LLE_POOL_COUNT), n);
        if (!blk[i]) {
            fprintf(stderr, "%s: allocation of %zu bytes failed: %s\n", prog, n, cap.msg);
            status = 1;
            break;
        }
        memset(blk[i], (int)(i & 0xff), n);
    }
    for (size_t i = 0; i < N; i += 3)
        if (blk[i] && lle_pool_free(m, blk[i]) == LLE_SUCCESS) blk[i] = NULL;
    size_t need = 0;
    lle_memory_stats_json(m, NULL, 0, &need);
    char *buf = malloc(need + 1);
    if (!buf || lle_memory_stats_json(m, buf, need + 1, NULL) != LLE_SUCCESS) {
        fprintf(stderr, "%s: cannot format the statistics\n", prog);
        status = 1;
    } else {
        printf("%s\n", buf);
    }
    free(buf);
    for (size_t i = 0; i < N; i++)
        if (blk[i]) lle_pool_free(m, blk[i]);
    rc = lle_memory_manager_destroy(m);
    if (rc != LLE_SUCCESS) {
        fprintf(stderr, "%s: destroy: %s\n", prog, lle_result_string(rc));
        status = 1;
    }
    return status;
}

/* ---- options ------------------------------------------------------------ */

/* A size in the option syntax (k/m/g when exact). */
static void fmt_size(char *buf, size_t len, size_t v)
{
    static const char suffix[] = "gmk";
    for (int i = 0; i < 3; i++) {
        size_t unit = (size_t)1 << (10 * (3 - i));
        if (v && v % unit == 0) {
            snprintf(buf, len, "%zu%c", v / unit, suffix[i]);
            return;
        }
    }
    snprintf(buf, len, "%zu", v);
}

/* A real that reads back as the same double. */
static void fmt_real(char *buf, size_t len, double v)
{
    snprintf(buf, len, "%g", v);
    if (strtod(buf, NULL) != v) snprintf(buf, len, "%.17g", v);
}

/* A duration in the option syntax: the largest unit that divides it. */
static void fmt_duration(char *buf, size_t len, uint64_t ms)
{
    static const struct { const char *unit; uint64_t ms; } units[] = {
        {"d", 86400000}, {"h", 3600000}, {"min", 60000}, {"s", 1000}, {"ms", 1}};
    if (ms == 0) {
        snprintf(buf, len, "off");
        return;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (ms % units[i].ms == 0) {
            snprintf(buf, len, "%llu%s", (unsigned long long)(ms / units[i].ms), units[i].unit);
            return;
        }
}

/* A pool's debugging features: the switches, then the sizes and guard
 * settings (the quarantine size after `debug`, which resets it). */
static void print_debug(const char *n, const lle_debug_config_t *d, bool typed)
{
    char a[32];
    if (!typed) {
        printf("# pool.%s: debugging applies to the typed pools only\n", n);
        return;
    }
    char feat[64] = "";
    if (d->track) strcat(feat, "+track");
    if (d->canary) strcat(feat, "+canary");
    if (d->poison) strcat(feat, "+poison");
    printf("pool.%s.debug=%s\n", n, feat[0] ? feat + 1 : "off");
    fmt_size(a, sizeof a, d->quarantine);
    printf("pool.%s.quarantine=%s\n", n, a);
    printf("pool.%s.backtrace=%u\n", n, d->backtrace);
    if (d->guard == 0) printf("pool.%s.guard=off\n", n);
    else if (d->guard == 1) printf("pool.%s.guard=all\n", n);
    else printf("pool.%s.guard=%u\n", n, d->guard);
    printf("pool.%s.guard_side=%s\n", n, d->guard_start ? "start" : "end");
    static const char *const freed[] = {"auto", "fault", "poison"};
    printf("pool.%s.guard_freed=%s\n", n,
           d->guard_freed >= 0 && d->guard_freed < 3 ? freed[d->guard_freed] : "auto");
}

static int cmd_options(int argc, char **argv)
{
    (void)argv;
    if (argc > 0) {
        fprintf(stderr, "%s options: takes no options\n", prog);
        return 2;
    }
    const char *env = getenv("LLE_MEMORY_OPTIONS");
    lle_memory_config_t c;
    lle_memory_config_default(&c);
    char err[256] = "";
    if (lle_memory_config_apply_options(&c, env, err, sizeof err) != LLE_SUCCESS) {
        fprintf(stderr, "%s: LLE_MEMORY_OPTIONS: %s\n", prog, err);
        return 2;
    }
    if (env) printf("# LLE_MEMORY_OPTIONS=%s\n", env);
    else printf("# LLE_MEMORY_OPTIONS is not set: defaults\n");
    printf("# effective configuration, in the option syntax\n");
    char a[32];
    fmt_size(a, sizeof a, c.emergency_reserve);
    printf("emergency_reserve=%s\n", a);
    printf("resize_history=%zu\n", c.resize_history);
    fmt_size(a, sizeof a, c.large_cache);
    printf("large_cache=%s\n", a);
    printf("audit=%zu\n", c.audit_entries);
    printf("error_history=%zu\n", c.error_history);
    for (int p = 0; p < LLE_POOL_TABLE_SIZE; p++) {
        const lle_pool_config_t *pc = &c.pools[p];
        const char *n = lle_pool_type_name(p);
        fmt_size(a, sizeof a, pc->initial_size);
        printf("pool.%s.initial=%s\n", n, a);
        if (pc->max_size == SIZE_MAX) {
            /* SIZE_MAX: no option value spells it. */
            printf("# pool.%s.max: unlimited (bounded by the host only)\n", n);
        } else {
            fmt_size(a, sizeof a, pc->max_size);
            printf("pool.%s.max=%s\n", n, a);
        }
        fmt_size(a, sizeof a, pc->block_size);
        printf("pool.%s.block=%s\n", n, a);
        printf("pool.%s.align=%zu\n", n, pc->alignment);
        fmt_real(a, sizeof a, pc->growth_factor);
        printf("pool.%s.growth=%s\n", n, a);
        fmt_real(a, sizeof a, pc->grow_threshold);
        printf("pool.%s.grow_threshold=%s\n", n, a);
        fmt_real(a, sizeof a, pc->shrink_threshold);
        printf("pool.%s.shrink_threshold=%s\n", n, a);
        print_debug(n, &pc->debug, p < LLE_POOL_COUNT);
    }
    const lle_secure_config_t *sc = &c.secure;
    static const char *const levels[] = {"low", "medium", "high", "critical"};
    printf("secure.lock=%s\n", sc->lock_policy == LLE_SECURE_LOCK_REQUIRED ? "required" : "report");
    printf("secure.level=%s\n", (unsigned)sc->sensitive_level < LLE_SENSITIVITY_COUNT
                                     ? levels[sc->sensitive_level]
                                     : "medium");
    printf("secure.encrypt_sensitive=%s\n", sc->encrypt_sensitive_data ? "on" : "off");
    printf("secure.encrypt_all=%s\n", sc->encrypt_all_allocations ? "on" : "off");
    fmt_size(a, sizeof a, sc->max_bytes);
    printf("secure.max=%s\n", a);
    fmt_duration(a, sizeof a, sc->cold_seal_ms);
    printf("secure.cold_seal=%s\n", a);
    fmt_duration(a, sizeof a, sc->rotate_interval_ms);
    printf("secure.rotate=%s\n", a);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "selftest") == 0) return cmd_selftest(argc - 2, argv + 2);
    if (strcmp(cmd, "stats") == 0) return cmd_stats(argc - 2, argv + 2);
    if (strcmp(cmd, "options") == 0) return cmd_options(argc - 2, argv + 2);
    fprintf(stderr, "%s: unknown command '%s'\n", prog, cmd);
    usage(stderr);
    return 2;
}
