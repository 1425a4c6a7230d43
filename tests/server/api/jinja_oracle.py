#!/usr/bin/env python3
"""Renders every (template, conversation) pair of a chat_templates/ directory with Python's jinja2, set up
the way Hugging Face renders chat templates, and prints the results as JSON for jinja_oracle_test.cpp:
  {"<template>": {"<conversation>": {"ok": true, "text": "..."} | {"ok": false, "error": "...",
                                                                    "raised": true|false}}}
Usage: jinja_oracle.py DIR NOW_UNIX_SECONDS
"""
import datetime
import json
import os
import sys

from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


class Raised(Exception):
    """raise_exception() from a template."""


def make_env(now):
    def raise_exception(message):
        raise Raised(message)

    def strftime_now(fmt):
        return datetime.datetime.fromtimestamp(now, tz=datetime.timezone.utc).strftime(fmt)

    # Hugging Face's tojson: json.dumps keeping non-ASCII text and key order, no HTML escaping.
    def tojson(value, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def main():
    directory, now = sys.argv[1], int(sys.argv[2])
    with open(os.path.join(directory, "templates.json"), encoding="utf-8") as f:
        templates = json.load(f)
    with open(os.path.join(directory, "conversations.json"), encoding="utf-8") as f:
        conversations = json.load(f)
    env = make_env(now)
    out = {}
    for name, spec in templates.items():
        if name.startswith("_"):
            continue
        with open(os.path.join(directory, spec["file"]), encoding="utf-8", newline="") as f:
            template = env.from_string(f.read())
        results = {}
        for case, variables in conversations.items():
            if case.startswith("_"):
                continue
            try:
                text = template.render(**variables, bos_token=spec["bos_token"], eos_token=spec["eos_token"])
                results[case] = {"ok": True, "text": text}
            except Raised as e:
                results[case] = {"ok": False, "raised": True, "error": str(e)}
            except Exception as e:  # pylint: disable=broad-except  (TypeError etc. are template failures too)
                results[case] = {"ok": False, "raised": False, "error": str(e)}
        out[name] = results
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
