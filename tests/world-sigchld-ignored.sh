#!/bin/sh
# A world for tests/worlds.sh: SIGCHLD ignored, as a parent that ignores it
# leaves it across exec.
trap "" CHLD
exec "$@"
