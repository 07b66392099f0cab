"""The production settings, plus the floor views' URLs (``benchmarks.urls``): the bare views
answer on the same server, with the same settings, as the API they are compared with."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.urls"
