#!/usr/bin/env python3
"""Extract protobuf field numbers from Kubernetes generated.proto files into api/schema/proto-fields.json.

Usage:
    python3 tools/proto_fields.py api/schema/k8s-api-types.json OUT.json FILE.proto...

The inputs are upstream's go-to-protobuf output (k8s.io/api <group>/<version>/generated.proto and
k8s.io/apimachinery pkg/apis/meta/v1, pkg/runtime, pkg/util/intstr, pkg/api/resource), whole files
or excerpts keeping only the `package`, `message` and field lines (an excerpt names its origin
in a `// source: <repo>@<commit> <path>` line, copied to "$sources"). They are read, not stored
in this repository; only the resulting JSON is.

Every protobuf message whose schema type exists in k8s-api-types.json ("core/v1.Pod") is matched
field by field against the schema:
  * a proto field whose name is the JSON name (or whose [json_name = "..."] option is, or that
    differs from it only in case, as IngressClassParametersReference's aPIGroup = 1 does for
    "apiGroup") and whose proto type fits the schema field's type is recorded as
        "jsonName": number;
  * a proto field holding an embedded struct that JSON inlines (Probe.handler is a ProbeHandler
    whose fields appear directly in Probe's JSON) is recorded as
        "protoName": {"field": number, "inline": "core/v1.ProbeHandler"};
  * anything else (schema fields newer than the .proto, shape mismatches such as
    APIResource.verbs, a `repeated string` wrapped in a message) is listed under "$unmapped" and
    left out, so the C decoder skips it as an unknown field.
Helper messages with a fixed meaning on the wire (runtime.Unknown, runtime.TypeMeta, meta/v1.Time,
resource.Quantity, intstr.IntOrString, ...) are recorded under their own names for
tools/gen_proto.py. Python stdlib only.
"""
import json
import re
import sys

SCALARS = {"string", "bytes", "bool", "int32", "int64", "uint32", "uint64", "sint32", "sint64",
           "fixed32", "fixed64", "sfixed32", "sfixed64", "double", "float"}
INTS = {"int32", "int64", "uint32", "uint64"}

# proto package -> prefix of the type keys used by k8s-api-types.json
PACKAGES = [
    ("k8s.io.apimachinery.pkg.apis.meta.v1", "meta/v1"),
    ("k8s.io.apimachinery.pkg.runtime.schema", "schema"),
    ("k8s.io.apimachinery.pkg.runtime", "runtime"),
    ("k8s.io.apimachinery.pkg.util.intstr", "intstr"),
    ("k8s.io.apimachinery.pkg.api.resource", "resource"),
]

# Messages with a fixed wire meaning: schema value kind they carry.
SPECIAL = {
    "resource.Quantity": "quantity",
    "intstr.IntOrString": "int-or-string",
    "meta/v1.Time": "date-time",
    "meta/v1.MicroTime": "date-time",
    "meta/v1.Duration": "duration",
    "runtime.RawExtension": "any",
    "meta/v1.FieldsV1": "any",
}
WELL_KNOWN = ["runtime.Unknown", "runtime.TypeMeta", "runtime.RawExtension", "meta/v1.FieldsV1",
              "meta/v1.Time", "meta/v1.MicroTime", "meta/v1.Duration", "resource.Quantity",
              "intstr.IntOrString"]

FIELD_RE = re.compile(
    r"^(?:(optional|repeated|required)\s+)?"
    r"(map\s*<\s*([\w.]+)\s*,\s*([\w.]+)\s*>|[\w.]+)\s+(\w+)\s*=\s*(\d+)\s*(\[[^\]]*\])?$")


def die(msg):
    sys.exit("proto_fields: " + msg)


def prefix_of(package):
    for pkg, prefix in PACKAGES:
        if package == pkg:
            return prefix
    m = re.fullmatch(r"k8s\.io\.api\.([\w]+)\.(v\w+)", package)
    if m:
        return m.group(1) + "/" + m.group(2)
    die("unknown proto package %s" % package)


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def resolve(tname, prefix):
    """Proto type reference -> scalar name or schema-style message key."""
    if tname in SCALARS:
        return tname
    name = tname.lstrip(".")
    if "." not in name:
        return prefix + "." + name
    pkg, _, msg = name.rpartition(".")
    return prefix_of(pkg) + "." + msg


