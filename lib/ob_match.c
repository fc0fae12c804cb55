/*  ob_match.c — multi-pattern text matcher (Aho-Corasick over UTF-8 bytes).

    Patterns are normalised (ASCII lower case, white space runs to one ' ',
    trimmed) and deduplicated through a small open-addressing hash table.
    Compilation builds the trie (edges as linked lists while building),
    then packs the goto edges of every node into one double array
    (base/check/next: the child of node s by byte c sits in cell base[s] + c
    when that cell's check is s), so one step of a scan is two loads and a
    compare whatever the node's fan-out; nodes are placed first fit, widest
    first. Failure links and, per node, the first node of its output chain
    are computed breadth first. The root keeps a dense 256-entry table
    because most steps of a scan start or end there; failure links are
    followed on a miss (amortised under one per byte). Memory is some 16
    bytes per node plus 8 per cell: 10,000 Chinese keywords of a few
    characters make some 60,000 nodes, a few MiB.                         */
#include "ob_match.h"
#include <assert.h>

typedef struct {
    uint32_t fail;   /* longest proper suffix that is a trie node */
    uint32_t out;    /* this node if it ends a pattern, else the nearest
                        proper suffix node that does; 0 none */
    int32_t pat;     /* pattern ending here, -1 none */
} s_node_t;

typedef struct {
    uint32_t check;  /* owner node, S_FREE when unused */
    uint32_t next;   /* child node, | S_OUT when its output is not empty */
} s_cell_t;

#define S_FREE UINT32_MAX
#define S_OUT (1u << 31)   /* in a transition: the target has output */
#define S_STATE (S_OUT - 1)

