/*  ob_match.c — multi-pattern text matcher (Aho-Corasick over UTF-8 bytes).

    Patterns are normalised (ASCII lower case, white space runs to one ' ',
    trimmed) and deduplicated through a small open-addressing hash table.
    Compilation builds the trie (edges as linked lists while building),
    then packs each node's edges into one sorted array, and computes the
    failure links and the dictionary-suffix links breadth first. The root
    keeps a dense 256-entry table because most steps of a scan start there;
    other nodes search their few edges (linearly when short, by bisection
    otherwise). Memory is about 20 bytes per trie node: 10,000 Chinese
    keywords of a few characters make some 60,000 nodes, about 1 MiB.     */
#include "ob_match.h"
#include <assert.h>

typedef struct {
    uint32_t edges;  /* first edge in ebyte/etarget */
    uint32_t nedges;
    int32_t pat;     /* pattern ending here, -1 none */
    uint32_t fail;   /* longest proper suffix that is a trie node */
    uint32_t dict;   /* nearest proper suffix node with a pattern, 0 none */
} s_node_t;

struct ob_match {
    char **pats;          /* normalised patterns, by id */
    size_t npats, patcap;
    uint32_t *hash;       /* open addressing: id + 1, 0 empty */
    size_t hashcap;
    bool compiled;
    s_node_t *nodes;      /* node 0 is the root */
    size_t nnodes;
    uint8_t *ebyte;       /* edges, sorted by byte within a node */
    uint32_t *etarget;
    uint32_t root[256];   /* root transitions, 0: stay at the root */
};

static bool s_is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Normalises `in` into out (capacity cap); returns the length, or cap + 1
   when it does not fit. */
