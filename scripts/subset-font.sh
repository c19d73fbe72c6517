#!/bin/sh
# Regenerates fonts/DejaVuSans-subset.ttf, the font raster.mjs draws most
# snapshots with, from the pinned npm package dejavu-fonts-ttf: the
# characters of scripts/subset-font.unicodes, with every layout feature
# (kerning and the rest: shaping is unchanged) and the .notdef box, all
# name records (copyright and licence) and no TrueType hinting (resvg does
# not hint, so the pixels are the same). Needs Python's fontTools (made with
# 4.38.0, Debian's python3-fonttools):
#   PYTHON=/usr/bin/python3 scripts/subset-font.sh
# Commit the new font; test/render/font-subset.test.ts checks it against the list.
set -eu
cd "$(dirname "$0")/.."
"${PYTHON:-python3}" -m fontTools.subset node_modules/dejavu-fonts-ttf/ttf/DejaVuSans.ttf \
  --unicodes-file=scripts/subset-font.unicodes \
  --layout-features='*' \
  --notdef-outline \
  --name-IDs='*' \
  --no-hinting \
  --output-file=fonts/DejaVuSans-subset.ttf
cp node_modules/dejavu-fonts-ttf/LICENSE fonts/LICENSE-DejaVu
