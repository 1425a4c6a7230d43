#!/usr/bin/env python3
"""Fails when kernel sources use what Vitis HLS cannot synthesise, or synthesises into a slow design.

The kernel is compiled by g++ for the simulated card every day but by v++ only on a machine with Vitis,
so this check keeps the FPGA build honest here. Every finding line is `FILE:LINE: [rule-tag] what: code`.

Conventions of the card kernel (kernel/card/) that the rules rely on:
  * The 512-bit memory word is `Word` (`ap_uint<512>` under Vitis; `ap_uint<512>` spelled out, or a
    typedef/using alias of either, counts too).
  * m_axi ports are the top function's parameters named in `#pragma HLS INTERFACE m_axi port = NAME`.
  * Every function parameter of pointer-to-Word type (`const Word* p`, `Word* p`) is an m_axi pointer,
    and so is a local `Word* q = <expression of an m_axi pointer>`. On-chip arrays are passed with array
    syntax (`Word buf[N]`, `const float x[N]`), streams as `hls::stream<T>&`.
  * A loop's own pragmas (PIPELINE, LOOP_TRIPCOUNT, DEPENDENCE) are the first lines of its body, after
    `{` and before any nested loop, outside any nested block.
  * A compile-time constant is a literal, a `k`-prefixed name (kLanes), or an ALL_CAPS macro; a loop
    header (init, bound, step) made only of those and the loop variable has a constant trip count.
  * A DEPENDENCE pragma is proven by a comment containing the word `distance` within the 3 lines above it
    or at the end of its line.
  * Code under `#ifndef __SYNTHESIS__` (or the `#else` of `#ifdef __SYNTHESIS__`) is host-only: skipped.

Rules (tags):
  [narrow-maxi-port]          an m_axi port whose pointee is not Word / ap_uint<512> (e.g. uint8_t*).
  [narrow-maxi-access]        an m_axi pointer cast to a narrower pointer ((const uint8_t*)p, *_cast<>).
  [conditional-maxi]          p[...] / *(p + ...) of an m_axi pointer inside an if/else/switch branch or
                              a ?: operand of a pipelined loop's body (bursts break; II grows).
  [pointer-in-aggregate]      a pointer member of a struct/class/union, an array of pointers (T* a[N]),
                              or a pointer to pointer (T**, T* const*): Vitis cannot map such m_axi.
  [runtime-loop-in-pipeline]  a loop nested in a pipelined loop (or function) whose header is not
                              constant: Vitis must fully unroll it.
  [dependence-without-proof]  a DEPENDENCE pragma without its `distance` comment.
  [dependence-without-storage]  a DEPENDENCE ... inter true distance = N pragma on a local array that
                              stays a memory (not partitioned completely in every dimension) with no
                              BIND_STORAGE for it in its function (a parameter's is its caller's):
                              the distance was argued for a memory's latency (LUTRAM reads in a cycle,
                              BRAM in two), so say which memory, rather than leave it to the tool.
  [runtime-division-in-pipeline]  `/` or `%` (or /=, %=) by a run-time value in a pipelined loop's
                              body: a divider of tens of cycles in the pipeline, which at II=1 costs
                              as many dividers as its latency. Count with counters instead, or divide
                              by a constant (a power of two is a shift or a mask).
  [dependence-on-registers]   a DEPENDENCE pragma in a pipelined loop on an array partitioned completely
                              in every dimension (ARRAY_PARTITION complete, dim = 0 or each dim) that
                              the loop indexes at run time (a subscript not made of constants and the
                              variables of constant loops nested in it, which are unrolled): the array
                              is registers, Vitis applies array dependences to memories only, so the
                              distance is dropped and the carried value scheduled at distance 1. Keep
                              the run-time dimension a memory (BIND_STORAGE ... impl = lutram).
  [missing-tripcount]         a loop with a run-time header and no LOOP_TRIPCOUNT among its own pragmas.
  [float-sum-ii1]             in a loop pipelined at II=1 (PIPELINE without II means 1): NAME += ...,
                              NAME -= ..., NAME = NAME + ... (NAME possibly subscripted) on a float or
                              double declared outside that loop's body: a carried sum that cannot start
                              every cycle. Not a finding when a subscript of NAME is the loop's own
                              variable (each iteration its own element), holds an interleave index (an
                              identifier assigned from `% CONST` or `& CONST`, or such an expression),
                              or the body has `DEPENDENCE variable = NAME inter true distance = N` with
                              its proof comment.
  And as before: [heap], [stl], [header], [virtual], [exceptions], [while], [goto], [recursion].

Heuristics, not a C++ parser: macros are not expanded, calls are not followed (a pipelined loop's
callee is not checked as part of it), and declarations are found by pattern, not by scope.

Usage: check_hls.py FILE...   exit 0 when clean, 1 with one line per finding otherwise.
"""
import bisect
import re
import sys

