/* YAML request bodies: decoding `Content-Type: application/yaml` the way a Kubernetes API server does.
 *
 * Upstream reads such a body with sigs.k8s.io/yaml: go-yaml v2 unmarshals it into interface{} values
 * with YAML 1.1 typing, map keys are turned into strings, and the result is marshalled to JSON. The
 * value returned here is that JSON, as jansson would load it.
 *
 *     kc_err err = KC_ERR_INIT;
 *     json_t *obj = kc_yaml_decode(body, body_len, &err);   // owned; NULL on error
 *     if (!obj) return reply_status(&err);                  // KC_EBADREQUEST, 400
 *
 * Contract:
 * - One document. Like upstream, only the first document of the stream is read: the parser stops at
 *   its end, so `a: 1\n---\n]]]` decodes to {"a":1} and the later documents are never looked at.
 *   An empty body, or one with only comments or `---`, decodes to JSON null (upstream's `null`).
 * - Plain scalars resolve as go-yaml v2.4 does: null (`~ null Null NULL`, empty); bool (`y Y yes Yes
 *   YES true True TRUE on On ON` and the n/no/false/off spellings); int (decimal, `0x`, `0o`, `0b`,
 *   leading-0 octal, optional sign, `_` ignored); float (`1.5 .5 1e3 -1.5E-3`, `.inf .nan`); dates and
 *   anything else stay strings. Quoted and block (`|`, `>`) scalars are strings. The tags `!!str`,
 *   `!!int`, `!!float`, `!!bool`, `!!null`, `!!timestamp` and `!!binary` (base64) are honoured; a value
 *   that does not fit its tag fails like upstream ("cannot decode !!str `abc` as a !!int"); other
 *   tags keep the text.
 * - Numbers as JSON has them after upstream's marshalling: a float with an integral value prints as
 *   an integer there, so `1e3` and `3.0` become json_integer 1000 and 3 (|v| < 2^63); other floats are
 *   json_real. Integers in int64 stay exact; 2^63..2^64-1 (go-yaml's uint64) and larger become
 *   json_real. `.inf` / `.nan` values fail ("json: unsupported value: +Inf"), as upstream's JSON
 *   encoder does; a float beyond double range (`1e999`) is a string, as in go-yaml.
 * - Mappings become objects, sequences arrays. Keys are stringified like sigs.k8s.io/yaml: `1:` ->
 *   "1", `true:` / `y:` -> "true", `1.5:` -> "1.5" (float32 formatting), `.inf:` -> ".inf"; null and
 *   uint64 keys fail ("Unsupported map key of type: ..."); mapping or sequence keys fail.
 * - A key given twice in one mapping is an error (strict decoding; upstream v2 would keep the last):
 *   "yaml: unmarshal errors:\n  line 3: mapping key \"a\" already defined at line 2". Keys that come
 *   in through a merge may be overridden by explicit keys without error.
 * - Anchors, aliases and merge keys (`<<: *a`, `<<: [*a, *b]`, earlier maps in the list win) follow
 *   go-yaml v2, including its order: mapping entries are applied in order, so a merge after an
 *   explicit key overrides it. A self-containing alias fails ("anchor 'a' value contains itself").
 * - Limits: nesting deeper than KC_YAML_MAX_DEPTH (also through aliases and merges) fails with
 *   "yaml: exceeded max depth of 10000"; alias expansion is bounded by go-yaml v2's ratio rule
 *   (from 99% of decoded nodes in small documents down to 10% past 4M) and by the output's string
 *   bytes (16x the input + 1 MiB), failing with "yaml: document contains excessive aliasing".
 *   Callers bound `len` (request body limit) before calling.
 * - Errors: NULL with KC_EBADREQUEST and upstream's wording behind "error converting YAML to JSON: ",
 *   e.g. "... yaml: line 5: did not find expected key" (libyaml's problem and go-yaml's line number,
 *   which for parser errors is the 0-based line of the offending token, as upstream prints it).
 *   When a document has several faults the first in upstream's order is reported: syntax, then
 *   decoding, then duplicate keys, then JSON conversion.
 * - Known differences, all in the scanner (system libyaml 0.2.5 vs go-yaml's older port of it), all
 *   on input that upstream rejects or that no manifest writer means: libyaml accepts `?` and `:` in
 *   plain scalars inside flow collections (`[http://x]`) and `]` `}` in block plain scalars
 *   (`a: b]`), and ends a tag at `,` in flow (`[!foo, 1]` is ["", 1], upstream ["1"]); on malformed
 *   input the message (or which of two faults is reported) can differ. "invalid map key" messages
 *   elide the key's contents. */
#ifndef KC_LIB_YAML_H
#define KC_LIB_YAML_H
#include "lib/err.h"
#include <jansson.h>
#include <stddef.h>

#define KC_YAML_MAX_DEPTH 10000

/* Decodes the first YAML document of buf[0..len) into a new JSON value (owned by the caller);
 * NULL with err filled (KC_EBADREQUEST) when it is not valid YAML or has no JSON form. */
json_t *kc_yaml_decode(const char *buf, size_t len, kc_err *err);

#endif
