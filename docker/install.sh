#!/bin/sh
# The image's install steps, in one place so that the Dockerfile and tests/integration/test_container.py run the
# very same commands (the test reads the Dockerfile's `install.sh` lines and replays them in a temporary root).
#
#   install.sh wheels SOURCE WHEELS   build stage: a wheel of the project at SOURCE and of every dependency, into
#                                     WHEELS, so that the runtime stage installs with no index at all
#   install.sh venv WHEELS VENV       runtime stage: a fresh virtual environment at VENV with the project installed
#                                     from WHEELS only; pip compiles the bytecode now, because at run time the root
#                                     filesystem is read-only and PYTHONDONTWRITEBYTECODE=1
#
# `python3` is whichever the PATH gives: the base image's interpreter in the image, the test's in the test.
set -eu

PROJECT=crm-onboarding-sync

usage() {
    echo "usage: $0 wheels SOURCE WHEELS | $0 venv WHEELS VENV" >&2
    exit 2
}

[ "$#" -eq 3 ] || usage

case "$1" in
wheels)
    # --prefer-binary: the slim base has no compiler, so take a release's wheel over a newer sdist.
    python3 -m pip wheel --prefer-binary --wheel-dir "$3" "$2"
    ;;
venv)
    python3 -m venv "$3"
    "$3/bin/python" -m pip install --no-index --find-links "$2" "$PROJECT"
    # The interpreter must run the entrypoint from the installed wheel, never from a source tree.
    "$3/bin/sync-daemon" --version
    ;;
*)
    usage
    ;;
esac
