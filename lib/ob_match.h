/*  ob_match.h — multi-pattern text matcher (Aho-Corasick over characters).

    The routing rules put the keywords of every rule into one matcher, so
    that the title and content of an order are scanned once whatever the
    number of rules and keywords. Patterns and text are compared after the
    same normalisation: ASCII letters folded to lower case, every run of
    white space (ASCII white space and the full-width space U+3000) read as
    one ' '. Patterns are trimmed of white space at both ends. Because
    UTF-8 is self-synchronising, a valid UTF-8 pattern found in valid UTF-8
    text always starts and ends on character boundaries; no word
    segmentation is done (Chinese needs none).

    Build: ob_match_new, ob_match_add for each pattern, ob_match_compile.
    Then ob_match_scan only reads the matcher: it may be shared by
    threads.                                                              */
#ifndef OB_MATCH_H
#define OB_MATCH_H

#include "ob_common.h"

#define OB_MATCH_PATTERN_MAX 256   /* bytes in a pattern, after normalisation */
#define OB_MATCH_PATTERNS_MAX 100000

typedef struct ob_match ob_match_t;

ob_match_t *ob_match_new(void);
void ob_match_destroy(ob_match_t **self_p);

/* Adds a pattern (UTF-8, len bytes) before compilation. Returns its id
   (0, 1, 2, ... in order of first addition); a pattern equal to an earlier
   one after normalisation gets the earlier id. Returns -1 when the
   pattern is empty after normalisation, not valid UTF-8, longer than
   OB_MATCH_PATTERN_MAX,
   the matcher holds OB_MATCH_PATTERNS_MAX patterns already, it is already
   compiled, or memory runs out. */
int ob_match_add(ob_match_t *self, const char *pattern, size_t len);

/* Number of distinct patterns added. */
size_t ob_match_count(const ob_match_t *self);

/* The normalised text of pattern `id` (NUL-terminated), NULL if none. */
const char *ob_match_pattern(const ob_match_t *self, size_t id);

/* Builds the automaton. Returns 0, or -1 when memory runs out. Adding is
   closed afterwards. A matcher with no patterns compiles to one that never
   matches. */
int ob_match_compile(ob_match_t *self);

/* Scans `text` (len bytes) and sets bit `id` of `seen` (an array of
   (ob_match_count() + 63) / 64 words the caller zeroed) for each pattern
   that occurs. The ids newly set by this call are also appended to
   ids[*nids ..] while *nids < maxids; *nids counts every newly set id even
   past maxids, so *nids > maxids tells the caller the list is incomplete
   (the bitset never is). The matcher must be compiled. */
void ob_match_scan(const ob_match_t *self, const char *text, size_t len, uint64_t *seen,
                   uint32_t *ids, size_t maxids, size_t *nids);

void ob_match_test(bool verbose);

#endif
