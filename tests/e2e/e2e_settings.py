"""What the browser tests and their fixtures share."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ACCESS_TOKEN_TTL_SECONDS = 6
