# What spkid's libraries link: found by spkid's own build (SpkidDependencies.cmake) and again by
# an application's build through the installed spkidConfig.cmake, as the libraries are static.
# Every one comes from a Debian package (scripts/install-deps.sh).
find_package(PkgConfig REQUIRED)
pkg_check_modules(SNDFILE REQUIRED IMPORTED_TARGET sndfile)
pkg_check_modules(MPG123 REQUIRED IMPORTED_TARGET libmpg123)
pkg_check_modules(SOXR REQUIRED IMPORTED_TARGET soxr)
pkg_check_modules(SAMPLERATE REQUIRED IMPORTED_TARGET samplerate)
pkg_check_modules(FFTW3F REQUIRED IMPORTED_TARGET fftw3f)
pkg_check_modules(CAIRO REQUIRED IMPORTED_TARGET cairo)
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
# Speaker names: NFC normalization and the confusable skeletons of look-alike names.
pkg_check_modules(ICU REQUIRED IMPORTED_TARGET icu-uc icu-i18n)
find_package(Threads REQUIRED)
find_package(spdlog REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
# LibTorch (Debian's libtorch-dev), for the model library only: its headers are slow to compile.
find_package(Torch REQUIRED)
