"""Loads the field schema (api/schema/k8s-api-types.json, a copy of the shared one) and merges the
supplement api/schema/extra-types.json beside it when present: its kinds are appended and its types
added (a type defined in both is an error, so the supplement never silently shadows the copy)."""
import json
import os
import sys


def load(path):
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    extra = os.path.join(os.path.dirname(path) or ".", "extra-types.json")
    if not os.path.exists(extra):
        return data
    with open(extra, encoding="utf-8") as fh:
        more = json.load(fh)
    for tn, t in more.get("types", {}).items():
        if tn in data["types"]:
            sys.exit("schema_load: %s: type %s is already in %s" % (extra, tn, path))
        data["types"][tn] = t
    data["kinds"] = data["kinds"] + more.get("kinds", [])
    for en, vals in more.get("enums", {}).items():
        data["enums"][en] = vals
    data["enumMarked"] = sorted(set(data.get("enumMarked", [])) | set(more.get("enumMarked", [])))
    return data
