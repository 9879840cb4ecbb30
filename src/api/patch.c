/* Patches: applies JSON merge patches (RFC 7386) and JSON patches (RFC 6902, with RFC 6901
 * pointers) to jansson values, worded like evanphx/json-patch (what kube-apiserver uses), so
 * kubectl users see the errors they know.
 *
 * Owns: pointer parsing, the six JSON patch operations, and the work bounds (operation count,
 * bytes added by "copy", array elements shifted). Does not own: parsing the request body, picking
 * the patch type from Content-Type, strategic merge patch, or validating the patched object.
 *
 * Both patch kinds work on a private deep copy of the document, so the caller's value is never
 * touched and a failed patch leaves no trace: the copy is simply dropped. */
#include "api/patch.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for the inner reason of an evanphx error ("Unable to access invalid index: 7: ..."). */
#define WHY_LEN 512

/* Deep copy that keeps key lengths (jansson 2.14's json_deep_copy drops members whose key holds
 * a NUL) and aborts on OOM, the kubec allocation convention. NULL stays NULL. Recursion depth is
 * the value's depth, which jansson's parser caps at JSON_PARSER_MAX_DEPTH. */
static json_t *xcopy(json_t *v)
{
    const char *key;
    size_t klen, i;
    json_t *c, *x;

    if (json_is_object(v)) {
        c = json_object();
        json_object_keylen_foreach(v, key, klen, x)
        {
            if (json_object_setn_new_nocheck(c, key, klen, xcopy(x)) < 0) abort();
        }
    } else if (json_is_array(v)) {
        c = json_array();
        json_array_foreach(v, i, x)
        {
            if (json_array_append_new(c, xcopy(x)) < 0) abort();
        }
    } else {
        c = json_copy(v);
    }
    if (v && !c) abort();
    return c;
}

/* ---- merge patch (RFC 7386) ---- */

/* RFC 7386 MergePatch(target, patch). target is owned (NULL allowed) and is reused in place when
 * both are objects; the owned result is returned. Recursion depth is the patch's depth, which
 * jansson's parser caps at JSON_PARSER_MAX_DEPTH. */
static json_t *merge_into(json_t *target, json_t *patch)
{
    const char *key;
    size_t klen;
    json_t *val;

    if (!json_is_object(patch)) {
        json_decref(target);
        return xcopy(patch);
    }
    if (!json_is_object(target)) {
        json_decref(target);
        target = json_object();
    }
    json_object_keylen_foreach(patch, key, klen, val)
    {
        if (json_is_null(val)) {
            json_object_deln(target, key, klen);
            continue;
        }
        json_t *cur = json_incref(json_object_getn(target, key, klen));
        json_object_setn_new_nocheck(target, key, klen, merge_into(cur, val));
    }
    return target;
}

json_t *kc_patch_merge_rfc(json_t *doc, json_t *patch)
{
    if (!doc || !patch) return NULL;
    if (!json_is_object(patch)) return xcopy(patch);
    return merge_into(xcopy(doc), patch);
}

/* kube-apiserver (evanphx MergePatch) answers ErrBadJSONPatch for a patch that is not an object;
 * an array would replace the whole object and then fail to decode, so it is refused up front. */
json_t *kc_patch_merge(json_t *doc, json_t *patch, kc_err *err)
{
    if (!doc || !patch) {
        kc_errf(err, KC_EINTERNAL, "merge patch: missing document or patch");
        return NULL;
    }
    if (!json_is_object(patch)) {
        kc_errf(err, KC_EBADREQUEST, "Invalid JSON Patch");
        return NULL;
    }
    return kc_patch_merge_rfc(doc, patch);
}

/* ---- JSON pointers (RFC 6901) ---- */

/* One JSON patch application: the working document and the running costs. */
typedef struct jp {
    json_t *root;         /* the working document, owned */
    size_t copied;        /* compact-JSON bytes "copy" has added so far */
    size_t copied_values; /* JSON values "copy" has added so far */
    size_t work;          /* array elements shifted, and values visited measuring depth, so far */
    size_t depth;         /* upper bound on the working document's nesting, <= KC_PATCH_MAX_DEPTH */
    kc_err *err;
} jp;

/* A resolved pointer: the container holding the target, and the target's decoded name in it.
 * The target itself may not exist (add creates it). */
