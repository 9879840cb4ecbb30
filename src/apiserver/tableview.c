/* The meta.k8s.io/v1 Table view of lists, gets and watch events, for clients that ask for it
 * (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`, what kubectl sends for human output).
 * The columns and cells themselves come from table.c; this file frames them: one row per object,
 * each carrying PartialObjectMetadata (default), the full object (includeObject=Object) or
 * nothing (includeObject=None). */
#include "apiserver/tableview.h"
#include "apiserver/table.h"
#include "lib/xalloc.h"
#include <time.h>

bool kc_wants_table(const kc_req *r)
{
    return kc_req_accepts(r, "as=Table") && kc_req_accepts(r, "g=meta.k8s.io");
}

int kc_table_include(const kc_req *r)
{
    const char *v = kc_req_query(r, "includeObject");
    if (v && !strcmp(v, "Object")) return KC_INCLUDE_OBJECT;
    if (v && !strcmp(v, "None")) return KC_INCLUDE_NONE;
    return KC_INCLUDE_METADATA;
}

static void add_json(kc_buf *b, json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    kc_buf_adds(b, s);
    free(s);
}

void kc_table_add_row(kc_buf *b, const kc_obj *o, int include)
{
    json_t *doc = kc_obj_parse(o);
    json_t *cells = kc_table_cells(o->res, doc, time(NULL));
    kc_buf_adds(b, "{\"cells\":");
    add_json(b, cells);
    json_decref(cells);
    if (include == KC_INCLUDE_OBJECT) {
        kc_buf_adds(b, ",\"object\":");
        kc_buf_add(b, o->json, o->len);
    } else if (include == KC_INCLUDE_METADATA) {
        kc_buf_adds(b, ",\"object\":{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":");
        add_json(b, json_object_get(doc, "metadata"));
        kc_buf_adds(b, "}");
    }
    kc_buf_adds(b, "}");
    json_decref(doc);
}

void kc_table_open(kc_buf *b, int res, const char *rv)
{
    kc_buf_addf(b, "{\"kind\":\"Table\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":{\"resourceVersion\":\"%s\"}",
                rv);
    kc_table_rows_start(b, res);
}

void kc_table_rows_start(kc_buf *b, int res)
{
    kc_buf_adds(b, ",\"columnDefinitions\":");
    json_t *cols = kc_table_columns(res);
    add_json(b, cols);
    json_decref(cols);
    kc_buf_adds(b, ",\"rows\":[");
}

char *kc_table_single(const kc_obj *o, int include, size_t *len)
{
    kc_buf b = KC_BUF_INIT;
    char rv[24];
    snprintf(rv, sizeof rv, "%llu", (unsigned long long)o->rev);
    kc_table_open(&b, o->res, rv);
    kc_table_add_row(&b, o, include);
    kc_buf_adds(&b, "]}");
    *len = b.len;
    return kc_buf_take(&b);
}
