/*  ob_match.c — multi-pattern text matcher: Aho-Corasick over characters.

    Patterns are normalised (ASCII lower case, white space runs to one ' ',
    trimmed), must be valid UTF-8, and are deduplicated through a small
    open-addressing hash table.

    The automaton works on characters, not bytes: every code point that
    occurs in some pattern gets a dense symbol number (a direct table for
    the Basic Multilingual Plane, a sorted list above it), and the trie is
    built over symbols. A Chinese text then costs one step per character
    instead of three, and the part of the automaton a scan touches stays
    small: the root's transitions are one dense array indexed by symbol,
    every other node keeps its few children sorted in one edge array. A
    character no pattern contains leads straight back to the root; failure
    links are followed on a miss (amortised under one per character), and
    each node knows the first node of its output chain.

    Scanning decodes the text as it goes: a valid UTF-8 sequence is one
    character, any other byte is a character of its own that no pattern
    has. Because a valid pattern cannot begin inside a valid sequence, this
    finds exactly the byte-level occurrences of every pattern in any text,
    valid or not. Memory for 10,000 Chinese keywords of a few characters:
    some 30,000 nodes, under 1 MiB with the symbol table.                 */
#include "ob_match.h"
#include "ob_text.h"
#include "ob_selftest.h"

#define S_BMP 0x10000      /* code points with a direct symbol table entry */
#define S_SPACE_SYM_CP ' ' /* white space runs are read as this character */

typedef struct {
    uint32_t base;   /* children: cell base + symbol, when its check is this node */
    uint32_t fail;   /* longest proper suffix that is a trie node */
    uint32_t out;    /* this node if it ends a pattern, else the nearest
                        proper suffix node that does; 0 none */
    int32_t pat;     /* pattern ending here, -1 none */
} s_node_t;

typedef struct {
    uint32_t cp, sym;
} s_wide_t;

typedef struct {
    uint32_t check;  /* the node whose child this is, S_FREE if none */
    uint32_t next;   /* the child */
} s_cell_t;

#define S_FREE UINT32_MAX

struct ob_match {
    char **pats;          /* normalised patterns, by id */
    size_t npats, patcap;
    uint32_t *hash;       /* open addressing: id + 1, 0 empty */
    size_t hashcap;
    bool compiled;
    uint32_t *bmp;        /* code point < 0x10000 -> symbol, 0: in no pattern */
    s_wide_t *wide;       /* code points above, sorted */
    size_t nwide;
    uint32_t nsyms;       /* symbols are 1 .. nsyms */
    s_node_t *nodes;      /* node 0 is the root; breadth first */
    size_t nnodes;
    s_cell_t *cells;      /* the double array of the other nodes' children;
                             every base + nsyms is inside it */
    size_t ncells;
    uint32_t *rootgo;     /* root's child by symbol (nsyms + 1 entries), 0 none */
};

/* Decodes one character at p[0 .. end): returns its length in bytes and
   sets *cp; a byte that does not start a valid sequence is a character of
   length 1 with *cp = 0x110000 + the byte (no pattern has one). */
