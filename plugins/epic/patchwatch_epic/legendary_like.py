"""A stand-in for legendary's login, run as its own process by lock tests (test kit).

It behaves as legendary does (written from legendary's ``core.py`` ``_login`` and
``lfs/utils.py`` ``LockedJSONData``, not copied): take ``user.json.lock`` with
``filelock.FileLock`` for the whole login, read ``user.json`` inside it, keep a session
with more than 10 minutes left, else trade the refresh token; save the answer in place
(``indent=2, sort_keys=True``); when Epic refuses the refresh token, delete ``user.json``
(the user is logged out).

    python -m patchwatch_epic.legendary_like USER_JSON OAUTH_URL CLIENT_ID CLIENT_SECRET \
        [--hold S] [--force]

Prints ``locked`` once it holds the lock, then one of ``reused``, ``refreshed``,
``logged-out``, ``no-login``; the exit status is 0 for the first two.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone

import requests
from filelock import FileLock


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("user_json")
    parser.add_argument("oauth_url")
    parser.add_argument("client_id")
    parser.add_argument("client_secret")
    parser.add_argument("--hold", type=float, default=0.0, help="seconds to sit on the lock first")
    parser.add_argument("--force", action="store_true", help="refresh even a fresh session")
    args = parser.parse_args()

    with FileLock(args.user_json + ".lock"):
        data = None
        if os.path.exists(args.user_json):
            with open(args.user_json, encoding="utf-8") as handle:
                data = json.load(handle)
        print("locked", flush=True)
        time.sleep(args.hold)
        if not data:
            print("no-login", flush=True)
            return 3
        expires = datetime.fromisoformat(data["expires_at"][:-1]).replace(tzinfo=timezone.utc)
        left = (expires - datetime.now(timezone.utc)).total_seconds()
        if left > 600 and not args.force:
            print("reused", flush=True)
            return 0
        answer = requests.post(
            args.oauth_url.rstrip("/") + "/account/api/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": data["refresh_token"],
                  "token_type": "eg1"},
            auth=(args.client_id, args.client_secret), timeout=10,
        ).json()
        if "errorCode" in answer:
            os.remove(args.user_json)  # legendary: lock.clear() -> the file is deleted
            print("logged-out", answer["errorCode"], flush=True)
            return 2
        with open(args.user_json, "w", encoding="utf-8") as handle:
            json.dump(answer, handle, indent=2, sort_keys=True)
        print("refreshed", flush=True)
        return 0


if __name__ == "__main__":
    sys.exit(main())