FORBIDDEN = [
    (r"\b(malloc|calloc|realloc|free)\s*\(", "heap", "heap allocation"),
    (r"\bnew\b|\bdelete\b", "heap", "heap allocation (new/delete)"),
    (r"\bstd::", "stl", "the standard library"),
    (r"#\s*include\s*<(?!(math|string|stdint|ap_int|ap_fixed|hls_stream|hls_math|hls_vector)\.h>)", "header",
     "a header other than math.h, string.h, stdint.h and the Vitis ap_*/hls_* ones"),
    (r"\bvirtual\b", "virtual", "virtual functions"),
    (r"\b(throw|try|catch)\b", "exceptions", "exceptions"),
    (r"\bwhile\s*\(", "while", "a while loop (unbounded)"),
    (r"\bgoto\b", "goto", "goto"),
]

CONST_NAME = re.compile(r"k[A-Z]\w*|[A-Z][A-Z0-9_]*")
# Words that may appear in a constant loop header besides constants and the loop variable.
HEADER_WORDS = {"int", "unsigned", "signed", "long", "short", "char", "bool", "size_t", "auto", "const",
                "constexpr", "register", "static_cast", "true", "false"}
CONST_OPERAND = r"\(?\s*(?:\d+|k[A-Z]\w*|[A-Z][A-Z0-9_]*)\b"
INTERLEAVE = re.compile(r"(?:%|&(?!&))\s*" + CONST_OPERAND)
PRAGMA_RE = re.compile(r"^[ \t]*#[ \t]*pragma[ \t]+HLS[ \t]+(\w+)([^\n]*)", re.I | re.M)
TOKEN_RE = re.compile(r"//[^\n]*|/\*.*?\*/|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'", re.S)
ELSE_RE = re.compile(r"else\b")
CONTROL_RE = re.compile(r"(for|while|if|switch)\b")
KEYWORDS = {"if", "for", "while", "switch", "catch", "return", "sizeof", "defined", "else", "do"}
# A type before `*` tells a declaration from a multiplication: built-in, *_t, CamelCase, ap_(u)int<>.
TYPE_PAT = (r"(?:\b(?:unsigned|signed|char|short|int|long|float|double|bool|void|auto|size_t|\w+_t)\b"
            r"|\b(?:\w+::)*[A-Z]\w*[a-z]\w*(?:\s*<[^<>;()]*>)?|\b(?:\w+::)*ap_u?(?:int|fixed)\s*<[^<>;()]*>)")
PTR_ARRAY_RE = re.compile(TYPE_PAT + r"\s*(?:const\s*)?\*+\s*(?:const\s+)?(?:__restrict__\s+)?[A-Za-z_]\w*\s*\[")
PTR_PTR_RE = re.compile(TYPE_PAT + r"\s*(?:const\s*)?\*\s*(?:const\s*)?\*")
STRUCT_RE = re.compile(r"\b(?:struct|class|union)\s+(?:[A-Za-z_]\w*\s*)?(?:final\s*)?(?::[^{;()]*)?\{")


def blank(s):
    return re.sub(r"[^\n]", " ", s)


def match_close(c, i):
    """c[i] opens a bracket; returns the index just past its match."""
    depth = 0
    for j in range(i, len(c)):
        if c[j] in "([{":
            depth += 1
        elif c[j] in ")]}":
            depth -= 1
            if depth == 0:
                return j + 1
    return len(c)


def skip_ws(c, i):
    while i < len(c) and c[i].isspace():
        i += 1
    return i


def statement_end(c, i):
    """The index just past the statement starting at (or after whitespace from) i."""
    i = skip_ws(c, i)
    if i >= len(c):
        return i
    if c[i] == "{":
        return match_close(c, i)
    m = CONTROL_RE.match(c, i)
    if m:
        j = skip_ws(c, m.end())
        if c.startswith("(", j):
            j = match_close(c, j)
        end = statement_end(c, j)
        if m.group(1) == "if":
            k = skip_ws(c, end)
            e = ELSE_RE.match(c, k)
            if e:
                end = statement_end(c, e.end())
        return end
    j = expression_end(c, i, ";")
    return j + 1 if j < len(c) and c[j] == ";" else j