typedef struct ptr {
    json_t *parent; /* borrowed; NULL when the pointer is "" (the whole document) */
    char *key;      /* decoded last reference token, NUL-terminated, owned */
    size_t klen;
    size_t ntok; /* reference tokens in the pointer: the nesting level the target sits under */
} ptr;

/* Decodes one reference token: ~1 is '/', ~0 is '~', any other '~' is invalid (RFC 6901 §3). */
static int token_decode(const char *s, size_t n, char *out, size_t *outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '~') {
            out[o++] = s[i];
            continue;
        }
        if (i + 1 == n || (s[i + 1] != '0' && s[i + 1] != '1')) return -1;
        out[o++] = s[++i] == '0' ? '~' : '/';
    }
    out[o] = 0;
    *outlen = o;
    return 0;
}

/* Parses an array index: "0" or digits without a leading zero, no sign, no overflow. */
static int index_parse(const char *s, size_t n, size_t *idx)
{
    size_t v = 0;
    if (n == 0 || (n > 1 && s[0] == '0')) return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (SIZE_MAX - 9) / 10) return -1;
        v = v * 10 + (size_t)(s[i] - '0');
    }
    *idx = v;
    return 0;
}

/* The existing member or element of container c named by a decoded token, borrowed, or NULL. */
static json_t *child_get(json_t *c, const char *key, size_t klen)
{
    size_t idx;
    if (json_is_object(c)) return json_object_getn(c, key, klen);
    if (json_is_array(c) && index_parse(key, klen, &idx) == 0) return json_array_get(c, idx);
    return NULL;
}

static int is_container(json_t *v)
{
    return json_is_object(v) || json_is_array(v);
}

/* Walks every token but the last (evanphx findObject): each must name an existing object or
 * array. Returns 0 with p filled (p->parent NULL for ""), or -1 when the pointer is malformed or
 * its parent is missing. p->key is always allocated; release with ptr_release. */
static int ptr_resolve(json_t *root, const char *path, size_t plen, ptr *p)
{
    const char *end = path + plen, *s = path;
    json_t *cur = root;

    p->parent = NULL;
    p->klen = 0;
    p->ntok = 0;
    p->key = malloc(plen + 1);
    if (!p->key) abort();
    p->key[0] = 0;
    if (plen == 0) return 0;
    if (*s != '/') return -1;
    for (;;) {
        const char *tok = s + 1, *slash = memchr(tok, '/', (size_t)(end - tok));
        if (token_decode(tok, (size_t)((slash ? slash : end) - tok), p->key, &p->klen) < 0) return -1;
        p->ntok++;
        if (!slash) break;
        cur = child_get(cur, p->key, p->klen);
        s = slash;
    }
    if (!is_container(cur)) return -1;
    p->parent = cur;
    return 0;
}

static void ptr_release(ptr *p)
{
    free(p->key);
    p->key = NULL;
}

static int ptr_is_dash(const ptr *p)
{
    return p->klen == 1 && p->key[0] == '-';
}

/* The array index p names; end_ok admits index == size (add). On failure writes evanphx's
 * reason to why. */
static int ptr_slot(const ptr *p, int end_ok, size_t *idx, char *why)
{
    size_t size = json_array_size(p->parent);
    if (index_parse(p->key, p->klen, idx) < 0) {
        snprintf(why, WHY_LEN, "strconv.Atoi: parsing \"%s\": invalid syntax", p->key);
        return -1;
    }
    if (*idx > size || (*idx == size && !end_ok)) {
        snprintf(why, WHY_LEN, "Unable to access invalid index: %zu: invalid index referenced", *idx);
        return -1;
    }
    return 0;
}

/* The existing value p names (p->parent non-NULL), borrowed, or NULL with the reason in why. */
static json_t *ptr_get(const ptr *p, char *why)
{
    size_t idx;
    if (json_is_object(p->parent)) {
        json_t *v = json_object_getn(p->parent, p->key, p->klen);
        if (!v) snprintf(why, WHY_LEN, "unable to get nonexistent key: %s: missing value", p->key);
        return v;
    }
    return ptr_slot(p, 0, &idx, why) < 0 ? NULL : json_array_get(p->parent, idx);
}

/* Adds val (owned, consumed even on failure) at p: sets an object member, or inserts into an
 * array at an index <= size or at "-" (the end). Charges the shifted elements to c->work. */
