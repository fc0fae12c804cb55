/*  ob_geo.c — areas from GeoJSON (jansson) and point-in-polygon tests.

    Each polygon keeps its rings (outer ring first, then holes) as flat
    arrays of (lon, lat) and a bounding box. A point is inside a polygon
    when it lies on an edge of any ring, or when a ray from it crosses the
    rings an odd number of times (even-odd rule: a point in a hole crosses
    the outer ring and the hole's ring, an even count).                   */
#include "ob_geo.h"
#include <assert.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <sys/stat.h>
#include "ob_selftest.h"   /* last: asserts on in the self-test, also with -DNDEBUG */

#define S_MAX_POINTS 2000000  /* vertices in one file */
#define S_MAX_DEPTH  8        /* GeometryCollection / Feature nesting */

typedef struct {
    double *xy;     /* lon, lat pairs */
    size_t npts;
} s_ring_t;

typedef struct {
    s_ring_t *rings;  /* [0] outer, then holes */
    size_t nrings;
    double minx, miny, maxx, maxy;
} s_poly_t;

struct ob_geo {
    s_poly_t *polys;
    size_t npolys, cap;
    size_t npoints;  /* vertices loaded, against S_MAX_POINTS */
};

static int s_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int s_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void ob_geo_destroy(ob_geo_t **self_p)
{
    assert(self_p);
    ob_geo_t *self = *self_p;
    if (!self)
        return;
    for (size_t p = 0; p < self->npolys; p++) {
        for (size_t r = 0; r < self->polys[p].nrings; r++)
            free(self->polys[p].rings[r].xy);
        free(self->polys[p].rings);
    }
    free(self->polys);
    free(self);
    *self_p = NULL;
}

/* One ring: an array of at least 3 [lon, lat] positions. */
static int s_ring(ob_geo_t *self, json_t *arr, s_ring_t *ring, char *err, size_t errlen)
{
    if (!json_is_array(arr))
        return s_err(err, errlen, "invalid GeoJSON: a ring must be an array of positions");
    size_t n = json_array_size(arr);
    if (n < 3)
        return s_err(err, errlen, "invalid GeoJSON: a ring needs at least 3 positions");
    if (self->npoints + n > S_MAX_POINTS)
        return s_err(err, errlen, "GeoJSON has more than %d positions", S_MAX_POINTS);
    self->npoints += n;
    ring->xy = malloc(2 * n * sizeof *ring->xy);
    if (!ring->xy)
        return s_err(err, errlen, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *pos = json_array_get(arr, i);
        json_t *x = json_array_get(pos, 0), *y = json_array_get(pos, 1);
        if (!json_is_array(pos) || !json_is_number(x) || !json_is_number(y))
            return s_err(err, errlen, "invalid GeoJSON: a position must be [longitude, latitude]");
        double lon = json_number_value(x), lat = json_number_value(y);
        if (!(lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90))
            return s_err(err, errlen, "invalid GeoJSON: a position is out of range "
                                      "(longitude first, then latitude)");
        ring->xy[2 * ring->npts] = lon;
        ring->xy[2 * ring->npts + 1] = lat;
        ring->npts++;
    }
    /* A closed ring repeats its first position: drop the repeat. */
    if (ring->npts > 3 && ring->xy[0] == ring->xy[2 * ring->npts - 2]
        && ring->xy[1] == ring->xy[2 * ring->npts - 1])
        ring->npts--;
    return 0;
}

