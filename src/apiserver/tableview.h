/* Table framing of API answers (tableview.c). */
#ifndef KC_APISERVER_TABLEVIEW_H
#define KC_APISERVER_TABLEVIEW_H
#include "apiserver/apiserver.h"

#define KC_TABLE_CTYPE "application/json;as=Table;v=v1;g=meta.k8s.io"
enum { KC_INCLUDE_METADATA, KC_INCLUDE_OBJECT, KC_INCLUDE_NONE };

bool kc_wants_table(const kc_req *r);
int kc_table_include(const kc_req *r);
/* Starts a Table document up to and including `"rows":[`. */
void kc_table_open(kc_buf *b, int res, const char *rv);
/* Appends `,"columnDefinitions":[...],"rows":[` after a Table's metadata. */
void kc_table_rows_start(kc_buf *b, int res);
/* Appends one row (no separator). */
void kc_table_add_row(kc_buf *b, const kc_obj *o, int include);
/* A one-row Table (get, watch events); malloc'd. */
char *kc_table_single(const kc_obj *o, int include, size_t *len);

#endif
