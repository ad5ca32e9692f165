#!/bin/sh
# Sets up, builds and runs docket's whole test suite twice: a normal build,
# then one with AddressSanitizer and UndefinedBehaviorSanitizer (any leak or
# sanitizer report fails it). Warnings are errors in both.
set -eu
cd "$(dirname "$0")/.."

./contrib/setup-debian.sh
jobs=$(nproc)

# The tree follows .clang-format; tables kept by hand sit between
# "clang-format off" and "clang-format on" comments.
git ls-files '*.c' '*.h' | xargs clang-format --dry-run -Werror

cmake -S . -B build -DDOCKET_WERROR=ON
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs")

cmake -S . -B build-asan -DDOCKET_WERROR=ON -DDOCKET_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
cmake --build build-asan -j"$jobs"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=86
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure -j"$jobs")