/* One Polygon's coordinates: an array of rings. */
static int s_polygon(ob_geo_t *self, json_t *coords, char *err, size_t errlen)
{
    if (!json_is_array(coords) || json_array_size(coords) == 0)
        return s_err(err, errlen, "invalid GeoJSON: a polygon must be a non-empty array of rings");
    if (self->npolys == self->cap) {
        size_t cap = self->cap ? 2 * self->cap : 4;
        s_poly_t *polys = realloc(self->polys, cap * sizeof *polys);
        if (!polys)
            return s_err(err, errlen, "out of memory");
        self->polys = polys;
        self->cap = cap;
    }
    s_poly_t *poly = &self->polys[self->npolys++];
    memset(poly, 0, sizeof *poly);
    size_t n = json_array_size(coords);
    poly->rings = calloc(n, sizeof *poly->rings);
    if (!poly->rings)
        return s_err(err, errlen, "out of memory");
    for (size_t r = 0; r < n; r++) {
        poly->nrings++;
        if (s_ring(self, json_array_get(coords, r), &poly->rings[r], err, errlen))
            return -1;
    }
    const s_ring_t *outer = &poly->rings[0];
    poly->minx = poly->maxx = outer->xy[0];
    poly->miny = poly->maxy = outer->xy[1];
    for (size_t i = 1; i < outer->npts; i++) {
        poly->minx = fmin(poly->minx, outer->xy[2 * i]);
        poly->maxx = fmax(poly->maxx, outer->xy[2 * i]);
        poly->miny = fmin(poly->miny, outer->xy[2 * i + 1]);
        poly->maxy = fmax(poly->maxy, outer->xy[2 * i + 1]);
    }
    return 0;
}

/* A GeoJSON object of any accepted type; `name` filters Features. */
static int s_object(ob_geo_t *self, json_t *obj, const char *name, int depth, char *err,
                    size_t errlen)
{
    if (depth > S_MAX_DEPTH)
        return s_err(err, errlen, "invalid GeoJSON: nested deeper than %d", S_MAX_DEPTH);
    const char *type = json_string_value(json_object_get(obj, "type"));
    if (!json_is_object(obj) || !type)
        return s_err(err, errlen, "invalid GeoJSON: an object without a 'type'");
    if (strcmp(type, "FeatureCollection") == 0) {
        json_t *features = json_object_get(obj, "features");
        if (!json_is_array(features))
            return s_err(err, errlen, "invalid GeoJSON: 'features' must be an array");
        for (size_t i = 0; i < json_array_size(features); i++)
            if (s_object(self, json_array_get(features, i), name, depth + 1, err, errlen))
                return -1;
        return 0;
    }
    if (strcmp(type, "Feature") == 0) {
        if (name) {
            json_t *props = json_object_get(obj, "properties");
            const char *fname = json_string_value(json_object_get(props, "name"));
            if (!fname || strcmp(fname, name) != 0)
                return 0;
        }
        json_t *geom = json_object_get(obj, "geometry");
        if (!geom || json_is_null(geom))
            return 0;
        return s_object(self, geom, NULL, depth + 1, err, errlen);
    }
    if (name)
        return 0;  /* bare geometries have no name */
    if (strcmp(type, "GeometryCollection") == 0) {
        json_t *geoms = json_object_get(obj, "geometries");
        if (!json_is_array(geoms))
            return s_err(err, errlen, "invalid GeoJSON: 'geometries' must be an array");
        for (size_t i = 0; i < json_array_size(geoms); i++)
            if (s_object(self, json_array_get(geoms, i), NULL, depth + 1, err, errlen))
                return -1;
        return 0;
    }
    json_t *coords = json_object_get(obj, "coordinates");
    if (strcmp(type, "Polygon") == 0)
        return s_polygon(self, coords, err, errlen);
    if (strcmp(type, "MultiPolygon") == 0) {
        if (!json_is_array(coords))
            return s_err(err, errlen, "invalid GeoJSON: MultiPolygon coordinates must be an array");
        for (size_t i = 0; i < json_array_size(coords); i++)
            if (s_polygon(self, json_array_get(coords, i), err, errlen))
                return -1;
        return 0;
    }
    return 0;  /* Point, LineString, ...: no area */
}

ob_geo_t *ob_geo_parse(const char *text, size_t len, const char *name, char *err,
                       size_t errlen)
{
    assert(text || len == 0);
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        s_err(err, errlen, "invalid GeoJSON at line %d column %d: %s", jerr.line, jerr.column,
              jerr.text);
        return NULL;
    }
    ob_geo_t *self = calloc(1, sizeof *self);
    if (!self)
        s_err(err, errlen, "out of memory");
    else if (s_object(self, doc, name, 0, err, errlen))
        ob_geo_destroy(&self);
    else if (self->npolys == 0) {
        if (name)
            s_err(err, errlen, "no polygon in a feature named '%s'", name);
        else
            s_err(err, errlen, "no polygon in the GeoJSON");
        ob_geo_destroy(&self);
    }
    json_decref(doc);
    return self;
}

