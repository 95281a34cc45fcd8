#!/usr/bin/env bash
# Installs the Debian packages timbre_jax needs when they are missing and we are root;
# otherwise says which to install. Called by the Makefile before the virtual environment.
#   libportaudio2  PortAudio, the audio-device library that `sounddevice` loads
#   python3-venv   `python3 -m venv` on Debian's own Python
set -euo pipefail

missing=()
command -v dpkg-query >/dev/null || exit 0  # not Debian: nothing to check
for pkg in libportaudio2; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
python3 -c "import ensurepip, venv" 2>/dev/null || missing+=(python3-venv)

[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "please install these Debian packages (as root): apt-get install ${missing[*]}" >&2
  exit 1
fi