static int ptr_add(jp *c, const ptr *p, json_t *val, char *why)
{
    size_t size = json_array_size(p->parent), idx = size;

    if (json_is_object(p->parent)) return json_object_setn_new_nocheck(p->parent, p->key, p->klen, val);
    if (!ptr_is_dash(p) && index_parse(p->key, p->klen, &idx) < 0) {
        snprintf(why, WHY_LEN,
                 "value was not a proper array index: '%s': strconv.Atoi: parsing \"%s\": invalid syntax",
                 p->key, p->key);
        json_decref(val);
        return -1;
    }
    if (!ptr_is_dash(p) && ptr_slot(p, 1, &idx, why) < 0) {
        json_decref(val);
        return -1;
    }
    c->work += size - idx + 1;
    return json_array_insert_new(p->parent, idx, val);
}

/* Detaches the value p names and returns it (owned), or NULL with evanphx's reason in why. */
static json_t *ptr_take(jp *c, const ptr *p, char *why)
{
    size_t idx;
    json_t *v;

    if (json_is_object(p->parent)) {
        v = json_incref(json_object_getn(p->parent, p->key, p->klen));
        if (!v)
            snprintf(why, WHY_LEN, "unable to remove nonexistent key: %s: missing value", p->key);
        else
            json_object_deln(p->parent, p->key, p->klen);
        return v;
    }
    if (ptr_slot(p, 0, &idx, why) < 0) return NULL;
    v = json_incref(json_array_get(p->parent, idx));
    c->work += json_array_size(p->parent) - idx;
    json_array_remove(p->parent, idx);
    return v;
}

/* Replaces the value at p, which the caller has checked exists, with val (owned). */
static void ptr_set(const ptr *p, json_t *val)
{
    size_t idx = 0;
    if (json_is_object(p->parent)) {
        json_object_setn_new_nocheck(p->parent, p->key, p->klen, val);
        return;
    }
    index_parse(p->key, p->klen, &idx);
    json_array_set_new(p->parent, idx, val);
}

/* ---- JSON patch operations (RFC 6902 §4) ---- */

/* Container nesting of v: 0 for a scalar, 1 + its deepest member for an array or object. Adds
 * the values visited to *visits when visits is non-NULL. Recursion is as deep as v, which is at
 * most KC_PATCH_MAX_DEPTH (document) or JSON_PARSER_MAX_DEPTH (patch). */
static size_t depth_of(json_t *v, size_t *visits)
{
    size_t d = 0, i;
    const char *key;
    json_t *x;

    if (visits) ++*visits;
    if (json_is_array(v)) {
        json_array_foreach(v, i, x)
        {
            size_t dx = depth_of(x, visits);
            d = dx > d ? dx : d;
        }
    } else if (json_is_object(v)) {
        json_object_foreach(v, key, x)
        {
            size_t dx = depth_of(x, visits);
            d = dx > d ? dx : d;
        }
    } else {
        return 0;
    }
    return d + 1;
}

/* Keeps the document readable by jansson (and every recursive walk of it shallow): placing val,
 * nested at most vdepth deep, under ntok containers must stay within KC_PATCH_MAX_DEPTH.
 * c->depth is an upper bound that only grows; when the cheap bound says "too deep", val is
 * measured exactly (a move's vdepth is only a bound), charging the walk to c->work. */
static int check_depth(jp *c, size_t ntok, size_t vdepth, json_t *val)
{
    if (ntok + vdepth <= c->depth) return 0;
    if (ntok + vdepth > KC_PATCH_MAX_DEPTH) vdepth = depth_of(val, &c->work);
    if (ntok + vdepth > KC_PATCH_MAX_DEPTH)
        return kc_errf(c->err, KC_EINVALID, "the patched document would nest deeper than %d levels",
                       KC_PATCH_MAX_DEPTH);
    if (ntok + vdepth > c->depth) c->depth = ntok + vdepth;
    return 0;
}

static void set_root(jp *c, json_t *v)
{
    json_decref(c->root);
    c->root = v;
}

/* Go's name for a JSON value's type, as in "json: cannot unmarshal number into ...". */
static const char *go_type(json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_TRUE:
    case JSON_FALSE:
        return "bool";
    case JSON_NULL:
        return "null";
    default:
        return "number";
    }
}

/* The op's "path" or "from" pointer (*len set), or NULL with err filled as evanphx words it: add,
 * remove and copy say only "missing value" for a bad path; the others pass the decode error on. */
