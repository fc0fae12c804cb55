/*  ob_text.h — text as the rules and the matcher read it: UTF-8 validation
    and white space folding (ASCII white space and the ideographic space
    U+3000 as one space, ASCII lower case).                              */
#ifndef OB_TEXT_H
#define OB_TEXT_H

#include "ob_common.h"

/* True if s[0..len) is valid UTF-8: no overlongs, no surrogates, nothing
   past U+10FFFF, no truncated sequence. */
bool ob_text_utf8_valid(const char *s, size_t len);

/* True for ASCII white space: space, \t, \n, \r, \v, \f. */
bool ob_text_is_space(unsigned char c);

/* Folds in[0..len) into out (capacity cap, not terminated): ASCII upper
   case to lower case, every run of white space (ASCII, or U+3000 written
   as E3 80 80) to one space, none at either end; other bytes are copied
   as they are. Returns the folded length (never more than len), or
   cap + 1 when it does not fit in cap bytes. */
size_t ob_text_fold(const char *in, size_t len, char *out, size_t cap);

/* ob_text_fold of a string into a fresh NUL-terminated string (free()
   it); NULL when memory runs out. */
char *ob_text_fold_dup(const char *text);

void ob_text_test(bool verbose);

#endif
