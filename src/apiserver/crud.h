/* Shared pieces of the request handlers (crud.c, update.c, list.c). */
#ifndef KC_APISERVER_CRUD_H
#define KC_APISERVER_CRUD_H
#include "apiserver/apiserver.h"
#include "api/schema.h"

/* Reads the request body as a JSON document (JSON or YAML; protobuf is 415). */
int kc_body_parse(kc_req *r, bool strict_dups, json_t **out, kc_err *err);
kc_fieldval kc_field_validation(kc_req *r, kc_err *err, int *bad);
/* Checks apiVersion/kind against the resource, fills them when missing, and decodes against
 * the field schema (unknown fields, types) in the request's fieldValidation mode. */
int kc_decode_object(kc_req *r, int res, json_t *doc, const char *want_kind, const char *want_av, kc_err *err);
/* The same without defaulting (server-side apply configurations). */
int kc_decode_raw(kc_req *r, int res, json_t *doc, const char *want_kind, const char *want_av, kc_err *err);
/* The field manager of a write: ?fieldManager, else the User-Agent's product name. */
const char *kc_field_manager(kc_req *r);
int kc_create_object(kc_req *r, int res, const char *ns, json_t *doc, kc_err *err);
/* Name, labels, annotations, required fields, enums and each kind's own rules (old: the stored
 * object on update, else NULL; sub: "status" for status writes): 422 with causes. */
int kc_validate_object(int res, json_t *doc, json_t *old, const char *sub, kc_err *err);
/* Replies once the store has made the write durable (reference on r held until then). */
void kc_reply_when_durable(kc_req *r, int code);
void kc_store_done(void *ud, const kc_obj *obj);
bool kc_dry_run(kc_req *r);
uint64_t kc_parse_rv(const char *s, bool *ok);
void kc_handle_update(kc_req *r, int res, const kc_obj *cur, const char *sub);
void kc_handle_patch(kc_req *r, int res, const kc_obj *cur, const char *sub);
void kc_handle_list(kc_req *r, int res, const char *ns);
/* The list answer for the request's selectors, limit and continue (NULL on error). */
char *kc_list_body(kc_req *r, int res, const char *ns, size_t *len, kc_err *err);
/* Whether an object matches the request's label and field selectors (parsed on first use). */
bool kc_list_matches(kc_req *r, const kc_obj *o);
void kc_handle_get_scale(kc_req *r, int res, const kc_obj *cur);
/* Removes the object now or marks it deleting, honouring finalizers; used by DELETE, deletecollection
 * and namespace termination. Returns 1 when removed, 0 when marked, -1 on error. */
int kc_delete_object(kc_apiserver *s, int res, const kc_obj *cur, json_t *opts, bool dry, kc_write_done done,
                     void *ud, const kc_obj **out, kc_err *err);
/* podsub.c: pods/binding, pods/eviction, pods/log, pods/exec */
void kc_handle_pod_sub(kc_req *r, int res, const char *ns, const char *name, const char *sub);
/* wsexec.c: answer an exec WebSocket upgrade with a failure on the error channel. */
bool kc_ws_exec_fail(kc_req *r, const char *message);
int kc_finish_update(kc_req *r, int res, const kc_obj *cur, json_t *doc, const char *sub, kc_err *err);

#endif
