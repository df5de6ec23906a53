#!/usr/bin/env bash
# Regenerate the lobby display's offline announcement clips (display/sounds/) with
# espeak-ng's Vietnamese and English voices and sox. The clips are committed, so a fresh
# clone announces calls with nothing installed; a center may replace any of them with its
# own recordings (same names; see display/sounds/README.md).
#
#   bash scripts/make-clips.sh [OUT_DIR]      FORMAT=wav for .wav instead of .ogg (Vorbis)
set -euo pipefail

OUT=${1:-"$(cd "$(dirname "$0")/.." && pwd)/display/sounds"}
FORMAT=${FORMAT:-ogg}
RATE=16000
VI_SPEED=${VI_SPEED:-125}   # words per minute: slow enough for elderly visitors
EN_SPEED=${EN_SPEED:-135}

for tool in espeak-ng sox; do
  command -v "$tool" >/dev/null || {
    echo "make-clips: $tool is missing; install it (Debian: apt-get install espeak-ng sox libsox-fmt-all)" >&2
    exit 1
  }
done
espeak-ng --voices=vi | grep -q ' vi ' || {
  echo "make-clips: espeak-ng has no Vietnamese voice; install espeak-ng-data" >&2; exit 1; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT/vi" "$OUT/en"
case "$FORMAT" in
  ogg) ENCODE=(-C 3) ;;      # Vorbis quality 3: clear speech at ~20 kbit/s
  wav) ENCODE=(-b 16) ;;
  *) echo "make-clips: FORMAT must be ogg or wav" >&2; exit 1 ;;
esac

# Leading and trailing silence is cut so the pieces join into one natural sentence.
finish() {  # finish RAW.wav OUT_PATH_WITHOUT_EXTENSION
  rm -f "$2".ogg "$2".wav
  sox "$1" -r "$RATE" -c 1 "${ENCODE[@]}" "$2.$FORMAT" \
    silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse pad 0.02 0.08 norm -1
}

say() {  # say VOICE SPEED TEXT OUT_PATH_WITHOUT_EXTENSION
  espeak-ng -v "$1" -s "$2" -w "$TMP/raw.wav" -- "$3"
  finish "$TMP/raw.wav" "$4"
  printf '.'
}

# Two-tone "ding-dong" chime, with a soft overtone so it carries over hall noise.
sox -n -r "$RATE" -c 1 "$TMP/ding.wav" synth 0.9 sine 659.25 sine 1318.5 \
  remix 1v0.8,2v0.2 fade h 0.01 0.9 0.85
sox -n -r "$RATE" -c 1 "$TMP/dong.wav" synth 1.3 sine 523.25 sine 1046.5 \
  remix 1v0.8,2v0.2 fade h 0.01 1.3 1.25
sox -m "$TMP/ding.wav" "|sox $TMP/dong.wav -p pad 0.55" "$TMP/chime.wav"
rm -f "$OUT"/chime.ogg "$OUT"/chime.wav
sox "$TMP/chime.wav" -r "$RATE" -c 1 "${ENCODE[@]}" "$OUT/chime.$FORMAT" norm -3 pad 0 0.15

# "Xin mời số A012 đến quầy số 5": digits are read one by one, letters by their names.
say vi "$VI_SPEED" "Xin mời số" "$OUT/vi/invite"
say vi "$VI_SPEED" "đến quầy số" "$OUT/vi/to_counter"
VI_DIGITS=(không một hai ba bốn năm sáu bảy tám chín)
VI_LETTERS=(a bê xê dê e ép giê hát i gi ca e-lờ em-mờ en-nờ o pê quy e-rờ ét-xì tê u vê
            "vê kép" ích-xì "i dài" dét)
EN_DIGITS=(zero one two three four five six seven eight nine)
EN_LETTERS=(ay bee see dee ee ef gee aitch eye jay kay el em en oh pee cue are ess tee you
            vee "double you" ex why zed)
for d in 0 1 2 3 4 5 6 7 8 9; do
  say vi "$VI_SPEED" "${VI_DIGITS[$d]}" "$OUT/vi/$d"
  say en "$EN_SPEED" "${EN_DIGITS[$d]}" "$OUT/en/$d"
done
i=0
for letter in A B C D E F G H I J K L M N O P Q R S T U V W X Y Z; do
  say vi "$VI_SPEED" "${VI_LETTERS[$i]}" "$OUT/vi/$letter"
  say en "$EN_SPEED" "${EN_LETTERS[$i]}" "$OUT/en/$letter"
  i=$((i + 1))
done

# "Ticket A012, please go to counter 5"
say en "$EN_SPEED" "Ticket" "$OUT/en/invite"
say en "$EN_SPEED" "please go to counter" "$OUT/en/to_counter"
echo
echo "make-clips: $(find "$OUT" -name "*.$FORMAT" | wc -l) clips, $(du -sh "$OUT" | cut -f1) in $OUT"
