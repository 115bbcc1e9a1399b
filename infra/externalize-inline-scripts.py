#!/usr/bin/env python3
"""Move inline <script> bodies of a built index.html into content-hashed files.

trunk injects an inline `<script type="module">` that imports and starts the wasm-bindgen glue.
The site's Content-Security-Policy (infra/template.yaml) allows scripts from 'self' only, so
the front-end pipeline runs this after `trunk build --release`:

    python3 infra/externalize-inline-scripts.py dist/index.html [--public-url /]

Each executable inline script becomes `boot-<16 hex>.js` next to index.html (a name the upload
step caches as immutable) and the tag gets a `src`. Data blocks (JSON; import maps, which must
stay inline) and scripts that already have a `src` are left alone. Running it twice changes
nothing.
"""

import argparse
import hashlib
import pathlib
import re
import sys

SCRIPT = re.compile(r"<script\b(?P<attrs>[^>]*)>(?P<body>.*?)</script\s*>", re.S | re.I)
ATTR_TYPE = re.compile(r"""\btype\s*=\s*["']?([^"'\s>]+)""", re.I)
ATTR_SRC = re.compile(r"\bsrc\s*=", re.I)
ATTR_NONCE = re.compile(r"""\s+nonce\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)""", re.I)
EXECUTABLE = {"", "module", "text/javascript", "application/javascript"}


def externalize(html: str, out_dir: pathlib.Path, public_url: str) -> tuple[str, list[str]]:
    written = []

    def replace(m: re.Match) -> str:
        attrs, body = m.group("attrs"), m.group("body")
        kind = ATTR_TYPE.search(attrs)
        kind = kind.group(1).lower() if kind else ""
        if ATTR_SRC.search(attrs) or kind not in EXECUTABLE or not body.strip():
            return m.group(0)
        digest = hashlib.sha256(body.encode()).hexdigest()[:16]
        name = f"boot-{digest}.js"  # .js: S3 serves it as JavaScript, which modules require
        (out_dir / name).write_text(body.strip() + "\n", encoding="utf-8")
        written.append(name)
        attrs = ATTR_NONCE.sub("", attrs)
        return f'<script{attrs} src="{public_url}{name}"></script>'

    return SCRIPT.sub(replace, html), written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index_html", type=pathlib.Path)
    parser.add_argument("--public-url", default="/", help="trunk's public_url (default /)")
    args = parser.parse_args()
    public_url = args.public_url if args.public_url.endswith("/") else args.public_url + "/"

    html = args.index_html.read_text(encoding="utf-8")
    new_html, written = externalize(html, args.index_html.parent, public_url)
    if written:
        args.index_html.write_text(new_html, encoding="utf-8")
    print(f"externalize-inline-scripts: {len(written)} inline script(s) moved: {' '.join(written) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
