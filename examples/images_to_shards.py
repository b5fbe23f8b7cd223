#!/usr/bin/env python3
"""Convert a folder of images, one subfolder per class, to convrnn shard files.

    python3 examples/images_to_shards.py SRC_DIR OUT_PREFIX [--size H W] [--channels 3]
                                         [--per-shard 1000] [--shuffle --seed 0]

    SRC_DIR/
        cat/  a.jpg b.png ...
        dog/  c.jpg ...

writes OUT_PREFIX-00000.shard, OUT_PREFIX-00001.shard, ... and OUT_PREFIX-classes.txt (one class
name per line; line i is label i; classes are the sorted subfolder names). Read the shards with
convrnn_shard_read().

Requirements: only the Python 3 standard library. Pillow (python3-pil) is used when installed and
then every format it knows is accepted; without it only binary Netpbm files (.ppm, .pgm, .pnm:
P5/P6, maxval 255) are read. Resizing: with Pillow, the shorter side is scaled to the target and
the centre is cropped (bilinear); without Pillow, nearest-neighbour scaling to exactly H x W.
By default the target size is the size of the first image.

Shard format (version 1, all integers little-endian; see convrnn.h [API-IO]):
    offset 0   8 bytes  magic "CRNSHRD1"
           8   u32      version (1)
          12   u32      count
          16   u32      H        20  u32  W        24  u32  C        28  u32  num_classes
          32   count records: u32 label, then H*W*C uint8 pixels in HWC order
Each file is written to a temporary name and renamed when complete.
"""
import argparse
import os
import random
import struct
import sys

try:
    from PIL import Image  # optional
except ImportError:  # pragma: no cover - depends on the machine
    Image = None

MAGIC = b"CRNSHRD1"
NETPBM = (".ppm", ".pgm", ".pnm")


def read_netpbm(path):
    """Binary P5 (grey) or P6 (RGB) with maxval 255 -> (h, w, c, bytes)."""
    with open(path, "rb") as f:
        data = f.read()
    tokens, pos = [], 0
    while len(tokens) < 4:
        while pos < len(data) and data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            while pos < len(data) and data[pos:pos + 1] not in (b"\n", b"\r"):
                pos += 1
            continue
        start = pos
        while pos < len(data) and not data[pos:pos + 1].isspace():
            pos += 1
        if start == pos:
            raise ValueError("%s: truncated Netpbm header" % path)
        tokens.append(data[start:pos])
    pos += 1  # the single whitespace byte after maxval
    magic, w, h, maxval = tokens[0], int(tokens[1]), int(tokens[2]), int(tokens[3])
    if magic not in (b"P5", b"P6") or maxval != 255:
        raise ValueError("%s: only binary P5/P6 Netpbm with maxval 255 is supported" % path)
    c = 3 if magic == b"P6" else 1
    pix = data[pos:pos + h * w * c]
    if len(pix) != h * w * c:
        raise ValueError("%s: truncated pixel data" % path)
    return h, w, c, pix


