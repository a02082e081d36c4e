/*
 * lle/text.h - text buffer memory: the text a line editor edits.
 *
 * A text is a balanced tree (a B-tree of fanout 16) whose leaves are small
 * gap buffers of at most 1 KiB, taken from the BUFFER pool.  Every node
 * carries the byte, codepoint, grapheme-cluster and newline counts of its
 * subtree (and the wrapped-row counts of the lines that start in it), so an
 * edit anywhere and every conversion between positions cost O(log n) plus
 * work bounded by one leaf.  Beside the tree a text has a secondary region
 * (the undo log, HISTORY pool) and a scratch region (TEMP pool); both grow
 * by the configured factor between the minimum and maximum size and shrink
 * again when mostly unused.
 *
 * Positions are byte offsets unless a name says otherwise.  Every text
 * inserted is checked to be UTF-8 (shortest form, no surrogates, at most
 * U+10FFFF); an edit may start and end only where a codepoint starts.
 * Grapheme clusters are the extended grapheme clusters of Unicode (UAX #29)
 * as utf8proc segments them; they are kept up to date around each edit
 * (the boundaries are re-segmented from the cluster before the edit until
 * the old and new segmentations agree again).
 *
 * Lines end with '\n'; a text of k newlines has k + 1 lines (the last may
 * be empty).  A column is counted in grapheme clusters from the line's
 * start.  Wrapped (virtual) rows: a line of display width w at wrap width
 * W takes the rows a greedy fill makes, where a cluster is never split, a
 * cluster of width 2 (East Asian wide) that does not fit goes to the next
 * row, and combining marks take 0 columns; an empty line takes one row.
 *
 * Every call that fails leaves the text as it was.  A text is used by one
 * thread at a time (the caller serialises); it belongs to one manager and
 * must be destroyed before it.
 */
#ifndef LLE_TEXT_H
#define LLE_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lle/manager.h"
#include "lle/result.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lle_text lle_text_t;

typedef struct lle_text_config {
    /* Bytes of text at most: an edit that would make the text longer fails
     * with LLE_ERROR_SIZE_LIMIT.  Default 256 MiB (the BUFFER pool's
     * default maximum); at most 2^40. */
    size_t max_size;
    /* The undo and scratch regions start at min_region bytes (64 B to 1
     * GiB), grow by growth_factor (1.25 to 4) when full, never below
     * min_region, and shrink to half when a quarter of them is used.
     * Defaults 4 KiB, 2.0. */
    size_t min_region;
    double growth_factor;
    /* Bytes of undo log kept at most (the oldest edits go first); 0 keeps
     * no undo log.  Default 1 MiB. */
    size_t undo_limit;
    /* Wipe (explicit_bzero) every byte of text the text gives up: freed
     * and merged leaves, bytes deleted or moved inside a leaf's gap, the
     * old undo and scratch regions when they grow or shrink, everything on
     * destroy.  Default false. */
    bool secure;
    /* lle_text_compress compresses only texts of at least this many bytes.
     * Default 64 KiB. */
    size_t compress_threshold;
} lle_text_config_t;

void lle_text_config_default(lle_text_config_t *cfg);

/* Create an empty text of manager m.  cfg NULL: the defaults.  Errors:
 * LLE_ERROR_NULL_PARAMETER, LLE_ERROR_INVALID_ARGUMENT (a field out of its
 * range), LLE_ERROR_OUT_OF_MEMORY. */
lle_result_t lle_text_create(lle_memory_manager_t *m, const lle_text_config_t *cfg,
                             lle_text_t **out);

/* Free every region of t (wiped first when secure).  NULL: LLE_SUCCESS. */
lle_result_t lle_text_destroy(lle_text_t *t);

/* ---- edits ---------------------------------------------------------------
 * Errors common to all: LLE_ERROR_NULL_PARAMETER; LLE_ERROR_INVALID_POSITION
 * (past the end, or inside a codepoint); LLE_ERROR_INVALID_ENCODING (s is
 * not UTF-8); LLE_ERROR_SIZE_LIMIT (the text would pass max_size);
 * LLE_ERROR_OUT_OF_MEMORY.  On any error the text is unchanged. */

/* Insert s[0, n) at byte offset pos.  n == 0 is a successful no-op. */
lle_result_t lle_text_insert(lle_text_t *t, size_t pos, const char *s, size_t n);

/* Delete bytes [pos, pos + n). */
lle_result_t lle_text_delete(lle_text_t *t, size_t pos, size_t n);

/* Replace bytes [pos, pos + n) by s[0, len) (one undo step). */
lle_result_t lle_text_replace(lle_text_t *t, size_t pos, size_t n, const char *s, size_t len);

/* Revert the last edit that is still in the undo log.  LLE_ERROR_INVALID_STATE
 * when there is none (nothing edited, undo_limit 0, or the log dropped it). */
