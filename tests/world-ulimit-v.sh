#!/bin/sh
# A world for tests/worlds.sh: a 1 GB address-space limit, as hosts set.
ulimit -v 1000000 || exit 1
exec "$@"