def parse_proto(path, messages, sources):
    raw = open(path, encoding="utf-8").read()
    text = strip_comments(raw)
    m = re.search(r"\bpackage\s+([\w.]+)\s*;", text)
    if not m:
        die("%s: no package" % path)
    prefix = prefix_of(m.group(1))
    # an excerpt names its origin in a "// source: repo@commit path" line
    src = re.findall(r"^// source: (.*)$", raw, flags=re.M)
    sources.append(src[0] if src else "package " + m.group(1))
    for mm in re.finditer(r"\bmessage\s+(\w+)\s*\{([^{}]*)\}", text):
        key = prefix + "." + mm.group(1)
        if key in messages:
            die("%s: message %s defined twice" % (path, key))
        fields, nums = [], set()
        for stmt in mm.group(2).split(";"):
            stmt = " ".join(stmt.split())
            if not stmt or stmt.startswith(("option ", "reserved ")):
                continue
            fm = FIELD_RE.match(stmt)
            if not fm:
                die("%s: %s: cannot parse %r" % (path, key, stmt))
            label, tspec, mkey, mval, fname, num, opts = fm.groups()
            num = int(num)
            if num in nums:
                die("%s: %s: field number %d used twice" % (path, key, num))
            nums.add(num)
            jm = re.search(r'json_name\s*=\s*"([^"]*)"', opts or "")
            f = {"name": fname, "json": jm.group(1) if jm else fname, "num": num,
                 "repeated": label == "repeated"}
            if mkey:
                f["map"] = (resolve(mkey, prefix), resolve(mval, prefix))
            else:
                f["type"] = resolve(tspec, prefix)
            fields.append(f)
        messages[key] = fields


def value_fits(elem, ptype):
    """Does one proto value of type ptype carry the schema value elem?"""
    kind = elem["type"]
    if ptype in SPECIAL:
        return SPECIAL[ptype] == kind
    if kind == "string":
        return ptype == "string"
    if kind == "integer":
        return ptype in INTS
    if kind == "number":
        return ptype in ("double", "float")
    if kind == "boolean":
        return ptype == "bool"
    if kind == "byte":
        return ptype == "bytes"
    if kind == "ref":
        return ptype == elem["ref"]
    return False


def field_fits(sf, pf):
    kind = sf["type"]
    if "map" in pf:
        return kind == "map" and pf["map"][0] == "string" and value_fits(sf["values"], pf["map"][1])
    if pf["repeated"]:
        return kind == "array" and value_fits(sf["items"], pf["type"])
    return kind not in ("array", "map") and value_fits(sf, pf["type"])


def match_type(tname, fields, pfields, unmapped):
    by_json = {sf["name"]: sf for sf in fields}
    inlined = {sf.get("inlinedFrom") for sf in fields} - {None}
    by_fold = {}
    for sf in fields:
        by_fold.setdefault(sf["name"].lower(), []).append(sf)
    out, used = {}, set()
    for pf in sorted(pfields, key=lambda f: f["num"]):
        sf = by_json.get(pf["json"])
        if sf is None and len(by_fold.get(pf["json"].lower(), [])) == 1:
            sf = by_fold[pf["json"].lower()][0]  # aPIGroup = 1 carries JSON "apiGroup"
        if sf is not None and not sf.get("inlinedFrom") and field_fits(sf, pf):
            out[sf["name"]] = pf["num"]
            used.add(sf["name"])
        elif pf.get("type") in inlined and not pf["repeated"]:
            out[pf["name"]] = {"field": pf["num"], "inline": pf["type"]}
            used.update(s["name"] for s in fields if s.get("inlinedFrom") == pf["type"])
        else:
            why = "has no schema field" if sf is None else "does not fit the schema field's type"
            unmapped.append("%s: proto field %s = %d %s" % (tname, pf["name"], pf["num"], why))
    for sf in fields:
        if sf["name"] not in used and sf.get("inlinedFrom") != "meta/v1.TypeMeta":
            unmapped.append("%s.%s: not in the protobuf message" % (tname, sf["name"]))
    return out


def main():
    if len(sys.argv) < 4:
        die("usage: proto_fields.py k8s-api-types.json OUT.json FILE.proto...")
    schema = json.load(open(sys.argv[1], encoding="utf-8"))["types"]
    messages, sources = {}, []
    for path in sys.argv[3:]:
        parse_proto(path, messages, sources)
    out = {"$comment": "protobuf field numbers of the schema types (k8s-api-types.json names): "
                       "JSON field name -> field number; {\"field\": n, \"inline\": T} is an embedded "
                       "struct whose fields JSON inlines. Written by tools/proto_fields.py from "
                       "upstream generated.proto files; read by tools/gen_proto.py.",
           "$sources": sorted(sources),
           "$unmapped": []}
    for tname in sorted(schema):
        if tname in messages:
            out[tname] = match_type(tname, schema[tname]["fields"], messages[tname], out["$unmapped"])
        else:
            out["$unmapped"].append("%s: no protobuf message" % tname)
    for tname in WELL_KNOWN:
        if tname not in messages:
            die("well-known message %s missing from the inputs" % tname)
        out[tname] = {pf["name"]: pf["num"] for pf in messages[tname]}
    with open(sys.argv[2], "w", encoding="utf-8") as fp:
        json.dump(out, fp, indent=1, sort_keys=False)
        fp.write("\n")
    n = sum(1 for k in out if not k.startswith("$") and k in schema)
    print("proto_fields: %d schema types mapped, %d notes in $unmapped" % (n, len(out["$unmapped"])))


if __name__ == "__main__":
    main()