lle_result_t lle_text_undo(lle_text_t *t);

/* ---- reading ------------------------------------------------------------- */

/* Bytes of text. */
size_t lle_text_length(lle_text_t *t);

typedef struct lle_text_counts {
    size_t bytes, codepoints, graphemes, lines;
} lle_text_counts_t;
lle_result_t lle_text_counts(lle_text_t *t, lle_text_counts_t *out);

/* Copy bytes [pos, pos + n) into buf (not NUL-terminated).  Errors:
 * LLE_ERROR_INVALID_POSITION when the range runs past the end. */
lle_result_t lle_text_read(lle_text_t *t, size_t pos, size_t n, char *buf);

/* ---- positions (each O(log n)) -------------------------------------------
 * LLE_ERROR_INVALID_POSITION: an offset past the end, inside a codepoint,
 * or (for the grapheme and line/column calls) inside a grapheme cluster;
 * an index past the last one.  The end of the text is a valid position of
 * every kind (index = count). */
lle_result_t lle_text_byte_to_codepoint(lle_text_t *t, size_t pos, size_t *cp);
lle_result_t lle_text_codepoint_to_byte(lle_text_t *t, size_t cp, size_t *pos);
lle_result_t lle_text_byte_to_grapheme(lle_text_t *t, size_t pos, size_t *g);
lle_result_t lle_text_grapheme_to_byte(lle_text_t *t, size_t g, size_t *pos);
/* Cursor moves: the boundary of the next (previous) grapheme cluster after
 * (before) pos, which must be a boundary.  LLE_ERROR_INVALID_POSITION also
 * at the end (start). */
lle_result_t lle_text_next_grapheme(lle_text_t *t, size_t pos, size_t *next);
lle_result_t lle_text_prev_grapheme(lle_text_t *t, size_t pos, size_t *prev);
/* pos (a cluster boundary) as a line and a column in clusters, and back
 * (a column past the line's end: LLE_ERROR_INVALID_POSITION; a line past
 * the last: LLE_ERROR_INVALID_LINE_INDEX). */
lle_result_t lle_text_byte_to_line_col(lle_text_t *t, size_t pos, size_t *line, size_t *col);
lle_result_t lle_text_line_col_to_byte(lle_text_t *t, size_t line, size_t col, size_t *pos);

/* ---- lines ----------------------------------------------------------------
 * LLE_ERROR_INVALID_LINE_INDEX for a line past the last (insert: past
 * line_count). */
size_t lle_text_line_count(lle_text_t *t);
/* Where line starts and its length in bytes without its '\n'. */
lle_result_t lle_text_line_span(lle_text_t *t, size_t line, size_t *start, size_t *len);
/* Insert s[0, n) (which must not contain '\n') as a new line before line
 * `line`; line == line_count appends it after the last line. */
lle_result_t lle_insert_line(lle_text_t *t, size_t line, const char *s, size_t n);
/* Delete line `line` with its newline (the last line: with the newline
 * before it; the only line: its text). */
lle_result_t lle_text_delete_line(lle_text_t *t, size_t line);
/* Replace the text of line `line` (not its newline) by s[0, n) (no '\n'). */
lle_result_t lle_text_replace_line(lle_text_t *t, size_t line, const char *s, size_t n);

/* Modified lines: every edit marks the lines it touched (the line it
 * starts in and every line it inserted) with the time of the edit
 * (CLOCK_MONOTONIC nanoseconds); marks follow their lines when lines are
 * inserted or deleted above them.  A renderer redraws the marked lines and
 * clears the marks. */
typedef struct lle_text_line_range {
    size_t   first, count;   /* lines [first, first + count) */
    uint64_t time_ns;        /* when they were last modified */
} lle_text_line_range_t;
/* The marked lines as ranges in increasing order, at most cap of them in
 * out; *count gets how many there are (LLE_ERROR_BUFFER_TOO_SMALL when
 * more than cap). */
lle_result_t lle_text_modified_lines(lle_text_t *t, lle_text_line_range_t *out, size_t cap,
                                     size_t *count);
/* Whether `line` is marked, and when (time_ns may be NULL). */
bool lle_text_line_modified(lle_text_t *t, size_t line, uint64_t *time_ns);
void lle_text_clear_modified(lle_text_t *t);
/* Line modifications counted since creation (each line marked by an edit
 * counts once per edit). */
uint64_t lle_text_modification_count(lle_text_t *t);