static const char *op_pointer(jp *c, json_t *op, const char *kind, const char *field, size_t *len)
{
    json_t *v = json_object_get(op, field);
    int is_path = !strcmp(field, "path");

    if (json_is_string(v)) {
        *len = json_string_length(v);
        return json_string_value(v);
    }
    if (is_path && (!strcmp(kind, "add") || !strcmp(kind, "remove") || !strcmp(kind, "copy")))
        kc_errf(c->err, KC_EINVALID, "%s operation failed to decode path: missing value", kind);
    else if (!v || json_is_null(v))
        kc_errf(c->err, KC_EINVALID, "%s operation failed to decode %s: %s: missing value", kind, field,
                is_path ? "operation missing path field" : "operation, missing from field");
    else
        kc_errf(c->err, KC_EINVALID,
                "%s operation failed to decode %s: json: cannot unmarshal %s into Go value of type string",
                kind, field, go_type(v));
    return NULL;
}

/* The op's "value", borrowed; a missing value is null, as in evanphx. */
static json_t *op_value(json_t *op)
{
    json_t *v = json_object_get(op, "value");
    return v ? v : json_null();
}

/* Places val (owned, consumed) at path for an add, move or copy: the whole document for "",
 * else ptr_add. vdepth bounds val's nesting. Errors are worded per kind as evanphx words them. */
static int put_at(jp *c, const char *kind, const char *path, size_t plen, json_t *val, size_t vdepth)
{
    char why[WHY_LEN];
    ptr p;
    int rc = 0, is_add = !strcmp(kind, "add"), is_move = !strcmp(kind, "move");

    if (ptr_resolve(c->root, path, plen, &p) < 0) {
        if (is_add)
            rc = kc_errf(c->err, KC_EINVALID,
                         "add operation does not apply: doc is missing path: \"%s\": missing value", path);
        else
            rc = kc_errf(c->err, KC_EINVALID,
                         "%s operation does not apply: doc is missing destination path: %s: missing value",
                         kind, path);
    } else if (check_depth(c, p.ntok, vdepth, val) < 0) {
        rc = -1;
    } else if (!p.parent) {
        set_root(c, json_incref(val));
    } else if (ptr_add(c, &p, json_incref(val), why) < 0) {
        if (is_add || is_move)
            rc = kc_errf(c->err, KC_EINVALID, "error in %s for path: '%s': %s", kind, path, why);
        else
            rc = kc_errf(c->err, KC_EINVALID, "error while adding value during copy: %s", why);
    }
    json_decref(val);
    ptr_release(&p);
    return rc;
}

static int op_add(jp *c, json_t *op)
{
    size_t plen;
    const char *path = op_pointer(c, op, "add", "path", &plen);
    json_t *val = op_value(op);

    if (!path) return -1;
    return put_at(c, "add", path, plen, xcopy(val), depth_of(val, NULL));
}

static int op_remove(jp *c, json_t *op)
{
    char why[WHY_LEN];
    size_t plen;
    const char *path = op_pointer(c, op, "remove", "path", &plen);
    ptr p;
    json_t *v;
    int rc = 0;

    if (!path) return -1;
    if (ptr_resolve(c->root, path, plen, &p) < 0 || !p.parent)
        rc = kc_errf(c->err, KC_EINVALID,
                     "remove operation does not apply: doc is missing path: \"%s\": missing value", path);
    else if (!(v = ptr_take(c, &p, why)))
        rc = kc_errf(c->err, KC_EINVALID, "error in remove for path: '%s': %s", path, why);
    else
        json_decref(v);
    ptr_release(&p);
    return rc;
}

static int op_replace(jp *c, json_t *op)
{
    char why[WHY_LEN];
    size_t plen;
    const char *path = op_pointer(c, op, "replace", "path", &plen);
    ptr p;
    int rc = 0;

    if (!path) return -1;
    if (ptr_resolve(c->root, path, plen, &p) < 0)
        rc = kc_errf(c->err, KC_EINVALID,
                     "replace operation does not apply: doc is missing path: %s: missing value", path);
    else if (p.parent && !ptr_get(&p, why))
        rc = kc_errf(c->err, KC_EINVALID,
                     "replace operation does not apply: doc is missing key: %s: missing value", path);
    else if (check_depth(c, p.ntok, depth_of(op_value(op), NULL), op_value(op)) < 0)
        rc = -1;
    else if (!p.parent)
        set_root(c, xcopy(op_value(op)));
    else
        ptr_set(&p, xcopy(op_value(op)));
    ptr_release(&p);
    return rc;
}

