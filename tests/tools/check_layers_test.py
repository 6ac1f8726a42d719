#!/usr/bin/env python3
"""ctest: tools/check-layers passes on the tree, and fails as it should on a copy with planted faults.

Usage: check_layers_test.py SOURCE_DIR

The copy holds the library folders and tools/check-layers only. Three plants, each in a fresh
copy: an include from the core up to the session (must fail naming file:line and the rule), an
include naming a file that does not exist (must fail), and an include down from a layer to the
core (must still pass).
"""
import os
import shutil
import subprocess
import sys
import tempfile

FOLDERS = ["include", "runtime", "kernels", "layers", "optim", "data", "session", "capi"]


def run(root):
    return subprocess.run([sys.executable, os.path.join(root, "tools", "check-layers"), root],
                          capture_output=True, text=True)


def copy_tree(source, dest):
    for folder in FOLDERS:
        shutil.copytree(os.path.join(source, folder), os.path.join(dest, folder))
    os.makedirs(os.path.join(dest, "tools"))
    shutil.copy(os.path.join(source, "tools", "check-layers"), os.path.join(dest, "tools", "check-layers"))


def plant(root, rel_path, include):
    """Adds `#include "<include>"` after the file's first line; returns the line number it got."""
    path = os.path.join(root, rel_path)
    with open(path) as f:
        lines = f.read().split("\n")
    lines.insert(1, f'#include "{include}"')
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return 2


failures = []
checks = 0


def expect(condition, what, result):
    global checks
    checks += 1
    if not condition:
        failures.append(f"{what}\n  exit {result.returncode}\n  stdout: {result.stdout}\n  stderr: {result.stderr}")


def main():
    source = os.path.abspath(sys.argv[1])
    whole = run(source)
    expect(whole.returncode == 0 and "every include points down" in whole.stdout, "the tree passes", whole)

    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, "up")
        copy_tree(source, root)
        line = plant(root, "runtime/error.h", "session/session.h")
        r = run(root)
        expect(r.returncode == 1, "an upward include fails", r)
        expect(f"runtime/error.h:{line}: #include \"session/session.h\" points from runtime/ to session/" in r.stdout,
               "the failure names file:line and both folders", r)
        expect("runtime/ may include only" in r.stdout, "the failure states the rule", r)

        root = os.path.join(tmp, "missing")
        copy_tree(source, root)
        line = plant(root, "layers/layer.cpp", "layers/no_such_header.h")
        r = run(root)
        expect(r.returncode == 1 and f"layers/layer.cpp:{line}: #include \"layers/no_such_header.h\" names no file"
               in r.stdout, "an include of no file fails", r)

        root = os.path.join(tmp, "down")
        copy_tree(source, root)
        plant(root, "layers/layer.cpp", "runtime/error.h")
        r = run(root)
        expect(r.returncode == 0, "a downward include passes", r)

    for f in failures:
        print("FAILED:", f)
    print(f"{checks - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
