/* Server-side printing: the columns and cells of a meta.k8s.io/v1 Table for each served kind, as
 * upstream's pkg/printers/internalversion/printers.go defines them (kubectl shows exactly these).
 *
 * The server always prints wide (upstream's TableConvertor passes Wide: true): every row carries
 * every column, and kubectl hides the priority-1 ones unless -o wide. So for a kind,
 * json_array_size(kc_table_cells(...)) == json_array_size(kc_table_columns(...)).
 *
 * Kinds are found by kc_resources[res].group + kind; a kind without a printer gets upstream's
 * default convertor columns (Name, "Created At"). Times are formatted relative to a caller-given
 * `now` so output is deterministic under test. */
#ifndef KC_APISERVER_TABLE_H
#define KC_APISERVER_TABLE_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The columnDefinitions array for resource index res (into kc_resources[]): each element is
 * {"name","type","format","description","priority"}. New reference; NULL if res is out of range. */
json_t *kc_table_columns(int res);

/* The cells array for one object (the parsed full object) of resource res, with ages computed
 * against now. Strings, integers and booleans exactly where upstream uses them. New reference;
 * NULL if res is out of range or obj is not an object. */
json_t *kc_table_cells(int res, json_t *obj, time_t now);

/* duration.HumanDuration of d nanoseconds ("0s", "119s", "3m10s", "70m", "7h59m", "2d1h", "2y1d",
 * "<invalid>" below -1s) into out (size n >= 16). Returns out. */
char *kc_table_human_duration(int64_t d, char *out, size_t n);

/* Parses an RFC 3339 time ("2024-01-02T03:04:05Z", optional fraction, "Z" or +hh:mm) to
 * nanoseconds since the epoch. Returns 0, or -1 when s is NULL, not RFC 3339, or outside the years
 * 1900..2261 (so differences never overflow; the zero time 0001-01-01 reads as unset). */
int kc_table_parse_time(const char *s, int64_t *ns);

#endif
