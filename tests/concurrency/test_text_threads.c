/*
 * test_text_threads.c - texts of one manager edited by several threads at
 * once, one text each (run under ThreadSanitizer in CI).  A text belongs
 * to one thread at a time, but every text shares the table of codepoint
 * properties (src/text/index.c), filled a block at a time on first use:
 * here every thread asks for the same blocks, never asked before, at the
 * same moment.
 *
 * Worker threads never call cmocka assertions; they record what they saw
 * and the main thread checks it after pthread_join().
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lle/memory.h>

#define NTHREADS 4

typedef struct work {
    lle_memory_manager_t *m;
    pthread_barrier_t    *go;
    const char           *text;
    size_t                len;
    lle_result_t          r;
    size_t                graphemes, rows;
} work_t;

static void *typist(void *arg)
{
    work_t *w = arg;
    lle_text_t *t = NULL;
    w->r = lle_text_create(w->m, NULL, &t);
    pthread_barrier_wait(w->go);
    if (w->r != LLE_SUCCESS) return NULL;
    /* a codepoint at a time, so that each new block is asked for by an
     * edit's own walk, and a row count that reads every width */
    for (size_t i = 0; i < w->len && w->r == LLE_SUCCESS;) {
        size_t k = 1;
        while (i + k < w->len && ((unsigned char)w->text[i + k] & 0xC0) == 0x80) k++;
        w->r = lle_text_insert(t, i, w->text + i, k);
        i += k;
    }
    if (w->r == LLE_SUCCESS) w->r = lle_text_set_wrap_width(t, 80);
    if (w->r == LLE_SUCCESS) w->r = lle_text_line_rows(t, 0, &w->rows);
    if (w->r == LLE_SUCCESS) w->r = lle_text_check(t);
    lle_text_counts_t c;
    if (w->r == LLE_SUCCESS) w->r = lle_text_counts(t, &c);
    if (w->r == LLE_SUCCESS) w->graphemes = c.graphemes;
    lle_text_destroy(t);
    return NULL;
}

static size_t put_cp(char *b, uint32_t c)
{
    if (c < 0x80) {
        b[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        b[0] = (char)(0xC0 | (c >> 6));
        b[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        b[0] = (char)(0xE0 | (c >> 12));
        b[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        b[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    b[0] = (char)(0xF0 | (c >> 18));
    b[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    b[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    b[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* One letter of each block of CJK ideographs (U+4E00..U+9FFF) and of
 * Hangul syllables, each followed by a space: single-codepoint clusters,
 * 2 columns wide. */
static void shared_property_table(void **state)
{
    (void)state;
    static char text[64 * 1024];
    size_t n = 0, letters = 0;
    for (uint32_t c = 0x4E00 + 0x41; c < 0xA000; c += 0x100, letters++) {
        n += put_cp(text + n, c);
        text[n++] = ' ';
    }
    for (uint32_t c = 0xAC00 + 0x41; c < 0xD7A4; c += 0x100, letters++) {
        n += put_cp(text + n, c);
        text[n++] = ' ';
    }
    lle_memory_config_t cfg;
    lle_memory_config_default(&cfg);
    cfg.read_environment = false;
    lle_memory_manager_t *m = NULL;
    assert_int_equal(lle_memory_manager_create(&cfg, &m), LLE_SUCCESS);
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, NTHREADS);
    pthread_t th[NTHREADS];
    work_t w[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (work_t){.m = m, .go = &go, .text = text, .len = n};
        assert_int_equal(pthread_create(&th[i], NULL, typist, &w[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&go);
    /* each letter 2 columns and a space 1: 26 clusters fill 78 columns */
    size_t want_rows = (letters + 25) / 26;
    for (int i = 0; i < NTHREADS; i++) {
        assert_int_equal(w[i].r, LLE_SUCCESS);
        assert_int_equal(w[i].graphemes, 2 * letters);
        assert_int_equal(w[i].rows, want_rows);
    }
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shared_property_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