static inline size_t s_decode(const unsigned char *p, const unsigned char *end, uint32_t *cp)
{
    unsigned c = p[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t left = (size_t) (end - p);
    if (c >= 0xc2 && c < 0xe0) {
        if (left >= 2 && (p[1] & 0xc0) == 0x80) {
            *cp = (c & 0x1f) << 6 | (p[1] & 0x3f);
            return 2;
        }
    }
    else if (c >= 0xe0 && c < 0xf0) {
        if (left >= 3 && (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80
            && !(c == 0xe0 && p[1] < 0xa0) && !(c == 0xed && p[1] > 0x9f)) {
            *cp = (c & 0x0f) << 12 | (uint32_t) (p[1] & 0x3f) << 6 | (p[2] & 0x3f);
            return 3;
        }
    }
    else if (c >= 0xf0 && c <= 0xf4) {
        if (left >= 4 && (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80
            && (p[3] & 0xc0) == 0x80 && !(c == 0xf0 && p[1] < 0x90) && !(c == 0xf4 && p[1] > 0x8f)) {
            *cp = (c & 0x07) << 18 | (uint32_t) (p[1] & 0x3f) << 12
                  | (uint32_t) (p[2] & 0x3f) << 6 | (p[3] & 0x3f);
            return 4;
        }
    }
    *cp = 0x110000 + c;
    return 1;
}

static uint64_t s_fnv(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char) *s) * 1099511628211ULL;
    return h;
}

static int s_hash_grow(ob_match_t *self)
{
    size_t cap = self->hashcap ? 2 * self->hashcap : 64;
    uint32_t *hash = calloc(cap, sizeof *hash);
    if (!hash)
        return -1;
    for (size_t id = 0; id < self->npats; id++) {
        size_t h = (size_t) s_fnv(self->pats[id]) & (cap - 1);
        while (hash[h])
            h = (h + 1) & (cap - 1);
        hash[h] = (uint32_t) id + 1;
    }
    free(self->hash);
    self->hash = hash;
    self->hashcap = cap;
    return 0;
}

ob_match_t *ob_match_new(void)
{
    return calloc(1, sizeof(ob_match_t));
}

void ob_match_destroy(ob_match_t **self_p)
{
    assert(self_p);
    ob_match_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->npats; i++)
        free(self->pats[i]);
    free(self->pats);
    free(self->hash);
    free(self->bmp);
    free(self->wide);
    free(self->nodes);
    free(self->cells);
    free(self->rootgo);
    free(self);
    *self_p = NULL;
}

int ob_match_add(ob_match_t *self, const char *pattern, size_t len)
{
    assert(self);
    assert(pattern || len == 0);
    if (self->compiled)
        return -1;
    char buf[OB_MATCH_PATTERN_MAX + 1];
    size_t n = ob_text_fold(pattern, len, buf, OB_MATCH_PATTERN_MAX);
    if (n == 0 || n > OB_MATCH_PATTERN_MAX || memchr(buf, '\0', n) || !ob_text_utf8_valid(buf, n))
        return -1;
    buf[n] = '\0';
    if (2 * (self->npats + 1) > self->hashcap && s_hash_grow(self))
        return -1;
    size_t h = (size_t) s_fnv(buf) & (self->hashcap - 1);
    while (self->hash[h]) {
        uint32_t id = self->hash[h] - 1;
        if (strcmp(self->pats[id], buf) == 0)
            return (int) id;
        h = (h + 1) & (self->hashcap - 1);
    }
    if (self->npats == OB_MATCH_PATTERNS_MAX)
        return -1;
    if (self->npats == self->patcap) {
        size_t cap = self->patcap ? 2 * self->patcap : 16;
        char **pats = realloc(self->pats, cap * sizeof *pats);
        if (!pats)
            return -1;
        self->pats = pats;
        self->patcap = cap;
    }
    char *copy = malloc(n + 1);
    if (!copy)
        return -1;
    memcpy(copy, buf, n + 1);
    self->pats[self->npats] = copy;
    self->hash[h] = (uint32_t) self->npats + 1;
    return (int) self->npats++;
}

size_t ob_match_count(const ob_match_t *self)
{
    assert(self);
    return self->npats;
}

const char *ob_match_pattern(const ob_match_t *self, size_t id)
{
    assert(self);
    return id < self->npats ? self->pats[id] : NULL;
}

static int s_wide_cmp(const void *a, const void *b)
{
    uint32_t x = ((const s_wide_t *) a)->cp, y = ((const s_wide_t *) b)->cp;
    return x < y ? -1 : x > y;
}

