#!/usr/bin/env python3
"""Fails when a layer of fpgaserve includes a layer it may not use, or a source file is in no target.

The layers and what each may use are the table in cmake/layers.txt (bottom up; a layer may use only
layers listed above it). The same table holds the CMake targets' link lines (cmake/layers.cmake), so the
#include lines checked here and the link lines checked there cannot drift apart.

Checks, over the tree at ROOT:
  1. Every #include "..." or <...> in a header or source under a layer's folder that names a file of
     another layer (by its path from the project root, or a path relative to the including file) must
     name a layer the includer's row lets it use. A finding names the file, the line and both layers,
     and says whether the included layer is above the includer's (the wrong direction) or merely not in
     its list. A file under base/ kernel/ fpga/ server/ outside every layer's folder is a finding too
     (a new folder needs its row in the table).
  2. Every .cpp under the layers' folders and tests/ is named by a CMakeLists.txt in its folder or a
     folder above it (source lists are explicit; a forgotten file would otherwise be left out, and a
     forgotten test would silently not run). Fixture trees of this checker and node_modules/ folders
     (npm packages the tests install) are skipped.

Heuristics, not a preprocessor: every #include line counts, whatever #if it sits under.

Usage: check_layers.py [--root DIR] [--table FILE]
  ROOT defaults to the checkout holding this script; TABLE to ROOT/cmake/layers.txt.
  Exit 0 when clean, 1 with one line per finding otherwise, 2 when the table itself is wrong.
"""
import argparse
import os
import re
import sys

# The top folders whose includes are checked (a quoted include starting with one of these is ours).
TOP_FOLDERS = ("base", "kernel", "fpga", "server")
SOURCE_SUFFIXES = (".h", ".hpp", ".cpp", ".cc", ".inc")
# Trees of deliberately wrong files for this checker's own tests: not part of the product or the tests.
FIXTURE_DIRS = ("tests/tools/layers_fixture",)
# Folders of other people's code that tests install (npm packages hold C++ sources of their own).
FOREIGN_DIRS = ("node_modules",)

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


class Layer:
    def __init__(self, name, folder, target, may_use, rank):
        self.name = name
        self.folder = folder.strip("/")
        self.target = target
        self.may_use = may_use
        self.rank = rank


def read_table(path):
    """The layers of cmake/layers.txt in order, bottom up. Exits 2 when the table contradicts itself."""
    layers = []
    by_name = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            fields = line.split()
            if len(fields) < 4:
                print(f"{path}:{number}: a row is: layer folder target may-use... (or -)", file=sys.stderr)
                sys.exit(2)
            name, folder, target, may_use = fields[0], fields[1], fields[2], [u for u in fields[3:] if u != "-"]
            for used in may_use:
                if used not in by_name:
                    print(f"{path}:{number}: layer {name} may use {used}, which is not a layer listed above it",
                          file=sys.stderr)
                    sys.exit(2)
            layer = Layer(name, folder, target, set(may_use), len(layers))
            layers.append(layer)
            by_name[name] = layer
    if not layers:
        print(f"{path}: no layers", file=sys.stderr)
        sys.exit(2)
    return layers


def layer_of(path, layers):
    """The layer whose folder holds `path` (relative to the root, '/'-separated); the deepest folder wins."""
    best = None
    for layer in layers:
        if path.startswith(layer.folder + "/") and (best is None or len(layer.folder) > len(best.folder)):
            best = layer
    return best


def walk(root, top, suffixes):
    """Files under root/top with one of the suffixes, as sorted root-relative '/'-separated paths."""
    found = []
    for directory, subdirs, files in os.walk(os.path.join(root, top)):
        rel_dir = os.path.relpath(directory, root).replace(os.sep, "/")
        subdirs[:] = sorted(d for d in subdirs if f"{rel_dir}/{d}" not in FIXTURE_DIRS and d not in FOREIGN_DIRS
                            and not d.startswith("."))
        found += [f"{rel_dir}/{name}" for name in files if name.endswith(suffixes)]
    return sorted(found)


def resolve(root, including, included):
    """The root-relative path an #include names, or None when it is not one of ours."""
    local = os.path.normpath(os.path.join(os.path.dirname(including), included)).replace(os.sep, "/")
    if not local.startswith("../") and os.path.isfile(os.path.join(root, local)):
        return local
    if included.split("/", 1)[0] in TOP_FOLDERS:
        return os.path.normpath(included).replace(os.sep, "/")
    return None


def check_includes(root, layers):
    findings = []
    for top in TOP_FOLDERS:
        for path in walk(root, top, SOURCE_SUFFIXES):
            src = layer_of(path, layers)
            if src is None:
                findings.append(f"{path}:1: the file is in no layer: give its folder a row in the layer table")
                continue
            with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
                lines = f.readlines()
            for number, line in enumerate(lines, 1):
                m = INCLUDE_RE.match(line)
                if not m:
                    continue
                target = resolve(root, path, m.group(2))
                if target is None:
                    continue
                dst = layer_of(target, layers)
                if dst is None:
                    findings.append(f"{path}:{number}: layer {src.name} includes {m.group(2)}, which is in no layer")
                elif dst is not src and dst.name not in src.may_use:
                    if dst.rank > src.rank:
                        why = f"{dst.name} is a layer above {src.name}"
                    else:
                        allowed = " ".join(layer.name for layer in reversed(layers) if layer.name in src.may_use)
                        why = f"{dst.name} is not in {src.name}'s list (it may use: {allowed or 'none'})"
                    findings.append(f"{path}:{number}: layer {src.name} includes layer {dst.name} "
                                    f"({m.group(2)}): {why}")
    return findings


def cmake_text_without_comments(path):
    with open(path, encoding="utf-8") as f:
        return "\n".join(line.split("#", 1)[0] for line in f)


def check_sources_listed(root, layers):
    findings = []
    cache = {}
    tops = sorted({layer.folder.split("/", 1)[0] for layer in layers} | {"tests"})
    for top in tops:
        for path in walk(root, top, (".cpp", ".cc")):
            directory = os.path.dirname(path)
            listed = False
            while True:
                cmake = os.path.join(root, directory, "CMakeLists.txt")
                if os.path.isfile(cmake):
                    if cmake not in cache:
                        cache[cmake] = cmake_text_without_comments(cmake)
                    rel = os.path.relpath(path, directory or ".").replace(os.sep, "/")
                    if re.search(r"(?<![\w.+-])" + re.escape(rel) + r"(?![\w.+-])", cache[cmake]):
                        listed = True
                        break
                if not directory:
                    break
                directory = os.path.dirname(directory)
            if not listed:
                findings.append(f"{path}:1: no CMakeLists.txt in its folder or above names this source file "
                                "(source lists are explicit: add it to its target's list)")
    return findings


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--root", default=os.path.dirname(here), help="the tree to check")
    parser.add_argument("--table", help="the layer table (default: ROOT/cmake/layers.txt)")
    args = parser.parse_args()
    root = os.path.abspath(args.root)
    layers = read_table(args.table or os.path.join(root, "cmake", "layers.txt"))
    findings = check_includes(root, layers) + check_sources_listed(root, layers)
    for finding in findings:
        print(finding)
    if findings:
        print(f"check_layers: {len(findings)} finding(s) in {root}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