/* Whether pointer a is a proper prefix of pointer b ("/a" of "/a/b", "" of "/x"). Raw comparison
 * is exact: an encoded token never contains a bare '/'. */
static int ptr_is_proper_prefix(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen < blen && !memcmp(a, b, alen) && b[alen] == '/';
}

/* Removal then add, as RFC 6902 §4.4 defines move. Moving a value into itself is refused; moving
 * it onto itself is a no-op once "from" is known to exist. */
static int op_move(jp *c, json_t *op)
{
    char why[WHY_LEN];
    size_t flen, plen = 0;
    const char *from = op_pointer(c, op, "move", "from", &flen), *path = NULL;
    ptr f;
    json_t *v = NULL;
    int rc = 0;
    size_t vdepth;

    if (!from) return -1;
    if (ptr_resolve(c->root, from, flen, &f) < 0)
        rc = kc_errf(c->err, KC_EINVALID,
                     "move operation does not apply: doc is missing from path: %s: missing value", from);
    else if (f.parent && !ptr_get(&f, why))
        rc = kc_errf(c->err, KC_EINVALID, "error in move for path: '%s': %s", f.key, why);
    else if (!(path = op_pointer(c, op, "move", "path", &plen)))
        rc = -1;
    else if (ptr_is_proper_prefix(from, flen, path, plen))
        rc = kc_errf(c->err, KC_EINVALID,
                     "move operation does not apply: doc is missing destination path: %s: missing value",
                     path);
    else if (!(flen == plen && !memcmp(from, path, flen)))
        v = f.parent ? ptr_take(c, &f, why) : json_incref(c->root);
    /* v sat under f.ntok containers, so it nests at most c->depth - f.ntok deep */
    vdepth = c->depth > f.ntok ? c->depth - f.ntok : 0;
    ptr_release(&f);
    if (rc < 0 || !v) return rc;
    return put_at(c, "move", path, plen, v, vdepth);
}

/* Number of JSON values in v; counting stops soon after it passes limit. */
static size_t count_values(json_t *v, size_t limit)
{
    size_t n = 1, i;
    const char *key;
    json_t *x;

    if (json_is_array(v)) {
        json_array_foreach(v, i, x)
        {
            if (n > limit) break;
            n += count_values(x, limit - n);
        }
    } else if (json_is_object(v)) {
        json_object_foreach(v, key, x)
        {
            if (n > limit) break;
            n += count_values(x, limit - n);
        }
    }
    return n;
}

/* Charges v to the copy budgets: its compact size (evanphx AccumulatedCopySizeLimit, as
 * kube-apiserver sets it), then its value count, which bounds memory (see KC_PATCH_MAX_COPY_VALUES). */
static int charge_copy(jp *c, json_t *v)
{
    c->copied += json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
    if (c->copied > KC_PATCH_MAX_COPY_BYTES)
        return kc_errf(c->err, KC_EINVALID,
                       "Unable to complete the copy, the accumulated size increase of copy is %zu, exceeding "
                       "the limit %d",
                       c->copied, KC_PATCH_MAX_COPY_BYTES);
    c->copied_values += count_values(v, KC_PATCH_MAX_COPY_VALUES - c->copied_values);
    if (c->copied_values > KC_PATCH_MAX_COPY_VALUES)
        return kc_errf(
            c->err, KC_EINVALID,
            "Unable to complete the copy, the accumulated number of copied values exceeds the limit %d",
            KC_PATCH_MAX_COPY_VALUES);
    return 0;
}

static int op_copy(jp *c, json_t *op)
{
    char why[WHY_LEN];
    size_t flen, plen = 0;
    const char *from = op_pointer(c, op, "copy", "from", &flen), *path = NULL;
    ptr f;
    json_t *v = NULL;
    int rc = 0;

    if (!from) return -1;
    if (ptr_resolve(c->root, from, flen, &f) < 0)
        rc = kc_errf(c->err, KC_EINVALID,
                     "copy operation does not apply: doc is missing from path: %s: missing value", from);
    else if (!(v = f.parent ? ptr_get(&f, why) : c->root))
        rc = kc_errf(c->err, KC_EINVALID, "error in copy for from: '%s': %s", from, why);
    else if (!(path = op_pointer(c, op, "copy", "path", &plen)))
        rc = -1;
    else if (charge_copy(c, v) < 0)
        rc = -1;
    ptr_release(&f);
    if (rc < 0) return rc;
    return put_at(c, "copy", path, plen, xcopy(v), depth_of(v, NULL));
}