ob_geo_t *ob_geo_load(const char *path, const char *name, char *err, size_t errlen)
{
    assert(path);
    ob_geo_t *self = NULL;
    char *buf = NULL;
    struct stat pre;
    if (stat(path, &pre) == 0 && !S_ISREG(pre.st_mode)) {  /* never block on a FIFO */
        s_err(err, errlen, "GeoJSON file is not a regular file");
        return NULL;
    }
    FILE *file = fopen(path, "rb");
    if (!file) {
        s_err(err, errlen, "cannot open GeoJSON file: %s", strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(file), &st) != 0 || !S_ISREG(st.st_mode)) {
        s_err(err, errlen, "GeoJSON file is not a regular file");
        goto out;
    }
    if (st.st_size > OB_GEO_FILE_MAX) {
        s_err(err, errlen, "GeoJSON file larger than %d MiB", OB_GEO_FILE_MAX / (1024 * 1024));
        goto out;
    }
    size_t size = (size_t) st.st_size;
    buf = malloc(size + 1);
    if (!buf) {
        s_err(err, errlen, "out of memory");
        goto out;
    }
    size_t got = fread(buf, 1, size + 1, file);
    if (got != size) {
        s_err(err, errlen, "cannot read GeoJSON file");
        goto out;
    }
    self = ob_geo_parse(buf, size, name, err, errlen);
out:
    free(buf);
    fclose(file);
    return self;
}

size_t ob_geo_count(const ob_geo_t *self)
{
    assert(self);
    return self->npolys;
}

/* On segment (ax,ay)-(bx,by)? Collinear within a tiny tolerance, and
   within the segment's box. */
static bool s_on_segment(double x, double y, double ax, double ay, double bx, double by)
{
    double cross = (bx - ax) * (y - ay) - (by - ay) * (x - ax);
    double scale = fabs(bx - ax) + fabs(by - ay);
    if (fabs(cross) > 1e-12 * (scale > 1 ? scale : 1))
        return false;
    return x >= fmin(ax, bx) - 1e-12 && x <= fmax(ax, bx) + 1e-12
           && y >= fmin(ay, by) - 1e-12 && y <= fmax(ay, by) + 1e-12;
}

static bool s_poly_contains(const s_poly_t *poly, double x, double y)
{
    if (x < poly->minx || x > poly->maxx || y < poly->miny || y > poly->maxy)
        return false;
    bool inside = false;
    for (size_t r = 0; r < poly->nrings; r++) {
        const s_ring_t *ring = &poly->rings[r];
        for (size_t i = 0, j = ring->npts - 1; i < ring->npts; j = i++) {
            double xi = ring->xy[2 * i], yi = ring->xy[2 * i + 1];
            double xj = ring->xy[2 * j], yj = ring->xy[2 * j + 1];
            if (s_on_segment(x, y, xi, yi, xj, yj))
                return true;
            if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi)
                inside = !inside;
        }
    }
    return inside;
}

bool ob_geo_contains(const ob_geo_t *self, double lat, double lon)
{
    assert(self);
    if (!isfinite(lat) || !isfinite(lon))
        return false;
    for (size_t p = 0; p < self->npolys; p++)
        if (s_poly_contains(&self->polys[p], lon, lat))
            return true;
    return false;
}

/* --- self-test ------------------------------------------------------------ */

