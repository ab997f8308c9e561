#!/usr/bin/env python3
"""Opens jobd's dashboard in Debian's headless Chromium (through chromedriver's WebDriver API)
ROUNDS times and reports how long the page took to show data, from the start of its navigation
to the page's `jobd-data` mark (set when the first pool state is drawn, the latest jobs listed
before it), and how many bytes the page and its files took on the wire. The browser has shown
a blank page first (a user's browser is running already); the first round has nothing of
jobd's cached, the others reload. Prints one JSON line:
{"first_ms": t, "p50_ms": t, "max_ms": t, "bytes": n, "rounds": n}.

  bench/dashboard_load.py PORT [ROUNDS]
"""
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.request

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"


def call(port, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as answer:
        return json.load(answer)["value"]


def main():
    jobd_port = int(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    driver = subprocess.Popen([CHROMEDRIVER, "--port=0"], stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    try:
        said = ""
        for _ in range(10):  # its first lines say what it is, then where it listens
            said += driver.stdout.readline()
            if found := re.search(r"started successfully on port (\d+)", said):
                break
        if not found:
            sys.exit(f"dashboard_load: chromedriver did not start: {said}")
        port = int(found.group(1))
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,900"]}}}}
        session = call(port, "POST", "/session", caps)["sessionId"]
        call(port, "POST", f"/session/{session}/url", {"url": "about:blank"})
        times, sizes = [], []
        for _ in range(rounds):
            call(port, "POST", f"/session/{session}/url",
                 {"url": f"http://127.0.0.1:{jobd_port}/"})
            script = {"script": """
                const mark = performance.getEntriesByName('jobd-data')[0];
                if (!mark) return null;
                const nav = performance.getEntriesByType('navigation')[0];
                const files = performance.getEntriesByType('resource')
                    .filter(r => r.name.includes('/ui/'));
                return [mark.startTime,
                        nav.transferSize + files.reduce((n, r) => n + r.transferSize, 0)];
            """, "args": []}
            end = time.monotonic() + 10
            while (value := call(port, "POST", f"/session/{session}/execute/sync", script)) is None:
                if time.monotonic() > end:
                    sys.exit("dashboard_load: the page showed no data within 10 s")
                time.sleep(0.05)
            times.append(value[0])
            sizes.append(value[1])
        call(port, "DELETE", f"/session/{session}")
    finally:
        os.killpg(driver.pid, signal.SIGTERM)
        driver.wait()
    print(json.dumps({"first_ms": round(times[0], 1), "p50_ms": round(statistics.median(times), 1),
                      "max_ms": round(max(times), 1), "bytes": sizes[0], "rounds": rounds}))


if __name__ == "__main__":
    main()
