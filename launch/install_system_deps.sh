#!/usr/bin/env bash
# Installs the Debian packages timbre_jax needs when they are missing and we are root;
# otherwise says which to install. Called by the Makefile before the virtual environment.
#   libportaudio2  PortAudio, the audio-device library that `sounddevice` loads
#   jackd2         the JACK server; the tests stream audio through its dummy driver and
#                  capture it back with jack_rec and jack_lsp, which jackd2 ships up to
#                  Debian 12 and jack-example-tools from Debian 13 on
#   libasound2     ALSA, which python-rtmidi (MIDI input) links against
#   libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libglib2.0-0
#                  what Qt (PySide6) loads to draw the synth panel, offscreen too
#   python3-venv   `python3 -m venv` on Debian's own Python
set -euo pipefail

missing=()
command -v dpkg-query >/dev/null || exit 0  # not Debian: nothing to check
for pkg in libportaudio2 jackd2 libasound2 libegl1 libgl1 libxkbcommon0 libfontconfig1 \
    libdbus-1-3 libglib2.0-0; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
python3 -c "import ensurepip, venv" 2>/dev/null || missing+=(python3-venv)

apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "please install these Debian packages (as root): apt-get install $*" >&2
    exit 1
  fi
  echo "installing Debian packages: $*"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
command -v jack_rec >/dev/null || apt_install jack-example-tools
