/*  ob_geo.h — areas from GeoJSON (jansson) and point-in-polygon tests.

    A routing rule can name an area as a GeoJSON file: an order with a
    point (location.lat/lon) matches when the point lies in one of the
    file's polygons. Accepted: a Polygon, a MultiPolygon, a Feature holding
    one of those, a FeatureCollection of such Features (other geometries
    such as points and lines are skipped), or a GeometryCollection.
    Coordinates are [longitude, latitude] as GeoJSON (RFC 7946) says;
    rings need not be closed; holes are honoured; a point on an edge or a
    vertex is inside. Planar geometry on degrees: fine for a city's
    districts, wrong across the antimeridian (not supported).             */
#ifndef OB_GEO_H
#define OB_GEO_H

#include "ob_common.h"

#define OB_GEO_FILE_MAX (16 * 1024 * 1024)  /* bytes in a GeoJSON file */

typedef struct ob_geo ob_geo_t;

/* Loads the polygons of the GeoJSON file at `path`; with `name` non-NULL
   only those of Features whose properties.name equals it. NULL with a
   message in err ("cannot open ...", "invalid GeoJSON at line L column C:
   ...", "no polygon ...") on failure; the message does not repeat path. */
ob_geo_t *ob_geo_load(const char *path, const char *name, char *err, size_t errlen);

/* The same from GeoJSON text in memory. */
ob_geo_t *ob_geo_parse(const char *text, size_t len, const char *name, char *err,
                       size_t errlen);

void ob_geo_destroy(ob_geo_t **self_p);

/* Number of polygons loaded (at least 1). */
size_t ob_geo_count(const ob_geo_t *self);

/* True when (lat, lon) lies in one of the polygons (edges included). */
bool ob_geo_contains(const ob_geo_t *self, double lat, double lon);

void ob_geo_test(bool verbose);

#endif
