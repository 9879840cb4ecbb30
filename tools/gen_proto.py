#!/usr/bin/env python3
"""Generate the protobuf field tables kubec decodes k8s protobuf request bodies with.

Usage:
    python3 tools/gen_proto.py api/schema/proto-fields.json api/schema/k8s-api-types.json build/gen
        writes build/gen/proto_tables.h and build/gen/proto_tables.c

proto-fields.json (written by tools/proto_fields.py from upstream generated.proto files) gives,
per schema type, JSON field name -> protobuf field number, plus embedded structs that JSON
inlines ({"field": n, "inline": "core/v1.ProbeHandler"}). k8s-api-types.json gives each field's
value type. From the two, every schema type with a protobuf message gets a slice of
kc_pb_fields sorted by field number, each saying how to read one value on the wire (kind),
whether the field repeats or is a map, and for nested messages which kc_pb_msgs entry describes
them. kc_pb_msgs is sorted by type name (binary search by kc_type_name()). The fixed field
numbers of the helper messages (runtime.Unknown, meta/v1.Time, intstr.IntOrString, ...) become
#defines. Python stdlib only.
"""
import json
import os
import sys

import schema_load

KINDS = ["STRING", "BYTES", "BOOL", "INT32", "INT64", "MESSAGE", "QUANTITY", "INTSTR", "TIME",
         "MICROTIME", "RAW", "INLINE"]
CARDS = ["ONE", "REPEATED", "MAP"]

# helper message -> (#define prefix, {proto field name: #define suffix})
WELL_KNOWN = {
    "runtime.Unknown": ("UNKNOWN", {"typeMeta": "TYPEMETA", "raw": "RAW",
                                    "contentEncoding": "CONTENTENCODING", "contentType": "CONTENTTYPE"}),
    "runtime.TypeMeta": ("TYPEMETA", {"apiVersion": "APIVERSION", "kind": "KIND"}),
    "runtime.RawExtension": ("RAWEXT", {"raw": "RAW"}),
    "meta/v1.FieldsV1": ("FIELDSV1", {"Raw": "RAW"}),
    "meta/v1.Time": ("TIME", {"seconds": "SECONDS", "nanos": "NANOS"}),
    "meta/v1.MicroTime": ("MICROTIME", {"seconds": "SECONDS", "nanos": "NANOS"}),
    "resource.Quantity": ("QUANTITY", {"string": "STRING"}),
    "intstr.IntOrString": ("INTSTR", {"type": "TYPE", "intVal": "INTVAL", "strVal": "STRVAL"}),
}


def die(msg):
    sys.exit("gen_proto: " + msg)


def value_kind(e, where):
    """Schema value (field, array item or map value) -> (KIND, referenced type or None)."""
    t = e["type"]
    if t == "string":
        return "STRING", None
    if t == "byte":
        return "BYTES", None
    if t == "boolean":
        return "BOOL", None
    if t == "integer":
        return ("INT32" if e.get("format") == "int32" else "INT64"), None
    if t == "quantity":
        return "QUANTITY", None
    if t == "int-or-string":
        return "INTSTR", None
    if t == "date-time":
        return ("MICROTIME" if e.get("format") == "rfc3339-micro" else "TIME"), None
    if t == "any":
        return "RAW", None
    if t == "ref":
        return "MESSAGE", e["ref"]
    die("%s: no protobuf reading for schema type %r" % (where, t))


def field_entry(tname, sfields, key, val):
    """One proto-fields.json entry -> (num, name, KIND, CARD, referenced type)."""
    if isinstance(val, dict):
        return val["field"], key, "INLINE", "ONE", val["inline"]
    sf = sfields.get(key)
    if sf is None:
        die("%s.%s: not a field of the schema type" % (tname, key))
    where = tname + "." + key
    if sf["type"] == "array":
        kind, ref = value_kind(sf["items"], where + "[]")
        return val, key, kind, "REPEATED", ref
    if sf["type"] == "map":
        kind, ref = value_kind(sf["values"], where + "{}")
        return val, key, kind, "MAP", ref
    kind, ref = value_kind(sf, where)
    return val, key, kind, "ONE", ref


def cstr(s):
    if any(c in s for c in '"\\') or not s.isprintable() or not s.isascii():
        die("unexpected character in %r" % s)
    return '"' + s + '"'