/* Kubernetes quirk kept: an absent object member equals an expected null (evanphx reads both as
 * a nil node), so {"op":"test","path":"/x","value":null} passes when /x is absent. */
static int op_test(jp *c, json_t *op)
{
    char why[WHY_LEN];
    size_t plen, idx;
    const char *path = op_pointer(c, op, "test", "path", &plen);
    ptr p;
    json_t *v = NULL, *want = op_value(op);
    int rc = 0;

    if (!path) return -1;
    if (ptr_resolve(c->root, path, plen, &p) < 0)
        rc = kc_errf(c->err, KC_EINVALID, "test operation does not apply: is missing path: %s: missing value",
                     path);
    else if (!p.parent)
        v = c->root;
    else if (json_is_object(p.parent))
        v = json_object_getn(p.parent, p.key, p.klen);
    else if (ptr_slot(&p, 0, &idx, why) < 0)
        rc = kc_errf(c->err, KC_EINVALID, "error in test for path: '%s': %s", path, why);
    else
        v = json_array_get(p.parent, idx);
    ptr_release(&p);
    if (rc == 0 && !(v ? json_equal(v, want) : json_is_null(want)))
        rc = kc_errf(c->err, KC_EINVALID, "testing value %s failed: test failed", path);
    return rc;
}

static const struct {
    const char *name;
    int (*apply)(jp *c, json_t *op);
} op_table[] = {
    {"add", op_add},   {"remove", op_remove}, {"replace", op_replace},
    {"move", op_move}, {"copy", op_copy},     {"test", op_test},
};

/* Dispatches on "op"; anything else is evanphx's "Unexpected kind" ("unknown" when absent). */
static int apply_op(jp *c, json_t *op)
{
    json_t *kind = json_object_get(op, "op");
    const char *name = json_string_value(kind);

    for (size_t i = 0; name && i < sizeof op_table / sizeof op_table[0]; i++)
        if (json_string_length(kind) == strlen(op_table[i].name) && !strcmp(name, op_table[i].name))
            return op_table[i].apply(c, op);
    return kc_errf(c->err, KC_EINVALID, "Unexpected kind: %s", name ? name : "unknown");
}

/* The body must decode as evanphx's Patch ([]map[string]...), then pass kube-apiserver's cap. */
static int check_ops(json_t *ops, kc_err *err)
{
    size_t i;
    json_t *op;

    if (!json_is_array(ops))
        return kc_errf(err, KC_EBADREQUEST, "json: cannot unmarshal %s into Go value of type jsonpatch.Patch",
                       go_type(ops));
    json_array_foreach(ops, i, op)
    {
        if (!json_is_object(op))
            return kc_errf(err, KC_EBADREQUEST,
                           "json: cannot unmarshal %s into Go value of type jsonpatch.Operation",
                           go_type(op));
    }
    if (json_array_size(ops) > KC_PATCH_MAX_OPS)
        return kc_errf(
            err, KC_ETOOLARGE,
            "Request entity too large: The allowed maximum operations in a JSON patch is %d, got %zu",
            KC_PATCH_MAX_OPS, json_array_size(ops));
    return 0;
}

json_t *kc_patch_json(json_t *doc, json_t *ops, kc_err *err)
{
    jp c = {.err = err};
    size_t i;
    json_t *op;

    if (!doc || !ops) {
        kc_errf(err, KC_EINTERNAL, "json patch: missing document or patch");
        return NULL;
    }
    if (check_ops(ops, err) < 0) return NULL;
    c.root = xcopy(doc);
    c.depth = depth_of(c.root, NULL);
    json_array_foreach(ops, i, op)
    {
        int rc = apply_op(&c, op);
        if (rc == 0 && c.work > KC_PATCH_MAX_WORK)
            rc = kc_errf(err, KC_ETOOLARGE,
                         "Request entity too large: the JSON patch shifts more than %u array elements",
                         KC_PATCH_MAX_WORK);
        if (rc < 0) {
            json_decref(c.root);
            return NULL;
        }
    }
    return c.root;
}
