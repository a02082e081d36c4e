/*
 * test_text_utf8.c - the text's UTF-8 validator and codepoint properties
 * (src/text/index.c).  The validator against the model's slow decoder
 * (model_utf8_prefix), the length of the longest valid prefix: for every
 * sequence of one and two bytes and the edges of the longer ones, placed
 * at offsets around the 16-byte blocks of the vector path and followed by
 * nothing, one byte or a block of ASCII; then random texts with one
 * corrupted byte.  The properties the walks read from the text's table
 * against utf8proc, for every codepoint.  Both are internal: this test
 * includes the library's own header.
 */
#include "test_util.h"
#include "text_model.h"

#include <utf8proc.h>

#include "text/text_internal.h"

static void check(const unsigned char *s, size_t n)
{
    size_t want = model_utf8_prefix(s, n), got = lle__tx_utf8_valid((const char *)s, n);
    if (got != want) {
        fprintf(stderr, "n %zu: want %zu, got %zu; bytes", n, want, got);
        for (size_t i = 0; i < n; i++) fprintf(stderr, " %02x", s[i]);
        fprintf(stderr, "\n");
    }
    assert_int_equal(got, want);
}

/* The processor features are found when the first text is created. */
static void setup_cpu(void)
{
    lle_memory_manager_t *m = test_manager(NULL);
    lle_text_t *t;
    assert_int_equal(lle_text_create(m, NULL, &t), LLE_SUCCESS);
    assert_int_equal(lle_text_destroy(t), LLE_SUCCESS);
    assert_int_equal(lle_memory_manager_destroy(m), LLE_SUCCESS);
#ifdef LLE__TX_CPU_SETUP
    /* the vector path is the one tested where the processor has it */
    assert_int_equal(lle__tx_have_ssse3, __builtin_cpu_supports("ssse3") != 0);
#endif
}

/* Each sequence of utf8_every_sequence (test_text.c): every one and two
 * bytes, every lead and second byte of three and four with the last bytes
 * at the edges of 80..BF; after 0, 1, 5, 12 to 17 or 19 bytes of ASCII (at
 * the start of a text too short for a block, at the start and inside of
 * the first block, across its end at each of its last four places, and
 * at the start and inside of the second), then followed by nothing, by
 * 'a', or by 16 bytes of 'a', in turn from one sequence to the next. */
static void every_sequence_every_offset(void **state)
{
    (void)state;
    setup_cpu();
    static const unsigned char tails[] = {0x7F, 0x80, 0xBF, 0xC0};
    static const struct {
        unsigned len, lead_lo, lead_hi;
    } kinds[] = {{1, 0, 255}, {2, 0x80, 0xFF}, {3, 0xE0, 0xEF}, {4, 0xF0, 0xF7}};
    static const size_t posts[] = {0, 1, 16};
    static const size_t pres[] = {0, 1, 5, 12, 13, 14, 15, 16, 17, 19};
    unsigned char s[64];
    size_t tried = 0;
    for (size_t pi = 0; pi < sizeof pres / sizeof pres[0]; pi++) {
        size_t pre = pres[pi];
        memset(s, 'a', sizeof s);
        for (size_t kd = 0; kd < sizeof kinds / sizeof kinds[0]; kd++) {
            unsigned len = kinds[kd].len;
            size_t combos = len == 4 ? 16 : len == 3 ? 4 : 1;
            for (unsigned b0 = kinds[kd].lead_lo; b0 <= kinds[kd].lead_hi; b0++)
                for (unsigned b1 = 0; b1 < (len > 1 ? 256u : 1u); b1++)
                    for (size_t x = 0; x < combos; x++) {
                        unsigned char *q = s + pre;
                        q[0] = (unsigned char)b0;
                        q[1] = len > 1 ? (unsigned char)b1 : 'a';
                        q[2] = len > 2 ? tails[x % 4] : 'a';
                        q[3] = len > 3 ? tails[x / 4] : 'a';
                        check(s, pre + len + posts[tried % 3]);
                        tried++;
                    }
        }
    }
    assert_int_equal(tried, 10 * (256 + 128 * 256 + 16 * 256 * 4 + 8 * 256 * 16));
}

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Random texts of valid codepoints of 1 to 4 bytes (some runs of ASCII
 * long enough for whole ASCII blocks), 0 to 300 bytes, one byte of some
 * of them replaced by a random one, or the text cut at a random length. */
