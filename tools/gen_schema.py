#!/usr/bin/env python3
"""Generate the kubec field-schema tables from api/schema/k8s-api-types.json.

Usage:
    python3 tools/gen_schema.py api/schema/k8s-api-types.json build/gen
        writes build/gen/schema_tables.h and build/gen/schema_tables.c
    python3 tools/gen_schema.py api/schema/k8s-api-types.json --required core/v1.Pod ...
        prints the field paths kc_schema_validate treats as required (for review)

The tables are arrays of structs declared in src/api/schema.h; references between them are
indices. Types are sorted by name (binary search in kc_schema_type); each type's fields keep
declaration order in kc_schema_fields, and kc_schema_field_order holds the same slice sorted by
JSON name (binary search in kc_type_field).

"Required" here (KC_FF_REQUIRED, what kc_schema_validate reports as `Required value`) follows
the OpenAPI rule Kubernetes publishes, narrowed: a field is required when it carries the
+required marker, or when it is neither +optional nor omitempty (no Go zero value is a valid
"unset" state). A +default marker (the server fills it in) always makes it not required, and so
does being the inlined TypeMeta apiVersion/kind.
Python stdlib only.
"""
import json
import os
import sys

import schema_load

KINDS = ["string", "integer", "number", "boolean", "byte", "quantity", "int-or-string",
         "date-time", "duration", "any", "ref", "array", "map"]
FK = {k: "KC_FK_" + k.upper().replace("-", "") for k in KINDS}
FMT = {None: "KC_FMT_NONE", "int32": "KC_FMT_INT32", "int64": "KC_FMT_INT64",
       "rfc3339": "KC_FMT_RFC3339", "rfc3339-micro": "KC_FMT_RFC3339_MICRO"}
LIST = {None: "KC_LIST_NONE", "atomic": "KC_LIST_ATOMIC", "set": "KC_LIST_SET", "map": "KC_LIST_MAP"}
MAPT = {None: "KC_MAPT_NONE", "atomic": "KC_MAPT_ATOMIC", "granular": "KC_MAPT_GRANULAR"}
STRUCT = {None: "KC_STRUCT_NONE", "atomic": "KC_STRUCT_ATOMIC", "granular": "KC_STRUCT_GRANULAR"}
PATCH = {"merge": 1, "retainKeys": 2, "replace": 4}  # KC_PATCH_* in src/api/schema.h
FLAGS_LEGEND = ("flags: 01 REQUIRED 02 NULLABLE 04 OMITEMPTY 08 OPTIONAL 10 INLINED 20 OMITZERO 40 STATUS; "
                "patch: 1 merge 2 retainKeys 4 replace")
MAX_DEPTH = 40  # path segments the C side keeps (src/api/schema.c KC_SCHEMA_PATH_MAX)


def die(msg):
    sys.exit("gen_schema: " + msg)


def cstr(s):
    if s is None:
        return "NULL"
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif 32 <= ord(ch) < 127:
            out.append(ch)
        else:
            die("non-ASCII/control character in %r" % s)
    return '"' + "".join(out) + '"'


def go_qual(name):
    """"core/v1.PullPolicy" -> "v1.PullPolicy" (Go package name is the version dir)."""
    if "/" in name:
        return name.split("/", 1)[1]
    return name


def go_type(e, key_alias=None):
    """Go type string as encoding/json would print it in an UnmarshalTypeError."""
    t = e["type"]
    alias = e.get("alias")
    if t == "ref":
        return go_qual(e["ref"])
    if t in ("date-time", "duration"):
        return "string"  # metav1.Time / Duration unmarshal a string first
    if t == "int-or-string":
        return "int32"  # IntOrString unmarshals a non-string into int32
    if t == "quantity":
        return "resource.Quantity"
    if t == "byte":
        return "[]uint8"
    if alias and t in ("string", "integer", "array", "map"):
        return go_qual(alias)
    if t == "string":
        return "string"
    if t == "integer":
        return {"int32": "int32", "int64": "int64"}.get(e.get("format"), "int")
    if t == "number":
        return "float64"
    if t == "boolean":
        return "bool"
    if t == "any":
        return "interface {}"
    if t == "array":
        return "[]" + go_type(e["items"])
    if t == "map":
        return "map[%s]%s" % (go_qual(key_alias) if key_alias else "string", go_type(e["values"]))
    die("unknown field type %r" % t)


