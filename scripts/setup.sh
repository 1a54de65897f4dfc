#!/usr/bin/env bash
# Installs every build and test dependency of Precision Lab from Debian 12's packages.
# Safe to run again: apt-get skips what is already there. appstream and
# desktop-file-utils validate the Debian package's metainfo and desktop entry
# (docs/packaging.md); dpkg-shlibdeps comes with build-essential's dpkg-dev.
# openssh-server and openssh-client, munge, slurmctld, slurmd and slurm-client are for
# the tests of remote workers and Slurm sweeps (tests/remote, docs/remote.md), which
# start their own sshd, munged and Slurm daemons on free ports and stop them after.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config libbenchmark-dev
  qt6-base-dev qt6-svg-dev libqcustomplot-dev libgl-dev
  libsqlite3-dev libopenblas-dev nlohmann-json3-dev libcli11-dev zlib1g-dev
  xvfb xauth dataset-fashion-mnist
  appstream desktop-file-utils
  openssh-server openssh-client munge slurmctld slurmd slurm-client
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "setup: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
