# Every external dependency comes from a Debian package; scripts/install-deps.sh installs them.
include(SpkidLibraryDependencies)
# The programs' own.
find_package(CLI11 CONFIG REQUIRED)
pkg_check_modules(ALSA REQUIRED IMPORTED_TARGET alsa)  # spkid listen --device
