#!/usr/bin/env python3
"""Independent RFC 9162 proof verifier for hiehub's ledger test vectors (Python standard library only).

  rfc9162_verify.py [DIR]

Reads every DIR/inclusion/*/*.json and DIR/consistency/*/*.json (DIR defaults to
tests/data/ledger of this repository) and verifies it with the algorithms of RFC 9162
§2.1.3.2 (inclusion) and §2.1.4.2 (consistency), the tree hash being SHA3-256 with the
0x00 leaf and 0x01 node prefixes. A file's verdict must be "accept" exactly when its
"expected" field is "ok". A file that lists "tree_leaves" (the happy path of each
scenario) also has its roots recomputed with MTH (RFC 9162 §2.1.1).

Written from the RFC text, not from hiehub's Rust code. Exit status: 0 when every file
agrees, 1 on any disagreement, 2 when the input is unusable.
"""

import hashlib
import json
import pathlib
import sys


def sha3(data):
    return hashlib.sha3_256(data).digest()


def hash_leaf(data):
    return sha3(b"\x00" + data)


def hash_children(left, right):
    return sha3(b"\x01" + left + right)


def mth(leaves):
    """MTH(D[n]), RFC 9162 §2.1.1."""
    n = len(leaves)
    if n == 0:
        return sha3(b"")
    if n == 1:
        return hash_leaf(leaves[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return hash_children(mth(leaves[:k]), mth(leaves[k:]))


def verify_inclusion(leaf_index, tree_size, leaf_hash, inclusion_path, root_hash):
    """RFC 9162 §2.1.3.2."""
    if leaf_index >= tree_size:
        return False
    fn, sn = leaf_index, tree_size - 1
    r = leaf_hash
    for p in inclusion_path:
        if sn == 0:
            return False
        if fn & 1 == 1 or fn == sn:
            r = hash_children(p, r)
            while fn & 1 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = hash_children(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root_hash


def verify_consistency(first, second, consistency_path, first_hash, second_hash):
    """RFC 9162 §2.1.4.2; first == second needs an empty path and equal hashes, first == 0 is refused."""
    if first == 0 or first > second:
        return False
    if first == second:
        return len(consistency_path) == 0 and first_hash == second_hash
    if len(consistency_path) == 0:
        return False
    path = list(consistency_path)
    if first & (first - 1) == 0:
        path.insert(0, first_hash)
    fn, sn = first - 1, second - 1
    while fn & 1 == 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 == 1 or fn == sn:
            fr = hash_children(c, fr)
            sr = hash_children(c, sr)
            while fn & 1 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = hash_children(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0


def h(text):
    return bytes.fromhex(text)


def check_inclusion(v):
    """Returns (accepted, list of problems with the file itself)."""
    problems = []
    leaves = v.get("tree_leaves")
    if leaves is not None:
        data = [h(x) for x in leaves]
        if mth(data) != h(v["root"]):
            problems.append("root is not MTH(tree_leaves)")
        if data[v["leaf_index"]] != h(v["leaf"]):
            problems.append("leaf is not tree_leaves[leaf_index]")
    accepted = verify_inclusion(
        v["leaf_index"], v["tree_size"], hash_leaf(h(v["leaf"])), [h(p) for p in v["proof"]], h(v["root"])
    )
    return accepted, problems


def check_consistency(v):
    problems = []
    leaves = v.get("tree_leaves")
    if leaves is not None:
        data = [h(x) for x in leaves]
        if mth(data[: v["first_size"]]) != h(v["first_root"]):
            problems.append("first_root is not MTH(tree_leaves[:first_size])")
        if mth(data) != h(v["second_root"]):
            problems.append("second_root is not MTH(tree_leaves)")
    accepted = verify_consistency(
        v["first_size"], v["second_size"], [h(p) for p in v["proof"]], h(v["first_root"]), h(v["second_root"])
    )
    return accepted, problems


def main():
    default = pathlib.Path(__file__).resolve().parent.parent / "data" / "ledger"
    root = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else default
    checks = {"inclusion": check_inclusion, "consistency": check_consistency}
    files = disagreements = 0
    for kind, check in checks.items():
        for path in sorted((root / kind).glob("*/*.json")):
            files += 1
            try:
                vector = json.loads(path.read_text(encoding="utf-8"))
                accepted, problems = check(vector)
            except (KeyError, ValueError, IndexError, TypeError) as e:
                print(f"{path}: unusable vector: {e!r}", file=sys.stderr)
                return 2
            expected_ok = vector["expected"] == "ok"
            if accepted != expected_ok:
                problems.append(f"verifier {'accepts' if accepted else 'refuses'}, expected {vector['expected']}")
            for problem in problems:
                disagreements += 1
                print(f"DISAGREE {path.relative_to(root)}: {problem}")
    if files == 0:
        print(f"no vector files under {root}", file=sys.stderr)
        return 2
    print(f"rfc9162_verify.py: {files} vector files, {disagreements} disagreements")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