def convert_channels(pix, c, want):
    if c == want:
        return pix
    if c == 1 and want == 3:
        return bytes(b for v in pix for b in (v, v, v))
    if c == 3 and want == 1:  # ITU-R 601 luma, as Pillow's "L"
        return bytes((pix[i] * 299 + pix[i + 1] * 587 + pix[i + 2] * 114 + 500) // 1000 for i in range(0, len(pix), 3))
    raise ValueError("cannot convert %d to %d channels" % (c, want))


def resize_nearest(pix, h, w, c, th, tw):
    if (h, w) == (th, tw):
        return pix
    out = bytearray(th * tw * c)
    for y in range(th):
        sy = min(h - 1, y * h // th)
        for x in range(tw):
            sx = min(w - 1, x * w // tw)
            o, s = (y * tw + x) * c, (sy * w + sx) * c
            out[o:o + c] = pix[s:s + c]
    return bytes(out)


def load(path, size, channels):
    """-> (h, w, bytes of h*w*channels); size None keeps the image's own size."""
    if Image is not None:
        with Image.open(path) as im:
            im = im.convert("RGB" if channels == 3 else "L")
            if size is not None and im.size != (size[1], size[0]):
                th, tw = size
                scale = max(th / im.height, tw / im.width)
                nw, nh = max(tw, round(im.width * scale)), max(th, round(im.height * scale))
                im = im.resize((nw, nh), Image.BILINEAR)
                left, top = (nw - tw) // 2, (nh - th) // 2
                im = im.crop((left, top, left + tw, top + th))
            return im.height, im.width, im.tobytes()
    if not path.lower().endswith(NETPBM):
        raise ValueError("%s: without Pillow only .ppm/.pgm/.pnm files can be read "
                         "(install python3-pil for other formats)" % path)
    h, w, c, pix = read_netpbm(path)
    pix = convert_channels(pix, c, channels)
    if size is not None:
        pix = resize_nearest(pix, h, w, channels, size[0], size[1])
        h, w = size
    return h, w, pix


def list_images(src):
    classes = sorted(d for d in os.listdir(src) if os.path.isdir(os.path.join(src, d)))
    if not classes:
        raise SystemExit("error: %s has no class subfolders" % src)
    items = []
    for label, cls in enumerate(classes):
        folder = os.path.join(src, cls)
        for name in sorted(os.listdir(folder)):
            p = os.path.join(folder, name)
            if os.path.isfile(p) and not name.startswith("."):
                items.append((p, label))
    return classes, items


def write_shard(path, records, h, w, c, num_classes):
    tmp = "%s.tmp-%d" % (path, os.getpid())
    with open(tmp, "wb") as f:
        f.write(MAGIC + struct.pack("<6I", 1, len(records), h, w, c, num_classes))
        for label, pix in records:
            f.write(struct.pack("<I", label))
            f.write(pix)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("src", help="folder with one subfolder of images per class")
    ap.add_argument("out_prefix", help="output path prefix, e.g. data/train")
    ap.add_argument("--size", nargs=2, type=int, metavar=("H", "W"), help="target size (default: first image's)")
    ap.add_argument("--channels", type=int, choices=(1, 3), default=3)
    ap.add_argument("--per-shard", type=int, default=1000, help="records per shard file (default 1000)")
    ap.add_argument("--shuffle", action="store_true", help="shuffle the records before sharding")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    classes, items = list_images(args.src)
    if not items:
        raise SystemExit("error: no images under %s" % args.src)
    if args.shuffle:
        random.Random(args.seed).shuffle(items)
    size = tuple(args.size) if args.size else None
    if size is not None and not (1 <= size[0] <= 65535 and 1 <= size[1] <= 65535):
        raise SystemExit("error: --size must be in 1..65535")
    out_dir = os.path.dirname(args.out_prefix)
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
    with open(args.out_prefix + "-classes.txt", "w", encoding="utf-8") as f:
        f.write("".join(c + "\n" for c in classes))

    per = max(1, args.per_shard)
    records, shard, written = [], 0, 0
    for path, label in items:
        h, w, pix = load(path, size, args.channels)
        if size is None:
            size = (h, w)
        if (h, w) != size:
            raise SystemExit("error: %s is %dx%d, expected %dx%d (use --size)" % (path, h, w, size[0], size[1]))
        records.append((label, pix))
        if len(records) == per:
            write_shard("%s-%05d.shard" % (args.out_prefix, shard), records, size[0], size[1], args.channels, len(classes))
            shard, written, records = shard + 1, written + len(records), []
    if records:
        write_shard("%s-%05d.shard" % (args.out_prefix, shard), records, size[0], size[1], args.channels, len(classes))
        shard, written = shard + 1, written + len(records)
    print("%d images of %dx%dx%d in %d classes -> %d shard(s) %s-NNNNN.shard"
          % (written, size[0], size[1], args.channels, len(classes), shard, args.out_prefix))
    return 0


if __name__ == "__main__":
    sys.exit(main())