def expression_end(c, i, stop=";,"):
    """The end of the expression from i: a `stop` char at depth 0 or a bracket closing an outer one."""
    depth = 0
    for j in range(i, len(c)):
        if c[j] in "([{":
            depth += 1
        elif c[j] in ")]}":
            depth -= 1
            if depth < 0:
                return j
        elif c[j] in stop and depth == 0:
            return j
    return len(c)


def split_top(text, sep=",", opening="([{<", closing=")]}>"):
    """Splits at `sep` outside brackets; yields (offset, part)."""
    depth, start = 0, 0
    for j, ch in enumerate(text):
        if ch in opening:
            depth += 1
        elif ch in closing:
            depth -= 1
        elif ch == sep and depth == 0:
            yield start, text[start:j]
            start = j + 1
    yield start, text[start:]


def strip_code(raw):
    """Comments and literal contents blanked (offsets kept), and each line's comment text."""
    out, comments, last, line = [], {}, 0, 1
    for m in TOKEN_RE.finditer(raw):
        out.append(raw[last:m.start()])
        line += raw.count("\n", last, m.start())
        tok = m.group(0)
        if tok[0] == "/":
            for k, part in enumerate(tok.split("\n")):
                comments.setdefault(line + k, []).append(part)
            out.append(blank(tok))
        else:
            out.append(tok[0] + blank(tok[1:-1]) + tok[-1])
        line += tok.count("\n")
        last = m.end()
    out.append(raw[last:])
    return "".join(out), comments


def drop_host_only(code):
    """Blanks the lines HLS never sees: #ifndef __SYNTHESIS__ branches and #ifdef __SYNTHESIS__ #else's."""
    lines, stack = code.split("\n"), []  # stack of [hidden branch ("if"/"else"/None), in_else]
    for n, line in enumerate(lines):
        d = re.match(r"\s*#\s*(ifndef|ifdef|if|elif|else|endif)\b(.*)", line)
        if d:
            kind, arg = d.group(1), re.sub(r"\s+", "", d.group(2))
            if kind in ("ifndef", "ifdef", "if"):
                host = None
                if (kind == "ifndef" and arg == "__SYNTHESIS__") or arg in ("!defined(__SYNTHESIS__)",
                                                                            "!defined__SYNTHESIS__"):
                    host = "if"
                elif (kind == "ifdef" and arg == "__SYNTHESIS__") or arg in ("defined(__SYNTHESIS__)",
                                                                             "defined__SYNTHESIS__"):
                    host = "else"
                stack.append([host, False])
            elif kind == "elif" and stack:
                stack[-1] = [None, True]
            elif kind == "else" and stack:
                stack[-1][1] = True
            elif kind == "endif" and stack:
                stack.pop()
        if any(h is not None and h == ("else" if e else "if") for h, e in stack):
            lines[n] = blank(line)
    return "\n".join(lines)


def is_word_type(type_text, aliases):
    base = re.sub(r"\b(const|volatile|__restrict__|__restrict|restrict)\b|[*&]", " ", type_text)
    base = re.sub(r"\b\w+::", "", re.sub(r"\s+", "", base))
    return base in aliases or base == "ap_uint<512>"


def constant_expr(expr, loop_vars):
    expr = re.sub(r"\bsizeof\s*\([^()]*\)", " 0 ", re.sub(r"\b\w+::", "", expr))  # Tile::kRows is kRows
    for ident in re.findall(r"\b[A-Za-z_]\w*", expr):
        if ident in loop_vars or ident in HEADER_WORDS or CONST_NAME.fullmatch(ident) \
                or re.fullmatch(r"u?int\d+_t", ident):
            continue
        return False
    return True


class Param:
    def __init__(self, name, type_text, is_array, offset):
        self.name, self.type, self.is_array, self.offset = name, type_text, is_array, offset
        self.is_pointer = "*" in type_text or is_array


