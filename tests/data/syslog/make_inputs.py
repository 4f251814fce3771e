#!/usr/bin/env python3
"""Writes the syslog parser golden inputs (ok/*.syslog, err/*.syslog).

Each input is one frame (SYSLOG-MSG) exactly as a receiver would get it, without framing and
without a trailing newline. The expected parse sits beside it as NAME.expected; the test
`audit::syslog::message_tests::golden` writes a missing one and rewrites all of them when
HIEHUB_UPDATE_EXPECT=1 (review the diff). Run this script from anywhere; it is idempotent.
"""

import pathlib

HERE = pathlib.Path(__file__).resolve().parent
BOM = b"\xef\xbb\xbf"

OK = {
    # RFC 5424 section 6.5, examples 1 to 4.
    "rfc5424-example1-bom": b"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - "
    + BOM
    + b"'su root' failed for lonvick on /dev/pts/8",
    "rfc5424-example2-no-bom": b"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
    "rfc5424-example3-sd-and-msg": b'<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] '
    + BOM
    + b"An application event log entry...",
    "rfc5424-example4-sd-only": b'<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]',
    "sd-escapes": b'<86>1 2026-01-02T03:04:05Z host app 1 IHE+RFC-3881 [x@1 quote="a\\"b" backslash="c\\\\d" bracket="e\\]f" other="g\\nh" raw="i]j" empty=""][y@1] msg',
    "all-nil": b"<0>1 - - - - - -",
    "all-nil-empty-msg": b"<0>1 - - - - - - ",
    "pri-191-version-999": b"<191>999 - - - - - - max",
    "pri-leading-zeros": b"<007>1 - - - - - - x",
    "msgid-dicom": b"<85>1 2026-01-02T03:04:05.1+09:00 pacs.example.kr DCM4CHEE 77 DICOM+RFC3881 - <AuditMessage/>",
    "hangul-in-msg": "<86>1 2026-01-02T03:04:05Z ris.example.kr ris - IHE+RFC-3881 - <ParticipantObjectName>홍길동</ParticipantObjectName>".encode(),
    "msg-not-utf8": b"<13>1 - - - - - - \xff\xfe latin-1 caf\xe9",
    "timestamp-not-rfc3339": b"<13>1 2026-01-02T03:04:05 host app - - - kept as text",
    # util-linux logger 2.38 --rfc5424 (what it really sends: it adds timeQuality).
    "logger-rfc5424": b'<85>1 2026-11-22T23:08:01.228262+00:00 vm root - IHE+RFC-3881 [timeQuality tzKnown="1" isSynced="0"] <AuditMessage xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n\t<EventIdentification/>\n</AuditMessage>',
    # RFC 3164 section 5.4 examples and what real senders do.
    "rfc3164-example1": b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
    "rfc3164-pid": b"<13>Feb  5 17:32:18 10.0.0.99 sshd[1234]: Accepted publickey",
    "rfc3164-no-hostname": b"<13>Feb  5 17:32:18 cron[42]: job done",
    "rfc3164-no-tag": b"<13>Feb  5 17:32:18 host message without a tag",
    "rfc3164-no-timestamp": b"<13>Use the BFG!",
    "rfc3164-rfc3339-timestamp": b"<86>2026-01-02T03:04:05.123456+01:00 host app: high precision",
    "logger-rfc3164": b"<13>Nov 22 23:08:01 vm mytag: legacy msg",
}

ERR = {
    "empty": b"",
    "no-pri": b"hello",
    "pri-192": b"<192>1 - - - - - -",
    "pri-four-digits": b"<0013>1 - - - - - -",
    "pri-not-closed": b"<13 - - -",
    "ends-after-msgid": b"<13>1 - - - - -",
    "ends-after-version": b"<13>1 ",
    "no-space-before-msg": b"<13>1 - - - - - -x",
    "two-spaces": b"<13>1 -  - - - - -",
    "hostname-too-long": b"<13>1 - " + b"h" * 256 + b" - - - -",
    "msgid-too-long": b"<13>1 - - - - " + b"m" * 33 + b" -",
    "app-name-not-printable": b"<13>1 - host ap\tp - - -",
    "sd-not-bracket": b"<13>1 - - - - - x",
    "sd-unterminated": b'<13>1 - - - - - [x a="b"',
    "sd-value-unterminated": b'<13>1 - - - - - [x a="b]',
    "sd-value-not-quoted": b"<13>1 - - - - - [x a=b]",
    "sd-empty-id": b'<13>1 - - - - - [ a="b"]',
    "sd-id-too-long": b"<13>1 - - - - - [" + b"i" * 33 + b"]",
    "sd-value-not-utf8": b'<13>1 - - - - - [x a="\xff"]',
    "garbage": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
}

for folder, cases in (("ok", OK), ("err", ERR)):
    (HERE / folder).mkdir(exist_ok=True)
    for name, data in cases.items():
        (HERE / folder / f"{name}.syslog").write_bytes(data)
