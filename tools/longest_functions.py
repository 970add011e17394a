#!/usr/bin/env python3
"""List the longest C function bodies in the tree (the issue #19 measure).

A simple scan, not a parser: comments, strings and character literals are
blanked, then every brace at file level whose preceding text ends in ')' opens
a function; its length is the line count from the line of its name to its
closing brace.  Good enough for this tree's style (K&R, one definition per
top-level block); generated and vendored files (bpf/vmlinux.h) are skipped.

    tools/longest_functions.py [-n 15] [DIR ...]   (default: bpf format record report)
"""
import argparse
import os
import re
import sys

SKIP = {"vmlinux.h"}


def blank(src):
    """Replace comments, strings and char literals by spaces (keep newlines)."""
    out = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", src[i:j]))
            i = j
        elif src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + re.sub(r"[^\n]", " ", src[i + 1:j - 1]) + c)
            i = j
        elif c == "#" and (i == 0 or src[i - 1] == "\n"):
            # preprocessor line (with continuations): not code for this scan
            j = i
            while True:
                k = src.find("\n", j)
                if k < 0:
                    k = n
                    break
                if src[k - 1] != "\\":
                    break
                j = k + 1
            out.append(re.sub(r"[^\n]", " ", src[i:k]))
            i = k
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = blank(f.read())
    depth = 0
    start = 0          # offset after the last top-level ';' or '}'
    res = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "{":
            if depth == 0:
                head = text[start:i]
                m = re.search(r"([A-Za-z_]\w*)\s*\((?:[^()]|\([^()]*\))*\)\s*$", head)
                if m and not re.search(r"=\s*$", head[:m.start()]):
                    name = m.group(1)
                    line0 = text.count("\n", 0, start + m.start()) + 1
                    fn = (name, line0)
                else:
                    fn = None
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                if fn:
                    line1 = text.count("\n", 0, i) + 1
                    res.append((line1 - fn[1] + 1, path, fn[1], fn[0]))
                    fn = None
                start = i + 1
        elif c == ";" and depth == 0:
            start = i + 1
        i += 1
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=15)
    ap.add_argument("dirs", nargs="*", default=["bpf", "format", "record", "report"])
    a = ap.parse_args()
    allf = []
    for d in a.dirs:
        for root, _, files in os.walk(d):
            for name in sorted(files):
                if name.endswith((".c", ".h")) and name not in SKIP:
                    allf += functions(os.path.join(root, name))
    allf.sort(key=lambda r: (-r[0], r[1], r[2]))
    for length, path, line, name in allf[:a.n]:
        print(f"{length:5d}  {path}:{line}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