static size_t s_normalise(const char *in, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    bool space = false;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char) in[i];
        bool ws = s_is_space(c);
        if (!ws && c == 0xE3 && i + 2 < len && (unsigned char) in[i + 1] == 0x80
            && (unsigned char) in[i + 2] == 0x80) {
            ws = true;
            i += 3;
        }
        else
            i++;
        if (ws) {
            space = true;
            continue;
        }
        if (space && n > 0) {
            if (n == cap)
                return cap + 1;
            out[n++] = ' ';
        }
        space = false;
        if (n == cap)
            return cap + 1;
        out[n++] = (char) (c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    return n;
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
    free(self->nodes);
    free(self->ebyte);
    free(self->etarget);
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
    size_t n = s_normalise(pattern, len, buf, OB_MATCH_PATTERN_MAX);
    if (n == 0 || n > OB_MATCH_PATTERN_MAX || memchr(buf, '\0', n))
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

/* Child of node `st` (not the root) by byte c, 0 when none. */
static inline uint32_t s_child(const ob_match_t *self, uint32_t st, uint8_t c)
{
    const s_node_t *node = &self->nodes[st];
    const uint8_t *bytes = self->ebyte + node->edges;
    uint32_t n = node->nedges;
    if (n <= 8) {
        for (uint32_t i = 0; i < n; i++)
            if (bytes[i] == c)
                return self->etarget[node->edges + i];
        return 0;
    }
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (bytes[mid] < c)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && bytes[lo] == c ? self->etarget[node->edges + lo] : 0;
}

static inline uint32_t s_step(const ob_match_t *self, uint32_t st, uint8_t c)
{
    while (st) {
        uint32_t next = s_child(self, st, c);
        if (next)
            return next;
        st = self->nodes[st].fail;
    }
    return self->root[c];
}

/* Build-time trie: linked edge lists. */
typedef struct {
    uint32_t *head;  /* per node: first edge + 1, 0 none */
    uint32_t *next;  /* per edge: next edge + 1 */
    uint8_t *byte;   /* per edge */
    uint32_t *to;    /* per edge */
    int32_t *pat;    /* per node */
    size_t nnodes, nedges, cap;
} s_trie_t;

static void s_trie_free(s_trie_t *t)
{
    free(t->head);
    free(t->next);
    free(t->byte);
    free(t->to);
    free(t->pat);
}

static int s_trie_build(ob_match_t *self, s_trie_t *t)
{
    size_t cap = 1;
    for (size_t i = 0; i < self->npats; i++)
        cap += strlen(self->pats[i]);
    t->cap = cap;
    t->head = calloc(cap, sizeof *t->head);
    t->next = calloc(cap, sizeof *t->next);
    t->byte = calloc(cap, sizeof *t->byte);
    t->to = calloc(cap, sizeof *t->to);
    t->pat = malloc(cap * sizeof *t->pat);
    if (!t->head || !t->next || !t->byte || !t->to || !t->pat)
        return -1;
    t->pat[0] = -1;
    t->nnodes = 1;
    for (size_t id = 0; id < self->npats; id++) {
        uint32_t st = 0;
        for (const unsigned char *p = (const unsigned char *) self->pats[id]; *p; p++) {
            uint32_t e = t->head[st], found = 0;
            while (e) {
                if (t->byte[e - 1] == *p) {
                    found = t->to[e - 1];
                    break;
                }
                e = t->next[e - 1];
            }
            if (!found) {
                found = (uint32_t) t->nnodes++;
                t->pat[found] = -1;
                size_t ne = t->nedges++;
                t->byte[ne] = *p;
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

static int s_key_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

/* Builds the automaton: packed sorted edges, then failure and dictionary
   links breadth first (a node's failure target is always shallower, so it
   is final when the node is reached). */
int ob_match_compile(ob_match_t *self)
{
    assert(self);
    if (self->compiled)
        return 0;
    int rc = -1;
    s_trie_t t = {0};
    uint32_t *queue = NULL;
    if (s_trie_build(self, &t))
        goto out;
    self->nodes = calloc(t.nnodes, sizeof *self->nodes);
    self->ebyte = malloc(t.nedges ? t.nedges : 1);
    self->etarget = malloc((t.nedges ? t.nedges : 1) * sizeof *self->etarget);
    queue = malloc(t.nnodes * sizeof *queue);
    if (!self->nodes || !self->ebyte || !self->etarget || !queue)
        goto out;
    self->nnodes = t.nnodes;

    size_t at = 0;
    for (size_t st = 0; st < t.nnodes; st++) {
        s_node_t *node = &self->nodes[st];
        uint64_t keys[256];  /* a node has at most 256 edges: one per byte */
        uint32_t n = 0;
        for (uint32_t e = t.head[st]; e; e = t.next[e - 1])
            keys[n++] = (uint64_t) t.byte[e - 1] << 32 | t.to[e - 1];
        qsort(keys, n, sizeof keys[0], s_key_cmp);
        node->edges = (uint32_t) at;
        node->nedges = n;
        node->pat = t.pat[st];
        for (uint32_t i = 0; i < n; i++, at++) {
            self->ebyte[at] = (uint8_t) (keys[i] >> 32);
            self->etarget[at] = (uint32_t) keys[i];
        }
    }

    /* Depth 1: failure to the root. */
    size_t qh = 0, qt = 0;
    const s_node_t *root = &self->nodes[0];
    for (uint32_t i = 0; i < root->nedges; i++) {
        uint32_t kid = self->etarget[root->edges + i];
        self->root[self->ebyte[root->edges + i]] = kid;
        queue[qt++] = kid;
    }
    while (qh < qt) {
        uint32_t u = queue[qh++];
        const s_node_t *node = &self->nodes[u];
        for (uint32_t i = 0; i < node->nedges; i++) {
            uint8_t c = self->ebyte[node->edges + i];
            uint32_t v = self->etarget[node->edges + i];
            uint32_t f = s_step(self, self->nodes[u].fail, c);
            self->nodes[v].fail = f;
            self->nodes[v].dict = self->nodes[f].pat >= 0 ? f : self->nodes[f].dict;
            queue[qt++] = v;
        }
    }
    self->compiled = true;
    rc = 0;
out:
    s_trie_free(&t);
    free(queue);
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
    const unsigned char *p = (const unsigned char *) text;
    uint32_t st = 0;
    bool space = false;
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        bool ws = s_is_space(c);
        if (!ws && c == 0xE3 && i + 2 < len && p[i + 1] == 0x80 && p[i + 2] == 0x80) {
            ws = true;
            i += 3;
        }
        else
            i++;
        if (ws) {
            if (space)
                continue;
            space = true;
            c = ' ';
        }
        else {
            space = false;
            if (c >= 'A' && c <= 'Z')
                c = (unsigned char) (c + 32);
        }
        st = s_step(self, st, c);
        uint32_t s = self->nodes[st].pat >= 0 ? st : self->nodes[st].dict;
        for (; s; s = self->nodes[s].dict) {
            uint32_t id = (uint32_t) self->nodes[s].pat;
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
    size_t lt = s_normalise(text, strlen(text), nt, sizeof nt - 1);
    size_t lp = s_normalise(pat, strlen(pat), np, OB_MATCH_PATTERN_MAX);
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
    assert(ob_match_add(m, "he", 2) == 0);
    assert(ob_match_add(m, "she", 3) == 1);
    assert(ob_match_add(m, "his", 3) == 2);
    assert(ob_match_add(m, "hers", 4) == 3);
    assert(ob_match_add(m, "  HE ", 5) == 0);          /* normalised duplicate */
    assert(ob_match_add(m, "   ", 3) == -1);           /* empty after trimming */
    assert(ob_match_add(m, "漏水", strlen("漏水")) == 4);
    assert(ob_match_add(m, "楼上　漏水", strlen("楼上　漏水")) == 5);  /* U+3000 */
    assert(ob_match_add(m, "Street  Light", 13) == 6);
    assert(strcmp(ob_match_pattern(m, 5), "楼上 漏水") == 0);
    assert(strcmp(ob_match_pattern(m, 6), "street light") == 0);
    assert(ob_match_pattern(m, 7) == NULL);
    assert(ob_match_count(m) == 7);
    assert(ob_match_compile(m) == 0);
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
    assert(ob_match_compile(m) == 0);
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
        assert(ob_match_compile(m) == 0);
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
    if (verbose)
        printf("\n    ");
}