class Region:
    """A loop or a function body: [body_start, body_end) of the code text."""
    def __init__(self, kind, start, body_start, body_end, header="", name=""):
        self.kind, self.start, self.body_start, self.body_end = kind, start, body_start, body_end
        self.header, self.name = header, name
        self.pragmas, self.loop_vars, self.constant, self.params = [], set(), True, []

    def contains(self, off):
        return self.body_start <= off < self.body_end


class Source:
    def __init__(self, path, raw):
        self.path, self.raw = path, raw
        self.raw_lines = raw.split("\n")
        code, self.comments = strip_code(raw)
        self.code = drop_host_only(code)
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", self.code)]
        self.pragmas = [(m.start(), m.group(1).upper(), m.group(2)) for m in PRAGMA_RE.finditer(self.code)]
        self.functions = self._functions()
        self.loops = self._loops()
        for region in self.functions + self.loops:
            self._own_pragmas(region)

    def line(self, off):
        return bisect.bisect_right(self.line_starts, off)

    def text(self, line):
        return self.raw_lines[line - 1].strip() if 0 < line <= len(self.raw_lines) else ""

    def function_at(self, off):
        for f in self.functions:
            if f.body_start - 1 <= off < f.body_end:
                return f
        return None

    def owner(self, off):
        """The function whose name, parameters or body hold off."""
        for f in self.functions:
            if f.start <= off < f.body_end:
                return f
        return None

    def _functions(self):
        c, found, pos = self.code, [], 0
        call = re.compile(r"\b([A-Za-z_]\w*)\s*\(")
        while True:
            m = call.search(c, pos)
            if not m:
                return found
            pos = m.end()
            line_start = c.rfind("\n", 0, m.start()) + 1
            if m.group(1) in KEYWORDS or c[line_start:m.start()].lstrip().startswith("#"):
                continue
            close = match_close(c, m.end() - 1)
            j = re.compile(r"\s*(?:(?:const|noexcept|override|final)\b\s*)*").match(c, close).end()
            if j < len(c) and c[j] == "{":
                end = match_close(c, j)
                f = Region("function", m.start(), j + 1, end - 1, name=m.group(1))
                f.params = self._params(m.end(), close - 1)
                found.append(f)
                pos = end

    def _params(self, start, end):
        params = []
        for off, part in split_top(self.code[start:end]):
            # A parameter list may open with a macro that expands to more parameters (the card kernel's
            # per-port arguments); the checker does not expand macros, so it reads what follows.
            decl = re.sub(r"^\s*[A-Z][A-Z0-9_]*\([^()]*\)\s*", "", part.split("=")[0])
            m = re.search(r"([A-Za-z_]\w*)\s*((?:\[[^\]]*\]\s*)*)$", decl.rstrip())
            if m and decl[:m.start()].strip():
                params.append(Param(m.group(1), decl[:m.start()], bool(m.group(2)), start + off + m.start(1)))
        return params

    def _loops(self):
        c, loops = self.code, []
        for m in re.finditer(r"\bfor\s*\(", c):
            close = match_close(c, m.end() - 1)
            header = c[m.end():close - 1]
            j = skip_ws(c, close)
            if j < len(c) and c[j] == "{":
                loop = Region("loop", m.start(), j + 1, match_close(c, j) - 1, header)
            else:
                loop = Region("loop", m.start(), j, statement_end(c, j), header)
            parts = [p for _, p in split_top(header, ";", "([{", ")]}")]
            if len(parts) == 3:
                init, cond, step = parts
                loop.loop_vars = set(re.findall(r"([A-Za-z_]\w*)\s*=(?!=)", init))
                loop.loop_vars |= set(re.findall(r"([A-Za-z_]\w*)\s*(?:\+\+|--|[-+*/]=|<<=|>>=)", step))
                loop.loop_vars |= set(re.findall(r"(?:\+\+|--)\s*([A-Za-z_]\w*)", step))
                loop.constant = bool(init.strip() and cond.strip()) and all(
                    constant_expr(p, loop.loop_vars) for p in parts)
            else:  # range-for over a fixed-size array
                loop.loop_vars = set(re.findall(r"([A-Za-z_]\w*)\s*:", header)[:1])
            loops.append(loop)
        return loops

    def _own_pragmas(self, region):
        end = min([l.start for l in self.loops if region.contains(l.start) and l is not region]
                  + [region.body_end])
        for off, directive, args in self.pragmas:
            if region.body_start <= off < end:
                seg = self.code[region.body_start:off]
                if seg.count("{") == seg.count("}"):
                    region.pragmas.append((off, directive, args))

    def has_proof(self, off):
        n = self.line(off)
        return any(re.search(r"\bdistance\b", text, re.I)
                   for k in range(n - 3, n + 1) for text in self.comments.get(k, []))


