#!/usr/bin/env python3
"""structure.py — the structural promises of the code (LAYOUT.md), checked.

  structure.py lengths DIR...     production functions over MAX lines (default 100)
  structure.py cycles BUILD DIR...   circles of calls between the object files of DIR
  structure.py mains FILE...      main.c files over 80 lines
  structure.py states DIR...      writes of an order's state outside lib/ob_fsm.c

Prints one line per finding and exits 1 when there is any, 0 otherwise.
A function's self-test section (after `#include "ob_selftest.h"`, or a
function named *_test) is not production code."""
import os
import re
import subprocess
import sys

MAX_LINES = int(os.environ.get("MAX_LINES", "100"))


def c_files(dirs):
    for d in dirs:
        for name in sorted(os.listdir(d)):
            if name.endswith(".c"):
                yield os.path.join(d, name)


def functions(path):
    """(name, first line, length) of each function definition in a C file:
    a line at column 0 that opens a definition, up to the '}' at column 0."""
    lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
    in_test = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if '#include "ob_selftest.h"' in line:
            in_test = True
        m = re.match(r"^[A-Za-z_][\w \*]*?\b(\w+)\s*\(", line)
        if m and not line.rstrip().endswith(";") and not line.startswith(("typedef", "#")):
            j = i
            while j < len(lines) and not lines[j].startswith("{") and not lines[j].rstrip().endswith(";"):
                if lines[j].rstrip().endswith("{") and lines[j] is not line:
                    break
                j += 1
            if j < len(lines) and lines[j].startswith("{"):
                k = j + 1
                while k < len(lines) and not lines[k].startswith("}"):
                    k += 1
                name = m.group(1)
                yield name, i + 1, k - i + 1, in_test or name.endswith("_test")
                i = k
        i += 1


def cmd_lengths(dirs):
    bad = 0
    for path in c_files(dirs):
        for name, first, length, is_test in functions(path):
            if not is_test and length > MAX_LINES:
                print(f"{path}:{first}: {name}() is {length} lines (at most {MAX_LINES})")
                bad += 1
    return bad


def defined_and_used(obj):
    out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TDBR":
            defined.add(parts[2])
        elif len(parts) == 2 and parts[0] == "U":
            used.add(parts[1])
    return defined, used


def cmd_cycles(build, dirs):
    objs = {}
    for d in dirs:
        for path in c_files([d]):
            obj = os.path.join(build, path[:-2] + ".o")
            if os.path.exists(obj):
                objs[path] = defined_and_used(obj)
    owner = {}
    for path, (defined, _) in objs.items():
        for sym in defined:
            owner[sym] = path
    graph = {p: set() for p in objs}
    for path, (_, used) in objs.items():
        for sym in used:
            if sym in owner and owner[sym] != path:
                graph[path].add(owner[sym])
    # Tarjan's strongly connected components
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    for comp in sccs:
        print("calls go round in a circle between: " + " ".join(comp))
    return len(sccs)


def cmd_mains(files):
    bad = 0
    for path in files:
        n = len(open(path, encoding="utf-8").read().rstrip("\n").split("\n"))
        if n >= 80:
            print(f"{path}: {n} lines (a main.c stays under 80)")
            bad += 1
    return bad


def cmd_states(dirs):
    bad = 0
    pat = re.compile(r"->state\s*=[^=]")
    for d in dirs:
        for root, _, names in os.walk(d):
            for name in sorted(names):
                if not name.endswith((".c", ".h")):
                    continue
                path = os.path.join(root, name)
                if path.endswith("lib/ob_fsm.c"):
                    continue
                in_test = False
                for no, line in enumerate(open(path, encoding="utf-8", errors="replace"), 1):
                    if '#include "ob_selftest.h"' in line:
                        in_test = True
                    if pat.search(line) and not in_test:
                        print(f"{path}:{no}: an order's state assigned outside ob_fsm.c: {line.strip()}")
                        bad += 1
    return bad


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 64
    cmd, args = argv[1], argv[2:]
    if cmd == "lengths":
        bad = cmd_lengths(args)
    elif cmd == "cycles":
        bad = cmd_cycles(args[0], args[1:])
    elif cmd == "mains":
        bad = cmd_mains(args)
    elif cmd == "states":
        bad = cmd_states(args)
    else:
        print(__doc__)
        return 64
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