static void random_texts(void **state)
{
    (void)state;
    setup_cpu();
    static const char *const pieces[] = {
        "a", "hello world, ", "\xc3\xa9", "\xd0\xb6", "\xe4\xb8\xad", "\xed\x9f\xbf",
        "\xee\x80\x80", "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf0\x9f\x91\x8d",
        "\xf4\x8f\xbf\xbf", "\n", "0123456789abcdef0123456789",
    };
    unsigned char s[400];
    uint64_t rs = 0x9e3779b97f4a7c15ull;
    size_t invalid = 0;
    for (int it = 0; it < 50000; it++) {
        size_t n = 0, want = next(&rs) % 300;
        while (n < want) {
            const char *p = pieces[next(&rs) % (sizeof pieces / sizeof pieces[0])];
            size_t l = strlen(p);
            memcpy(s + n, p, l);
            n += l;
        }
        check(s, n);
        assert_int_equal(lle__tx_utf8_valid((const char *)s, n), n);
        unsigned what = (unsigned)(next(&rs) % 4);
        if (n && what < 2) {
            s[next(&rs) % n] = (unsigned char)next(&rs);
        } else if (n && what == 2) {
            n = next(&rs) % n;
        }
        check(s, n);
        invalid += model_utf8_prefix(s, n) != n;
    }
    /* the corruptions made many texts invalid (a changed byte is often
     * valid still) */
    assert_true(invalid > 12500);
}

/* Every codepoint's properties, first asked in an order that fills each
 * block of the table from a codepoint in its middle, then again from the
 * table: plain, Prepend and width as utf8proc says (the rules of
 * index.c). */
static void properties_of_every_codepoint(void **state)
{
    (void)state;
    for (int pass = 0; pass < 2; pass++)
        for (int32_t c = 0; c < 0x110000; c++) {
            int32_t q = pass ? c : (c & ~0xFF) | ((c + 0x80) & 0xFF);
            unsigned v = lle__tx_prop(q);
            const utf8proc_property_t *pr = utf8proc_get_property(q);
            bool plain = q < 0x80 || pr->boundclass == UTF8PROC_BOUNDCLASS_OTHER;
#if UTF8PROC_VERSION_MAJOR > 2 || (UTF8PROC_VERSION_MAJOR == 2 && UTF8PROC_VERSION_MINOR >= 9)
            plain = plain && (q < 0x80 || pr->indic_conjunct_break == UTF8PROC_INDIC_CONJUNCT_BREAK_NONE);
#endif
            bool prepend = q >= 0x80 && pr->boundclass == UTF8PROC_BOUNDCLASS_PREPEND;
            int w = utf8proc_charwidth(q);
            if ((v & TX_PROP_PLAIN) != (plain ? TX_PROP_PLAIN : 0u) ||
                (v & TX_PROP_PREPEND) != (prepend ? TX_PROP_PREPEND : 0u) ||
                TX_PROP_WIDTH(v) != (unsigned)(w < 0 ? 0 : w) || !(v & TX_PROP_SET))
                fail_msg("U+%04X: %#x, want plain %d prepend %d width %d", (unsigned)q, v, plain,
                         prepend, w);
        }
    /* the table holds the first two planes, filled by now */
    for (int32_t c = 0; c < TX_PROP_TAB; c += 97)
        assert_true(atomic_load(&lle__tx_prop_tab[c]) & TX_PROP_SET);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_sequence_every_offset),
        cmocka_unit_test(random_texts),
        cmocka_unit_test(properties_of_every_codepoint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