def pipelined(region):
    """None if the region is not pipelined, else its II (1 when not given, 0 when not a literal)."""
    for _, directive, args in region.pragmas:
        if directive == "PIPELINE" and not re.search(r"\boff\b", args, re.I):
            ii = re.search(r"\bII\s*=\s*(\w+)", args, re.I)
            return 1 if not ii else int(ii.group(1)) if ii.group(1).isdigit() else 0
    return None


class Checker:
    def __init__(self, sources):
        self.sources = sources
        all_code = "\n".join(s.code for s in sources)
        word = r"(?:\w+::)*(?:ap_uint\s*<\s*512\s*>|Word)"
        self.word_types = {"Word"} | set(re.findall(r"\btypedef\s+" + word + r"\s+(\w+)\s*;", all_code)) \
            | set(re.findall(r"\busing\s+(\w+)\s*=\s*" + word + r"\s*;", all_code))
        self.float_types = {"float", "double"} \
            | set(re.findall(r"\btypedef\s+(?:const\s+)?(?:float|double)\s*\**\s*(\w+)", all_code)) \
            | set(re.findall(r"\busing\s+(\w+)\s*=\s*(?:const\s+)?(?:float|double)\b", all_code))
        self.findings = []

    def add(self, src, off, tag, what):
        n = src.line(off)
        entry = (self.sources.index(src), n, f"{src.path}:{n}: [{tag}] {what}: {src.text(n)}")
        if entry not in self.findings:
            self.findings.append(entry)

    def run(self):
        for src in self.sources:
            self.legacy(src)
            maxi = self.ports(src)
            self.maxi_access(src, maxi)
            self.aggregates(src)
            self.loops(src)
            self.dependences(src)
            self.register_dependences(src)
            self.divisions(src)
            self.float_sums(src)
        return [entry for _, _, entry in sorted(self.findings, key=lambda e: e[:2])]

    def legacy(self, src):
        for pattern, tag, what in FORBIDDEN:
            for m in re.finditer(pattern, src.code):
                self.add(src, m.start(), tag, what)
        for f in src.functions:
            if re.search(r"\b" + re.escape(f.name) + r"\s*\(", src.code[f.body_start:f.body_end]):
                self.add(src, f.start, "recursion", f"function {f.name} calls itself (recursion)")

    def ports(self, src):
        """Checks the m_axi ports; returns each function's m_axi pointer names."""
        maxi = {}
        for f in src.functions:
            maxi[f] = {p.name for p in f.params if p.is_pointer and not p.is_array
                       and is_word_type(p.type, self.word_types)}
        for off, directive, args in src.pragmas:
            port = re.search(r"\bport\s*=\s*(\w+)", args, re.I)
            if directive != "INTERFACE" or not re.search(r"\bm_axi\b", args, re.I) or not port:
                continue
            f = src.function_at(off)
            params = {p.name: p for p in f.params} if f else {}
            p = params.get(port.group(1))
            if p is None:
                self.add(src, off, "narrow-maxi-port", f"m_axi port {port.group(1)} is not a parameter")
                continue
            maxi[f].add(p.name)
            if not (p.is_pointer and is_word_type(p.type, self.word_types)):
                self.add(src, p.offset, "narrow-maxi-port",
                         f"narrow m_axi port {p.name} ({p.type.strip()}): use Word (ap_uint<512>)")
        word = "|".join(re.escape(w) for w in self.word_types) + r"|ap_uint\s*<\s*512\s*>"
        local = re.compile(r"\b(?:" + word + r")\s*(?:const\s*)?\*\s*(?:const\s+)?(?:__restrict__\s+)?"
                           r"([A-Za-z_]\w*)\s*=([^;]*)")
        for f in src.functions:
            for m in local.finditer(src.code, f.body_start, f.body_end):
                if any(re.search(r"\b" + re.escape(n) + r"\b", m.group(2)) for n in maxi[f]):
                    maxi[f].add(m.group(1))
        return maxi

    def maxi_access(self, src, maxi):
        c = src.code
        for f, names in maxi.items():
            for name in names:
                n = re.escape(name)
                casts = [r"\(\s*((?:const\s+|volatile\s+)*[\w:]+(?:\s*<[^<>()]*>)?\s*(?:const\s*)?\*+)\s*\)"
                         r"\s*\(?\s*&?\s*" + n + r"\b",
                         r"\b(?:reinterpret|static|const)_cast\s*<([^;]*?)>\s*\(\s*&?\s*" + n + r"\b"]
                for pattern in casts:
                    for m in re.compile(pattern).finditer(c, f.body_start, f.body_end):
                        if not is_word_type(m.group(1), self.word_types):
                            self.add(src, m.start(), "narrow-maxi-access",
                                     f"m_axi pointer {name} read through a narrower {m.group(1).strip()}")
        for region in src.functions + src.loops:
            if pipelined(region) is None:
                continue
            f = region if region.kind == "function" else src.function_at(region.start)
            names = maxi.get(f, set())
            if not names:
                continue
            spans = conditional_spans(c, region.body_start, region.body_end)
            access = re.compile(r"\b(?:" + "|".join(map(re.escape, names)) + r")\s*(?:\[|->)|\*\s*\(?\s*(?:"
                                + "|".join(map(re.escape, names)) + r")\b")
            for m in access.finditer(c, region.body_start, region.body_end):
                if any(s <= m.start() < e for s, e in spans):
                    self.add(src, m.start(), "conditional-maxi",
                             f"m_axi access in a branch of the pipelined {region.kind} at line "
                             f"{src.line(region.start)}")

    def aggregates(self, src):
        c = src.code
        for m in STRUCT_RE.finditer(c):
            start, end = m.end(), match_close(c, m.end() - 1) - 1
            flat, depth = list(c[start:end]), 0
            for j, ch in enumerate(flat):  # nested blocks (member function bodies) end a declaration
                if ch == "{":
                    depth += 1
                    flat[j] = ";" if depth == 1 else " "
                elif ch == "}":
                    depth -= 1
                    flat[j] = " "
                elif depth:
                    flat[j] = " " if ch != "\n" else ch
            for d in re.finditer(r"[^;]+", "".join(flat)):
                decl = re.sub(r"\b(public|private|protected)\s*:", " ", d.group(0))
                if re.match(r"\s*(typedef|using|static_assert|friend|template|enum)\b", decl) \
                        or "operator" in decl:
                    continue
                decl = re.sub(r"\[[^\]]*\]|<[^<>;]*>", "", decl.split("=")[0])  # kN * 2 is no pointer
                at = start + d.start() + len(d.group(0)) - len(d.group(0).lstrip())
                if ("(" in decl and re.search(r"\(\s*\*", decl)) or ("(" not in decl and "*" in decl):
                    self.add(src, at, "pointer-in-aggregate", "pointer member of a struct")
        for m in PTR_ARRAY_RE.finditer(c):
            self.add(src, m.start(), "pointer-in-aggregate", "array of pointers")
        for m in PTR_PTR_RE.finditer(c):
            self.add(src, m.start(), "pointer-in-aggregate", "pointer to pointer")

    def loops(self, src):
        for loop in src.loops:
            if not loop.constant and not any(d == "LOOP_TRIPCOUNT" for _, d, _ in loop.pragmas):
                self.add(src, loop.start, "missing-tripcount",
                         "loop with a run-time bound and no LOOP_TRIPCOUNT in its own body")
        for region in src.functions + src.loops:
            if pipelined(region) is None:
                continue
            for loop in src.loops:
                if loop is not region and region.contains(loop.start) and not loop.constant:
                    self.add(src, loop.start, "runtime-loop-in-pipeline",
                             f"loop with a run-time bound inside the pipelined {region.kind} at line "
                             f"{src.line(region.start)} (it must be fully unrolled)")

    def dependences(self, src):
        for off, directive, _ in src.pragmas:
            if directive == "DEPENDENCE" and not src.has_proof(off):
                self.add(src, off, "dependence-without-proof",
                         "DEPENDENCE without a comment giving the distance (within 3 lines above)")

    def divisions(self, src):
        c = src.code
        div = re.compile(r"(?<![/*])(/|%)=?(?![/*])\s*")
        for loop in src.loops:
            if pipelined(loop) is None:
                continue
            for m in div.finditer(c, loop.body_start, loop.body_end):
                j = m.end()
                if c.startswith("(", j):
                    operand = c[j + 1:match_close(c, j) - 1]
                else:
                    operand = re.match(r"[\w.]*(?:\s*(?:->|::)\s*\w+)*", c[j:]).group(0)
                if operand and not constant_expr(operand, set()):
                    self.add(src, m.start(), "runtime-division-in-pipeline",
                             f"division by the run-time {operand.strip()} in the pipelined loop at line "
                             f"{src.line(loop.start)}")

    def register_dependences(self, src):
        c = src.code
        for loop in src.loops:
            if pipelined(loop) is None:
                continue
            f = src.function_at(loop.start)
            if f is None:
                continue
            unrolled = set().union(*[l.loop_vars for l in src.loops
                                     if l is not loop and loop.contains(l.start) and l.constant])
            for off, directive, args in src.pragmas:
                v = re.search(r"\bvariable\s*=\s*(\w+)", args, re.I)
                if directive != "DEPENDENCE" or not loop.contains(off) or not v:
                    continue
                name = v.group(1)
                dims = array_dims(c, f, name)
                if dims and complete_dims(src, f, name, dims) != set(range(1, dims + 1)):
                    carried = re.search(r"\binter\b", args, re.I) and re.search(r"\btrue\b", args, re.I) \
                        and re.search(r"\bdistance\b", args, re.I)
                    local = name not in {p.name for p in f.params}
                    if carried and local and not any(d == "BIND_STORAGE" and f.start <= o < f.body_end
                               and re.search(r"\bvariable\s*=\s*" + re.escape(name) + r"\b", a, re.I)
                               for o, d, a in src.pragmas):
                        self.add(src, off, "dependence-without-storage",
                                 f"DEPENDENCE on the memory {name} with no BIND_STORAGE saying which memory")
                    continue
                if not dims:
                    continue
                use = re.compile(r"(?<![\w.>])" + re.escape(name) + r"((?:\s*\[(?:[^\[\]]|\[[^\[\]]*\])*\])+)")
                for m in use.finditer(c, loop.body_start, loop.body_end):
                    indices = re.findall(r"\[((?:[^\[\]]|\[[^\[\]]*\])*)\]", m.group(1))
                    if any(not constant_expr(i, unrolled) for i in indices):
                        self.add(src, off, "dependence-on-registers",
                                 f"DEPENDENCE on {name}, partitioned into registers but indexed at run time "
                                 f"(line {src.line(m.start())}): Vitis drops the distance; keep that "
                                 f"dimension a memory")
                        break

    def float_decls(self, src):
        """(offset, name) of every float/double declaration: parameters, locals, globals."""
        decls = []
        for f in src.functions:
            for p in f.params:
                if re.sub(r"\b(const|volatile|__restrict__)\b|[*&\s]", "", p.type) in self.float_types:
                    decls.append((p.offset, p.name))
        types = "|".join(re.escape(t) for t in self.float_types)
        pat = re.compile(r"(?:^|(?<=[;{}]))[ \t]*(?:(?:static|const|constexpr|volatile|register)\s+)*"
                         r"(?:" + types + r")\b(?!\s*\()", re.M)
        for m in pat.finditer(src.code):
            declarators = re.compile(r"[^;{]*").match(src.code, m.end()).group(0)
            for off, part in split_top(declarators):
                d = re.match(r"[\s*&]*(?:const\s+)?(?:__restrict__\s+)?([A-Za-z_]\w*)", part)
                if d:
                    decls.append((m.end() + off + d.start(1), d.group(1)))
        return sorted(decls)

    def float_sums(self, src):
        c, decls = src.code, self.float_decls(src)
        assign = re.compile(r"(?<![\w.>])([A-Za-z_]\w*)((?:\s*\[(?:[^\[\]]|\[[^\[\]]*\])*\])*)\s*(\+=|-=|=(?!=))")
        for loop in src.loops:
            if pipelined(loop) != 1:
                continue
            f = src.function_at(loop.start)
            for m in assign.finditer(c, loop.body_start, loop.body_end):
                name, subs, op = m.groups()
                if op == "=":
                    rhs = c[m.end():expression_end(c, m.end(), ";")]
                    if not (re.search(r"\b" + re.escape(name) + r"\b", rhs) and re.search(r"[-+]|\bfma", rhs)):
                        continue
                scope = [d for d in decls if d[1] == name and d[0] < m.start()
                         and src.owner(d[0]) in (f, None)]
                if not scope or loop.contains(scope[-1][0]):
                    continue  # not a float, or a partial sum of this iteration
                indices = re.findall(r"\[((?:[^\[\]]|\[[^\[\]]*\])*)\]", subs)
                if any(self.own_element(i, loop.loop_vars) for i in indices):
                    continue  # each iteration its own element
                if any(INTERLEAVE.search(i) or any(self.interleave(src, f, ident)
                                                   for ident in re.findall(r"\b[A-Za-z_]\w*", i))
                       for i in indices):
                    continue
                if any(d == "DEPENDENCE" and re.search(r"\bvariable\s*=\s*" + re.escape(name) + r"\b", a)
                       and re.search(r"\binter\b", a, re.I) and re.search(r"\btrue\b", a, re.I)
                       and re.search(r"\bdistance\s*=\s*\w+", a, re.I) and src.has_proof(off)
                       for off, d, a in src.pragmas if loop.contains(off)):
                    continue
                self.add(src, m.start(), "float-sum-ii1",
                         f"float sum {name} carried across iterations of the II=1 loop at line "
                         f"{src.line(loop.start)} without partial sums")

    @staticmethod
    def own_element(index, loop_vars):
        """Whether the index moves with the loop variable, as i or 2 * i + k do (key[i] or i / 4 do not)."""
        if not loop_vars or re.search(r"[\[/%&>]|<<|\w\s*\(", index):
            return False
        return bool(re.search(r"\b(?:" + "|".join(map(re.escape, loop_vars)) + r")\b", index))

    def interleave(self, src, f, ident):
        """Whether ident is assigned, in f, from an expression with % CONST or & CONST."""
        if f is None:
            return False
        for m in re.finditer(r"\b" + re.escape(ident) + r"\s*=(?!=)([^;]*)", src.code[f.start:f.body_end]):
            if INTERLEAVE.search(m.group(1)):
                return True
        return False