/* ---- wrapped lines ---------------------------------------------------------
 * Rows are computed per line and cached in the tree; an edit drops the
 * cache of the lines it touched, a new width drops them all; they are
 * recomputed on the next query that needs them.  Each line also keeps its
 * columns, which a width does not change: a line without a 2-column
 * character, or of less than about two rows, gets its rows at a new width
 * from them without a read of its text.  A line longer than a leaf
 * (1 KiB) is measured through width summaries kept in the tree's nodes, at
 * widths of 2 or more: after an edit in it, its rows and the row and
 * column of a position in it cost O(log n) summaries and tables plus the
 * text of about the leaf the edit changed read again, not the whole line
 * (at widths of 2 to 7 and 257 to 512, the text of about 16 leaves; above
 * 512, the leaves that hold a 2-column character are read every time).
 * Width 0 or above 65535: LLE_ERROR_INVALID_ARGUMENT, nothing changed. */
lle_result_t lle_text_set_wrap_width(lle_text_t *t, unsigned width);
/* Rows of the whole text, and of one line. */
lle_result_t lle_text_wrap_rows(lle_text_t *t, size_t *rows);
lle_result_t lle_text_line_rows(lle_text_t *t, size_t line, size_t *rows);
/* The first row of `line`, and the line (and row within it) of a row.
 * A row past the last: LLE_ERROR_INVALID_POSITION. */
lle_result_t lle_text_line_to_row(lle_text_t *t, size_t line, size_t *row);
lle_result_t lle_text_row_to_line(lle_text_t *t, size_t row, size_t *line, size_t *row_in_line);
/* The row and display column of a cluster boundary: where the clusters
 * before it end (after the last cluster of a full row: that row, column
 * width). */
lle_result_t lle_text_byte_to_row_col(lle_text_t *t, size_t pos, size_t *row, size_t *col);
/* The cluster boundary at display column col of row `row` (for a cursor
 * moved up or down, or a click): the start of the first cluster of that row
 * that covers column col or begins after it; past the row's last cluster,
 * the end of the row (the start of the line's next row, or on the line's
 * last row the end of the line: its newline or the end of the text).  A
 * cluster of 0 columns covers no column; it is the answer when it stands
 * at col or after it, before any other.  So for every cluster boundary pos
 * that does not follow a cluster of 0 columns, the row and column of pos
 * give pos back.  In a line longer than a leaf it reads the clusters of
 * the leaves under the lowest inner node that holds the cell, the rest by
 * the summaries and tables above (at width 1: every leaf of the line up to
 * the cell).  A row past the last: LLE_ERROR_INVALID_POSITION. */
lle_result_t lle_text_row_col_to_byte(lle_text_t *t, size_t row, size_t col, size_t *pos);

/* ---- compression ----------------------------------------------------------
 * Compress the text with zstd when it holds at least compress_threshold
 * bytes.  The compressed copy is kept (and the tree and the scratch region
 * freed) only when it saves at least 20%; *kept tells which (may be NULL).
 * Any later call that reads or edits the text decompresses it first, and
 * reports LLE_ERROR_OUT_OF_MEMORY if it cannot (the compressed copy then
 * stays).  A text already compressed: LLE_SUCCESS, *kept true. */
lle_result_t lle_text_compress(lle_text_t *t, bool *kept);
bool lle_text_is_compressed(const lle_text_t *t);

/* ---- statistics (all counted) -------------------------------------------- */
typedef struct lle_text_stats {
    size_t bytes, codepoints, graphemes, lines;
    size_t leaves, nodes, depth;      /* leaves; internal nodes; levels */
    size_t primary_bytes;             /* bytes of leaf storage (text + gaps) */
    size_t gap_bytes;                 /* of which free (the leaves' gaps) */
    size_t index_bytes;               /* nodes, leaf headers, grapheme bitmaps, row caches */
    size_t undo_bytes, undo_used;     /* the secondary region: size, bytes of log */
    size_t undo_steps;                /* edits that can be undone */
    size_t scratch_bytes;             /* the scratch region's size */
    size_t region_grows, region_shrinks;
    size_t wiped_bytes;               /* bytes wiped (secure texts) */
    size_t compressed_bytes;          /* size of the compressed copy (0: not compressed) */
    size_t compressions, compressions_kept, decompressions;
    double compression_ratio;         /* compressed / original of the last attempt (0: none) */
    size_t compression_saved;         /* bytes saved by the last kept compression */
    size_t stale_rows;                /* lines whose row count is not cached */
    size_t wrap_scanned_bytes;        /* bytes row queries have read cluster by cluster */
} lle_text_stats_t;
lle_result_t lle_text_get_stats(lle_text_t *t, lle_text_stats_t *out);

/* Recompute every index of t from its bytes and compare: the tree's sums
 * and links, each leaf's counts, every grapheme boundary against a
 * segmentation of the whole text from its start, every cached row count,
 * every cached width summary and table, the modified-line ranges.  O(n); for tests and debugging.
 * LLE_ERROR_CORRUPTION at the first difference.  A compressed text is not
 * decompressed (LLE_SUCCESS). */
lle_result_t lle_text_check(lle_text_t *t);

#ifdef __cplusplus
}
#endif
#endif
