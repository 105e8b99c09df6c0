#!/bin/sh
# Remakes the JPEG fixtures and their djpeg reference decodes (see README.md). Needs the
# dev-only tools cjpeg/djpeg (Debian libjpeg-turbo-progs; not a dependency of Sinter), Python 3
# with Pillow (PyPI) for the downscaled sources, and ../shared/data beside the clone.
set -eu
cd "$(dirname "$0")"
shared=${SHARED_DATA:-../../../../../shared/data}
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT

# Small real photos (LANCZOS), as PPM/PGM for cjpeg.
python3 - "$shared" "$src" <<'PY'
import sys
from PIL import Image
shared, out = sys.argv[1], sys.argv[2]
def make(name, size, target, mode="RGB"):
    Image.open(f"{shared}/{name}").convert("RGB").resize(size, Image.LANCZOS).convert(mode).save(f"{out}/{target}")
make("content-coffee.png", (48, 32), "coffee.ppm")
make("content-chelsea.png", (17, 13), "chelsea.ppm")
make("content-astronaut.png", (40, 40), "astronaut.ppm")
make("content-flower.png", (35, 23), "flower.ppm")
make("content-china.png", (33, 22), "china.pgm", "L")
make("content-astronaut.png", (1, 1), "pixel.ppm")
PY

cjpeg -baseline -quality 90 -sample 1x1 "$src/coffee.ppm" > baseline-444.jpg
cjpeg -baseline -quality 90 -sample 2x2 "$src/coffee.ppm" > baseline-420.jpg
cjpeg -baseline -quality 90 -sample 2x1 "$src/coffee.ppm" > baseline-422.jpg
cjpeg -baseline -quality 90 -sample 4x1 "$src/flower.ppm" > baseline-411.jpg
cjpeg -baseline -quality 90 -sample 1x2 "$src/flower.ppm" > baseline-440.jpg
cjpeg -baseline -quality 85 -sample 2x2 "$src/chelsea.ppm" > odd-17x13-420.jpg
cjpeg -baseline -quality 85 -sample 2x2 "$src/pixel.ppm" > pixel-1x1.jpg
cjpeg -baseline -quality 90 "$src/china.pgm" > grey.jpg
cjpeg -optimize -quality 75 -restart 2B -sample 2x2 "$src/astronaut.ppm" > restart-420.jpg
cjpeg -progressive -quality 90 -sample 2x2 "$src/astronaut.ppm" > progressive-420.jpg
cjpeg -progressive -quality 90 -restart 3B -sample 2x1 "$src/chelsea.ppm" > progressive-restart.jpg
cjpeg -progressive -quality 90 "$src/china.pgm" > progressive-grey.jpg
cjpeg -baseline -quality 90 -rgb "$src/coffee.ppm" > rgb-adobe.jpg
# The same with component ids 1, 2, 3 (which alone would mean YCbCr): the Adobe APP14 transform
# flag 0 still says RGB.
python3 - <<'PY'
jpeg = bytearray(open("rgb-adobe.jpg", "rb").read())
for old, new in ((82, 1), (71, 2), (66, 3)):
    for marker in (b"\xff\xc0", b"\xff\xda"):
        at = jpeg.index(marker)
        count_at = at + 9 if marker == b"\xff\xc0" else at + 4
        step = 3 if marker == b"\xff\xc0" else 2
        for i in range(jpeg[count_at]):
            if jpeg[count_at + 1 + step * i] == old:
                jpeg[count_at + 1 + step * i] = new
open("adobe-transform-ids123.jpg", "wb").write(bytes(jpeg))
PY
# Quality 5 without -baseline: quantizers above 255 in 16-bit DQT tables, so an SOF1 frame.
cjpeg -quality 5 -sample 2x2 "$src/flower.ppm" > extended-sof1.jpg
# One sequential scan per component (non-interleaved), and a COM segment (wrjpgcom).
printf '0;\n1;\n2;\n' > "$src/scans.txt"
cjpeg -baseline -quality 90 -sample 2x2 -scans "$src/scans.txt" "$src/astronaut.ppm" | wrjpgcom -comment "Sinter fixture" > noninterleaved.jpg
# An EXIF (APP1) segment after SOI: skipped by the decoder, as by djpeg.
python3 - <<'PY'
jpeg = open("baseline-420.jpg", "rb").read()
payload = b"Exif\0\0" + b"MM\0*\0\0\0\x08" + bytes(range(40))
open("exif-420.jpg", "wb").write(jpeg[:2] + b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload + jpeg[2:])
PY
# Refused: arithmetic coding.
cjpeg -arithmetic -quality 90 "$src/chelsea.ppm" > arithmetic.jpg

# Reference decodes with the accurate integer IDCT: djpeg's default fancy upsampling and box
# upsampling (-nosmooth), which Sinter both match bit for bit; for three photos also the float
# IDCT.
for f in *.jpg; do
    [ "$f" = arithmetic.jpg ] && continue
    djpeg -dct int "$f" > "${f%.jpg}.int-fancy.pnm"
    djpeg -dct int -nosmooth "$f" > "${f%.jpg}.int-nosmooth.pnm"
done
for f in baseline-420 baseline-422 progressive-420; do
    djpeg -dct float -nosmooth "$f.jpg" > "$f.float-nosmooth.pnm"
done