def is_required(f):
    if f.get("inlinedFrom") == "meta/v1.TypeMeta" or f.get("default") is not None:
        return False
    return bool(f.get("required")) or (not f.get("optional") and not f.get("omitempty"))


class Gen:
    def __init__(self, data):
        self.d = data
        self.types = data["types"]
        self.tnames = sorted(self.types, key=lambda s: s.encode())
        self.tidx = {n: i for i, n in enumerate(self.tnames)}
        self.marked = set(data.get("enumMarked", []))
        self.enum_names = sorted(e for e in self.marked if e in data.get("enums", {}))
        self.eidx = {n: i for i, n in enumerate(self.enum_names)}
        self.list_keys = []
        self.fields = []  # (type name, field dict)
        self.check_types()

    def check_types(self):
        for tn in self.tnames:
            seen = set()
            for f in self.types[tn]["fields"]:
                if f["name"] in seen:
                    die("duplicate field %s.%s" % (tn, f["name"]))
                seen.add(f["name"])
                if f["type"] not in KINDS:
                    die("unknown type %r in %s.%s" % (f["type"], tn, f["name"]))
                for sub in ("items", "values"):
                    if sub in f and f[sub]["type"] in ("array", "map"):
                        die("nested collection in %s.%s not supported" % (tn, f["name"]))
                for e in (f, f.get("items"), f.get("values")):
                    if e and e["type"] == "ref" and e["ref"] not in self.tidx:
                        die("dangling ref %s in %s.%s" % (e["ref"], tn, f["name"]))
        depth = max(self.depth(tn, ()) for tn in self.tnames)
        if 2 * depth + 2 > MAX_DEPTH:
            die("schema nests too deep (%d)" % depth)
        self.max_depth = depth

    def refs(self, tn):
        for f in self.types[tn]["fields"]:
            for e in (f, f.get("items"), f.get("values")):
                if e and e["type"] == "ref":
                    yield e["ref"]

    def depth(self, tn, stack):
        if tn in stack:
            die("recursive types not supported: %s" % " -> ".join(stack + (tn,)))
        return max([1 + self.depth(r, stack + (tn,)) for r in self.refs(tn)] or [0])

    def has_checks(self):
        """Types whose subtree holds a required field or a closed enum (validate skips others)."""
        memo = {}

        def walk(tn):
            if tn not in memo:
                memo[tn] = False
                own = any(is_required(f) or self.enum_of(f) >= 0 or self.enum_of(f.get("items")) >= 0
                          or self.enum_of(f.get("values")) >= 0 for f in self.types[tn]["fields"])
                memo[tn] = own or any(walk(r) for r in self.refs(tn))
            return memo[tn]
        return {tn: walk(tn) for tn in self.tnames}

    def enum_of(self, e):
        if not e or "enum" not in e:
            return -1
        return self.eidx.get(e["enum"], -1)

    def elem(self, e, key_alias=None):
        if e is None:
            return "N"
        ref = self.tidx[e["ref"]] if e["type"] == "ref" else -1
        return "E(%s, %s, %d, %d, %s)" % (FK[e["type"]][6:], FMT[e.get("format")][7:], ref, self.enum_of(e),
                                         cstr(go_type(e, key_alias)))

    def field_line(self, tn, f):
        flags = 0
        if is_required(f):
            flags |= 0x01
        for k, bit in (("nullable", 0x02), ("omitempty", 0x04), ("optional", 0x08),
                       ("inlinedFrom", 0x10), ("omitzero", 0x20)):
            if f.get(k):
                flags |= bit
        if f["name"] == "status" and f["type"] == "ref" and f["ref"].endswith("Status"):
            flags |= 0x40
        patch = 0
        for p in (f.get("patchStrategy") or "").split(","):
            if p and p not in PATCH:
                die("unknown patchStrategy %r" % p)
            patch |= PATCH.get(p, 0)
        lk = f.get("listMapKeys") or []
        lk_first = len(self.list_keys)
        self.list_keys.extend(lk)
        sub = f.get("items") or f.get("values")
        return "F(%s, %s, %s, %s, %d, %d, 0x%02x, %d, %s, %s, %s)," % (
            cstr(f["name"]), cstr(f.get("patchMergeKey")),
            self.elem(f, f.get("keyAlias")), self.elem(sub),
            lk_first if lk else 0, len(lk), flags, patch,
            LIST[f.get("listType")][8:], MAPT[f.get("mapType")][8:],
            STRUCT[f.get("structType")][10:])

    def emit_c(self, out):
        checks = self.has_checks()
        w = out.append
        w("/* Generated by tools/gen_schema.py from %s; do not edit. */" % "api/schema/k8s-api-types.json")
        w('#include "schema_tables.h"')
        w("#include <stddef.h>")
        w("")
        w("#define E(k, f, t, e, g) {KC_FK_##k, KC_FMT_##f, t, e, g}")
        w("#define N E(ANY, NONE, -1, -1, NULL)")
        w("#define F(n, mk, v, e, lk, nlk, fl, pa, lt, mt, st) \\")
        w("    {n, sizeof n - 1, mk, v, e, lk, nlk, fl, pa, KC_LIST_##lt, KC_MAPT_##mt, KC_STRUCT_##st}")
        w("/* " + FLAGS_LEGEND + " */")
        w("")
        w("const kc_field kc_schema_fields[KC_SCHEMA_NFIELDS] = {")
        types = []
        order = []
        for tn in self.tnames:
            fs = self.types[tn]["fields"]
            first = len(self.fields)
            w("    /* %d %s */" % (self.tidx[tn], tn))
            for f in fs:
                self.fields.append((tn, f))
                w("    " + self.field_line(tn, f))
            names = sorted(range(len(fs)), key=lambda i: fs[i]["name"].encode())
            order.extend(first + i for i in names)
            st = self.types[tn].get("structType")
            types.append("    {%s, %s, %d, %d, %s, %d}," % (
                cstr(tn), cstr(tn.split(".", 1)[1]), first, len(fs),
                "KC_STRUCT_ATOMIC" if st == "atomic" else
                "KC_STRUCT_GRANULAR" if st == "granular" else "KC_STRUCT_NONE", int(checks[tn])))
        w("};")
        w("")
        w("const uint16_t kc_schema_field_order[KC_SCHEMA_NFIELDS] = {")
        for i in range(0, len(order), 16):
            w("    " + ", ".join(str(x) for x in order[i:i + 16]) + ",")
        w("};")
        w("")
        w("const kc_type kc_schema_types[KC_SCHEMA_NTYPES] = {")
        out.extend(types)
        w("};")
        w("")
        self.emit_enums(w)
        self.emit_list_keys(w)
        self.emit_kinds(w)

    def emit_enums(self, w):
        w("const char *const kc_schema_enum_values[] = {")
        spans = []
        n = 0
        for en in self.enum_names:
            vals = sorted(set(self.d["enums"][en]), key=lambda s: s.encode())
            spans.append("    {%s, %d, %d}," % (cstr(en), n, len(vals)))
            w("    " + ", ".join(cstr(v) for v in vals) + ",")
            n += len(vals)
        w("    NULL,")
        w("};")
        w("")
        w("const kc_enum kc_schema_enums[KC_SCHEMA_NENUMS] = {")
        for s in spans:
            w(s)
        w("};")
        w("")

    def emit_list_keys(self, w):
        w("const char *const kc_schema_list_keys[] = {")
        for i in range(0, len(self.list_keys), 8):
            w("    " + ", ".join(cstr(k) for k in self.list_keys[i:i + 8]) + ",")
        w("    NULL,")
        w("};")
        w("")

    def kinds(self):
        ks = [k for k in self.d["kinds"] if k.get("registered", True)]
        return sorted(ks, key=lambda k: (k["group"].encode(), k["version"].encode(), k["kind"].encode()))

    def emit_kinds(self, w):
        w("const kc_kind kc_schema_kinds[KC_SCHEMA_NKINDS] = {")
        for k in self.kinds():
            if k["type"] not in self.tidx:
                die("kind %s names unknown type %s" % (k["kind"], k["type"]))
            ns = {True: 1, False: 0, None: -1}[k.get("namespaced")]
            subs = ",".join(k.get("subresources", []) + k.get("extraSubresources", []))
            w("    {%s, %s, %s, %s, %s, %s, %s, %d, %d}," % (
                cstr(k["group"]), cstr(k["version"]), cstr(k["kind"]), cstr(k.get("resource")),
                cstr(k.get("listKind")), cstr(subs), cstr(k["type"]), self.tidx[k["type"]], ns))
        w("};")

    def emit_h(self):
        nenum = len(self.enum_names)
        return "\n".join([
            "/* Generated by tools/gen_schema.py from api/schema/k8s-api-types.json; do not edit.",
            " * Table layout and meaning: src/api/schema.h. */",
            "#ifndef KC_GEN_SCHEMA_TABLES_H",
            "#define KC_GEN_SCHEMA_TABLES_H",
            '#include "api/schema.h"',
            "",
            "#define KC_SCHEMA_NTYPES %d" % len(self.tnames),
            "#define KC_SCHEMA_NFIELDS %d" % sum(len(self.types[t]["fields"]) for t in self.tnames),
            "#define KC_SCHEMA_NENUMS %d" % max(nenum, 1),
            "#define KC_SCHEMA_NKINDS %d" % len(self.kinds()),
            "#define KC_SCHEMA_REF_DEPTH %d /* deepest chain of refs */" % self.max_depth,
            "",
            "extern const kc_type kc_schema_types[KC_SCHEMA_NTYPES];     /* sorted by name */",
            "extern const kc_field kc_schema_fields[KC_SCHEMA_NFIELDS];  /* per type, declaration order */",
            "extern const uint16_t kc_schema_field_order[KC_SCHEMA_NFIELDS]; /* per type, sorted by name */",
            "extern const kc_enum kc_schema_enums[KC_SCHEMA_NENUMS];",
            "extern const char *const kc_schema_enum_values[];",
            "extern const char *const kc_schema_list_keys[];",
            "extern const kc_kind kc_schema_kinds[KC_SCHEMA_NKINDS]; /* sorted by group, version, kind */",
            "",
            "#endif",
            ""])

    def required_paths(self, tn, path="", out=None, status=False):
        """Field paths kc_schema_validate checks as required (status subtrees skipped unless asked)."""
        out = [] if out is None else out
        for f in self.types[tn]["fields"]:
            p = (path + "." if path else "") + f["name"]
            if f["name"] == "status" and f["type"] == "ref" and f["ref"].endswith("Status") and not status:
                continue
            if is_required(f):
                out.append(p)
            sub = f if f["type"] == "ref" else f.get("items") or f.get("values")
            if sub and sub["type"] == "ref":
                suffix = "[*]" if f["type"] == "array" else ".*" if f["type"] == "map" else ""
                self.required_paths(sub["ref"], p + suffix, out, status)
        return out


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def main(argv):
    if len(argv) < 3:
        die("usage: gen_schema.py TYPES.json OUTDIR | TYPES.json --required TYPE...")
    gen = Gen(schema_load.load(argv[1]))
    if argv[2] == "--required":
        for tn in argv[3:]:
            print("== %s" % tn)
            for p in gen.required_paths(tn):
                print("   " + p)
        return
    os.makedirs(argv[2], exist_ok=True)
    c = []
    gen.emit_c(c)
    write_atomic(os.path.join(argv[2], "schema_tables.h"), gen.emit_h())
    write_atomic(os.path.join(argv[2], "schema_tables.c"), "\n".join(c) + "\n")


if __name__ == "__main__":
    main(sys.argv)