def build(pf, schema):
    names = sorted(k for k in pf if not k.startswith("$") and k in schema)
    index = {n: i for i, n in enumerate(names)}
    msgs, fields = [], []
    for tname in names:
        sfields = {f["name"]: f for f in schema[tname]["fields"]}
        entries = sorted((field_entry(tname, sfields, k, v) for k, v in pf[tname].items()),
                         key=lambda e: e[0])
        nums = [e[0] for e in entries]
        if len(set(nums)) != len(nums) or any(not 0 < n < (1 << 29) for n in nums):
            die("%s: bad or repeated field numbers %s" % (tname, nums))
        msgs.append((tname, len(fields), len(entries)))
        for num, name, kind, card, ref in entries:
            msg = -1
            if ref is not None:
                if ref not in index:
                    print("gen_proto: note: %s.%s refers to %s, which has no protobuf table"
                          % (tname, name, ref), file=sys.stderr)
                else:
                    msg = index[ref]
            fields.append((num, name, kind, card, msg, tname))
    return msgs, fields


def defines(pf):
    out = []
    for tname, (prefix, names) in WELL_KNOWN.items():
        if tname not in pf:
            die("proto-fields.json lacks %s" % tname)
        for pname, suffix in names.items():
            if pname not in pf[tname]:
                die("%s lacks field %s" % (tname, pname))
            out.append("#define KC_PB_%s_%s %d /* %s.%s */" % (prefix, suffix, pf[tname][pname], tname, pname))
    return out


HEADER = """/* Generated by tools/gen_proto.py from api/schema/proto-fields.json and
 * api/schema/k8s-api-types.json; do not edit. Used by src/api/proto.c. */
#ifndef KC_GEN_PROTO_TABLES_H
#define KC_GEN_PROTO_TABLES_H
#include <stdint.h>

/* How one value of a field is read off the wire (for repeated fields: each item; for maps: each
 * entry's value, the key always being a string). */
typedef enum kc_pb_kind {
%s
} kc_pb_kind;

typedef enum kc_pb_card { KC_PB_ONE, KC_PB_REPEATED, KC_PB_MAP } kc_pb_card;

typedef struct kc_pb_field {
    uint32_t num;     /* protobuf field number */
    const char *name; /* JSON field name; KC_PB_INLINE: the protobuf field name */
    uint8_t kind;     /* kc_pb_kind */
    uint8_t card;     /* kc_pb_card */
    int16_t msg;      /* KC_PB_MESSAGE / KC_PB_INLINE: index in kc_pb_msgs, -1 if it has no table */
} kc_pb_field;

typedef struct kc_pb_msg {
    const char *type; /* schema type name ("core/v1.Pod") */
    uint16_t first;   /* first field in kc_pb_fields */
    uint16_t n;       /* fields, sorted by number */
} kc_pb_msg;

#define KC_PB_NMSGS %d
#define KC_PB_NFIELDS %d

extern const kc_pb_msg kc_pb_msgs[KC_PB_NMSGS]; /* sorted by type name */
extern const kc_pb_field kc_pb_fields[KC_PB_NFIELDS];

/* Field numbers of the helper messages. */
%s

#endif
"""


def main():
    if len(sys.argv) != 4:
        die("usage: gen_proto.py proto-fields.json k8s-api-types.json OUTDIR")
    pf = json.load(open(sys.argv[1], encoding="utf-8"))
    schema = schema_load.load(sys.argv[2])["types"]
    outdir = sys.argv[3]
    msgs, fields = build(pf, schema)
    if len(fields) >= 65536 or len(msgs) >= 32768:
        die("tables too large for their index types")
    kinds = "\n".join("    KC_PB_%s," % k for k in KINDS)
    h = HEADER % (kinds, len(msgs), len(fields), "\n".join(defines(pf)))
    c = ["/* Generated by tools/gen_proto.py; do not edit. Layout: proto_tables.h. */",
         '#include "proto_tables.h"', "",
         "const kc_pb_msg kc_pb_msgs[KC_PB_NMSGS] = {"]
    c += ["    {%s, %d, %d}," % (cstr(t), first, n) for t, first, n in msgs]
    c += ["};", "", "const kc_pb_field kc_pb_fields[KC_PB_NFIELDS] = {"]
    prev = None
    for num, name, kind, card, msg, tname in fields:
        if tname != prev:
            c.append("    /* %s */" % tname)
            prev = tname
        c.append("    {%d, %s, KC_PB_%s, KC_PB_%s, %d}," % (num, cstr(name), kind, card, msg))
    c += ["};", ""]
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "proto_tables.h"), "w") as fp:
        fp.write(h)
    with open(os.path.join(outdir, "proto_tables.c"), "w") as fp:
        fp.write("\n".join(c))


if __name__ == "__main__":
    main()
