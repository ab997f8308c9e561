#!/usr/bin/env python3
"""Submits COUNT noop jobs to a jobd on 127.0.0.1, each with a run_at of its own: the first due
LEAD seconds from now, the rest spread evenly over SPREAD seconds after it, so that jobd holds
them all at once and then starts them at a steady rate. Requests are pipelined, DEPTH at a time,
on CONNECTIONS connections. Prints one JSON line: {"submitted": n, "seconds": s, "first_due": t}
(t in Unix seconds); exits 1 if any answer is not 202 or the submission outlasts the lead.

  bench/scheduled_load.py PORT [COUNT] [LEAD_S] [SPREAD_S]
"""
import asyncio
import datetime
import json
import sys
import time

CONNECTIONS = 8
DEPTH = 64


def rfc3339(unix_seconds):
    t = datetime.datetime.fromtimestamp(unix_seconds, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


async def read_answer(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    body = await reader.readexactly(length)
    return status, body


async def submit(port, bodies):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for start in range(0, len(bodies), DEPTH):
        batch = bodies[start:start + DEPTH]
        writer.write(b"".join(
            b"POST /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(b), b) for b in batch))
        await writer.drain()
        for _ in batch:
            status, body = await read_answer(reader)
            if status != 202:
                sys.exit(f"scheduled_load: answered {status}: {body[:300]!r}")
    writer.close()
    await writer.wait_closed()


async def main():
    port = int(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    lead = float(sys.argv[3]) if len(sys.argv) > 3 else 30.0
    spread = float(sys.argv[4]) if len(sys.argv) > 4 else 20.0
    began = time.time()
    first_due = began + lead
    bodies = [
        b'{"type":"noop","run_at":"%s"}' % rfc3339(first_due + spread * i / count).encode()
        for i in range(count)
    ]
    await asyncio.gather(*(submit(port, bodies[c::CONNECTIONS]) for c in range(CONNECTIONS)))
    took = time.time() - began
    print(json.dumps({"submitted": count, "seconds": round(took, 2), "first_due": first_due}))
    if took >= lead:
        sys.exit(f"scheduled_load: submitting took {took:.1f} s, past the first run_at")


asyncio.run(main())