void ob_geo_test(bool verbose)
{
    char err[256];
    /* A square 120..121 E, 30..31 N with a hole 120.4..120.6 x 30.4..30.6,
       and a second named feature; a Point feature is skipped. */
    const char *fc =
        "{\"type\": \"FeatureCollection\", \"features\": ["
        " {\"type\": \"Feature\", \"properties\": {\"name\": \"西湖区\"},"
        "  \"geometry\": {\"type\": \"Polygon\", \"coordinates\": ["
        "   [[120,30],[121,30],[121,31],[120,31],[120,30]],"
        "   [[120.4,30.4],[120.6,30.4],[120.6,30.6],[120.4,30.6],[120.4,30.4]]]}},"
        " {\"type\": \"Feature\", \"properties\": {\"name\": \"滨江区\"},"
        "  \"geometry\": {\"type\": \"MultiPolygon\", \"coordinates\": ["
        "   [[[122,30],[123,30],[122.5,31]]]]}},"
        " {\"type\": \"Feature\", \"properties\": {\"name\": \"点\"},"
        "  \"geometry\": {\"type\": \"Point\", \"coordinates\": [120.5, 30.5]}}]}";
    ob_geo_t *geo = ob_geo_parse(fc, strlen(fc), NULL, err, sizeof err);
    if (!geo)
        printf("%s\n", err);
    assert(geo && ob_geo_count(geo) == 2);
    assert(ob_geo_contains(geo, 30.2, 120.2));      /* lat, lon */
    assert(!ob_geo_contains(geo, 120.2, 30.2));     /* swapped: outside */
    assert(!ob_geo_contains(geo, 30.5, 120.5));     /* in the hole */
    assert(ob_geo_contains(geo, 30.4, 120.5));      /* on the hole's edge */
    assert(ob_geo_contains(geo, 30.0, 120.5));      /* on the outer edge */
    assert(ob_geo_contains(geo, 31.0, 121.0));      /* on a vertex */
    assert(!ob_geo_contains(geo, 31.0001, 120.5));
    assert(ob_geo_contains(geo, 30.2, 122.5));      /* the triangle */
    assert(!ob_geo_contains(geo, 30.9, 122.1));     /* beside its apex */
    assert(!ob_geo_contains(geo, NAN, 120.5));
    ob_geo_destroy(&geo);
    ob_geo_destroy(&geo);
    assert(geo == NULL);

    /* By feature name. */
    geo = ob_geo_parse(fc, strlen(fc), "滨江区", err, sizeof err);
    assert(geo && ob_geo_count(geo) == 1);
    assert(!ob_geo_contains(geo, 30.2, 120.2) && ob_geo_contains(geo, 30.2, 122.5));
    ob_geo_destroy(&geo);
    geo = ob_geo_parse(fc, strlen(fc), "上城区", err, sizeof err);
    assert(geo == NULL);
    assert(strstr(err, "no polygon in a feature named"));

    /* A bare, unclosed polygon; a concave one. */
    const char *concave = "{\"type\": \"Polygon\", \"coordinates\": "
                          "[[[0,0],[4,0],[4,4],[2,1],[0,4]]]}";
    geo = ob_geo_parse(concave, strlen(concave), NULL, err, sizeof err);
    assert(geo);
    assert(ob_geo_contains(geo, 0.5, 2));
    assert(!ob_geo_contains(geo, 3, 2));            /* in the notch */
    assert(ob_geo_contains(geo, 3, 3.5));
    ob_geo_destroy(&geo);

    /* Bad input: messages, never a crash. */
    static const char *bad[][2] = {
        {"{\"type\": \"Polygon\"", "invalid GeoJSON at line"},
        {"[]", "without a 'type'"},
        {"{\"type\": \"Polygon\", \"coordinates\": [[[0,0],[1,1]]]}", "at least 3"},
        {"{\"type\": \"Polygon\", \"coordinates\": [[[0,0],[1,\"a\"],[2,2]]]}", "[longitude"},
        {"{\"type\": \"Polygon\", \"coordinates\": [[[0,0],[1,95],[2,2]]]}", "out of range"},
        {"{\"type\": \"Polygon\", \"coordinates\": []}", "non-empty array"},
        {"{\"type\": \"Point\", \"coordinates\": [1, 2]}", "no polygon"},
        {"{\"type\": \"FeatureCollection\", \"features\": {}}", "'features' must be"},
        {"{\"type\": \"Polygon\", \"type\": \"Point\"}", "invalid GeoJSON at line"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        geo = ob_geo_parse(bad[i][0], strlen(bad[i][0]), NULL, err, sizeof err);
        if (geo || !strstr(err, bad[i][1]))
            printf("\n    UNEXPECTED for %s: %s", bad[i][0], err);
        assert(!geo && strstr(err, bad[i][1]));
        if (verbose)
            printf("\n    %s", err);
    }
    geo = ob_geo_load("/nonexistent/x.geojson", NULL, err, sizeof err);
    assert(geo == NULL);
    assert(strstr(err, "cannot open"));
    geo = ob_geo_load("/", NULL, err, sizeof err);
    assert(geo == NULL);
    if (verbose)
        printf("\n    ");
}
