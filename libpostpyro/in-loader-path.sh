#!/bin/sh
# SPDX-License-Identifier: MIT
# in-loader-path.sh DIR LOADER_DIR... — prints "yes" when DIR is one of the directories the
# system's dynamic loader searches (configure's PP_LOADER_DIRS, from ldconfig), else "no".
# DIR may not exist yet (a first install); when it does, its resolved path counts too
# (/lib/x86_64-linux-gnu is /usr/lib/x86_64-linux-gnu on a merged-/usr system).
dir=${1%/}
shift
real=$(cd "$dir" 2>/dev/null && pwd -P)
for d in "$@"; do
    if [ "$d" = "$dir" ] || { [ -n "$real" ] && [ "$d" = "$real" ]; }; then
        echo yes
        exit 0
    fi
done
echo no