/* The symbol of code point cp, 0 when no pattern has it. */
static inline uint32_t s_sym(const ob_match_t *self, uint32_t cp)
{
    if (cp < S_BMP)
        return self->bmp[cp];
    size_t lo = 0, hi = self->nwide;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (self->wide[mid].cp < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < self->nwide && self->wide[lo].cp == cp ? self->wide[lo].sym : 0;
}

/* Child of node u (not the root) by symbol, 0 when none: one cell. */
static inline uint32_t s_child(const ob_match_t *self, uint32_t u, uint32_t sym)
{
    const s_cell_t *c = &self->cells[self->nodes[u].base + sym];
    return c->check == u ? c->next : 0;
}

/* The automaton's step from u by symbol sym (> 0). */
static inline uint32_t s_step(const ob_match_t *self, uint32_t u, uint32_t sym)
{
    while (u) {
        uint32_t v = s_child(self, u, sym);
        if (v)
            return v;
        u = self->nodes[u].fail;
    }
    return self->rootgo[sym];
}

/* Gives every code point of the patterns a symbol, in order of first
   appearance. 0 or -1 (out of memory). */
static int s_symbols(ob_match_t *self)
{
    self->bmp = calloc(S_BMP, sizeof *self->bmp);
    if (!self->bmp)
        return -1;
    size_t wcap = 0;
    for (size_t id = 0; id < self->npats; id++) {
        const unsigned char *p = (const unsigned char *) self->pats[id];
        const unsigned char *end = p + strlen(self->pats[id]);
        while (p < end) {
            uint32_t cp;
            p += s_decode(p, end, &cp);
            if (cp < S_BMP) {
                if (!self->bmp[cp])
                    self->bmp[cp] = ++self->nsyms;
                continue;
            }
            bool have = false;
            for (size_t i = 0; i < self->nwide && !have; i++)
                have = self->wide[i].cp == cp;
            if (have)
                continue;
            if (self->nwide == wcap) {
                wcap = wcap ? 2 * wcap : 16;
                s_wide_t *w = realloc(self->wide, wcap * sizeof *w);
                if (!w)
                    return -1;
                self->wide = w;
            }
            self->wide[self->nwide++] = (s_wide_t) {cp, ++self->nsyms};
        }
    }
    if (self->nwide)
        qsort(self->wide, self->nwide, sizeof *self->wide, s_wide_cmp);
    return 0;
}

/* Build-time trie over symbols: children as linked lists. */
typedef struct {
    uint32_t *head;  /* per node: first edge + 1, 0 none */
    uint32_t *next;  /* per edge: next edge + 1 */
    uint32_t *sym;   /* per edge */
    uint32_t *to;    /* per edge */
    int32_t *pat;    /* per node */
    size_t nnodes, nedges;
} s_trie_t;

static void s_trie_free(s_trie_t *t)
{
    free(t->head);
    free(t->next);
    free(t->sym);
    free(t->to);
    free(t->pat);
}

static int s_trie_build(ob_match_t *self, s_trie_t *t)
{
    size_t cap = 1;
    for (size_t i = 0; i < self->npats; i++)
        cap += strlen(self->pats[i]);   /* at most one node per byte */
    t->head = calloc(cap, sizeof *t->head);
    t->next = calloc(cap, sizeof *t->next);
    t->sym = calloc(cap, sizeof *t->sym);
    t->to = calloc(cap, sizeof *t->to);
    t->pat = malloc(cap * sizeof *t->pat);
    if (!t->head || !t->next || !t->sym || !t->to || !t->pat)
        return -1;
    t->pat[0] = -1;
    t->nnodes = 1;
    for (size_t id = 0; id < self->npats; id++) {
        uint32_t st = 0;
        const unsigned char *p = (const unsigned char *) self->pats[id];
        const unsigned char *end = p + strlen(self->pats[id]);
        while (p < end) {
            uint32_t cp;
            p += s_decode(p, end, &cp);
            uint32_t sym = s_sym(self, cp), found = 0;
            for (uint32_t e = t->head[st]; e; e = t->next[e - 1])
                if (t->sym[e - 1] == sym) {
                    found = t->to[e - 1];
                    break;
                }
            if (!found) {
                found = (uint32_t) t->nnodes++;
                t->pat[found] = -1;
                size_t ne = t->nedges++;
                t->sym[ne] = sym;
                t->to[ne] = found;
                t->next[ne] = t->head[st];
                t->head[st] = (uint32_t) ne + 1;
            }
            st = found;
        }
        t->pat[st] = (int32_t) id;
    }
    return 0;
}

static int s_u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

/* Packs the children of nodes 1 .. nnodes-1 (node k: symbols and targets
   [first[k], first[k + 1]), sorted) into the double array: each row at
   the lowest base where all its cells are free, widest rows first (they
   are the hardest to place). A bitmap of used cells and the lowest free
   cell keep the search short. 0 or -1 (out of memory). */
static int s_pack(ob_match_t *self, const uint32_t *first, const uint32_t *esym,
                  const uint32_t *eto)
{
    int rc = -1;
    size_t n = self->nnodes, span = (size_t) self->nsyms + 1;
    uint32_t *order = malloc((n ? n : 1) * sizeof *order);
    size_t *pos = calloc(span + 1, sizeof *pos);   /* a row is at most span wide */
    size_t cap = 4096;
    while (cap < 2 * (first[n] + span))
        cap *= 2;
    uint64_t *used = calloc(cap / 64, sizeof *used);
    self->cells = malloc(cap * sizeof *self->cells);
    if (!order || !pos || !used || !self->cells)
        goto out;
    for (size_t i = 0; i < cap; i++)
        self->cells[i] = (s_cell_t) {S_FREE, 0};
    /* rows by width, widest first (a counting sort) */
    for (size_t u = 1; u < n; u++)
        pos[first[u + 1] - first[u]]++;
    size_t k = 0;
    for (size_t w = span; w >= 1; w--) {
        size_t c = pos[w];
        pos[w] = k;
        k += c;
    }
    for (size_t u = 1; u < n; u++) {
        size_t w = first[u + 1] - first[u];
        if (w)
            order[pos[w]++] = (uint32_t) u;
    }
    size_t lowest_free = 0, top = 0;
    for (size_t r = 0; r < k; r++) {
        uint32_t u = order[r];
        const uint32_t *syms = esym + first[u];
        size_t w = first[u + 1] - first[u];
        /* candidate bases put the row's first symbol on a free cell */
        for (size_t c = lowest_free > syms[0] ? lowest_free : syms[0];; c++) {
            if (c + span >= cap) {
                size_t ncap = cap * 2;
                uint64_t *nu = realloc(used, ncap / 64 * sizeof *nu);
                if (!nu)
                    goto out;
                used = nu;
                memset(used + cap / 64, 0, (ncap - cap) / 64 * sizeof *used);
                s_cell_t *nc = realloc(self->cells, ncap * sizeof *nc);
                if (!nc)
                    goto out;
                self->cells = nc;
                for (size_t i = cap; i < ncap; i++)
                    self->cells[i] = (s_cell_t) {S_FREE, 0};
                cap = ncap;
            }
            if ((used[c >> 6] >> (c & 63)) & 1)
                continue;
            size_t base = c - syms[0], i = 1;
            while (i < w && !((used[(base + syms[i]) >> 6] >> ((base + syms[i]) & 63)) & 1))
                i++;
            if (i < w)
                continue;
            self->nodes[u].base = (uint32_t) base;
            for (i = 0; i < w; i++) {
                size_t cell = base + syms[i];
                used[cell >> 6] |= 1ULL << (cell & 63);
                self->cells[cell] = (s_cell_t) {u, eto[first[u] + i]};
            }
            if (base + span > top)
                top = base + span;
            break;
        }
        while ((used[lowest_free >> 6] >> (lowest_free & 63)) & 1)
            lowest_free++;
    }
    /* leaves keep base 0: every cell they could look at is inside */
    self->ncells = top > span ? top : span;
    rc = 0;
out:
    free(order);
    free(pos);
    free(used);
    return rc;
}

/* Builds the automaton: symbols; the trie, renumbered breadth first with
   each node's children sorted by symbol in one edge array; the root's
   dense row; failure and output links breadth first. */
int ob_match_compile(ob_match_t *self)
{
    assert(self);
    if (self->compiled)
        return 0;
    int rc = -1;
    s_trie_t t = {0};
    uint32_t *queue = NULL, *newid = NULL, *esym = NULL, *eto = NULL, *first = NULL;
    uint64_t *pairs = NULL;
    if (s_symbols(self) || s_trie_build(self, &t))
        goto out;
    size_t ne = t.nedges ? t.nedges : 1;
    self->nodes = calloc(t.nnodes, sizeof *self->nodes);
    esym = malloc(ne * sizeof *esym);
    eto = malloc(ne * sizeof *eto);
    first = malloc((t.nnodes + 1) * sizeof *first);
    self->rootgo = calloc((size_t) self->nsyms + 1, sizeof *self->rootgo);
    queue = malloc(t.nnodes * sizeof *queue);
    newid = malloc(t.nnodes * sizeof *newid);
    pairs = malloc(ne * sizeof *pairs);
    if (!self->nodes || !esym || !eto || !first || !self->rootgo || !queue || !newid || !pairs)
        goto out;
    self->nnodes = t.nnodes;

    /* Breadth first: node k of the automaton is trie node queue[k]; its
       children get the next numbers, in symbol order. */
    size_t qt = 1, at = 0;
    queue[0] = 0;
    newid[0] = 0;
    for (size_t k = 0; k < t.nnodes; k++) {
        uint32_t u = queue[k];
        size_t n = 0;
        for (uint32_t e = t.head[u]; e; e = t.next[e - 1])
            pairs[n++] = (uint64_t) t.sym[e - 1] << 32 | t.to[e - 1];
        qsort(pairs, n, sizeof *pairs, s_u64_cmp);
        first[k] = (uint32_t) at;
        self->nodes[k].pat = t.pat[u];
        for (size_t i = 0; i < n; i++) {
            uint32_t kid = (uint32_t) (pairs[i] & 0xffffffffu);
            newid[kid] = (uint32_t) qt;
            queue[qt++] = kid;
            esym[at] = (uint32_t) (pairs[i] >> 32);
            eto[at++] = newid[kid];
        }
    }
    first[t.nnodes] = (uint32_t) at;
    for (uint32_t i = first[0]; i < first[1]; i++)
        self->rootgo[esym[i]] = eto[i];
    if (s_pack(self, first, esym, eto))
        goto out;

    /* Failure and output links in node order (breadth first: a node's
       failure target is shallower, so final when it is needed). */
    for (uint32_t u = 0; u < self->nnodes; u++) {
        for (uint32_t i = first[u]; i < first[u + 1]; i++) {
            uint32_t v = eto[i], sym = esym[i];
            uint32_t f = u ? s_step(self, self->nodes[u].fail, sym) : 0;
            self->nodes[v].fail = f;
            self->nodes[v].out = self->nodes[v].pat >= 0 ? v : self->nodes[f].out;
        }
    }
    self->compiled = true;
    rc = 0;
out:
    s_trie_free(&t);
    free(queue);
    free(newid);
    free(pairs);
    free(esym);
    free(eto);
    free(first);
    return rc;
}

void ob_match_scan(const ob_match_t *self, const char *text, size_t len, uint64_t *seen,
                   uint32_t *ids, size_t maxids, size_t *nids)
{
    assert(self);
    assert(self->compiled);
    assert(seen || self->npats == 0);
    if (self->npats == 0 || !text)
        return;
    const unsigned char *p = (const unsigned char *) text, *end = p + len;
    const s_node_t *nodes = self->nodes;
    const uint32_t space = self->bmp[' '];
    uint32_t st = 0;
    bool in_space = false;
    while (p < end) {
        uint32_t cp, sym;
        if (*p < 0x80) {
            cp = *p++;
            if (cp >= 'A' && cp <= 'Z')
                cp += 32;
        } else
            p += s_decode(p, end, &cp);
        if (cp < 0x80 ? ob_text_is_space((unsigned char) cp) : cp == 0x3000) {   /* U+3000 too */
            if (in_space)
                continue;
            in_space = true;
            sym = space;
        } else {
            in_space = false;
            sym = cp < S_BMP ? self->bmp[cp] : s_sym(self, cp);
        }
        if (!sym) {
            st = 0;   /* a character no pattern has */
            continue;
        }
        st = s_step(self, st, sym);
        for (uint32_t s = nodes[st].out; s; s = nodes[nodes[s].fail].out) {
            uint32_t id = (uint32_t) nodes[s].pat;
            uint64_t bit = 1ULL << (id & 63);
            if (seen[id >> 6] & bit)
                continue;
            seen[id >> 6] |= bit;
            if (nids) {
                if (ids && *nids < maxids)
                    ids[*nids] = id;
                (*nids)++;
            }
        }
    }
}

/* --- self-test ------------------------------------------------------------ */

/* Naive reference: does normalised pattern `pat` occur in normalised text? */
static bool s_test_naive(const char *text, const char *pat)
{
    char nt[4096], np[OB_MATCH_PATTERN_MAX + 1];
    size_t lt = ob_text_fold(text, strlen(text), nt, sizeof nt - 1);
    size_t lp = ob_text_fold(pat, strlen(pat), np, OB_MATCH_PATTERN_MAX);
    assert(lt < sizeof nt && lp <= OB_MATCH_PATTERN_MAX);
    nt[lt] = '\0';
    np[lp] = '\0';
    return lp > 0 && strstr(nt, np) != NULL;
}

void ob_match_test(bool verbose)
{
    /* Classic overlapping patterns, dictionary links, duplicates. */
    ob_match_t *m = ob_match_new();
    assert(m);
    int rc = ob_match_add(m, "he", 2);
    assert(rc == 0);
    rc = ob_match_add(m, "she", 3);
    assert(rc == 1);
    rc = ob_match_add(m, "his", 3);
    assert(rc == 2);
    rc = ob_match_add(m, "hers", 4);
    assert(rc == 3);
    assert(ob_match_add(m, "  HE ", 5) == 0);          /* normalised duplicate */
    assert(ob_match_add(m, "   ", 3) == -1);           /* empty after trimming */
    assert(ob_match_add(m, "\xE4\xB8", 2) == -1);      /* not UTF-8: a cut character */
    rc = ob_match_add(m, "a\xFF" "b", 3);
    assert(rc == -1);
    rc = ob_match_add(m, "漏水", strlen("漏水"));
    assert(rc == 4);
    assert(ob_match_add(m, "楼上　漏水", strlen("楼上　漏水")) == 5);  /* U+3000 */
    rc = ob_match_add(m, "Street  Light", 13);
    assert(rc == 6);
    assert(strcmp(ob_match_pattern(m, 5), "楼上 漏水") == 0);
    assert(strcmp(ob_match_pattern(m, 6), "street light") == 0);
    assert(ob_match_pattern(m, 7) == NULL);
    assert(ob_match_count(m) == 7);
    rc = ob_match_compile(m);
    assert(rc == 0);
    assert(ob_match_add(m, "late", 4) == -1);          /* closed after compile */

    uint64_t seen[1] = {0};
    uint32_t ids[8];
    size_t n = 0;
    ob_match_scan(m, "ushers", 6, seen, ids, 8, &n);
    assert(n == 3 && seen[0] == ((1u << 0) | (1u << 1) | (1u << 3)));
    ob_match_scan(m, "ushers", 6, seen, ids, 8, &n);   /* nothing new */
    assert(n == 3);
    memset(seen, 0, sizeof seen);
    n = 0;
    const char *zh = "反映：楼上\n\n 漏水，STREET\tlight 坏了";
    ob_match_scan(m, zh, strlen(zh), seen, ids, 1, &n);
    assert(n == 3 && ids[0] == 5);                      /* list capped at 1 */
    assert(seen[0] == ((1u << 4) | (1u << 5) | (1u << 6)));
    memset(seen, 0, sizeof seen);
    n = 0;
    ob_match_scan(m, "楼上漏", strlen("楼上漏"), seen, ids, 8, &n);
    assert(n == 0 && seen[0] == 0);
    ob_match_destroy(&m);
    ob_match_destroy(&m);
    assert(m == NULL);

    /* No patterns: never matches. */
    m = ob_match_new();
    rc = ob_match_compile(m);
    assert(rc == 0);
    ob_match_scan(m, "abc", 3, NULL, NULL, 0, NULL);
    ob_match_destroy(&m);

    /* Against the naive search: random patterns and texts over a small
       alphabet (ASCII, upper case, spaces, a Chinese character). */
    static const char *alpha[] = {"a", "b", "A", " ", "\t", "中", "c"};
    unsigned seed = 12345;
    for (int round = 0; round < 40; round++) {
        m = ob_match_new();
        char pats[30][24];
        int pid[30];
        for (int i = 0; i < 30; i++) {
            size_t len = 0, k = 1 + (seed = seed * 1103515245 + 12345) % 5;
            pats[i][0] = '\0';
            for (size_t j = 0; j < k; j++) {
                seed = seed * 1103515245 + 12345;
                const char *a = alpha[((seed >> 16) & 0x7fff) % 7];
                size_t al = strlen(a);
                memcpy(pats[i] + len, a, al + 1);
                len += al;
            }
            pid[i] = ob_match_add(m, pats[i], len);
        }
        rc = ob_match_compile(m);
        assert(rc == 0);
        for (int tx = 0; tx < 20; tx++) {
            char text[200];
            size_t len = 0, k = (seed = seed * 1103515245 + 12345) % 40;
            text[0] = '\0';
            for (size_t j = 0; j < k; j++) {
                seed = seed * 1103515245 + 12345;
                const char *a = alpha[((seed >> 16) & 0x7fff) % 7];
                size_t al = strlen(a);
                memcpy(text + len, a, al + 1);
                len += al;
            }
            uint64_t bits[1] = {0};
            ob_match_scan(m, text, len, bits, NULL, 0, NULL);
            for (int i = 0; i < 30; i++) {
                if (pid[i] < 0)
                    continue;
                bool got = (bits[0] >> pid[i]) & 1;
                bool want = s_test_naive(text, pats[i]);
                if (got != want)
                    printf("\n    mismatch: text '%s' pattern '%s' got %d", text, pats[i], got);
                assert(got == want);
            }
        }
        ob_match_destroy(&m);
    }

    /* Randomised differential check against the naive search: many
       patterns (several bitset words), Chinese characters sharing lead and
       continuation bytes, the full-width space, and invalid UTF-8 (lone
       lead and continuation bytes, 0xFF, a cut character). */
    static const char *zalpha[] = {"中", "丰", "文", "漏", "水", "　", "\xE3", "\x80",
                                   "\xFF", "\xE4\xB8", "\xE6", "A", "b", " ", "\n", "楼"};
    const size_t nz = sizeof zalpha / sizeof zalpha[0];
    for (int round = 0; round < 60; round++) {
        m = ob_match_new();
        enum { NP = 150 };
        static char zpats[NP][40];
        int zid[NP];
        for (int i = 0; i < NP; i++) {
            size_t len = 0, k = 1 + (seed = seed * 1103515245 + 12345) % 6;
            zpats[i][0] = '\0';
            for (size_t j = 0; j < k; j++) {
                seed = seed * 1103515245 + 12345;
                const char *a = zalpha[((seed >> 16) & 0x7fff) % nz];
                size_t al = strlen(a);
                memcpy(zpats[i] + len, a, al + 1);
                len += al;
            }
            zid[i] = ob_match_add(m, zpats[i], len);
        }
        rc = ob_match_compile(m);
        assert(rc == 0);
        size_t words = (ob_match_count(m) + 63) / 64;
        assert(words <= 3);
        for (int tx = 0; tx < 30; tx++) {
            char text[400];
            size_t len = 0, k = (seed = seed * 1103515245 + 12345) % 80;
            text[0] = '\0';
            for (size_t j = 0; j < k; j++) {
                seed = seed * 1103515245 + 12345;
                const char *a = zalpha[((seed >> 16) & 0x7fff) % nz];
                size_t al = strlen(a);
                memcpy(text + len, a, al + 1);
                len += al;
            }
            uint64_t bits[3] = {0};
            uint32_t zids[NP];
            size_t zn = 0;
            ob_match_scan(m, text, len, bits, zids, NP, &zn);
            size_t pop = 0;
            for (size_t w = 0; w < words; w++)
                pop += (size_t) __builtin_popcountll(bits[w]);
            assert(zn == pop);
            for (size_t j = 0; j < zn; j++)
                assert((bits[zids[j] >> 6] >> (zids[j] & 63)) & 1);
            for (int i = 0; i < NP; i++) {
                if (zid[i] < 0)
                    continue;
                bool got = (bits[zid[i] >> 6] >> (zid[i] & 63)) & 1;
                assert(got == s_test_naive(text, zpats[i]));
            }
        }
        ob_match_destroy(&m);
    }
    if (verbose)
        printf("\n    ");
}
