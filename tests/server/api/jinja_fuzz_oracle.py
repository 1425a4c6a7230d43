#!/usr/bin/env python3
"""Differential fuzzing of our Jinja interpreter against Python's jinja2: prints N random templates (built
from the constructs our interpreter supports, with random whitespace control) and what jinja2 renders for
each, as JSON for jinja_oracle_test.cpp:
  {"variables": {...}, "cases": [{"source": "...", "ok": true, "text": "..."} | {"source": ..., "ok": false}]}
Usage: jinja_fuzz_oracle.py SEED N

Left out on purpose, because jinja2's answer there is an artefact of Python rather than a behaviour a chat
template relies on: lazy filters (select, reject, map, unique, reverse, items) on values that are not
sequences or whose result is printed without | list (Python prints "<generator object ...>" or fails only
when iterated), the loop object and range() printed as such, and non-ASCII text under case mapping (our
upper/lower are ASCII-only: jinja_strings.h).
"""
import json
import random
import sys

from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

VARIABLES = {
    "messages": [{"role": "system", "content": " Sys "}, {"role": "user", "content": "Hi {{x}} <s>"},
                 {"role": "assistant", "content": "Yo\n"}],
    "s": "Hello World", "n": 5, "f": 2.5, "l": [3, 1, 2], "d": {"b": 1, "a": "x"}, "e": "", "t": True,
    "bos_token": "<s>", "eos_token": "</s>",
}

ATOMS = ["s", "n", "f", "l", "d", "e", "t", "none", "true", "false", "0", "1", "-2", "3.5", "'ab'", "\"x y\"", "''",
         "[1, 'a']", "{'k': 'v'}", "messages", "messages[0]", "messages[1].content", "messages[-1]['role']", "nope",
         "l[1:]", "s[2:5]", "s[::-1]", "d.a", "d['b']", "bos_token", "(1, 2)", "'it\\'s'", "\"a\\tb\\n\"",
         "(n % 3)", "(-7 % 3)", "(f % 2)", "(7 % -2)"]
FILTERS = ["trim", "length", "upper", "lower", "tojson", "default('D')", "capitalize", "join(',')", "first", "last",
           "string", "int", "float", "title", "replace('l', 'L')", "abs", "tojson(indent=2)", "default('x', true)",
           "count"]
SEQUENCE_FILTERS = ["select('odd') | list", "reject('none') | list", "map('string') | list", "unique | list",
                    "reverse | list", "list", "join('-')", "length", "first", "last"]
METHODS = [".strip()", ".lstrip()", ".upper()", ".lower()", ".title()", ".split()", ".split(' ')",
           ".startswith('H')", ".endswith('d')", ".replace('o', '0')", ".find('o')", ".count('l')"]
DICT_METHODS = [".get('a')", ".get('z', 9)", ".items() | list", ".keys() | list", ".values() | list", " | items | list"]
# "%" only between numbers (below): on a string it is printf formatting, which we refuse.
OPERATORS = ["+", "-", "*", "/", "//", "~", "==", "!=", "<", ">=", "and", "or", "in", "not in", "**"]
TESTS = ["defined", "undefined", "none", "string", "mapping", "iterable", "number", "integer", "odd", "even",
         "sequence", "divisibleby 2", "eq 5", "true", "false", "boolean", "float"]
SPACES = ["", " ", "\n", "  \n", "\n  ", "\t", "\n\n"]


