#!/usr/bin/env python3
"""The shape of the production code, checked on every run (docs/architecture.md):

* layers: a program folder (extractor/, transformer/, loader/, admin/, panel/) includes and
  links only common/ and the library folders, never another program;
* no production function is longer than 120 lines;
* README's layout table names exactly the repository's folders;
* the C sources are formatted as .clang-format says (clang-format --dry-run --Werror).

usage: test_code_shape.py SOURCE_DIR
"""
import os
import re
import shutil
import subprocess
import sys
import unittest

SRC = sys.argv.pop(1) if len(sys.argv) > 1 else os.getcwd()
PROGRAMS = ["extractor", "transformer", "loader", "admin", "panel"]
LIBRARIES = ["common", "ccv", "exact", "ops", "vat", "booking", "taxstate"]
MAX_FUNCTION_LINES = 120
INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/', re.M)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def sources(folders, exts=(".c", ".h")):
    for folder in folders:
        top = os.path.join(SRC, folder)
        for root, _, files in os.walk(top):
            for f in sorted(files):
                if f.endswith(exts):
                    yield os.path.join(root, f)


def functions(path):
    """(name, first line, length) of each function defined at the top level of a C file:
    a line that opens a body with '{' in column 0 after a declarator, closed by '}' in
    column 0 (the style the repository is written in)."""
    lines = read(path).split("\n")
    out, start, name = [], None, None
    for i, line in enumerate(lines):
        if start is None and line == "{":
            head = " ".join(lines[max(0, i - 4):i])
            m = re.search(r"(\w+)\s*\([^;{}]*\)\s*$", head)
            if m and not re.search(r"=\s*$", lines[i - 1]):
                start, name = i, m.group(1)
        elif start is not None and line == "}":
            out.append((name, start + 1, i - start + 1))
            start = None
    return out


class Layers(unittest.TestCase):
    def test_no_program_includes_another_program(self):
        bad = []
        for path in sources(PROGRAMS + LIBRARIES):
            own = os.path.relpath(path, SRC).split(os.sep)[0]
            for dep in INCLUDE.findall(read(path)):
                if dep in PROGRAMS and dep != own:
                    bad.append(f"{os.path.relpath(path, SRC)} includes {dep}/")
                if own in LIBRARIES and dep in PROGRAMS:
                    bad.append(f"library {os.path.relpath(path, SRC)} includes program {dep}/")
        self.assertEqual(bad, [], "\n".join(bad))

    def test_no_program_links_another_program(self):
        bad = []
        for prog in PROGRAMS:
            build = os.path.join(SRC, prog, "meson.build")
            if not os.path.exists(build):
                continue
            text = read(build)
            for other in PROGRAMS:
                if other != prog and re.search(rf"\b{other}_(lib|dep|core)\w*", text):
                    bad.append(f"{prog}/meson.build uses {other}'s library")
        self.assertEqual(bad, [], "\n".join(bad))


class Readme(unittest.TestCase):
    def test_layout_table_matches_the_folders(self):
        tracked = subprocess.run(["git", "ls-files"], cwd=SRC, stdout=subprocess.PIPE,
                                 text=True, check=True).stdout.split("\n")
        folders = {f.split("/")[0] for f in tracked if "/" in f and not f.startswith(".")}
        table = set(re.findall(r"^\| `([a-z]+)/` \|", read(os.path.join(SRC, "README.md")),
                               re.M))
        self.assertEqual(table, folders, "README's layout table and the repository's folders")


class Functions(unittest.TestCase):
    def test_no_function_over_the_limit(self):
        long = []
        for path in sources(PROGRAMS + LIBRARIES, (".c",)):
            for name, line, n in functions(path):
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{os.path.relpath(path, SRC)}:{line}: {name} has {n} lines")
        self.assertEqual(long, [], "\n".join(long))


class Format(unittest.TestCase):
    def test_clang_format_clean(self):
        exe = shutil.which("clang-format")
        self.assertIsNotNone(exe, "clang-format is missing (Debian's clang-format package)")
        files = list(sources(PROGRAMS + LIBRARIES)) + list(sources(["fakes", "tests"]))
        p = subprocess.run([exe, "--dry-run", "--Werror", "--style=file"] + files, cwd=SRC,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        first = "\n".join(p.stdout.splitlines()[:40])
        self.assertEqual(p.returncode, 0, "not formatted as .clang-format says "
                         "(run clang-format -i on these files):\n" + first)


if __name__ == "__main__":
    unittest.main(verbosity=2)
