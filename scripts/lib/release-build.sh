# The release build every script makes (quick start, installer, tests, benchmarks), so what users run is what
# was measured:
#   source scripts/lib/release-build.sh; release_build [--product NAME]; BIN="$(release_bin_path)"
# Every function, ours and our dependencies', in a section of its own (Swift and C): the linker can then lay them
# out in the order of linker/symbol-order.txt (Package.swift), idle code first. Without it a Swift file's functions
# share one section and move only as a whole, so the code idle runs stayed spread over most of the binary and the
# kernel mapped 3.7 MB of code idle never ran around it (issue 16, BENCHMARKS.md §8). The Swift runtime's static
# libraries are already built this way. Flags on the command line reach every package; Package.swift reaches only
# this one.
RELEASE_BUILD_FLAGS=(-c release -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections)
release_build() { swift build "${RELEASE_BUILD_FLAGS[@]}" "$@"; }
release_bin_path() { swift build "${RELEASE_BUILD_FLAGS[@]}" --show-bin-path; }
