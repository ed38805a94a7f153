#!/bin/sh
# Make sure headless Chromium and its WebDriver are installed (the browser
# tests of minigrad.explore drive them with selenium).  Installs Debian's
# chromium and chromium-driver with apt-get when that is possible; otherwise
# says how to install them and carries on (those tests then skip).
found() {
    { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; } &&
        command -v chromedriver >/dev/null 2>&1
}
if found; then
    exit 0
fi
if command -v apt-get >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else SUDO=none; fi
    if [ "$SUDO" != none ]; then
        echo "browser: chromium or chromedriver not found; installing Debian's chromium and chromium-driver with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        if $SUDO apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 ||
           { $SUDO apt-get update -q >/dev/null 2>&1 &&
             $SUDO apt-get install -y -q chromium chromium-driver >/dev/null 2>&1; }; then
            found && { echo "browser: installed ($(chromedriver --version 2>&1 | head -n 1))"; exit 0; }
        fi
    fi
fi
echo "browser: chromium and chromedriver are missing and could not be installed here."
echo "         Install them yourself (Debian: apt-get install chromium chromium-driver;"
echo "         Ubuntu: the chromium snap, or Google Chrome and its chromedriver; macOS: brew install --cask chromium chromedriver)."
echo "         Only the browser tests of minigrad.explore need them; they skip without them (under CI they fail)."
exit 0
