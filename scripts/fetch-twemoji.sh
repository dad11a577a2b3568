#!/usr/bin/env bash
# The Twemoji image set for txt2img experiments: the 64x64 PNGs of emoji-datasource-twitter 16.0.0
# and their English names from emojibase-data 17.0.0, fetched with `npm pack` into a cache
# directory and listed in CACHE/twemoji.tsv (`png_path<TAB>caption`, paths relative to CACHE), the
# input of rwkv-image-data. Running it again reuses what is already there.
#   scripts/fetch-twemoji.sh [CACHE]      (default build/twemoji)
# A PNG is named by its code points (1f44b-1f3fb.png). Its caption is emojibase's `label` for that
# sequence (skin-tone variants included, as "waving hand: light skin tone"), matched with FE0F
# ignored on both sides; failing that, emoji-datasource's own `name` in lower case (with the skin
# tones of a variant appended); failing both, the PNG is left out. The counts of each are printed.
set -euo pipefail
cache=${1:-build/twemoji}
mkdir -p "$cache"
cd "$cache"

fetch() {  # package@version, directory to extract into
  local spec=$1 dir=$2
  if [ ! -d "$dir" ]; then
    local tarball
    tarball=$(npm pack --silent "$spec" | tail -n 1)
    mkdir -p "$dir.partial"
    tar xzf "$tarball" -C "$dir.partial" --strip-components=1
    mv "$dir.partial" "$dir"  # only a complete extraction gets the final name
    rm -f "$tarball"
  fi
}
fetch emoji-datasource-twitter@16.0.0 emoji-datasource-twitter
fetch emojibase-data@17.0.0 emojibase-data

node - <<'JS'
const fs = require("fs");
const normalize = (hex) => hex.toUpperCase().split("-").filter((c) => c !== "FE0F").join("-");
const labels = new Map();
for (const e of JSON.parse(fs.readFileSync("emojibase-data/en/data.json", "utf8"))) {
  labels.set(normalize(e.hexcode), e.label);
  for (const s of e.skins || []) labels.set(normalize(s.hexcode), s.label);
}
const tones = { "1F3FB": "light", "1F3FC": "medium-light", "1F3FD": "medium", "1F3FE": "medium-dark", "1F3FF": "dark" };
const names = new Map();
for (const e of JSON.parse(fs.readFileSync("emoji-datasource-twitter/emoji.json", "utf8"))) {
  const name = e.name ? e.name.toLowerCase() : e.short_name.replace(/_/g, " ");
  names.set(e.image, name);
  for (const [key, v] of Object.entries(e.skin_variations || {}))
    names.set(v.image, name + ": " + key.split("-").map((t) => (tones[t] || t) + " skin tone").join(", "));
}
const dir = "emoji-datasource-twitter/img/twitter/64";
const lines = [];
let fromEmojibase = 0, fromDatasource = 0, skipped = 0;
for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".png")).sort()) {
  let caption = labels.get(normalize(file.slice(0, -4)));
  if (caption !== undefined) fromEmojibase++;
  else if ((caption = names.get(file)) !== undefined) fromDatasource++;
  else { skipped++; continue; }
  lines.push(dir + "/" + file + "\t" + caption.replace(/[\t\r\n]+/g, " "));
}
fs.writeFileSync("twemoji.tsv.tmp", lines.join("\n") + "\n");
fs.renameSync("twemoji.tsv.tmp", "twemoji.tsv");
console.log(`twemoji.tsv: ${lines.length} images (${fromEmojibase} named by emojibase, ` +
            `${fromDatasource} by emoji-datasource), ${skipped} PNGs without a name left out`);
JS
echo "$PWD/twemoji.tsv"