def array_dims(c, f, name):
    """The number of dimensions of array `name` as declared in function f (a parameter or a local)."""
    m = re.compile(r"[\w>]\s+" + re.escape(name) + r"\s*((?:\[[^\]]*\]\s*)+)").search(c, f.start, f.body_end)
    return m.group(1).count("[") if m else 0


def complete_dims(src, f, name, dims):
    """The dimensions (1-based) of `name` that f's ARRAY_PARTITION pragmas split completely."""
    done = set()
    for off, directive, args in src.pragmas:
        if directive != "ARRAY_PARTITION" or not f.start <= off < f.body_end \
                or not re.search(r"\bvariable\s*=\s*" + re.escape(name) + r"\b", args, re.I) \
                or not re.search(r"\bcomplete\b", args, re.I):
            continue
        d = re.search(r"\bdim\s*=\s*(\d+)", args, re.I)
        dim = int(d.group(1)) if d else 1
        done |= set(range(1, dims + 1)) if dim == 0 else {dim}
    return done


def conditional_spans(c, start, end):
    """Spans of [start, end) that run only on some iterations: if/else/switch branches, ?: operands."""
    spans = []
    for m in re.compile(r"\b(if|switch)\s*\(").finditer(c, start, end):
        close = match_close(c, m.end() - 1)
        then_end = statement_end(c, close)
        spans.append((close, then_end))
        if m.group(1) == "if":
            k = skip_ws(c, then_end)
            e = ELSE_RE.match(c, k)
            if e:
                spans.append((e.end(), statement_end(c, e.end())))
    for q in range(start, end):
        if c[q] != "?":
            continue
        depth, nested, j = 0, 0, q + 1
        while j < end:
            ch = c[j]
            if ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth -= 1
                if depth < 0:
                    break
            elif ch == ";" and depth == 0:
                break
            elif ch == "?" and depth == 0:
                nested += 1
            elif ch == ":" and depth == 0:
                if c.startswith("::", j) or c[j - 1] == ":":
                    j += 1
                    continue
                if nested == 0:
                    spans.append((q + 1, expression_end(c, j + 1)))
                    break
                nested -= 1
            j += 1
    return spans


def main(paths):
    sources = [Source(p, open(p, encoding="utf-8").read()) for p in paths]
    findings = Checker(sources).run()
    for f in findings:
        print(f)
    print(f"check_hls: {len(paths)} files, {len(findings)} findings")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
