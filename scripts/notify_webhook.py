"""Post one line to a chat webhook when a workflow failed, if a webhook is configured.

`just notify-failure` runs this in the Retrain workflow when one of its jobs failed. The webhook URL
comes from the environment variable ``CHAT_WEBHOOK_URL`` (a repository secret); without it, the
script says so and exits 0: notifications are optional and off by default. The body is
``{"text": "..."}``, which Slack, Mattermost, Rocket.Chat, Google Chat and Teams incoming webhooks
accept. The message names the workflow and links its run, from the variables GitHub Actions sets.

Standard library only, run with ``uv run --no-project``: a notifier must work when the project's
own environment is what broke. The URL is a credential: it is never printed.
"""

import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from urllib.parse import urlsplit

URL_ENV = "CHAT_WEBHOOK_URL"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
TIMEOUT_S = 10.0


def failure_message(environ: Mapping[str, str]) -> str:
    """One line naming the failed workflow and linking its run (from GitHub Actions' variables)."""
    workflow = environ.get("GITHUB_WORKFLOW", "A workflow")
    repository = environ.get("GITHUB_REPOSITORY", "this repository")
    run = environ.get("GITHUB_RUN_ID")
    server = environ.get("GITHUB_SERVER_URL", "https://github.com")
    link = f": {server}/{repository}/actions/runs/{run}" if run else ""
    return f"{workflow} failed on {repository}{link}"


def check_url(url: str) -> str | None:
    """Why ``url`` is not a webhook we post to (https, or http on loopback only), or ``None``."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname in LOOPBACK:
        return None
    return f"{URL_ENV} must be an https:// URL"


def post(url: str, text: str) -> None:
    """POST ``{"text": text}`` as JSON to ``url``; raise ``OSError`` when it is not accepted."""
    problem = check_url(url)
    if problem:
        raise ValueError(problem)
    body = json.dumps({"text": text}).encode()
    headers = {"Content-Type": "application/json"}
    request = urllib.request.Request(url, body, headers, method="POST")  # noqa: S310 -- checked
    with urllib.request.urlopen(request, timeout=TIMEOUT_S):  # noqa: S310 # nosec B310 -- checked
        pass


def main() -> int:
    """Send the notification if a webhook is configured; return the exit status."""
    url = os.environ.get(URL_ENV, "").strip()
    if not url:
        print(f"{URL_ENV} is not set: no notification sent")
        return 0
    problem = check_url(url)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    message = failure_message(os.environ)
    try:
        post(url, message)
    except (OSError, urllib.error.URLError) as error:
        reason = error.reason if isinstance(error, urllib.error.URLError) else error
        # The URL is a secret: name the variable, not its value.
        print(f"error: posting to {URL_ENV} failed ({reason})", file=sys.stderr)
        return 1
    print(f"notified the chat webhook: {message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
