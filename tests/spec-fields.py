#!/usr/bin/env python3
"""spec-fields.py SCHEMA_DIR: print the JSON path of every property of config.json that the
runtime spec's schema (config-schema.json and the files it refers to) defines, one a line:
.process.user.uid, .mounts[].type, .linux.netDevices.*.name ("[]": any array element, "*": any
key of a map).  Sections of other platforms (.solaris, .windows, .zos, .freebsd) are listed
without their contents: capsa refuses them whole.  Used by tests/spec-coverage.bats."""
import json
import os
import sys

OTHER_PLATFORMS = {".solaris", ".windows", ".zos", ".freebsd"}


def main():
    schema_dir = sys.argv[1]
    files = {}

    def load(name):
        if name not in files:
            with open(os.path.join(schema_dir, name)) as f:
                files[name] = json.load(f)
        return files[name]

    def resolve(cur, ref):
        name, _, pointer = ref.partition("#")
        name = name or cur
        node = load(name)
        for part in pointer.strip("/").split("/"):
            if part:
                node = node[part]
        return name, node

    paths = []

    def walk(cur, schema, path, depth):
        if depth > 40:
            raise SystemExit("spec-fields.py: schema nested too deep at " + path)
        while "$ref" in schema:
            cur, schema = resolve(cur, schema["$ref"])
        for key in ("oneOf", "anyOf", "allOf"):
            for sub in schema.get(key, []):
                walk(cur, sub, path, depth + 1)
        for name, sub in schema.get("properties", {}).items():
            p = path + "." + name
            if p not in paths:
                paths.append(p)
            if p not in OTHER_PLATFORMS:
                walk(cur, sub, p, depth + 1)
        for sub in schema.get("patternProperties", {}).values():
            walk(cur, sub, path + ".*", depth + 1)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            walk(cur, extra, path + ".*", depth + 1)
        if isinstance(schema.get("items"), dict):
            walk(cur, schema["items"], path + "[]", depth + 1)

    walk("config-schema.json", load("config-schema.json"), "", 0)
    print("\n".join(paths))


if __name__ == "__main__":
    main()
