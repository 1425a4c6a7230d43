#!/usr/bin/env python3
"""Fails when kernel sources use what Vitis HLS cannot synthesise.

The kernel is compiled by g++ for the simulated card every day but by v++ only on a machine with Vitis,
so this check keeps the FPGA build honest here: no heap, no STL, no virtual calls, no recursion, no
exceptions, no unbounded loops (`while`, or a `for` with a run-time bound and no LOOP_TRIPCOUNT).

Usage: check_hls.py FILE...   exit 0 when clean, 1 with one line per finding otherwise.
"""
import re
import sys

FORBIDDEN = [
    (r"\b(malloc|calloc|realloc|free)\s*\(", "heap allocation"),
    (r"\bnew\b|\bdelete\b", "heap allocation (new/delete)"),
    (r"\bstd::", "the standard library"),
    (r"#\s*include\s*<(?!(math|string|stdint)\.h>)", "a header other than math.h, string.h, stdint.h"),
    (r"\bvirtual\b", "virtual functions"),
    (r"\b(throw|try|catch)\b", "exceptions"),
    (r"\bwhile\s*\(", "a while loop (unbounded)"),
    (r"\bgoto\b", "goto"),
]


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def function_bodies(text):
    """Yields (name, body) for each top-level function definition, by brace matching."""
    for m in re.finditer(r"\b([A-Za-z_]\w*)\s*\([^;{}]*\)\s*(const\s*)?\{", text):
        name = m.group(1)
        if name in ("if", "for", "switch", "while"):
            continue
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        yield name, text[m.end():i - 1]


def check(path):
    findings = []
    text = strip_comments(open(path, encoding="utf-8").read())
    lines = text.split("\n")
    for n, line in enumerate(lines, 1):
        for pattern, what in FORBIDDEN:
            if re.search(pattern, line):
                findings.append(f"{path}:{n}: {what}: {line.strip()}")
        loop = re.search(r"\bfor\s*\(([^;]*);([^;]*);", line)
        if loop:
            bound = loop.group(2)
            constant = re.fullmatch(r"\s*\w+\s*<=?\s*(\d+|k[A-Z]\w*)\s*", bound)
            following = "\n".join(lines[n:n + 3])
            if not constant and "LOOP_TRIPCOUNT" not in following:
                findings.append(f"{path}:{n}: loop with a run-time bound and no LOOP_TRIPCOUNT: {line.strip()}")
    for name, body in function_bodies(text):
        if re.search(r"\b" + re.escape(name) + r"\s*\(", body):
            findings.append(f"{path}: function {name} calls itself (recursion)")
    return findings


def main(paths):
    findings = [f for p in paths for f in check(p)]
    for f in findings:
        print(f)
    print(f"check_hls: {len(paths)} files, {len(findings)} findings")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