class Generator:
    def __init__(self, seed):
        self.r = random.Random(seed)

    def expr(self, depth=0):
        r = self.r.random()
        if depth > 2 or r < 0.3:
            return self.r.choice(ATOMS)
        if r < 0.42:
            return f"{self.expr(depth + 1)} | {self.r.choice(FILTERS)}"
        if r < 0.48:
            return f"{self.r.choice(['l', 'd', 's', '[1, 2, 1]', 'messages'])} | {self.r.choice(SEQUENCE_FILTERS)}"
        if r < 0.55:
            return f"{self.r.choice(['s', 'e', 'messages[0].content'])}{self.r.choice(METHODS)}"
        if r < 0.58:
            return f"d{self.r.choice(DICT_METHODS)}"
        if r < 0.75:
            return f"({self.expr(depth + 1)} {self.r.choice(OPERATORS)} {self.expr(depth + 1)})"
        if r < 0.82:
            return f"{self.expr(depth + 1)} is {self.r.choice(['', 'not '])}{self.r.choice(TESTS)}"
        if r < 0.9:
            return f"({self.expr(depth + 1)} if {self.expr(depth + 1)} else {self.expr(depth + 1)})"
        return f"not {self.expr(depth + 1)}"

    def tag(self, body, block=True):
        signs = ["", "", "-", "+"] if block else ["", "", "-"]
        left, right = self.r.choice(signs), self.r.choice(signs)
        return f"{{%{left} {body} {right}%}}" if block else f"{{{{{left} {body} {right}}}}}"

    def ws(self):
        return self.r.choice(SPACES)

    def body(self, depth):
        return "".join(self.stmt(depth + 1) for _ in range(self.r.randint(0, 3)))

    def stmt(self, depth=0):
        r = self.r.random()
        if depth > 2 or r < 0.25:
            return self.r.choice(["text", " a b ", "\n", "x\n  ", ""]) + self.ws()
        if r < 0.5:
            return self.ws() + self.tag(self.expr(), block=False) + self.ws()
        if r < 0.62:
            out = self.ws() + self.tag(f"if {self.expr()}") + self.body(depth)
            if self.r.random() < 0.3:
                out += self.tag("elif " + self.expr()) + self.body(depth)
            if self.r.random() < 0.5:
                out += self.tag("else") + self.body(depth)
            return out + self.tag("endif") + self.ws()
        if r < 0.77:
            iterable = self.r.choice(["messages", "l", "d", "s", "range(4)", "d.items()", "[]", "nope"])
            target = "k, v" if iterable == "d.items()" else "x"
            cond = f" if {self.expr()}" if self.r.random() < 0.2 else ""
            inner = self.body(depth)
            if self.r.random() < 0.2:
                inner += self.tag(self.r.choice(["break", "continue"]))
            shown = ["loop.index", "loop.first", "loop.last", "loop.length", "loop.revindex0", "loop.previtem",
                     "k if k is defined else x"]
            inner += self.ws() + self.tag(self.r.choice(shown), block=False)
            out = self.ws() + self.tag(f"for {target} in {iterable}{cond}") + inner
            if self.r.random() < 0.3:
                out += self.tag("else") + self.body(depth)
            return out + self.tag("endfor") + self.ws()
        if r < 0.85:
            return (self.tag(f"set v{self.r.randint(0, 2)} = {self.expr()}") + self.ws() +
                    self.tag(f"v{self.r.randint(0, 2)}", block=False))
        if r < 0.92:
            return (self.tag("set ns = namespace(a=1)") + self.tag(f"set ns.a = {self.expr()}") +
                    self.tag("ns.a", block=False))
        return self.ws() + "{# c #}" + self.ws()

    def template(self):
        return "".join(self.stmt() for _ in range(self.r.randint(1, 5)))


def main():
    seed, count = int(sys.argv[1]), int(sys.argv[2])
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = lambda v, indent=None: json.dumps(v, ensure_ascii=False, indent=indent)
    gen = Generator(seed)
    cases = []
    for _ in range(count):
        source = gen.template()
        try:
            cases.append({"source": source, "ok": True, "text": env.from_string(source).render(**VARIABLES)})
        except Exception:  # pylint: disable=broad-except  (any failure: ours must fail too)
            cases.append({"source": source, "ok": False})
    json.dump({"variables": VARIABLES, "cases": cases}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
