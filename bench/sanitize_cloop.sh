#!/bin/sh
# The native stop loop (systrace_py/_cloop.c) under AddressSanitizer and UBSan (red team 85).
# Not part of the CI suite: a manual run, on a machine with gcc's libasan and libubsan.
#
#   bench/sanitize_cloop.sh [PYTEST ARGS...]   (default: tests/engine/test_cloop_hostile.py)
#
# What it does, and why each step:
#
# * copies the committed tree (git archive HEAD) to a scratch directory and builds _cloop.c
#   there with -fsanitize=address,undefined -fno-sanitize-recover=undefined -g: the
#   worktree's own build is left alone (a plain Python could not import an ASan module);
# * builds a Python launcher linked with the sanitizers' runtimes (Py_BytesMain; put in the
#   venv's bin, so that the venv's packages are found): the runtime then comes first, as ASan
#   requires, without LD_PRELOAD -- which every traced program would inherit (the tracer
#   execs them with its environment) and which would change what they do;
# * runs pytest with it from the copy (its systrace_py first on the path; the tests' runs of
#   systrace take the copy as REPO), each report written to $OUT/asan.PID or ubsan.PID
#   (abort_on_error, halt_on_error: a report is the tracer's end, so its test fails too).
#
# Afterwards: grep -l "ERROR: AddressSanitizer: \|runtime error" $OUT/reports/* names the
# reports of a bug (an ASan report is "ERROR: AddressSanitizer: heap-buffer-overflow ...";
# "AddressSanitizer failed to allocate" and "Shadow memory range interleaves" are a sanitized
# Python's start-up failing, below).
#
# Known artefacts of the sanitized tracer, not the loop's bugs:
# * the scratch area's fixed address (engine/scratch.py BASE, 16 TiB) lies in ASan's shadow
#   of the tracer itself (x86-64 HighShadow ends at 0x10007fff7fff): a program the native
#   spawn made still runs in the tracer's memory until its exec, so a traced run whose first
#   exec needs the area is refused, "scratch area could not be mapped (17) -> EPERM" -- the
#   loop's fail-closed answer to something mapped there;
# * a test that traces Python itself traces this sanitized Python (sys.executable): the area
#   premapped at its exec sits where ASan's shadow must go, and it aborts at start-up
#   ("Shadow memory range interleaves with an existing memory mapping", status 134);
# * "ASan is ignoring requested __asan_handle_no_return" from the spawn's child, which runs
#   on a stack of its own (child_spawn) before its exec.
set -eu
HERE=$(cd "$(dirname "$0")/.." && pwd)
VENV=${VENV:-$HERE/.venv}
OUT=${OUT:-$(mktemp -d /tmp/sanitize-cloop.XXXXXX)}
COPY=$OUT/tree
mkdir -p "$OUT/reports" "$COPY"
PY=$VENV/bin/python
INCLUDE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
LIBDIR=$("$PY" -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR"))')
LDVERSION=$("$PY" -c 'import sysconfig; print(sysconfig.get_config_var("LDVERSION"))')
SUFFIX=$("$PY" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"

(cd "$HERE" && git archive HEAD) | tar -x -C "$COPY"
# shellcheck disable=SC2086
gcc -shared -fPIC -O1 -Wall $SAN -I"$INCLUDE" -o "$COPY/systrace_py/_cloop$SUFFIX" \
    "$COPY/systrace_py/_cloop.c"
printf '#include <Python.h>\nint main(int c, char **v) { return Py_BytesMain(c, v); }\n' \
    > "$OUT/pymain.c"
# shellcheck disable=SC2086
gcc $SAN -I"$INCLUDE" -o "$VENV/bin/python-sanitized" "$OUT/pymain.c" -L"$LIBDIR" \
    -Wl,-rpath,"$LIBDIR" -lpython"$LDVERSION" -ldl -lm -Xlinker -export-dynamic

export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:log_path=$OUT/reports/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$OUT/reports/ubsan"
export SYSTRACE_NO_CLOOP=0
cd "$COPY"
[ $# -gt 0 ] || set -- tests/engine/test_cloop_hostile.py
status=0
nice -n 10 "$VENV/bin/python-sanitized" -m pytest -p no:cacheprovider -q "$@" || status=$?
echo "reports: $OUT/reports"
if grep -l "ERROR: AddressSanitizer: \|runtime error" "$OUT"/reports/* 2>/dev/null; then
    echo "sanitizer reports above"
    exit 1
fi
exit $status
