#!/usr/bin/env python3
"""Write docs/configuration.md from every program's --config-reference, so the reference is
the programs' own tables and cannot drift.

    tests/gen-config-doc.py BUILD_DIR            rewrite docs/configuration.md
    tests/gen-config-doc.py BUILD_DIR --check    exit 1 (with a diff) when it is out of date
"""
import difflib
import os
import subprocess
import sys

SOURCE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(SOURCE, "docs", "configuration.md")
PROGRAMS = [("extractor", "extractor/extractor"), ("transformer", "transformer/transformer"),
            ("loader", "loader/loader"), ("panel", "panel/panel"),
            ("connector-admin", "admin/connector-admin")]

HEADER = """# Configuration reference

Every program reads its configuration from `CX_*` environment variables, one table per
program (`common/config.h`). A variable that is misspelt, out of range or of the wrong type
stops the program at start with one line naming it (exit status 2); so does any `CX_*`
variable the program does not read, which is why each compose service is given only its own
variables (`compose/docker-compose.yml`). Variables marked secret are never printed or logged.
Every secret variable `NAME` also accepts `NAME_FILE`: the path of a file that holds the
value (docker secrets, a mounted secret volume), read at start without its trailing line
break; setting both is an error.

This page is generated from the programs themselves (`PROGRAM --config-reference`) by
`tests/gen-config-doc.py BUILD_DIR`; a test fails when it differs from what the binaries
print. Do not edit it by hand: change the program's table and run the script.

"""


def render(build):
    parts = [HEADER]
    for name, rel in PROGRAMS:
        exe = os.path.join(build, rel)
        if not os.path.exists(exe):
            sys.exit(f"{exe} is missing: build first (ninja -C {build})")
        out = subprocess.run([exe, "--config-reference"], stdout=subprocess.PIPE, text=True,
                             check=True, timeout=30).stdout
        if not out.startswith("## "):
            sys.exit(f"{name} --config-reference printed no reference")
        parts.append(out.rstrip("\n") + "\n\n")
    return "".join(parts).rstrip("\n") + "\n"


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    text = render(sys.argv[1])
    if "--check" in sys.argv[2:]:
        with open(DOC, encoding="utf-8") as f:
            current = f.read()
        if current != text:
            sys.stdout.writelines(difflib.unified_diff(
                current.splitlines(True), text.splitlines(True), "docs/configuration.md",
                "generated"))
            print("docs/configuration.md is out of date: run tests/gen-config-doc.py BUILD_DIR",
                  file=sys.stderr)
            return 1
        return 0
    with open(DOC, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
