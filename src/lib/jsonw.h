/* A fast compact JSON writer for jansson values: the same bytes as
 * json_dumps(v, JSON_COMPACT) (keys in insertion order, jansson's escaping rules), several
 * times faster, since every stored object is serialized once per write on the event loop. */
#ifndef KC_LIB_JSONW_H
#define KC_LIB_JSONW_H
#include "lib/buf.h"
#include <jansson.h>

/* Appends v to b. */
void kc_json_write(kc_buf *b, const json_t *v);
/* Serializes v (malloc'd, NUL-terminated); *len gets its length. */
char *kc_json_dump(const json_t *v, size_t *len);

#endif
