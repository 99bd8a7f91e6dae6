#!/usr/bin/env python3
"""Writes examples/documents/sample-invoice.pdf: a one-page invoice as a plain PDF 1.4,
built by hand so no PDF library is needed. Run it again only to change the sample."""
import pathlib

LINES = [
    "ACME Supplies Ltd.",
    "INVOICE",
    "Invoice Number: INV-2024-0042",
    "Invoice Date: 2024-01-15",
    "Due Date: 2024-02-14",
    "Vendor: ACME Supplies Ltd.",
    "Bill To: Globex Corporation",
    "Description              Qty    Amount",
    "Paper, A4, 500 sheets     10    $450.00",
    "Toner cartridge            4    $790.00",
    "Subtotal: $1,240.00",
    "Tax: $99.20",
    "Total: $1,339.20",
    "Currency: USD",
]


def escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def main() -> None:
    content = ["BT", "/F1 12 Tf", "14 TL", "72 760 Td"]
    for line in LINES:
        content.append(f"({escape(line)}) Tj T*")
    content.append("ET")
    stream = "\n".join(content).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Title (Sample invoice INV-2024-0042) /Producer (docflow make-sample-invoice.py) >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    target = pathlib.Path(__file__).resolve().parent.parent / "examples" / "documents" / "sample-invoice.pdf"
    target.write_bytes(bytes(out))
    print(target)


if __name__ == "__main__":
    main()
