"""Settings for the test suite: the real settings, in development mode, with a fast hasher.

DATABASE_URL and REDIS_URL still come from the environment, so CI runs the suite on PostgreSQL
and Redis while a bare machine runs it on SQLite and the embedded broker.
"""

import os

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-" + "x" * 40)
os.environ.setdefault("PAYOPS_SANDBOX", "1")

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING["root"]["level"] = os.environ.get("LOG_LEVEL", "WARNING")  # noqa: F405
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api_client": "100000/minute"}}  # noqa: F405

if not REDIS_URL:  # noqa: F405
    # Tests publish to a broker folder of their own, never to the one `make run` consumes.
    import tempfile

    _broker = Path(tempfile.mkdtemp(prefix="payops-test-broker-"))  # noqa: F405
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **CELERY_BROKER_TRANSPORT_OPTIONS,  # noqa: F405
        "data_folder_in": str(_broker),
        "data_folder_out": str(_broker),
        "processed_folder": str(_broker),
        "control_folder": str(_broker),
    }

# Uploads of the tests (the desk's imports) land in a folder of their own.
import tempfile  # noqa: E402

MEDIA_ROOT = tempfile.mkdtemp(prefix="payops-test-media-")

# Django's test Client.login() authenticates without a request, which django-axes' backend
# refuses: tests sign in through ModelBackend; the axes tests (tests/reliability) put it back.
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
