#!/usr/bin/env python3
"""Independent check of a hiehub inclusion-proof bundle (RFC 9162 §2.1.3.2 with SHA3-256).

Usage: check_bundle.py PROOF.json

Written from RFC 9162 and hiehub's DESIGN.md (leaf = SHA3-256(0x00 || leaf), node =
SHA3-256(0x01 || left || right)), not from hiehub's Rust code. Checks that the leaf bytes, the
audit path and the tree size in the signed checkpoint body reproduce the checkpoint's root.
The Ed25519 signature is not checked here (that needs a crypto library); `hiehub ledger
check-proof --vkey` does it. Exit 0 when the proof holds, 1 otherwise.
"""

import base64
import hashlib
import json
import sys


def h(data):
    return hashlib.sha3_256(data).digest()


def root_from_path(index, size, leaf_hash, path):
    if index >= size:
        raise ValueError("index beyond size")
    fn, sn, r = index, size - 1, leaf_hash
    for p in path:
        if sn == 0:
            raise ValueError("proof too long")
        if fn & 1 or fn == sn:
            r = h(b"\x01" + p + r)
            if not fn & 1:
                while fn != 0 and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = h(b"\x01" + r + p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("proof too short")
    return r


def main():
    bundle = json.load(open(sys.argv[1]))
    body = bundle["checkpoint"].split("\n\n", 1)[0].split("\n")
    origin, size, root = body[0], int(body[1]), base64.b64decode(body[2])
    if size != bundle["tree_size"]:
        print(f"tree size {bundle['tree_size']} != checkpoint size {size}")
        return 1
    leaf = bytes.fromhex(bundle["leaf"])
    path = [bytes.fromhex(p) for p in bundle["proof"]]
    computed = root_from_path(bundle["seq"], size, h(b"\x00" + leaf), path)
    if computed != root:
        print(f"root mismatch: checkpoint {root.hex()}, computed {computed.hex()}")
        return 1
    print(f"OK {origin} entry {bundle['seq']} of {size}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
