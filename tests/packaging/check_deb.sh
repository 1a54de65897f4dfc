#!/usr/bin/env bash
# The Debian package, made and used as a user would (docs/packaging.md): cpack builds
# it from the build tree, dpkg-deb unpacks it into a temporary root, and the unpacked
# binaries run from there: the CLI's CPU self-test, a lesson from the packaged lesson
# folder (its claims checked), and the GUI far enough to load every library.
# Usage: check_deb.sh CPACK BUILD_DIR APP_ID WITH_GUI(ON|OFF)
# Exits 0 when all holds, 1 naming what does not, 77 (skipped) without dpkg-deb.
set -euo pipefail
cpack=${1:?usage: check_deb.sh CPACK BUILD_DIR APP_ID WITH_GUI}
build=$(cd "${2:?}" && pwd)
app_id=${3:?}
with_gui=${4:?}

if ! command -v dpkg-deb >/dev/null; then
  echo "check_deb.sh: no dpkg-deb here (not Debian): skipped"
  exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/plab-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "check_deb.sh: $*" >&2; exit 1; }
step() { printf '%-44s %4ss\n' "$1" "$(( SECONDS - start ))"; start=$SECONDS; }
start=$SECONDS

"$cpack" -G DEB --config "$build/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log" >&2; fail "cpack -G DEB failed"; }
debs=("$work"/out/precisionlab_*.deb)
[[ -f "${debs[0]}" && ${#debs[@]} -eq 1 ]] || fail "expected one precisionlab_*.deb in $work/out, got: ${debs[*]}"
deb=${debs[0]}
step "cpack -G DEB ($(du -h "$deb" | cut -f1))"

root=$work/root
dpkg-deb -x "$deb" "$root"

# Depends: dpkg-shlibdeps's list. Every library a packaged binary names as NEEDED must
# be there under the Debian package that ships it here (dpkg -S), OpenBLAS and SQLite
# for the CLI, Qt and QCustomPlot for the GUI.
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
checked=0
deps=$(sed 's/([^)]*)//g; s/[,|]/ /g' <<<"$depends")
for exe in "$root"/usr/bin/*; do
  name=$(basename "$exe")
  # NEEDED names -> paths (ldd) -> owning packages (one dpkg -S for all of them).
  # With merged /usr a library is registered under /lib or /usr/lib, whichever its
  # package used, so both spellings are asked, and the target of an alternatives
  # link (/etc/alternatives/libopenblas.so.0-...) too.
  libs=() paths=()
  declare -A lib_of=() owned=()
  for lib in $(readelf -d "$exe" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    path=$(ldd "$exe" | awk -v l="$lib" '$1 == l { print $3 }')
    [[ -n $path ]] || fail "$name needs $lib, which ldd does not find"
    libs+=("$lib")
    candidates=("$path" "$(realpath "$path")")
    [[ $path == /lib/* ]] && candidates+=("/usr$path")
    [[ $path == /usr/lib/* ]] && candidates+=("${path#/usr}")
    for c in "${candidates[@]}"; do lib_of[$c]=$lib; paths+=("$c"); done
  done
  while IFS= read -r line; do
    owner=${line%%:*} path=${line#*: }
    lib=${lib_of[$path]:-}
    [[ -n $lib && -z ${owned[$lib]:-} ]] || continue
    # A library behind Debian's alternatives (libopenblas.so.0, shipped here by
    # libopenblas0-pthread) is depended on through its umbrella package (libopenblas0).
    found=no
    for dep in $deps; do
      [[ $owner == "$dep" || $owner == "$dep"-* ]] && found=yes
    done
    [[ $found == yes ]] || fail "Depends lacks $owner (it ships $lib, needed by $name)"
    owned[$lib]=$owner
    checked=$(( checked + 1 ))
  done < <(dpkg -S "${paths[@]}" 2>/dev/null || true)
  # A library no Debian package owns (a CUDA toolkit from NVIDIA's installer) cannot
  # be in Depends; say so rather than pass over it.
  for lib in "${libs[@]}"; do
    [[ -n ${owned[$lib]:-} ]] || echo "note: $name needs $lib, which no installed Debian package owns"
  done
  unset lib_of owned
done
(( checked > 0 )) || fail "no NEEDED library of the packaged binaries was found owned by a Debian package"
echo "Depends covers the $checked Debian-packaged libraries the two binaries link"
files=(usr/bin/precisionlab-cli usr/share/precisionlab/experiments/spirals.json
       usr/share/precisionlab/experiments/lessons/01-fp16-underflow.json)
[[ $with_gui == ON ]] && files+=(usr/bin/precisionlab "usr/share/applications/$app_id.desktop"
                                 "usr/share/metainfo/$app_id.metainfo.xml"
                                 "usr/share/icons/hicolor/scalable/apps/$app_id.svg")
for f in "${files[@]}"; do
  [[ -s "$root/$f" ]] || fail "the package lacks /$f"
done
# Every file the source tree ships as an experiment, lesson or sweep is packaged.
src=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build/CMakeCache.txt")
shipped=$(cd "$src/experiments" && find . -name '*.json' | sort)
packaged=$(cd "$root/usr/share/precisionlab/experiments" && find . -name '*.json' | sort)
[[ "$shipped" == "$packaged" ]] || fail "packaged experiments differ from experiments/: $(diff <(echo "$shipped") <(echo "$packaged") | tr '\n' ' ')"

# Nothing points back into the build tree: no RPATH or RUNPATH at all (every library
# is a system one) and no build-tree path among the binaries' 8-bit strings (Qt's
# UTF-16 string literals are not searched; the runs below, from an empty folder,
# are what shows the binaries need nothing from the build).
for exe in "$root"/usr/bin/*; do
  if readelf -d "$exe" | grep -E 'R(UN)?PATH'; then fail "$exe has an RPATH/RUNPATH"; fi
  if grep -qF "$build" "$exe"; then fail "$exe names the build tree $build"; fi
done
if [[ $with_gui == ON ]] && command -v appstreamcli >/dev/null; then
  appstreamcli validate --no-net --explain "$root/usr/share/metainfo/$app_id.metainfo.xml" ||
    fail "appstreamcli validate rejects the metainfo"
fi
if [[ $with_gui == ON ]] && command -v desktop-file-validate >/dev/null; then
  desktop-file-validate "$root/usr/share/applications/$app_id.desktop" || fail "desktop-file-validate rejects the desktop entry"
fi
step "unpacked and inspected"

# Run from an empty folder with a bare environment, so that nothing is found through
# the build tree, the current folder or a PATH entry.
cd "$work"
mkdir -m 700 home
run() { env -i HOME="$work/home" PATH=/usr/bin:/bin LANG=C.UTF-8 "$@"; }
cli=$root/usr/bin/precisionlab-cli
run "$cli" selftest --backend cpu --failures-only >"$work/selftest.log" 2>&1 ||
  { cat "$work/selftest.log" >&2; fail "the unpacked CLI's selftest --backend cpu failed"; }
step "unpacked CLI: selftest --backend cpu"

# Lesson 1 resolves its base experiment ("../moons-deep-sigmoid-fp16.json") inside the
# packaged folder, starts its workers from the unpacked binary, and its claims hold.
lesson=$root/usr/share/precisionlab/experiments/lessons/01-fp16-underflow.json
run "$cli" sweep "$lesson" --backend cpu --jobs 2 --db "$work/runs.sqlite" \
    --summary-json "$work/summary.json" >"$work/lesson.log" 2>&1 ||
  { cat "$work/lesson.log" >&2; fail "the packaged lesson 01 failed or a claim did not hold"; }
grep -q '"holds"' "$work/summary.json" || fail "lesson 01 checked no claim: $(cat "$work/summary.json")"
run "$cli" runs --db "$work/runs.sqlite" >"$work/runs.log" 2>&1 || { cat "$work/runs.log" >&2; fail "runs failed"; }
step "unpacked CLI: lesson 01 from the package"

if [[ $with_gui == ON ]]; then
  version=$(run QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR="$work/home" "$root/usr/bin/precisionlab" --version) ||
    fail "the unpacked GUI does not start: $version"
  [[ $version == *"Precision Lab"* ]] || fail "the unpacked GUI's --version printed: $version"
  step "unpacked GUI: --version ($version)"
fi
echo "check_deb.sh: the package builds, unpacks and runs"
