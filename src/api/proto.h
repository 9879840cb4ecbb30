/* Kubernetes protobuf request bodies -> the JSON document the JSON path would have received.
 *
 * kubectl 1.32's generator commands (`create configmap|secret|namespace|deployment|service|
 * serviceaccount|job|...`, `autoscale`) POST `Content-Type: application/vnd.kubernetes.protobuf`:
 * the 4 magic bytes "k8s\0", then a runtime.Unknown message {1: TypeMeta{1: apiVersion, 2: kind},
 * 2: raw (the object, per k8s.io/api generated.proto), 3: contentEncoding, 4: contentType}.
 *
 *     kc_err err = KC_ERR_INIT;
 *     json_t *obj = kc_proto_decode_body(body, len, &err);   // owned; NULL + err (400) on failure
 *     ...then exactly as for a JSON body: kc_schema_decode(type, obj, mode, warnings, &err), ...
 *
 * The result is what Go's encoding/json would print for the decoded Go object, i.e. what an
 * older kubectl sent as JSON for the same command: fields in declaration order with "kind" and
 * "apiVersion" first, omitempty fields left out when empty, other absent fields as their zero
 * value ("" / 0 / false / {} for structs / null for nil slices, maps and pointers), map keys
 * sorted, bytes base64, quantities and int-or-strings as in JSON, meta/v1.Time as RFC 3339
 * (null when zero), RawExtension / FieldsV1 as the JSON they carry. kc_schema_decode removes
 * the nulls afterwards, as it does for JSON bodies.
 *
 * Field numbers come from data (api/schema/proto-fields.json -> build/gen/proto_tables.c, see
 * tools/gen_proto.py); fields the tables do not know are skipped, like Go skips unknown fields.
 * Malformed input (bad magic, truncated varint or length, wrong wire type for a known field,
 * invalid UTF-8, nesting deeper than KC_PROTO_MAX_DEPTH, unknown kind) fails with
 * KC_EBADREQUEST and a message starting "protobuf:"; reads never pass the buffer's end. */
#ifndef KC_API_PROTO_H
#define KC_API_PROTO_H
#include "api/schema.h"
#include "lib/err.h"
#include <jansson.h>
#include <stddef.h>

#define KC_PROTO_MEDIA_TYPE "application/vnd.kubernetes.protobuf"
#define KC_PROTO_MAGIC "k8s\0"
#define KC_PROTO_MAGIC_LEN 4
#define KC_PROTO_MAX_DEPTH 64 /* nested messages; real objects use about 12 */

/* Decodes a whole request body (magic + runtime.Unknown). Returns an owned JSON object with
 * "apiVersion" and "kind" from the envelope, or NULL with err set (KC_EBADREQUEST). */
json_t *kc_proto_decode_body(const char *buf, size_t len, kc_err *err);

/* Decodes one message of schema type t (no magic, no envelope), e.g. the raw bytes of a
 * runtime.Unknown. Returns an owned JSON object (without apiVersion/kind unless the caller adds
 * them), or NULL with err set: KC_EBADREQUEST for malformed input or a type without a
 * protobuf table. */
json_t *kc_proto_decode_object(const kc_type *t, const void *raw, size_t len, kc_err *err);

/* Nonzero when t has a protobuf field table (types of k8s-api-types.json whose message is in
 * api/schema/proto-fields.json). */
int kc_proto_supports(const kc_type *t);

#endif
