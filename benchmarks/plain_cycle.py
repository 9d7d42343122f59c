"""The least any monitoring cycle must do, as one plain script: the baseline of cycle_cost.

One requests session; each feed and each article it lists (known ones too: pages are re-checked
for updates, as newswatch does within `watch_for`) fetched with its stored ETag; each new or
changed page extracted with trafilatura; ETags and each feed's links kept in a JSON file between
runs. No store, no detection, no alerts. Run as a whole process per cycle, as `newswatch run` is:

    python -m benchmarks.plain_cycle STATE.json FEED_URL...
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import requests
import trafilatura


def get(session: requests.Session, url: str, etags: dict[str, str]) -> bytes | None:
    headers = {"If-None-Match": etags[url]} if url in etags else {}
    response = session.get(url, headers=headers, timeout=20)
    if response.status_code == 304:
        return None
    response.raise_for_status()
    if "ETag" in response.headers:
        etags[url] = response.headers["ETag"]
    return response.content


def main(argv: list[str]) -> int:
    state = Path(argv[0])
    kept = json.loads(state.read_text()) if state.exists() else {"etags": {}, "links": {}}
    etags: dict[str, str] = kept["etags"]
    links: dict[str, list[str]] = kept["links"]
    extracted = 0
    with requests.Session() as session:
        for feed in argv[1:]:
            data = get(session, feed, etags)
            if data is not None:
                links[feed] = [e.text or "" for e in ET.fromstring(data).iter("link")]
            for link in links.get(feed, []):
                page = get(session, link, etags)
                if page is not None and trafilatura.extract(page.decode("utf-8")):
                    extracted += 1
    state.write_text(json.dumps({"etags": etags, "links": links}))
    print(extracted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
