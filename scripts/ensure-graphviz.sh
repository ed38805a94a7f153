#!/bin/sh
# Make sure graphviz's `dot` binary is installed (minigrad's drawings need it).
# Installs Debian's graphviz with apt-get when that is possible; otherwise
# says how to install it and carries on (to_dot still works without it).
if command -v dot >/dev/null 2>&1; then
    exit 0
fi
if command -v apt-get >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else SUDO=none; fi
    if [ "$SUDO" != none ]; then
        echo "graphviz: 'dot' not found; installing Debian's graphviz with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        if $SUDO apt-get install -y -q graphviz >/dev/null 2>&1 ||
           { $SUDO apt-get update -q >/dev/null 2>&1 && $SUDO apt-get install -y -q graphviz >/dev/null 2>&1; }; then
            command -v dot >/dev/null 2>&1 && { echo "graphviz: installed ($(dot -V 2>&1))"; exit 0; }
        fi
    fi
fi
echo "graphviz: 'dot' is missing and could not be installed here."
echo "          Install it yourself (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz)."
echo "          minigrad.to_dot works without it; rendering pictures needs it."
exit 0
