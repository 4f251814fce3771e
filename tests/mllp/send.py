#!/usr/bin/env python3
"""ITI-8 / ITI-9 interop helper for tests/it/mpi.rs: python-hl7's MLLP client and parser,
nobody's code here.

  send.py HOST PORT < messages
Messages on stdin are separated by a blank line, their segments by newlines. Each is sent on one
MLLP connection with hl7.client.MLLPClient; each answer is parsed with hl7.parse and printed as a
JSON line: MSA-1, MSA-2, QAK-2, ERR-3.1, ERR-8 and the PID-3 identifiers (id, universal id).
"""
import json
import sys

import hl7
from hl7.client import MLLPClient


def field(msg, seg, i):
    try:
        return str(msg.segment(seg)[i])
    except (KeyError, IndexError):
        return ""


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    messages = [m.strip() for m in sys.stdin.read().split("\n\n") if m.strip()]
    with MLLPClient(host, port) as client:
        for m in messages:
            raw = client.send_message(m.replace("\n", "\r"))
            text = raw.decode("utf-8").strip("\x0b\x1c\r\n")
            answer = hl7.parse(text)
            ids = []
            try:
                reps = len(answer.segment("PID")[3])
                for r in range(1, reps + 1):
                    ids.append([
                        answer.extract_field("PID", 1, 3, r, 1),
                        answer.extract_field("PID", 1, 3, r, 4, 2),
                    ])
            except KeyError:
                pass
            err_code, err_text = "", ""
            try:
                err = answer.segment("ERR")
                err_code = str(err[3][0][0])
                err_text = str(err[8])
            except (KeyError, IndexError):
                pass
            print(json.dumps({
                "msa": field(answer, "MSA", 1),
                "control": field(answer, "MSA", 2),
                "qak": field(answer, "QAK", 2),
                "err": err_code,
                "err_text": err_text,
                "ids": ids,
            }), flush=True)


if __name__ == "__main__":
    main()