struct ob_match {
    char **pats;          /* normalised patterns, by id */
    size_t npats, patcap;
    uint32_t *hash;       /* open addressing: id + 1, 0 empty */
    size_t hashcap;
    bool compiled;
    s_node_t *nodes;      /* node 0 is the root */
    uint32_t *base;       /* per node: its transitions in cells base + byte */
    size_t nnodes;
    s_cell_t *cells;      /* the double array; every base + 255 in range */
    size_t ncells;
    uint32_t root[256];   /* root transitions (| S_OUT), 0: stay at the root */
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
    free(self->base);
    free(self->cells);
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

/* Build time, over the goto function: the transition from node `st` by
   byte c, following failure links on a miss; the root's dense table ends
   the chase. */
static uint32_t s_goto_step(const ob_match_t *self, uint32_t st, uint8_t c)
{
    while (st) {
        const s_cell_t *cell = &self->cells[self->base[st] + c];
        if (cell->check == st)
            return cell->next;
        st = self->nodes[st].fail;
    }
    return self->root[c];
}

/* Scan time, over the deterministic automaton: the cells of node `st`
   hold every transition that differs from the root's. Returns the next
   node, with S_OUT set when that node's output is not empty. */
static inline uint32_t s_step(const ob_match_t *self, uint32_t st, uint8_t c)
{
    const s_cell_t *cell = &self->cells[self->base[st] + c];
    return cell->check == st ? cell->next : self->root[c];
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

/* Double-array placement state: a bitmap of used cells, grown on demand. */
typedef struct {
    uint64_t *used;
    size_t nwords;      /* bitmap words (64 cells each) */
    size_t first_free;  /* no free cell below */
} s_place_t;

/* Makes cells [0, need) exist (bitmap and cell array); 0 or -1. */
static int s_cells_reserve(ob_match_t *self, s_place_t *pl, size_t need)
{
    size_t words = (need + 63) / 64;
    if (words <= pl->nwords)
        return 0;
    size_t nw = pl->nwords ? pl->nwords : 64;
    while (nw < words)
        nw *= 2;
    uint64_t *used = realloc(pl->used, nw * sizeof *used);
    if (!used)
        return -1;
    pl->used = used;
    memset(used + pl->nwords, 0, (nw - pl->nwords) * sizeof *used);
    s_cell_t *cells = realloc(self->cells, nw * 64 * sizeof *cells);
    if (!cells)
        return -1;
    self->cells = cells;
    for (size_t i = pl->nwords * 64; i < nw * 64; i++)
        cells[i] = (s_cell_t) {S_FREE, 0};
    pl->nwords = nw;
    return 0;
}

static inline bool s_cell_used(const s_place_t *pl, size_t i)
{
    return (pl->used[i >> 6] >> (i & 63)) & 1;
}

/* Places the sorted edges bytes[0..n) of node st (n > 0): finds the lowest
   base whose cells are all free, first fit from the lowest free cell. */
static int s_place(ob_match_t *self, s_place_t *pl, uint32_t st, const uint8_t *bytes,
                   const uint32_t *targets, uint32_t n)
{
    size_t p = pl->first_free;
    if (p < bytes[0])
        p = bytes[0];
    for (;;) {
        if (s_cells_reserve(self, pl, p + 256 + 64))
            return -1;
        /* next free cell at or after p */
        uint64_t w = pl->used[p >> 6] | ((1ULL << (p & 63)) - 1);
        while (w == UINT64_MAX) {
            p = (p | 63) + 1;
            if (s_cells_reserve(self, pl, p + 256 + 64))
                return -1;
            w = pl->used[p >> 6];
        }
        p = (p & ~(size_t) 63) + (size_t) __builtin_ctzll(~w);
        size_t base = p - bytes[0];
        uint32_t i = 1;
        while (i < n && !s_cell_used(pl, base + bytes[i]))
            i++;
        if (i == n) {
            self->base[st] = (uint32_t) base;
            for (i = 0; i < n; i++) {
                size_t c = base + bytes[i];
                pl->used[c >> 6] |= 1ULL << (c & 63);
                self->cells[c] = (s_cell_t) {st, targets[i]};
            }
            if (base + 256 > self->ncells)
                self->ncells = base + 256;
            while (s_cell_used(pl, pl->first_free))
                pl->first_free++;
            return 0;
        }
        p++;
    }
}

/* Packs the rows of nodes 1 .. n-1 (row k: bytes/targets [start[k],
   start[k + 1]), sorted by byte) into a fresh double array, widest rows
   first. 0 or -1. */
static int s_pack(ob_match_t *self, size_t n, const uint32_t *start, const uint8_t *bytes,
                  const uint32_t *targets)
{
    int rc = -1;
    s_place_t pl = {0};
    uint32_t *order = malloc((n ? n : 1) * sizeof *order);
    if (!order)
        goto out;
    free(self->cells);
    self->cells = NULL;
    memset(self->base, 0, n * sizeof *self->base);
    uint32_t width[257] = {0}, pos[257];
    for (size_t st = 1; st < n; st++)
        width[start[st + 1] - start[st]]++;
    uint32_t sum = 0;
    for (int w = 256; w >= 1; w--) {
        pos[w] = sum;
        sum += width[w];
    }
    for (uint32_t st = 1; st < n; st++) {
        uint32_t w = start[st + 1] - start[st];
        if (w)
            order[pos[w]++] = st;
    }
    if (s_cells_reserve(self, &pl, 512))
        goto out;
    self->ncells = 256;
    for (uint32_t k = 0; k < sum; k++) {
        uint32_t st = order[k];
        if (s_place(self, &pl, st, bytes + start[st], targets + start[st],
                    start[st + 1] - start[st]))
            goto out;
    }
    rc = 0;
out:
    free(pl.used);
    free(order);
    return rc;
}

/* Builds the automaton: the trie, renumbered breadth first; its goto
   edges packed into the double array; failure and output links; then the
   deterministic automaton (every transition that differs from the root's,
   failure links resolved) packed in place of the goto edges. */
int ob_match_compile(ob_match_t *self)
{
    assert(self);
    if (self->compiled)
        return 0;
    int rc = -1;
    s_trie_t t = {0};
    uint32_t *queue = NULL, *estart = NULL, *dstart = NULL, *dtarget = NULL;
    uint8_t *ebyte = NULL, *dbyte = NULL;
    uint32_t *etarget = NULL;
    if (s_trie_build(self, &t))
        goto out;
    size_t ne = t.nedges ? t.nedges : 1;
    self->nodes = calloc(t.nnodes, sizeof *self->nodes);
    self->base = calloc(t.nnodes, sizeof *self->base);
    ebyte = malloc(ne);
    etarget = malloc(ne * sizeof *etarget);
    estart = malloc((t.nnodes + 1) * sizeof *estart);
    dstart = malloc((t.nnodes + 1) * sizeof *dstart);
    queue = malloc(t.nnodes * sizeof *queue);
    if (!self->nodes || !self->base || !ebyte || !etarget || !estart || !dstart || !queue)
        goto out;
    self->nnodes = t.nnodes;

    /* Nodes renumbered breadth first (the shallow nodes a scan visits
       most end up together), edges sorted by byte: node k is queue[k]. */
    size_t at = 0, qt = 1;
    bool alpha[256] = {false};
    queue[0] = 0;
    for (size_t k = 0; k < t.nnodes; k++) {
        uint32_t u = queue[k];
        uint32_t kid[256];
        bool has[256] = {false};
        uint32_t n = 0;
        for (uint32_t e = t.head[u]; e; e = t.next[e - 1]) {
            has[t.byte[e - 1]] = true;
            kid[t.byte[e - 1]] = t.to[e - 1];
            n++;
        }
        estart[k] = (uint32_t) at;
        for (int c = 0; c < 256 && n; c++)
            if (has[c]) {
                alpha[c] = true;
                ebyte[at] = (uint8_t) c;
                etarget[at++] = (uint32_t) qt;
                queue[qt++] = kid[c];
            }
        self->nodes[k].pat = t.pat[u];
    }
    estart[t.nnodes] = (uint32_t) at;
    for (uint32_t i = estart[0]; i < estart[1]; i++)
        self->root[ebyte[i]] = etarget[i];
    if (s_pack(self, t.nnodes, estart, ebyte, etarget))
        goto out;

    /* Failure and output links in node order, which is breadth first (a
       node's failure target is shallower, so final when it is needed). */
    for (uint32_t u = 0; u < t.nnodes; u++) {
        for (uint32_t i = estart[u]; i < estart[u + 1]; i++) {
            uint32_t v = etarget[i];
            uint32_t f = u ? s_goto_step(self, self->nodes[u].fail, ebyte[i]) : 0;
            self->nodes[v].fail = f;
            self->nodes[v].out = self->nodes[v].pat >= 0 ? v : self->nodes[f].out;
        }
    }

    /* The deterministic rows: only bytes of some pattern can lead away from
       the root's row (any other byte goes to the root from everywhere). */
    uint8_t abytes[256];
    int na = 0;
    for (int c = 0; c < 256; c++)
        if (alpha[c])
            abytes[na++] = (uint8_t) c;
    size_t dn = 0, dcap = at + 256;
    dbyte = malloc(dcap);
    dtarget = malloc(dcap * sizeof *dtarget);
    if (!dbyte || !dtarget)
        goto out;
    dstart[0] = 0;
    for (uint32_t s = 0; s < t.nnodes; s++) {
        dstart[s] = (uint32_t) dn;
        if (dn + 256 > dcap) {
            dcap = 2 * dcap;
            uint8_t *nb = realloc(dbyte, dcap);
            if (nb)
                dbyte = nb;
            uint32_t *nt = realloc(dtarget, dcap * sizeof *nt);
            if (nt)
                dtarget = nt;
            if (!nb || !nt)
                goto out;
        }
        for (int k = 0; s && k < na; k++) {
            uint32_t d = s_goto_step(self, s, abytes[k]);
            if (d != self->root[abytes[k]]) {
                dbyte[dn] = abytes[k];
                dtarget[dn++] = d;
            }
        }
    }
    dstart[t.nnodes] = (uint32_t) dn;
    if (s_pack(self, t.nnodes, dstart, dbyte, dtarget))
        goto out;

    /* Tag the transitions into nodes with output. */
    for (int c = 0; c < 256; c++)
        if (self->nodes[self->root[c]].out)
            self->root[c] |= S_OUT;
    for (size_t i = 0; i < self->ncells; i++)
        if (self->cells[i].check != S_FREE && self->nodes[self->cells[i].next].out)
            self->cells[i].next |= S_OUT;
    if (getenv("OB_MATCH_STATS"))
        fprintf(stderr, "match: %zu pats %zu nodes %zu rows %zu cells\n", self->npats,
                self->nnodes, dn, self->ncells);
    self->compiled = true;
    rc = 0;
out:
    s_trie_free(&t);
    free(queue);
    free(estart);
    free(ebyte);
    free(etarget);
    free(dstart);
    free(dbyte);
    free(dtarget);
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
    const s_node_t *nodes = self->nodes;
    uint32_t st = 0;
    bool space = false;
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        if (c >= 0x80 && c != 0xE3) {
            /* fast path: a byte of a non-space character beyond ASCII */
            i++;
            space = false;
        }
        else {
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
        }
        st = s_step(self, st, c);
        if (!(st & S_OUT))
            continue;
        st &= S_STATE;
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
        assert(ob_match_compile(m) == 0);
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
