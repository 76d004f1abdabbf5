#!/usr/bin/env python3
"""Installs dlc into a fresh prefix (cmake --install), builds the separate
project in this folder against it (find_package(dlc), dlc::dsl,
dlc::runtime) and runs it: a model defined with the DSL, compiled and run,
checked against loops.

Usage: run.py --build BUILD --work DIR --cxx CLANG++ --llvm-prefix DIR
              [--cxx-flags FLAGS]"""
import argparse
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def step(what, cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        print("%s: FAILED\n  %s\n%s" % (what, " ".join(cmd), r.stdout.decode()[-4000:]))
        sys.exit(1)
    return r.stdout.decode()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--cxx", required=True)
    p.add_argument("--llvm-prefix", required=True)
    p.add_argument("--cxx-flags", default="",
                   help="flags the installed libraries need of their users "
                   "(the sanitizers', for a make check-sanitize build)")
    a = p.parse_args()
    work = os.path.abspath(a.work)
    shutil.rmtree(work, ignore_errors=True)
    prefix, build = os.path.join(work, "prefix"), os.path.join(work, "build")
    step("install", ["cmake", "--install", a.build, "--prefix", prefix])
    step("configure", ["cmake", "-G", "Ninja", "-S", HERE, "-B", build,
                       "-DCMAKE_PREFIX_PATH=%s;%s" % (prefix, a.llvm_prefix),
                       "-DCMAKE_CXX_COMPILER=" + a.cxx,
                       "-DCMAKE_CXX_FLAGS=" + a.cxx_flags,
                       "-DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld " + a.cxx_flags])
    step("build", ["cmake", "--build", build])
    out = step("run", [os.path.join(build, "tiny"), os.path.join(work, "tiny.so")])
    ok = "tiny: ok" in out
    print("installed package: %s\n  %s" % ("ok" if ok else "FAILED",
                                          out.strip().replace("\n", "\n  ")))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
