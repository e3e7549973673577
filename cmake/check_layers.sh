#!/usr/bin/env bash
# The engine's layering rules, checked on the sources (a CTest test):
#  - a layer includes headers only of its own layer and of the layers below:
#    core < net < comm < boot < capi, lua < cli (capi and lua are siblings);
#  - no two engine modules (a .c file with its .h and its _internal.h)
#    include each other.
# Prints each violation and exits 1 if there is any.
set -euo pipefail
engine=${1:?usage: check_layers.sh ENGINE_DIR}
cd "$engine"

rank_of() {
  case $1 in
    core) echo 0 ;; net) echo 1 ;; comm) echo 2 ;; boot) echo 3 ;;
    capi | lua) echo 4 ;; cli) echo 5 ;; *) echo -1 ;;
  esac
}

bad=0
edges=$(mktemp)
trap 'rm -f "$edges"' EXIT
for layer in core net comm boot capi lua cli; do
  [ -d "$layer" ] || { echo "missing layer folder engine/$layer"; bad=1; continue; }
  mine=$(rank_of "$layer")
  for f in "$layer"/*.[ch]; do
    [ -e "$f" ] || continue
    module=${f%.*}
    module=${module%_internal}
    while IFS= read -r inc; do
      target=${inc%%/*}
      theirs=$(rank_of "$target")
      [ "$theirs" -ge 0 ] || continue
      if [ "$target" != "$layer" ] && [ "$theirs" -ge "$mine" ]; then
        echo "engine/$f includes \"$inc\": $layer may not include $target"
        bad=1
      fi
      other=${inc%.*}
      other=${other%_internal}
      [ "$other" != "$module" ] && echo "$module $other" >>"$edges"
    done < <(sed -n 's/^#include "\([a-z_]*\/[a-z_0-9]*\.h\)".*/\1/p' "$f")
  done
done
# Two modules that include each other.
cycles=$(sort -u "$edges" | while read -r a b; do
  if grep -qx "$b $a" "$edges" && [[ "$a" < "$b" ]]; then
    echo "engine/$a and engine/$b include each other"
  fi
done)
[ -z "$cycles" ] || { echo "$cycles"; bad=1; }
[ "$(ls ./*.c 2>/dev/null | wc -l)" -eq 0 ] || { echo "C files directly in engine/: $(ls ./*.c)"; bad=1; }
[ "$bad" -eq 0 ] && echo "layers: every include points down, no module pair includes each other"
exit "$bad"
